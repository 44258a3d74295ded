"""What an experiment is, and how one is run: arms x seeds through the sweep layer, then the
measure, the verdict, a figure and a JSON record.

An :class:`Experiment` is declarative: its arms (overrides and events that differ in one
thing), the base scenario, the default population and horizon (and why), the measure, the
verdict rule and the passage of the source it tests. :func:`run` builds a sweep from it
(:mod:`tikkun.sweep`: one Dask task per arm and seed, on a local cluster or a cluster by
address), reads each run's folder, and writes ``NAME.json`` and ``NAME.png``.
"""

from __future__ import annotations

import json
import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

VERDICTS = ("holds", "does not hold", "not tested")  # not tested: no run reached what the claim is about


@dataclass(frozen=True)
class Arm:
    """One arm: a name, scenario overrides (``{"key.path": value}``) and events appended to the
    base's own (tables as in a scenario file)."""

    name: str
    set: dict = field(default_factory=dict)
    events: tuple[dict, ...] = ()
    label: str = ""  # for figures and tables; the name when empty

    @property
    def title(self) -> str:
        return self.label or self.name


@dataclass
class RunData:
    """What one finished run left: metrics (column -> array), summary.json, and its folder (for
    souls.parquet and genesis.parquet, read on demand)."""

    arm: str
    seed: int
    folder: Path
    metrics: dict[str, np.ndarray]
    summary: dict

    def souls(self) -> dict[str, np.ndarray]:
        from ..outputs.run_folder import read_parquet

        return read_parquet(self.folder / "souls.parquet")

    def genesis(self) -> dict[str, np.ndarray]:
        from ..outputs.run_folder import read_parquet

        return read_parquet(self.folder / "genesis.parquet")

    def at(self, key: str, year: int) -> float:
        """A metric at a year; after a run that stopped at the end of correction, its last value
        (nothing changes after the end)."""
        years = self.metrics["year"]
        i = int(np.searchsorted(years, year))
        return float(self.metrics[key][min(i, len(years) - 1)])


@dataclass(frozen=True)
class Verdict:
    """``holds`` or ``does not hold``, the rule that decided it, the numbers it rests on, and a
    one-line summary; ``not tested`` (``tested`` False) where no run reached what the claim is
    about (a history that ends before its event comes, at a population smaller than the
    claim's own)."""

    holds: bool
    rule: str
    numbers: dict
    line: str
    tested: bool = True

    @property
    def word(self) -> str:
        if not self.tested:
            return VERDICTS[2]
        return VERDICTS[0] if self.holds else VERDICTS[1]


@dataclass(frozen=True)
class Experiment:
    """A claim of the texts as an experiment (MODEL.md, "The claims")."""

    name: str
    claim: str          # what the texts say, as MODEL.md's table states it
    source: str         # seed file and a few words of the passage
    arms: tuple[Arm, ...]
    base: str           # a preset
    souls: int          # default population
    years: int          # horizon
    why_size: str       # why this population and horizon suffice
    measure: Callable[[dict[str, list[RunData]]], dict]   # runs by arm -> per-seed and summary numbers
    verdict: Callable[[dict], Verdict]                     # numbers -> verdict
    figure: Callable[[Any, dict[str, list[RunData]], dict, Verdict], None]  # (matplotlib Figure, runs, numbers, verdict)
    set: dict = field(default_factory=dict)               # overrides shared by every arm
    construction: str = ""  # what holds by construction (an identity of the equations), if anything
    figsize: tuple[float, float] = (9.5, 4.8)  # inches
    # the figure's footer after the key to its shading: by default the source and the verdict's line
    caption: Callable[[dict, Verdict], str] | None = None
    # False where the verdict is the vessel's or the worlds' alone, which the population does not change
    by_population: bool = True

    def scale_note(self, souls: int | None) -> str | None:
        """What to say beside a verdict measured at ``souls`` other than the claim's own
        population (None at its own): the end year and the verdict can depend on it (the
        history's light is calibrated for 600,000 souls; docs/claims.md)."""
        if souls is None or souls == self.souls or not self.by_population:
            return None
        return (f"measured at {souls:,} souls, not the claim's own {self.souls:,}: the verdict may differ "
                f"at another size (why {self.souls:,}: `why_size` in {self.name}.json)")

    def sweep_table(self, seeds: list[int], souls: int | None = None) -> dict:
        """The sweep file, as a table, that runs this experiment (:func:`tikkun.sweep.parse_sweep`)."""
        shared = {"souls.count": souls or self.souls, **self.set}
        return {
            "base": self.base,
            "description": f"experiment {self.name}",
            "seeds": list(seeds),
            "years": self.years,
            "set": shared,
            "variants": [{"name": a.name, "set": dict(a.set), **({"events": list(a.events)} if a.events else {})}
                         for a in self.arms],
        }


