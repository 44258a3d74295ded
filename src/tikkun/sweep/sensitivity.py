"""Global sensitivity of the end year and of ``C`` at chosen years to the parameters of a
scenario, with SALib: Morris screening (default) or Sobol' indices. The runs go through the
sweep (:func:`tikkun.sweep.run_sweep`): the same Dask machinery, run ids and tables.

A sweep file's ``[sensitivity]`` table::

    [sensitivity]
    method = "morris"          # or "sobol"
    samples = 10               # Morris: trajectories, runs = samples (k + 1); Sobol': N (a power of 2 >= 16), runs = N (k + 2)
    levels = 4                 # Morris: levels of the grid (even)
    years = [50, 99]           # C at these years (default: the last year of the horizon)
    seed = 0                   # seed of SALib's sampler and of its bootstrap
    [sensitivity.parameters]   # real-valued scenario keys and their ranges [low, high]
    "light.beta" = [0.0, 2.0]
    "light.alpha" = [0.03, 0.1]

With several seeds, each output is the mean over the seeds at each sampled point. The end
year of a run that does not reach the end of correction is the horizon (censored; the number
of such runs is reported). An output that is the same in every run has no sensitivity and is
left out, with a note.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import __version__
from ..scenario import ScenarioError
from .driver import SweepProgress, SweepResult, default_folder, run_sweep
from ..scenario.keys import scenario_key_problem, scenario_key_type
from .spec import (MAX_RUNS, SweepError, SweepSpec, base_seed, format_value, load_sweep, plan, problems_only,
                   resolve_run)

METHODS = ("morris", "sobol")
SOBOL_MIN = 16  # Sobol' base points below which the indices are noise (e.g. S1 > 1 with N = 2)
KEYS = ("method", "samples", "levels", "years", "seed", "parameters", "conf_level", "resamples")
TABLE = "sensitivity.parquet"
FIGURE = "sensitivity.png"
PNG_MARK = "tikkun sensitivity"  # the figure's PNG text chunk "Source": it is ours to replace
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")


@dataclass(frozen=True)
class SensitivityPlan:
    """A checked ``[sensitivity]`` table: SALib's ``problem`` dict and the settings."""

    problem: dict
    method: str
    samples: int
    levels: int
    years: tuple[int, ...]
    seed: int
    conf_level: float
    resamples: int
    horizon: int


@dataclass(frozen=True)
class SensitivityResult:
    """``indices``: one row per (output, parameter) (pandas); ``outputs``: one row per sampled
    point with each output (mean over seeds); ``notes``: censoring and outputs left out."""

    folder: Path
    plan: SensitivityPlan
    X: np.ndarray
    outputs: Any
    indices: Any
    notes: tuple[str, ...]
    figure: Path
    sweep: SweepResult = field(repr=False)


