"""The genesis' tables in a folder: its measures through time and its final field.

Written through :mod:`tikkun.outputs.atomic` (a reader sees the old file or the new one, never
half); the figures of the vessel are the report's (:mod:`tikkun.report.genesis`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .atomic import write_with


def write_genesis_tables(result, out_dir, metadata: dict[str, str] | None = None) -> list[Path]:
    """Write ``genesis.parquet`` (columns time, stage, light, free_energy, unity, mixing, mass;
    ``metadata``, str -> str, added to its schema) and ``field.npy`` (final phi, float64
    (n, n)) of ``result`` (a :class:`tikkun.genesis.GenesisResult`) into ``out_dir``. Returns
    the two paths."""
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
    return paths