def run(exp: Experiment, *, seeds: list[int], souls: int | None = None, out: Path, runs: Path,
        scheduler: str | None = None, workers: int | None = None, client=None, progress=None) -> dict:
    """Run an experiment: its sweep into ``runs/NAME``, then ``out/NAME.json`` and ``out/NAME.png``.
    Returns the record written to the JSON file."""
    import time

    from ..outputs.atomic import write_text, write_with
    from ..outputs.provenance import provenance
    from ..sweep import parse_sweep, plan, run_sweep

    t0 = time.perf_counter()
    spec = parse_sweep(exp.sweep_table(seeds, souls), origin=f"experiment {exp.name}", stem=exp.name)
    folder = Path(runs) / exp.name
    result = run_sweep(spec, out=folder, scheduler=scheduler, workers=workers, client=client, progress=progress,
                       out_option="--runs")
    failed = result.failed
    if len(failed):
        first = failed.iloc[0]
        raise RuntimeError(f"experiment {exp.name}: {len(failed)} run(s) failed, e.g. {first['run_id']}: "
                           f"{first.get('error', '')}")
    by_arm: dict[str, list[RunData]] = {a.name: [] for a in exp.arms}
    from ..outputs.run_folder import read_parquet

    run_seconds = 0.0

    for r in plan(spec):
        rdir = folder / "runs" / r.run_id
        summary = json.loads((rdir / "summary.json").read_text())
        run_seconds += float(summary["wall_seconds"]) + float((summary.get("genesis") or {}).get("seconds", 0.0))
        by_arm[r.variant].append(RunData(r.variant, r.seed, rdir, read_parquet(rdir / "metrics.parquet"), summary))
    numbers = exp.measure(by_arm)
    verdict = exp.verdict(numbers)
    record = {
        "name": exp.name,
        "claim": exp.claim,
        "source": exp.source,
        "verdict": verdict.word,
        "rule": verdict.rule,
        "summary": verdict.line,
        "numbers": _plain(verdict.numbers),
        "measures": _plain(numbers),
        "construction": exp.construction,
        "arms": [{"name": a.name, "label": a.title, "set": a.set, "events": list(a.events)} for a in exp.arms],
        "shared": {"souls.count": souls or exp.souls, **exp.set},
        "base": exp.base,
        "years": exp.years,
        "why_size": exp.why_size,
        **({"scale_note": note} if (note := exp.scale_note(souls)) else {}),  # the verdict at another size
        "seeds": list(seeds),
        **provenance(),  # tikkun_version, tikkun_code, model_revision
        "seconds": round(time.perf_counter() - t0, 1),  # this command's, runs reused from --runs included
        "run_seconds": round(run_seconds, 1),  # the runs' own, summed over them, whenever they were made
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / f"{exp.name}.json", json.dumps(record, indent=2) + "\n")
    fig = _figure(exp, by_arm, numbers, verdict, note)
    write_with(out / f"{exp.name}.png",
               lambda tmp: fig.savefig(tmp, dpi=110, format="png", metadata={"Source": PNG_MARK}))
    return record


PNG_MARK = "tikkun experiment"  # a figure's PNG text chunk "Source": it is ours to replace