def read_plan(spec: SweepSpec, method: str | None = None) -> SensitivityPlan:
    """Check the sweep's ``[sensitivity]`` table. Raises :class:`SweepError` naming the key."""
    origin = spec.origin

    def bad(key: str, msg: str) -> SweepError:
        return SweepError(f"{origin}: {key}: {msg}")

    table = spec.sensitivity
    if table is None:
        raise bad("sensitivity", "missing; add a [sensitivity] table with [sensitivity.parameters] (see docs/sweeps.md)")
    for key in table:
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise bad(f"sensitivity.{key}", f"unknown key{hint}; allowed: {', '.join(KEYS)}")
    if spec.grid:
        raise bad("grid", "tikkun sensitivity samples the ranges in [sensitivity.parameters]; leave [grid] out")
    if spec.variants:
        raise bad("variants", "tikkun sensitivity samples the ranges in [sensitivity.parameters]; leave variants out")
    if method is not None and method not in METHODS:
        raise SweepError(f"--method: unknown method {method!r}; allowed: {', '.join(METHODS)}")
    method = method or table.get("method", "morris")
    if method not in METHODS:
        raise bad("sensitivity.method", f"unknown method {method!r}; allowed: {', '.join(METHODS)}")

    params = table.get("parameters")
    if not isinstance(params, dict) or not params:
        raise bad("sensitivity.parameters", 'give at least one "KEY" = [low, high]')
    names, bounds = [], []
    flat = _flat(params, bad=bad)
    for key, rng in flat.items():
        where = f"sensitivity.parameters.{key}"
        problem = scenario_key_problem(key)
        if problem is not None:
            raise bad(where, "a section, not a value" if problem == "section" else problem)
        if key == "run.seed":
            raise bad(where, "the seed is not a parameter: give the seeds to run each sample with as seeds = [...]")
        if key in spec.set:
            raise bad(where, "also given in set; give each key in one place")
        if scenario_key_type(key) is not float:
            raise bad(where, f"not a real-valued key ({_type_name(scenario_key_type(key))}); the samples are real numbers")
        if (not isinstance(rng, list) or len(rng) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in rng)
                or not rng[0] < rng[1]):
            raise bad(where, f"must be a range [low, high] of finite numbers with low < high (got {rng!r})")
        names.append(key)
        bounds.append([float(rng[0]), float(rng[1])])

    samples = table.get("samples", 10 if method == "morris" else 64)
    if not _int(samples) or samples < 2:
        raise bad("sensitivity.samples", f"must be an integer >= 2 (got {samples!r})")
    if method == "sobol" and samples & (samples - 1):
        raise bad("sensitivity.samples", f"Sobol' sampling needs a power of 2 (got {samples})")
    if method == "sobol" and samples < SOBOL_MIN:
        raise bad("sensitivity.samples", f"Sobol' needs N >= {SOBOL_MIN}, a power of 2 (got {samples}): with fewer "
                                         "points its indices and their bootstrap intervals are noise")
    points = samples * (len(names) + (1 if method == "morris" else 2))  # design()'s rows
    n_runs = points * len(spec.seeds or [0])
    if n_runs > MAX_RUNS:  # checked before the design is drawn: SALib would build it first
        raise bad("sensitivity.samples", f"{samples:,} samples of {len(names)} parameter{'' if len(names) == 1 else 's'} make {n_runs:,} runs "
                                         f"(design points x seeds); a sweep file makes at most {MAX_RUNS:,}")
    levels = table.get("levels", 4)
    if not _int(levels) or levels < 2 or levels % 2:
        # SALib's Morris steps by levels / (2 (levels - 1)): an odd number of levels samples unevenly
        raise bad("sensitivity.levels", f"must be an even integer >= 2, e.g. 4 (got {levels!r})")
    seed = table.get("seed", 0)
    if not _int(seed) or seed < 0:
        raise bad("sensitivity.seed", f"must be an integer >= 0 (got {seed!r})")
    conf = table.get("conf_level", 0.95)
    if not isinstance(conf, float) or not 0 < conf < 1:
        raise bad("sensitivity.conf_level", f"must be a number between 0 and 1, e.g. 0.95 (got {conf!r})")
    resamples = table.get("resamples", 100)
    if not _int(resamples) or resamples < 10:
        raise bad("sensitivity.resamples", f"must be an integer >= 10 (got {resamples!r})")

    seed0 = spec.seeds[0] if spec.seeds else base_seed(spec)
    try:
        horizon = resolve_run(spec.base, tuple(spec.set.items()), seed0, spec.years).run.years
    except Exception as exc:
        raise SweepError(f"{origin}: the base with set does not make a valid scenario: {exc}") from None
    for key, (low, high) in zip(names, bounds):
        for end, value in (("low", low), ("high", high)):
            try:
                resolve_run(spec.base, (*spec.set.items(), (key, value)), seed0, spec.years)
            except ScenarioError as exc:
                raise bad(f"sensitivity.parameters.{key}", f"the range's {end} end {value!r} is not a valid "
                                                          f"scenario: {problems_only(str(exc))}") from None
    years = table.get("years", [horizon - 1])
    if not isinstance(years, list) or not years or not all(_int(y) and 0 <= y < horizon for y in years):
        raise bad("sensitivity.years", f"must be a list of years in [0, {horizon - 1}] (the horizon is {horizon}; got {years!r})")
    problem = {"num_vars": len(names), "names": names, "bounds": bounds}
    return SensitivityPlan(problem, method, samples, levels, tuple(sorted(set(years))), seed, conf, resamples, horizon)


