"""The genesis' tables in a folder: its measures through time, its final field, and the vessel
at each stage's end.

Written through :mod:`tikkun.outputs.atomic` (a reader sees the old file or the new one, never
half). The figures of the vessel are the report's (:mod:`tikkun.report.genesis`): it draws them
from ``genesis_stages.npz``, so a run without a report never imports a plotting library.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..genesis.measures import mixing, unity
from .atomic import write_bytes, write_with

STAGES_NAME = "genesis_stages.npz"  # the vessel at each stage's end, what its figures are drawn from


def stage_ends(result) -> dict[str, np.ndarray]:
    """The vessel at each stage's end of ``result`` (a :class:`tikkun.genesis.GenesisResult`),
    what ``genesis_stages.npz`` holds and its figures are drawn from, S the number of stages:

    - ``kind`` str ``(S,)``; ``phi`` float16 ``(S, n, n)``, the field ``[y, x]`` (half precision:
      a figure's colour map has 256 steps; ``field.npy`` keeps the final field in full);
    - ``unity``, ``mixing`` float64 ``(S,)``, measured on the full field (mixing over ``block``
      x ``block`` cells, int64 ``()``: the script's, else 8, the mixing NaN where it does not
      divide the grid); ``light`` and ``end``, the stage's light and the time it ends at, float64
      ``(S,)`` (NaN where ``result`` has no script).
    """
    config = result.config
    block = config.block if config is not None else 8
    n_stages = len(result.stage_fields)
    if config is not None:
        light = np.array([st.light for st in config.stages], dtype=np.float64)
        end = np.cumsum([st.duration for st in config.stages], dtype=np.float64)
    else:
        light = end = np.full(n_stages, np.nan)
    fields = [np.asarray(phi, dtype=np.float64) for _, phi in result.stage_fields]
    n = result.field.shape[0]
    return {
        "kind": np.array([kind for kind, _ in result.stage_fields], dtype=str),
        "phi": np.array(fields, dtype=np.float16).reshape(n_stages, n, n),
        "unity": np.array([unity(phi) for phi in fields], dtype=np.float64),
        "mixing": np.array([mixing(phi, block) if n % block == 0 else np.nan for phi in fields], dtype=np.float64),
        "block": np.int64(block),
        "light": light,
        "end": end,
    }


def read_stage_ends(path) -> dict[str, np.ndarray]:
    """``genesis_stages.npz`` as :func:`stage_ends` gives it (no pickled objects are read)."""
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def write_genesis_tables(result, out_dir, metadata: dict[str, str] | None = None) -> list[Path]:
    """Write ``genesis.parquet`` (columns time, stage, light, free_energy, unity, mixing, mass;
    ``metadata``, str -> str, added to its schema), ``field.npy`` (final phi, float64
    (n, n)) and ``genesis_stages.npz`` (:func:`stage_ends`) of ``result`` (a
    :class:`tikkun.genesis.GenesisResult`) into ``out_dir``. Returns the three paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rec = result.records
    table = pa.table({
        "time": pa.array(np.asarray(rec["time"], dtype=np.float64)),
        "stage": pa.array([str(s) for s in rec["stage"]], type=pa.string()),
        "light": pa.array(np.asarray(rec["light"], dtype=np.float64)),
        "free_energy": pa.array(np.asarray(rec["free_energy"], dtype=np.float64)),
        "unity": pa.array(np.asarray(rec["unity"], dtype=np.float64)),
        "mixing": pa.array(np.asarray(rec["mixing"], dtype=np.float64)),
        "mass": pa.array(np.asarray(rec["mass"], dtype=np.float64)),
    })
    if metadata:
        table = table.replace_schema_metadata({k.encode(): v.encode("utf-8") for k, v in metadata.items()})
    paths = [out / "genesis.parquet", out / "field.npy"]
    write_with(paths[0], lambda p: pq.write_table(table, p))

    def _save(p: Path) -> None:
        # A file handle: np.save on a path would append ".npy" to the temporary name.
        with open(p, "wb") as fh:
            np.save(fh, np.asarray(result.field, dtype=np.float64))

    write_with(paths[1], _save)
    buf = io.BytesIO()
    np.savez_compressed(buf, **stage_ends(result))
    paths.append(out / STAGES_NAME)
    write_bytes(paths[2], buf.getvalue())
    return paths