def outputs_not_ours(names, out: Path) -> list[Path]:
    """The files among ``out/NAME.json`` and ``out/NAME.png`` that exist and were not written by
    an experiment, which a run would replace (nothing a user made is lost). A JSON file is
    ours if it is an experiment's record of that name; a PNG if it carries :data:`PNG_MARK`,
    or, made by tikkun 0.3.0 before the mark, if matplotlib drew it and the record beside it is
    ours."""
    from ..sweep.tables import png_text

    out = Path(out)
    found = []
    for name in names:
        rec, png = out / f"{name}.json", out / f"{name}.png"
        rec_ours = rec.is_file() and _is_record(rec, name)
        if rec.exists() and not rec_ours:
            found.append(rec)
        if png.exists():
            text = png_text(png)
            before_mark = rec_ours and text.get("Software", "").startswith("Matplotlib")
            if not (text.get("Source") == PNG_MARK or before_mark):
                found.append(png)
    return found


def _is_record(path: Path, name: str) -> bool:
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(rec, dict) and rec.get("name") == name and "verdict" in rec and "tikkun_version" in rec


def _figure(exp: Experiment, by_arm, numbers, verdict: Verdict, note: str | None = None):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # no pyplot: the caller's backend and figures are left alone

    fig = Figure(figsize=exp.figsize)
    FigureCanvasAgg(fig)
    exp.figure(fig, by_arm, numbers, verdict)
    # wrapped with a margin: matplotlib's own wrap lets a centred title touch the figure's edges
    title = textwrap.wrap(f"{exp.name}: {verdict.word}. {exp.claim}", int(fig.get_figwidth() * 72 / (10.5 * 0.6)))
    fig.suptitle("\n".join(title), fontsize=10.5, y=0.995, va="top")
    banded = any(c.get_gid() == SEED_RANGE for ax in fig.axes for c in ax.collections)
    key = "Lines: the mean over the seeds; shaded: their range, lowest to highest. " if banded else ""
    # the footer wrapped here, so its height is known and the panels (their x labels) end above it
    text = exp.caption(numbers, verdict) if exp.caption else f"{exp.source}. {verdict.line}"
    text += f" ({note[0].upper()}{note[1:]}.)" if note else ""  # a verdict measured at another size says so
    lines = textwrap.wrap(key + text, int(fig.get_figwidth() * 72 / (FOOTER_PT * 0.6)))
    fig.text(0.01, 0.005, "\n".join(lines), fontsize=FOOTER_PT, color="0.3", va="bottom")
    bottom = (len(lines) * FOOTER_PT * 1.25 + 4) / 72 / fig.get_figheight()
    fig.tight_layout(rect=(0, max(0.06, bottom), 1, 1))  # it leaves the suptitle its own room
    return fig


FOOTER_PT = 8  # the footer's font size, points