def design(problem: dict, method: str, samples: int, *, levels: int = 4, seed: int = 0) -> np.ndarray:
    """SALib's sample for ``method``: float64 ``(runs, k)`` in the parameters' units.

    Morris: ``samples`` trajectories of ``k + 1`` points on a ``levels`` grid.
    Sobol': Saltelli's scheme from a scrambled Sobol' sequence of ``samples`` points,
    ``samples (k + 2)`` rows (first-order and total indices, no second-order)."""
    if method == "morris":
        from SALib.sample import morris

        return morris.sample(problem, samples, num_levels=levels, seed=seed)
    if method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, samples, calc_second_order=False, seed=seed)
    raise ValueError(f"method: unknown {method!r}; allowed: {', '.join(METHODS)}")


def analyse(problem: dict, X: np.ndarray, Y: np.ndarray, method: str, *, levels: int = 4, conf_level: float = 0.95,
            resamples: int = 100, seed: int = 0) -> dict[str, np.ndarray]:
    """SALib's analysis of ``Y`` (float64 ``(runs,)``) sampled at ``X`` by :func:`design`.

    Morris: ``mu``, ``mu_star``, ``sigma``, ``mu_star_conf`` (in the output's units: the mean
    change of the output over the parameter's whole range). Sobol': ``S1``, ``S1_conf``,
    ``ST``, ``ST_conf`` (shares of the output's variance). Each ``(k,)``."""
    Y = np.asarray(Y, dtype=np.float64)
    if method == "morris":
        from SALib.analyze import morris

        si = morris.analyze(problem, X, Y, num_levels=levels, conf_level=conf_level, num_resamples=resamples,
                            seed=seed)
        keys = ("mu", "mu_star", "sigma", "mu_star_conf")
    elif method == "sobol":
        from SALib.analyze import sobol

        # SALib's sobol.analyze seeds its bootstrap only `if seed:`, so seed 0 (the default) would
        # draw from NumPy's global generator and the intervals would change from run to run. A
        # Generator is always taken, and default_rng(seed) is the one SALib builds from a seed > 0.
        si = sobol.analyze(problem, Y, calc_second_order=False, conf_level=conf_level, num_resamples=resamples,
                           seed=np.random.default_rng(seed))
        keys = ("S1", "S1_conf", "ST", "ST_conf")
    else:
        raise ValueError(f"method: unknown {method!r}; allowed: {', '.join(METHODS)}")
    return {k: np.asarray(si[k], dtype=np.float64) for k in keys}


