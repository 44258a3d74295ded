"""The vessel's figures: a picture of the genesis' field at every stage's end.

Drawn with matplotlib (imported when a figure is made; the engine and the genesis never import
this module): the vessel in a diverging colour map, blue for reception (``phi = -1``), white
for the melted, mutual quality (0), red for bestowal (+1), with a colour bar, the grid's axes
and a title naming the stage with its unity and mixing (MODEL.md, phase 1). Written through
:mod:`tikkun.outputs.atomic` (a reader sees the old file or the new one, never half).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..genesis.measures import mixing, unity
from ..outputs.atomic import write_bytes

__all__ = ["VESSEL_CMAP", "stage_title", "vessel_figure", "write_stage_figures", "write_vessel_png"]

#: Matplotlib's diverging map: blue at phi = -1 (reception), white at 0, red at +1 (bestowal).
VESSEL_CMAP = "RdBu_r"


def vessel_figure(phi: np.ndarray, title: str):
    """A matplotlib Figure (no pyplot state) of the field ``phi`` (n, n) float, indexed
    ``[y, x]``, row 0 at the top, coloured over [-1, 1] with a colour bar."""
    from matplotlib.figure import Figure

    phi = np.asarray(phi, dtype=np.float64)
    fig = Figure(figsize=(5.0, 4.3), dpi=100, layout="constrained")  # two side by side, unscaled, in the report
    ax = fig.subplots()
    im = ax.imshow(phi, cmap=VESSEL_CMAP, vmin=-1.0, vmax=1.0, interpolation="nearest", origin="upper")
    ax.set_xlabel("x (grid cells)")
    ax.set_ylabel("y (grid cells)")
    ax.set_title(title, fontsize=10)
    bar = fig.colorbar(im, ax=ax, shrink=0.9)
    bar.set_label("composition $\\phi$:  -1 reception,  +1 bestowal")
    bar.set_ticks([-1.0, -0.5, 0.0, 0.5, 1.0])
    return fig


def stage_title(index: int, kind: str, phi: np.ndarray, block: int, *, light: float | None = None,
                end: float | None = None) -> str:
    """``stage 2, strike: unity 0.998, mixing 0.999`` (the measures of MODEL.md, phase 1). With
    the stage's ``light`` and its ``end`` time (the solver's time units), a first line says
    them and the second the measures, the mixing with its block:
    ``stage 2, strike: light 1.5, ends at t = 12,100`` / ``unity 0.998, mixing 0.999 (8 x 8 blocks)``."""
    if light is None or end is None:
        return f"stage {index}, {kind}: unity {unity(phi):.3f}, mixing {mixing(phi, block):.3f}"
    return (f"stage {index}, {kind}: light {light:g}, ends at t = {end:,.6g}\n"
            f"unity {unity(phi):.3f}, mixing {mixing(phi, block):.3f} ({block} x {block} blocks)")


def write_vessel_png(target, phi: np.ndarray, title: str) -> None:
    """Atomically write :func:`vessel_figure` of ``phi`` as a PNG."""
    buf = io.BytesIO()
    vessel_figure(phi, title).savefig(buf, format="png")
    write_bytes(target, buf.getvalue())


def write_stage_figures(result, out_dir) -> list[Path]:
    """Write ``genesis_<index>_<stage>.png`` for every stage end of ``result`` (a
    :class:`tikkun.genesis.GenesisResult`; index from 0 in script order) into ``out_dir``.
    Returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = result.config
    block = config.block if config is not None else 8
    ends = np.cumsum([st.duration for st in config.stages]) if config is not None else None
    paths = []
    for i, (kind, phi) in enumerate(result.stage_fields):
        p = out / f"genesis_{i}_{kind}.png"
        extra = {} if config is None else {"light": config.stages[i].light, "end": float(ends[i])}
        write_vessel_png(p, phi, stage_title(i, kind, phi, block, **extra))
        paths.append(p)
    return paths