def _plain(obj):
    """JSON-ready: NumPy scalars and arrays as Python numbers and lists, NaN as None."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_plain(v) for v in obj.tolist()]
    if isinstance(obj, (np.floating, float)):
        x = float(obj)
        return None if math.isnan(x) else x
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


# ------------------------------------------------------------ helpers for measures and figures
def curve(run: RunData, key: str, years: int, after_end: float | None = None) -> np.ndarray:
    """A metric over years ``0..years-1``; past a run's last year, its last value (or
    ``after_end``)."""
    y = np.full(years, np.nan)
    v = run.metrics[key]
    n = min(years, len(v))
    y[:n] = v[:n]
    if n < years:
        y[n:] = v[-1] if after_end is None else after_end
    return y


SEED_RANGE = "seed-range"  # the gid of a band's shading: the figure's footer then says what it is


def band(ax, x, arrays: np.ndarray, colour, label: str, style: str = "-") -> None:
    """Mean line and min-max band over seeds (rows of ``arrays``)."""
    ax.fill_between(x, np.nanmin(arrays, 0), np.nanmax(arrays, 0), color=colour, alpha=0.2, lw=0, gid=SEED_RANGE)
    ax.plot(x, np.nanmean(arrays, 0), color=colour, ls=style, lw=1.5, label=label)


SHEPHERD_SPAN = {"color": "tab:olive", "alpha": 0.15, "lw": 0}  # axvspan style of the years of a shepherd's light


def light_turns(run: RunData) -> dict:
    """What changed every soul's light at once in a run, read from its metrics: the years a
    shepherd's light began (``shepherd_from``) and ended (``shepherd_until``: its generation's
    end, before the Messiah era), and the first year of a complete judge (``judge_complete``:
    holiness J = 1), or None."""
    years = run.metrics["year"]
    on = run.metrics["shepherds"] > 0
    full = np.flatnonzero(run.metrics["holiness"] >= 1.0)
    return {"shepherd_from": [int(y) for y in years[1:][on[1:] & ~on[:-1]]],
            "shepherd_until": [int(y) for y in years[1:][~on[1:] & on[:-1]]],
            "judge_complete": int(years[full[0]]) if full.size else None}


def range_text(values, digits: int = 3, sep: str = "-", kind: str = "f") -> str:
    """The range over the seeds as the verdicts print it, ``0.878-0.889`` (``sep=" to "`` where an
    end may be negative: ``-2.9 to 3.7``; ``kind`` the format's type, ``f``, ``g`` or ``e``); one
    number where the two ends print alike."""
    lo, hi = f"{min(values):.{digits}{kind}}", f"{max(values):.{digits}{kind}}"
    return lo if lo == hi else f"{lo}{sep}{hi}"


def bound_text(value: float, below: bool, digits: int = 3) -> str:
    """``value`` as a bound in ``digits`` decimals that still holds: rounded down for a lower
    bound (``>= 0.999`` for 0.9999995, never ``>= 1.000``), up for an upper one (``below``)."""
    scale = 10.0 ** digits
    shown = math.ceil(value * scale) / scale if below else math.floor(value * scale) / scale
    return f"{shown:.{digits}f}"


def bound_sig(value: float, below: bool, sig: int = 2) -> str:
    """:func:`bound_text` in ``sig`` significant digits, for values of any size (``<= 5e-19`` for
    4.98e-19): rounded up for an upper bound (``below``), down for a lower one."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    scale = 10.0 ** (sig - 1 - math.floor(math.log10(abs(value))))
    shown = (math.ceil(value * scale) if below else math.floor(value * scale)) / scale
    return f"{shown:.{sig}g}"


def years_text(years, missing: str = "never") -> str:
    """``[5883, None]`` -> ``"5883, never"``: a list of years (or counts of years) as the
    verdicts print them, seed by seed; no thousands separator, so that the commas between them
    read as the list's. ``missing`` stands for None (``"not by 6000"`` where a run's horizon,
    not the model, decided that no year came)."""
    return ", ".join(missing if y is None else str(int(y)) for y in years)


def end_year(run: RunData) -> int | None:
    e = run.summary.get("end_year")
    return None if e is None else int(e)


COLOURS = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange")


def end_rows(ax, arms, seeds, horizon: int) -> list:
    """The end of correction, one row a seed, as the verdicts of the end compare it: a dot per
    arm at its end year, or a triangle at the horizon where the run did not end by it. ``arms``:
    ``(label, colour, end years in the order of seeds)``. Returns the legend's handles."""
    from matplotlib.lines import Line2D

    for k, _ in enumerate(seeds):
        ends = [e[k] for _, _, e in arms]
        xs = [horizon if e is None else e for e in ends]
        ax.plot([min(xs), max(xs)], [k, k], color="0.6", lw=1, zorder=1)  # what one arm gains on the other
        for (_, colour, _), e, x in zip(arms, ends, xs):
            ax.plot(x, k, ">" if e is None else "o", color=colour, ms=6, mec="white", mew=0.5, zorder=3, clip_on=False)
    ax.set_yticks(range(len(seeds)), [f"seed {s}" for s in seeds], fontsize=7.5)
    ax.set_ylim(len(seeds) - 0.5, -0.5)
    ax.grid(axis="x", alpha=0.3)
    handles = [Line2D([], [], color=c, marker="o", ls="", ms=6, label=f"end of correction, {label}")
               for label, c, ends in arms if any(e is not None for e in ends)]
    unended = [(label, c) for label, c, ends in arms if any(e is None for e in ends)]
    for label, c in unended:  # in the colour it is drawn in, with its arm's name where there are two arms or more
        what = f"no end by {horizon:,}" + (f", {label}" if len(arms) > 1 else "")
        handles.append(Line2D([], [], color=c, marker=">", ls="", ms=6, label=f"{what} (drawn at it)"))
    return handles