def sensitivity(
    sweep: SweepSpec | str | os.PathLike,
    *,
    method: str | None = None,
    out: str | os.PathLike | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    client=None,
    progress: Callable[[SweepProgress], None] | None = None,
) -> SensitivityResult:
    """Sample the ``[sensitivity.parameters]`` of a sweep file, run every point (by seed) as a
    sweep into ``out`` (default ``sweeps/<name>-<method>``), and analyse the end year and ``C``
    at the chosen years. Writes ``sensitivity.parquet`` and ``sensitivity.png`` into ``out``."""
    import pandas as pd

    spec = sweep if isinstance(sweep, SweepSpec) else load_sweep(sweep)
    sp = read_plan(spec, method)
    X = design(sp.problem, sp.method, sp.samples, levels=sp.levels, seed=sp.seed)
    names = sp.problem["names"]
    rows = [{n: float(x) for n, x in zip(names, row)} for row in X]
    keys = [_point_key(r, names) for r in rows]
    unique: dict[str, dict] = {}
    for key, row in zip(keys, rows):
        unique.setdefault(key, row)  # Morris trajectories may meet at a point: it runs once
    spec_runs = dataclasses.replace(spec, points=tuple(unique.values()))
    folder = Path(out) if out is not None else default_folder(spec, f"-{sp.method}")
    _check_outputs(folder)
    result = run_sweep(spec_runs, out=folder, scheduler=scheduler, workers=workers, client=client, progress=progress)
    if len(result.failed):
        first = result.failed.iloc[0]
        raise RuntimeError(f"{len(result.failed)} of {len(result.runs)} runs failed, so the indices cannot be "
                           f"computed; the first, {first['run_id']}: {first['error']}")

    per_run = outputs_of_runs(result, sp)
    run_point = {r.run_id: _point_key(dict(r.varying), names) for r in plan(spec_runs)}
    per_run["point"] = per_run["run_id"].map(run_point)
    by_point = per_run.groupby("point", sort=False)[list(output_names(sp))].mean()
    Y = by_point.loc[keys].to_numpy()  # (len(X), outputs), in the order of X

    notes = []
    censored = int((~per_run["reached"]).sum())
    if censored:
        notes.append(f"end year: {censored} of {len(per_run)} runs did not reach the end of correction; "
                     f"their end year is the horizon ({sp.horizon})")
    records = []
    left_out = []  # said on the figure too: a panel that is missing would otherwise go unnoticed
    for j, out_name in enumerate(output_names(sp)):
        y = Y[:, j]
        if np.ptp(y) == 0:
            if out_name == "end_year" and censored == len(per_run):  # the note above says why: once is enough
                notes[0] += "; no sensitivity to show"
                left_out.append(f"{_label(out_name)[0]}: no panel, no run ended within the horizon ({sp.horizon})")
            else:
                notes.append(f"{out_name}: the same ({y[0]:.6g}) in every run; no sensitivity to show")
                left_out.append(f"{_label(out_name)[0]}: no panel, the same ({y[0]:.6g}) in every run")
            continue
        si = analyse(sp.problem, X, y, sp.method, levels=sp.levels, conf_level=sp.conf_level,
                     resamples=sp.resamples, seed=sp.seed)
        for i, name in enumerate(names):
            records.append({"output": out_name, "parameter": name, **{k: float(v[i]) for k, v in si.items()}})
        broken = out_of_bounds(si, names)
        if broken:
            notes.append(f"{out_name}: {'; '.join(broken)}: estimates outside the indices' bounds (sampling error: more samples narrow it)")
    indices = pd.DataFrame.from_records(records)
    outputs = pd.DataFrame(X, columns=names).assign(**{o: Y[:, j] for j, o in enumerate(output_names(sp))})
    _write_indices(result.folder, indices, sp, notes)
    figure = result.folder / FIGURE
    plot(indices, sp, figure, censored=(censored, len(per_run)), left_out=left_out)
    return SensitivityResult(result.folder, sp, X, outputs, indices, tuple(notes), figure, result)


def out_of_bounds(si: dict[str, np.ndarray], names: list[str]) -> list[str]:
    """Where Sobol' estimates break what the indices are (shares of a variance: ``0 <= S1 <=
    ST <= 1``), one phrase each, e.g. ``ST of light.alpha 1.685 > 1``; none for Morris."""
    if "S1" not in si:
        return []
    said = []
    for i, name in enumerate(names):
        s1, st = float(si["S1"][i]), float(si["ST"][i])
        said += [f"{k} of {name} {v:.4g} {'< 0' if v < 0 else '> 1'}" for k, v in (("S1", s1), ("ST", st))
                 if v < 0 or v > 1]
        if s1 > st:
            said.append(f"S1 of {name} {s1:.4g} > its ST {st:.4g}")
    return said


def output_names(sp: SensitivityPlan) -> tuple[str, ...]:
    return ("end_year", *(f"C_at_{y}" for y in sp.years))


