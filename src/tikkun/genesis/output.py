"""Files of the genesis: the measures, the final field and a figure of every stage.

Everything goes through :mod:`tikkun.outputs.atomic` (a reader sees the old file or the new
one, never half). Each stage's figure is drawn with matplotlib (imported here, when a figure
is written, and never by the engine): the vessel in a diverging colour map, blue for
reception (``phi = -1``), white for the melted, mutual quality (0), red for bestowal (+1),
with a colour bar, the grid's axes and a title naming the stage with its unity and mixing.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tikkun.genesis.measures import mixing, unity
from tikkun.outputs.atomic import write_bytes, write_with

__all__ = ["VESSEL_CMAP", "vessel_figure", "write_vessel_png", "write_genesis_outputs"]

#: Matplotlib's diverging map: blue at phi = -1 (reception), white at 0, red at +1 (bestowal).
VESSEL_CMAP = "RdBu_r"


def vessel_figure(phi: np.ndarray, title: str):
    """A matplotlib Figure (no pyplot state) of the field ``phi`` (n, n) float, indexed
    ``[y, x]``, row 0 at the top, coloured over [-1, 1] with a colour bar."""
    from matplotlib.figure import Figure

    phi = np.asarray(phi, dtype=np.float64)
    fig = Figure(figsize=(5.4, 4.6), dpi=100, layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(phi, cmap=VESSEL_CMAP, vmin=-1.0, vmax=1.0, interpolation="nearest", origin="upper")
    ax.set_xlabel("x (grid cells)")
    ax.set_ylabel("y (grid cells)")
    ax.set_title(title, fontsize=10)
    bar = fig.colorbar(im, ax=ax, shrink=0.9)
    bar.set_label("composition $\\phi$:  -1 reception,  +1 bestowal")
    bar.set_ticks([-1.0, -0.5, 0.0, 0.5, 1.0])
    return fig


def stage_title(index: int, kind: str, phi: np.ndarray, block: int) -> str:
    """``stage 2, strike: unity 0.998, mixing 0.999`` (the measures of MODEL.md, phase 1)."""
    return f"stage {index}, {kind}: unity {unity(phi):.3f}, mixing {mixing(phi, block):.3f}"


def write_vessel_png(target, phi: np.ndarray, title: str) -> None:
    """Atomically write :func:`vessel_figure` of ``phi`` as a PNG."""
    buf = io.BytesIO()
    vessel_figure(phi, title).savefig(buf, format="png")
    write_bytes(target, buf.getvalue())


def write_genesis_outputs(result, out_dir) -> list[Path]:
    """Write ``genesis.parquet`` (columns time, stage, light, free_energy, unity, mixing,
    mass), ``field.npy`` (final phi, float64 (n, n)) and ``genesis_<index>_<stage>.png`` for
    every stage end (index from 0 in script order) into ``out_dir``. Returns the paths."""
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
    paths = [out / "genesis.parquet", out / "field.npy"]
    write_with(paths[0], lambda p: pq.write_table(table, p))

    def _save(p: Path) -> None:
        # A file handle: np.save on a path would append ".npy" to the temporary name.
        with open(p, "wb") as fh:
            np.save(fh, np.asarray(result.field, dtype=np.float64))

    write_with(paths[1], _save)
    block = result.config.block if result.config is not None else 8
    for i, (kind, phi) in enumerate(result.stage_fields):
        p = out / f"genesis_{i}_{kind}.png"
        write_vessel_png(p, phi, stage_title(i, kind, phi, block))
        paths.append(p)
    return paths
