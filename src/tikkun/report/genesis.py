"""The vessel's figures: a picture of the genesis' field at every stage's end.

Drawn with matplotlib (imported when a figure is made; the engine, the genesis and a run
without a report never import this module), from the vessel at each stage's end that a run
keeps in ``genesis_stages.npz`` (:mod:`tikkun.outputs.genesis`): the vessel in a diverging
colour map, blue for reception (``phi = -1``), white for the melted, mutual quality (0), red
for bestowal (+1), with a colour bar, the grid's axes and a title naming the stage with its
unity and mixing (MODEL.md, phase 1). Written through
:mod:`tikkun.outputs.atomic` (a reader sees the old file or the new one, never half).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from ..genesis.measures import mixing, unity
from ..outputs.atomic import write_bytes
from ..outputs.genesis import STAGES_NAME, read_stage_ends
from .folder import ReportError

__all__ = ["VESSEL_CMAP", "read_stages", "stage_figures", "stage_names", "stage_title", "title_of",
           "vessel_figure", "write_stage_figures", "write_vessel_png"]

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
    """``stage 2, strike: unity 0.998, mixing 0.999`` (the measures of MODEL.md, phase 1) of the
    field ``phi`` (n, n) float: :func:`title_of` with its unity and mixing over ``block`` x
    ``block`` cells."""
    return title_of(index, kind, unity(phi), mixing(phi, block), block, light=light, end=end)


def title_of(index: int, kind: str, unity_: float, mixing_: float, block: int, *, light: float | None = None,
             end: float | None = None) -> str:
    """A vessel figure's title from its stage's measures: ``stage 2, strike: unity 0.998,
    mixing 0.999``. With the stage's ``light`` and its ``end`` time (the solver's time units;
    None or NaN: not known), a first line says them and the second the measures, the mixing
    with its block: ``stage 2, strike: light 1.5, ends at t = 12,100`` / ``unity 0.998, mixing
    0.999 (8 x 8 blocks)``."""
    if light is None or end is None or np.isnan(light) or np.isnan(end):
        return f"stage {index}, {kind}: unity {unity_:.3f}, mixing {mixing_:.3f}"
    return (f"stage {index}, {kind}: light {light:g}, ends at t = {end:,.6g}\n"
            f"unity {unity_:.3f}, mixing {mixing_:.3f} ({block} x {block} blocks)")


def write_vessel_png(target, phi: np.ndarray, title: str) -> None:
    """Atomically write :func:`vessel_figure` of ``phi`` as a PNG."""
    buf = io.BytesIO()
    vessel_figure(phi, title).savefig(buf, format="png")
    write_bytes(target, buf.getvalue())


def read_stages(folder) -> dict[str, np.ndarray] | None:
    """``folder``'s ``genesis_stages.npz`` (:func:`tikkun.outputs.genesis.stage_ends`), None where
    it has none; a file that is not what a run writes is a ReportError naming it."""
    source = Path(folder) / STAGES_NAME
    if not source.is_file():
        return None
    try:
        ends = read_stage_ends(source)
        n = len(ends["kind"])
        if ends["phi"].ndim != 3 or ends["phi"].shape[0] != n or any(
                ends[k].shape != (n,) for k in ("unity", "mixing", "light", "end")):
            raise ValueError("its arrays do not agree in length")
        return ends
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:  # a cut file: a zip that is none
        raise ReportError(f"{source}: not the vessel's stages a run writes ({exc})") from None


def stage_names(ends: dict[str, np.ndarray]) -> list[tuple[int, str]]:
    """``(index, stage kind)`` of every stage end of :func:`read_stages`' ``ends``, in script order."""
    return [(i, str(kind)) for i, kind in enumerate(ends["kind"])]


def stage_figures(ends: dict[str, np.ndarray]) -> list[tuple[int, str, bytes]]:
    """``(index, stage kind, PNG bytes)`` of :func:`vessel_figure` for every stage end of
    :func:`read_stages`' ``ends``, index from 0 in script order, titled by :func:`title_of`."""
    block = int(ends["block"])
    drawn = []
    for i, kind in stage_names(ends):
        title = title_of(i, kind, float(ends["unity"][i]), float(ends["mixing"][i]), block,
                         light=float(ends["light"][i]), end=float(ends["end"][i]))
        buf = io.BytesIO()
        vessel_figure(ends["phi"][i], title).savefig(buf, format="png")
        drawn.append((i, kind, buf.getvalue()))
    return drawn


def write_stage_figures(folder) -> list[Path]:
    """Write :func:`stage_figures` of ``folder``'s stages into it as ``genesis_<index>_<stage>.png``
    (none without ``genesis_stages.npz``); returns the paths."""
    folder = Path(folder)
    ends = read_stages(folder)
    paths = []
    for i, kind, png in ([] if ends is None else stage_figures(ends)):
        p = folder / f"genesis_{i}_{kind}.png"
        write_bytes(p, png)
        paths.append(p)
    return paths