def outputs_of_runs(result: SweepResult, sp: SensitivityPlan):
    """One row per run: its end year (the horizon if not reached) and ``C`` at each chosen year
    (a run that stopped at the end of correction has its last ``C`` after it)."""
    import pandas as pd

    m = result.metrics
    rows = []
    for run in result.runs.itertuples(index=False):
        mine = m[m["run_id"] == run.run_id]
        year = mine["year"].to_numpy()
        c = mine["cleansing_mean"].to_numpy()
        row = {"run_id": run.run_id, "reached": not pd.isna(run.end_year),
               "end_year": float(sp.horizon if pd.isna(run.end_year) else run.end_year)}
        for y in sp.years:
            hit = np.nonzero(year == y)[0]
            row[f"C_at_{y}"] = float(c[hit[0]] if hit.size else c[-1])
        rows.append(row)
    return pd.DataFrame.from_records(rows)


def _write_indices(folder: Path, indices, sp: SensitivityPlan, notes: list[str]) -> None:
    import pyarrow as pa

    from .tables import write_parquet

    table = pa.Table.from_pandas(indices, preserve_index=False) if len(indices) else pa.table({"output": pa.array([], pa.string())})
    from ..outputs.provenance import MODEL_REVISION, code_digest

    write_parquet(folder / TABLE, table, {
        "tikkun.version": __version__, "tikkun.code": code_digest(), "tikkun.model_revision": str(MODEL_REVISION),
        "tikkun.method": sp.method, "tikkun.problem": json.dumps(sp.problem),
        "tikkun.settings": json.dumps({"samples": sp.samples, "levels": sp.levels, "years": list(sp.years),
                                       "seed": sp.seed, "conf_level": sp.conf_level, "resamples": sp.resamples,
                                       # as SALib is called: Sobol' first-order and total only
                                       **({"calc_second_order": False} if sp.method == "sobol" else {})}),
        "tikkun.notes": json.dumps(notes)})


# ---------------------------------------------------------------- figure
def _label(output: str) -> tuple[str, str]:
    """(title, unit) of an output."""
    if output == "end_year":
        return "end of correction", "years"
    return f"C at year {output.removeprefix('C_at_')}", "C, share of cleansing"


def plot(indices, sp: SensitivityPlan, path: Path, censored: tuple[int, int] = (0, 0),
         left_out: tuple[str, ...] | list[str] = ()) -> None:
    """Morris: sigma against mu* for each output, with mu*'s confidence interval; Sobol': S1
    and ST for each parameter, with confidence intervals. One panel per output. ``censored``:
    (runs that did not reach the end, runs), said on the end year's panel, whose effects are
    then partly the horizon's (a reader of the figure alone would not know it). ``left_out``:
    one line for each output without a panel (it did not vary), written under the panels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # no pyplot: the caller's backend and figures are left alone

    from ..outputs.atomic import write_with

    outputs = list(dict.fromkeys(indices["output"])) if len(indices) else []
    n = max(1, len(outputs))
    fig = Figure(figsize=(4.8 * n, 4.2))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, n, squeeze=False)
    conf = f"{sp.conf_level:.0%}"
    for ax, out in zip(axes[0], outputs):
        d = indices[indices["output"] == out]
        title, unit = _label(out)
        if sp.method == "morris":
            top = float(max((d["mu_star"] + d["mu_star_conf"]).max(), d["sigma"].max())) * 1.1 or 1.0
            ax.plot([0, top], [0, top], ls=":", color="0.5", lw=1, label="σ = μ*")
            for i, r in enumerate(d.itertuples(index=False)):
                ax.errorbar(r.mu_star, r.sigma, xerr=r.mu_star_conf, fmt=MARKERS[i % len(MARKERS)], ms=7,
                            color=f"C{i % 10}", ecolor=f"C{i % 10}", elinewidth=1, capsize=3, label=r.parameter)
            ax.set_xlim(-0.03 * top, top)
            ax.set_ylim(-0.03 * top, top)
            ax.set_xlabel(f"μ*, mean |elementary effect| ({unit})")
            ax.set_ylabel(f"σ of the elementary effects ({unit})")
            if ax is axes[0][0]:
                handles, labels = ax.get_legend_handles_labels()
        else:
            x = np.arange(len(d))
            ax.bar(x - 0.2, d["S1"], 0.4, yerr=d["S1_conf"], capsize=3, label="S1 (first order)", color="C0")
            ax.bar(x + 0.2, d["ST"], 0.4, yerr=d["ST_conf"], capsize=3, label="ST (total)", color="C1")
            ax.set_xticks(x, d["parameter"], rotation=20, ha="right")
            ax.set_xlabel("parameter (scenario key)")
            ax.axhline(0, color="0.3", lw=0.8)
            ax.set_ylabel("Sobol' index (share of the variance)")
            ax.legend(fontsize=8, frameon=False)
        if out == "end_year" and censored[0]:
            title += f"\n{censored[0]} of {censored[1]} runs not ended: counted at the horizon ({sp.horizon})"
        ax.set_title(f"{title}\n(Sobol', bars: {conf} confidence)" if sp.method == "sobol" else
                     f"{title}\n(Morris, bars: {conf} confidence of μ*)", fontsize=10)
        ax.grid(alpha=0.3)
    if not outputs:
        axes[0][0].text(0.5, 0.5, "no output varies across the runs", ha="center", va="center")
        axes[0][0].set_axis_off()
    # the bottom of the figure, from below: the notes of outputs without a panel, then Morris's legend
    note_h = 0.05 * len(left_out)
    for i, line in enumerate(reversed(list(left_out))):
        fig.text(0.5, 0.01 + 0.05 * i, line, ha="center", va="bottom", fontsize=9, color="0.25")
    if sp.method == "morris" and outputs:
        # one legend for all panels, below them: points close together stay readable
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 5), fontsize=9, frameon=False,
                   bbox_to_anchor=(0.5, note_h))
        fig.tight_layout(rect=(0, note_h + 0.06 * ((len(labels) + 4) // 5), 1, 1))
    elif outputs:
        fig.tight_layout(rect=(0, note_h, 1, 1))
    write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120, metadata={"Source": PNG_MARK}))


def _check_outputs(folder: Path) -> None:
    """Refuse, before any run, a folder whose ``sensitivity.parquet`` or ``sensitivity.png`` tikkun
    did not write: they are replaced at the end (nothing a user made is touched). The table is
    ours with tikkun's keys in its Parquet metadata; the figure with :data:`PNG_MARK`, or, beside
    our table, drawn by Matplotlib (as tikkun 0.3.0 left it), as the experiments tell theirs."""
    import pyarrow.parquet as pq

    from .tables import png_text

    table, figure = folder / TABLE, folder / FIGURE
    ours = False
    if os.path.lexists(table):
        try:
            ours = table.is_file() and b"tikkun.method" in (pq.read_schema(table).metadata or {})
        except Exception:  # anything pyarrow cannot read as Parquet is not ours
            ours = False
        if not ours:
            raise SweepError(f"--out {folder}: {table.name} was not written by tikkun sensitivity; move it away "
                             "first (tikkun never writes over what is there)")
    if os.path.lexists(figure):
        text = png_text(figure) if figure.is_file() else {}
        if not (text.get("Source") == PNG_MARK or (ours and text.get("Software", "").startswith("Matplotlib"))):
            raise SweepError(f"--out {folder}: {figure.name} was not written by tikkun sensitivity; move it away "
                             "first (tikkun never writes over what is there)")


def _point_key(point: dict, names: list[str]) -> str:
    return ",".join(format_value(point[n]) for n in names)


def _flat(table: dict, prefix: str = "", *, bad) -> dict:
    """``{"light": {"beta": r}}`` and ``{"light.beta": r}`` both give ``{"light.beta": r}``; a key
    given both ways is refused (TOML holds both, and one would silently replace the other)."""
    out = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        items = _flat(v, key + ".", bad=bad).items() if isinstance(v, dict) else [(key, v)]
        for name, rng in items:
            if name in out:
                raise bad(f"sensitivity.parameters.{name}", "given twice (as a dotted key and in a table); give it once")
            out[name] = rng
    return out


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _type_name(t) -> str:
    """How a message names a key's type: ``int``, ``bool``, or the names a key of names allows."""
    if typing.get_origin(t) is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(t))
    return getattr(t, "__name__", str(t))
