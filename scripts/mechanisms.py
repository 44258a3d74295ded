"""Does every mechanism act? Switch each of MODEL.md's mechanisms off in turn and measure.

MODEL.md, "The default history": "switched off one at a time ..., each moves the end year or
the C curve by more than the spread between seeds, or the docs show that it does not and say
why." This script runs the ``history`` preset and one variant per mechanism over the seeds
(default 20-24) at full scale, and writes ``docs/mechanisms.md`` with, for each mechanism, the
end year (mean, spread, runs that never end), the areas between its ``C`` and ``G`` curves and
the default's (paired by seed), whether any effect exceeds the spread between seeds, and a
figure of the ``C`` and ``G`` curves of every variant (``docs/figures/mechanisms.png``):

    python scripts/mechanisms.py [--seeds 20 21 22 23 24] [--workers 2] [--souls 600000]

Runs are spread over ``--workers`` processes, one Numba thread each (all cores by default).
Each finished run is kept in ``runs/mechanisms/`` (metrics only, named by a digest of its
scenario and of tikkun's code), so an interrupted measurement resumes where it stopped;
``--fresh`` starts over.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import copy
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PULSES = ("exodus", "conquest", "temple")


def _drop_events(raw, keep):
    raw["events"] = [e for e in raw.get("events", []) if keep(e)]
    return raw


def _unity_one(raw):
    """MODEL.md's "the breaking: sparks' unity 1": every spark keeps all its unity, and the worlds
    start where the breaking left them (the vessel's final unity, this seed's genesis run here),
    so that only the sparks' part of the breaking is switched off."""
    from tikkun.api import genesis
    from tikkun.scenario import build_scenario

    vessel = genesis(build_scenario(copy.deepcopy(raw), "the history's genesis"))
    raw.pop("genesis", None)
    raw["sparks"] = {**raw.get("sparks", {}), "unity": {"kind": "constant", "value": 1.0}}
    raw["worlds"] = {**raw.get("worlds", {}), "initial_unity": float(vessel.final_unity)}
    return raw


def _set(path, value):
    def f(raw):
        section, key = path.split(".")
        raw[section] = {**raw.get(section, {}), key: value}
        return raw
    return f


def _both(*fs):
    def f(raw):
        for g in fs:
            raw = g(raw)
        return raw
    return f


def _no_attachment(raw):
    raw["events"] = [{"kind": "policy", "year": 0, "group": {"share": 1.0}, "attachment": 0.0,
                      "label": "no attachment"}] + raw.get("events", [])
    return raw


def _no_torah(raw):
    for e in raw.get("events", []):
        if e.get("label") == "before the Torah":
            e.pop("until", None)  # the few's practice to the horizon
    return raw


#: name -> (what is switched off, how): MODEL.md's list, in its order, then the practice of
#: Torah and Mitzva (r2), which the list leaves out and a reader of 002 asks about first.
MECHANISMS = {
    "breaking": ("the breaking's sparks: every spark keeps unity 1 (the worlds start at the broken vessel's "
                 "unity, as in the history)", _unity_one),
    "inclusion": ("inclusion: u = iota (sparks.inclusion = false)", _set("sparks.inclusion", False)),
    "worlds": ("the four worlds: W = 1 (worlds.enabled = false)", _set("worlds.enabled", False)),
    "judges": ("judges: J = 1 (light.kappa0 = 1)", _set("light.kappa0", 1.0)),
    "preparation": ("preparation: beta = 0", _set("light.beta", 0.0)),
    "aim": ("aim: steadiness = regain = 1", _both(_set("souls.steadiness", 1.0), _set("souls.regain", 1.0))),
    "warm-network": ("the warm network: theta_max = 0 (efforts stay at baseline)", _set("network.theta_max", 0.0)),
    "good-and-pure": ("the good and pure: no rewiring", _set("network.good_and_pure", False)),
    "shocks": ("shocks: none (the exiles' and the media's rate events dropped)",
               lambda raw: _drop_events(raw, lambda e: e.get("key") != "impurity.rate")),
    "attachment": ("attachment: every a = 0 (a policy at year 0)", _no_attachment),
    "shepherds": ("shepherds: none (generations.shepherds = events, no events)", _set("generations.shepherds", "events")),
    "hbd-spread": ("the spread of hbd: hbd_sigma = 0", _set("souls.hbd_sigma", 0.0)),
    "pulses": ("the redemption pulses: the exodus, conquest and Temple pulses dropped",
               lambda raw: _drop_events(raw, lambda e: e.get("label") not in PULSES)),
    "torah": ("the giving of the Torah: the practice stays the few's of before it (the history's 'before the Torah' "
              "event to the horizon)", _no_torah),
}


def scenario_raw(variant: str, seed: int, souls: int) -> dict:
    from tikkun.scenario import load_scenario

    raw = load_scenario(preset="history").model_dump(mode="json", exclude_none=True)
    raw["run"] = {**raw["run"], "seed": seed, "stop_at_end": True}
    raw["souls"] = {**raw["souls"], "count": souls}
    if variant != "default":
        raw = MECHANISMS[variant][1](copy.deepcopy(raw))
    return raw


def kept_path(cache: Path, variant: str, seed: int, raw: dict) -> Path:
    """Where the run of ``raw`` is kept: named by the variant and seed and by a digest of its
    scenario and of tikkun's code, so that a run kept from another definition of a variant, or
    from other code, is never taken for this one."""
    from tikkun.outputs.provenance import code_digest

    digest = hashlib.sha256((json.dumps(raw, sort_keys=True) + code_digest()).encode()).hexdigest()[:12]
    return Path(cache) / f"{variant}-{seed}-{digest}.npz"


def run_one(variant: str, seed: int, souls: int, cache: str) -> dict:
    """One run in a worker process; its metrics are kept in ``cache`` (atomically)."""
    raw = scenario_raw(variant, seed, souls)
    path = kept_path(Path(cache), variant, seed, raw)
    if path.exists():
        with np.load(path) as d:
            return {k: d[k] for k in d.files}
    import tikkun
    from tikkun.outputs.atomic import write_with
    from tikkun.scenario import build_scenario

    t = time.perf_counter()
    res = tikkun.run(build_scenario(raw, f"{variant} seed {seed}"))
    m = res.metrics
    out = {"year": m["year"], "C": m["cleansing_mean"], "G": m["weakest_link"], "complete": m["complete"],
           "end_year": np.int64(-1 if res.summary["end_year"] is None else res.summary["end_year"]),
           "seconds": np.float64(time.perf_counter() - t)}

    def writer(tmp):
        with open(tmp, "wb") as fh:
            np.savez(fh, **out)

    write_with(path, writer)
    return out


def _curve(run: dict, horizon: int, key: str) -> np.ndarray:
    """The yearly curve over the whole horizon; after the end of correction it stays at 1."""
    y = np.ones(horizon)
    y[: len(run[key])] = run[key]
    return y


def analyse(results: dict, seeds: list[int], horizon: int) -> list[dict]:
    """Per variant: end years, the mean areas between its C and G curves and the default's
    (paired by seed, in C-years and G-years), and the spreads between seeds they are measured
    against (the mean over pairs of seeds of the default's own areas)."""
    pairs = [(a, b) for i, a in enumerate(seeds) for b in seeds[i + 1:]]
    spread, base = {}, {}
    for key in ("C", "G"):
        base[key] = {s: _curve(results[("default", s)], horizon, key) for s in seeds}
        spread[key] = float(np.mean([np.abs(base[key][a] - base[key][b]).sum() for a, b in pairs])) if pairs else 0.0
    spread_area = spread["C"]
    base_ends = np.array([int(results[("default", s)]["end_year"]) for s in seeds])
    rows = []
    for variant in ["default", *MECHANISMS]:
        ends = np.array([int(results[(variant, s)]["end_year"]) for s in seeds])
        ended = ends[ends >= 0]
        diff = {key: [_curve(results[(variant, s)], horizon, key) - base[key][s] for s in seeds] for key in ("C", "G")}
        area = {key: float(np.mean([np.abs(d).sum() for d in diff[key]])) for key in ("C", "G")}
        net = {key: float(np.mean([d.sum() for d in diff[key]])) for key in ("C", "G")}  # + where the variant is ahead
        both = (ends >= 0) & (base_ends >= 0)  # the seeds that end in both: the end paired by seed
        rows.append({"variant": variant, "ends": ends, "ended": ended, "area": area["C"], "area_G": area["G"],
                     "net": net["C"], "net_G": net["G"],
                     "areas_by_seed": {key: [float(np.abs(d).sum()) for d in diff[key]] for key in ("C", "G")},
                     "paired": ends[both] - base_ends[both]})
    b_ended = base_ends[base_ends >= 0]
    end_spread = float(b_ended.max() - b_ended.min()) if b_ended.size > 1 else float("nan")
    for r in rows:
        # end-year effect: the mean shift over the seeds that end in both (paired by seed: the
        # same seeds on both sides), against the default's range
        r["end_shift"] = float(r["paired"].mean()) if r["paired"].size else float("nan")
        never_diff = (r["ends"] < 0).sum() != (base_ends < 0).sum()
        r["end_acts"] = bool(never_diff or (np.isfinite(r["end_shift"]) and abs(r["end_shift"]) > end_spread))
        r["c_acts"] = r["area"] > spread_area
        r["g_acts"] = r["area_G"] > spread["G"]
        r["spread_area"], r["spread_area_G"], r["end_spread"] = spread_area, spread["G"], end_spread
    return rows


def _exiles(scenario) -> list[tuple[str, int, int]]:
    """The history's exiles: ``(label, first year, year after the last)`` of every span whose
    light is set below 1 (the preset's events)."""
    return [(e.label, e.year, e.until if e.until is not None else scenario.run.years) for e in scenario.events
            if e.kind == "set" and e.key == "light.light" and e.value < 1.0]


def _largest_fall(c: np.ndarray) -> float:
    """The largest fall of ``c`` from its highest value so far to a later one (0 if it never falls)."""
    return float((np.maximum.accumulate(c) - c).max()) if c.size else 0.0


def history_shows(results: dict, seeds: list[int], scenario) -> list[dict]:
    """Per seed, what MODEL.md asks the default history to show (measured, not targeted): the
    year ``C`` first reaches one half and its era; the largest fall of ``C`` within each exile;
    ``G`` at the Messiah era's start and 500 years into it, with the shepherds and without them
    (the ``shepherds`` variant), and both end years."""
    from tikkun.rules.generations import ERAS, era_of

    gens, horizon = scenario.generations, scenario.run.years
    m0, m1 = gens.messiah_from, min(gens.messiah_from + 500, horizon - 1)
    rows = []
    for s in seeds:
        c = _curve(results[("default", s)], horizon, "C")
        g = _curve(results[("default", s)], horizon, "G")
        g_off = _curve(results[("shepherds", s)], horizon, "G")
        half = int(np.argmax(c >= 0.5)) if (c >= 0.5).any() else -1
        rows.append({
            "seed": s, "half": half, "era": ERAS[era_of(half, gens.torah_from, gens.messiah_from)] if half >= 0 else "",
            "falls": [(label, _largest_fall(c[a:b]), float(c[a])) for label, a, b in _exiles(scenario)],
            "g": (float(g[m0]), float(g[m1])), "g_off": (float(g_off[m0]), float(g_off[m1])), "years": (m0, m1),
            "end": int(results[("default", s)]["end_year"]), "end_off": int(results[("shepherds", s)]["end_year"]),
        })
    return rows


def _acts(row: dict, n_seeds: int) -> tuple[str, list[str]]:
    """Whether a variant's mechanism acts ("yes", "no", or not decided with one seed) and by
    which measures: the end, C's area, G's area, each beyond the spread between seeds."""
    if n_seeds < 2:  # no spread between seeds to measure an effect against
        return "not decided (one seed: no spread)", []
    why = [k for k, flag in (("end", row["end_acts"]), ("C", row["c_acts"]), ("G", row["g_acts"])) if flag]
    return ("yes" if why else "no"), why


def _year(y: int) -> str:
    return "never" if y < 0 else f"{y:,}"


def figure(results, seeds, horizon, path: Path, analysed: list[dict] | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(MECHANISMS)
    cols = 4
    rows = (len(names) + cols - 1) // cols
    # sized for a page about 1,000 px wide, where the docs show it: the text stays legible
    fig, axes = plt.subplots(rows, cols, figsize=(10.0, 2.15 * rows + 0.6), sharex=True, sharey=True)
    years = np.arange(horizon)
    by_name = {}  # the doc's verdict on each panel: which measures exceed the seeds' spread
    for r in analysed or []:
        acts, why = _acts(r, len(seeds))
        by_name[r["variant"]] = {"yes": f"acts ({', '.join(why)})", "no": "does not act"}.get(acts, acts)
    base_c = np.array([_curve(results[("default", s)], horizon, "C") for s in seeds])
    base_g = np.array([_curve(results[("default", s)], horizon, "G") for s in seeds])
    for ax, name in zip(axes.flat, names):
        var_c = np.array([_curve(results[(name, s)], horizon, "C") for s in seeds])
        var_g = np.array([_curve(results[(name, s)], horizon, "G") for s in seeds])
        # the variant's lines wide and light, the default's narrow and dark on top: where the
        # two coincide both stay visible
        for arr, colour, style, width, label in ((var_c, "tab:red", "-", 2.2, "C, mechanism off"),
                                                 (var_g, "tab:red", "--", 2.2, "G, mechanism off"),
                                                 (base_c, "0.15", "-", 0.9, "C, default history"),
                                                 (base_g, "0.15", "--", 0.9, "G, default history")):
            ax.fill_between(years, arr.min(0), arr.max(0), color=colour, alpha=0.2, lw=0)
            ax.plot(years, arr.mean(0), color=colour, ls=style, lw=width, label=label)
        verdict = by_name.get(name)
        ax.set_title(name + ("" if verdict is None else f": {verdict}"), fontsize=9.5, pad=3,
                     color="black" if verdict is None or not verdict.startswith("does not") else "tab:red")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xticks([0, 2000, 4000, 6000])
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(names):]:
        ax.axis("off")
    for col in range(cols):  # the lowest panel of each column carries the years
        last = axes[(len(names) - 1 - col) // cols, col] if col < len(names) else None
        if last is not None:
            last.set_xlabel("year from creation", fontsize=9)
            last.xaxis.set_tick_params(labelbottom=True)
    for ax in axes[:, 0]:
        ax.set_ylabel("share (0 to 1)", fontsize=9)
    # the legend and what C and G are, in the empty places after the last panel
    handles, labels = axes.flat[0].get_legend_handles_labels()
    spare = list(axes.flat[len(names):])
    if len(spare) >= 2:
        spare[0].legend(handles, labels, loc="center left", fontsize=8.5, frameon=False)
        spare[1].text(0.02, 0.5, "C: the collective correction,\nthe souls' mean cleansing\n"
                      "G: the weakest link, the least\ncorrected spark (the end: G = 1)\n\n"
                      "line: mean over the seeds;\nband: their least to most\n\n"
                      "title: acts where its end, C or G\ndiffers beyond the seeds' spread",
                      transform=spare[1].transAxes, fontsize=8.5, va="center", linespacing=1.35)
    else:
        fig.legend(handles, labels, loc="lower right", ncol=2, fontsize=9, frameon=False)
    fig.suptitle(f"Each mechanism switched off: C and G over seeds {seeds[0]}-{seeds[-1]}", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.98), h_pad=0.6, w_pad=0.4)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _fmt_ends(ends: np.ndarray) -> str:
    ended = ends[ends >= 0]
    never = int((ends < 0).sum())
    if not ended.size:
        return f"never ({never} of {ends.size})"
    s = f"{ended.mean():,.0f} ± {ended.std(ddof=1) if ended.size > 1 else 0:,.0f} ({ended.min():,}-{ended.max():,})"
    return s + (f"; never in {never} of {ends.size}" if never else "")


def _area(x: float, sign: str = "") -> str:
    """An area in the table: one decimal; one that would read 0.0 or -0.0 but is not 0, with two
    significant digits (``2.3e-03``), so that a small effect is not taken for none."""
    if x == 0:
        return "0"
    return f"{x:{sign}.1e}" if abs(x) < 0.05 else f"{x:{sign},.1f}"


def _fmt_paired(d: np.ndarray) -> str:
    """``-368 ± 124 (5 of 5 earlier)``, ``+2 ± 27 (1 later, 3 earlier, 1 unchanged)``: the end's
    shifts paired by seed, with how many seeds move each way; empty where no seed ends in both."""
    if not d.size:
        return ""
    mean = float(d.mean())
    ways = [(int(n), word) for n, word in (((d > 0).sum(), "later"), ((d < 0).sum(), "earlier"),
                                          ((d == 0).sum(), "unchanged")) if n]
    sd = f" ± {d.std(ddof=1):,.0f}" if d.size > 1 else ""
    counts = f"{d.size} of {d.size} {ways[0][1]}" if len(ways) == 1 else ", ".join(f"{n} {w}" for n, w in ways)
    return f"{mean:+,.0f}{sd} ({counts})"


def write_doc(rows, seeds, souls, minutes, workers, path: Path, shows: list[dict] | None = None) -> None:
    from tikkun import __version__

    base = rows[0]
    lines = [
        "# Every mechanism, switched off in turn",
        "",
        "Generated by `python scripts/mechanisms.py` (do not edit by hand). MODEL.md, \"The default",
        "history\": every mechanism must matter in the history, measured. Each variant is the",
        f"`history` preset with one mechanism switched off (MODEL.md's list, then the practice of Torah and "
        f"Mitzva, `torah`, which the list leaves out), run over seeds {', '.join(map(str, seeds))} "
        f"at {souls:,} souls (tikkun {__version__}; {len(rows) * len(seeds)} runs in {minutes:.0f} minutes on "
        f"{workers} worker processes of one thread each).",
        "",
        "- **End year**: mean ± standard deviation over the seeds that end (range in brackets); a",
        "  seed that never ends by year 6,000 is counted apart.",
        "- **Area**: the area between the variant's `C` curve and the default's, paired by seed,",
        "  in C-years (after the end of correction `C` stays 1), mean over seeds; likewise for `G`.",
        "  In brackets the net area: the years where the variant's curve lies above the default's",
        "  count plus, below minus (a mechanism whose absence slows correction has a net area below",
        "  zero; one near zero against a large area moves the curve both ways).",
        "- **Shift of the end, paired by seed**: the variant's end year less the default's in each",
        "  seed that ends in both (the same seeds on both sides), mean ± standard deviation, and in",
        "  how many of those seeds the end comes later, earlier or in the same year. The same seed",
        "  draws the same souls, so a shift can be consistent though smaller than the spread between",
        "  seeds; MODEL.md's measure, the spread, alone decides **acts**.",
        "- **Spread between seeds**: not measured yet (one seed)." if len(seeds) < 2 else
        f"- **Spread between seeds**: the default's own end years range over "
        f"{base['end_spread']:,.0f} years, and two seeds' `C` curves differ by {base['spread_area']:,.1f} "
        f"C-years, their `G` curves by {base['spread_area_G']:,.1f} G-years on average (mean over pairs). A "
        "mechanism **acts** when its mean shift of the end exceeds that range, or it changes how many "
        "seeds end, or one of its areas exceeds the matching spread.",
        "",
        "| mechanism | switched off | end year | shift of the end, paired by seed | area between C "
        "curves (C-years) | area between G curves (G-years) | acts |",
        "|---|---|---|---|---|---|---|",
        f"| default | nothing | {_fmt_ends(base['ends'])} | | | | |",
    ]
    for r in rows[1:]:
        what = MECHANISMS[r["variant"]][0]
        acts, why = _acts(r, len(seeds))
        acts = "**no**" if acts == "no" else acts
        lines.append(f"| {r['variant']} | {what} | {_fmt_ends(r['ends'])} | {_fmt_paired(r['paired'])} | "
                     f"{_area(r['area'])} (net {_area(r['net'], '+')}) | {_area(r['area_G'])} (net {_area(r['net_G'], '+')}) | {acts}{' (' + ', '.join(why) + ')' if why else ''} |")
    lines += ["", "![C and G of every variant](figures/mechanisms.png)", ""]
    if len(seeds) > 1:
        lines += [
            "## Seed by seed",
            "",
            "The end year of every run, and in brackets its area between `C` curves and between `G` curves "
            "against the default's of the same seed (C-years, G-years). The same numbers, unrounded, are in "
            "`mechanisms.json` beside this page.",
            "",
            "| mechanism | " + " | ".join(f"seed {s}" for s in seeds) + " |",
            "|---" * (1 + len(seeds)) + "|",
        ]
        for r in rows:
            cells = [_year(int(e)) if r is base else
                     f"{_year(int(e))} ({_area(ac)}, {_area(ag)})"
                     for e, ac, ag in zip(r["ends"], r["areas_by_seed"]["C"], r["areas_by_seed"]["G"])]
            lines.append(f"| {r['variant']} | " + " | ".join(cells) + " |")
        lines.append("")
    inert = [r["variant"] for r in rows[1:] if not (r["end_acts"] or r["c_acts"] or r["g_acts"])]
    if len(seeds) < 2:
        lines += [f"**Incomplete**: only seed {seeds[0]} has every variant finished, so the effects above cannot "
                  "be set against the spread between seeds yet; `python scripts/mechanisms.py` runs the rest.", ""]
    elif inert:
        paired = {r["variant"]: r["paired"] for r in rows}
        lines += ["Mechanisms that do not act by this measure: " + ", ".join(f"`{v}`" for v in inert)
                  + ". Paired by seed, their shifts of the end: "
                  + "; ".join(f"`{v}` {_fmt_paired(paired[v]) or 'none (no seed ends in both)'}" for v in inert)
                  + ". Why, for each, is discussed in docs/calibration.md (\"What the history shows\").", ""]
    else:
        lines += ["Every mechanism acts by this measure.", ""]
    if shows:
        m0, m1 = shows[0]["years"]
        lines += [
            "## What the default history shows over the seeds",
            "",
            "MODEL.md asks the default history to show, measured over the seeds and not targeted: `C` "
            "crossing one half in the Torah era or later, dips of `C` in the exiles, and the shepherds' "
            "effect in the Messiah era. A dip is the largest fall of `C` within the exile from its highest "
            "value so far; the shepherds' effect is `G` with them against `G` of the `shepherds` variant "
            "(none), the same seed.",
            "",
            "| seed | `C` reaches 1/2 | " + " | ".join(f"largest fall of `C` in the {label} (`C` at its start)"
                                                  for label, _, _ in shows[0]["falls"])
            + f" | `G` in {m0:,} and {m1:,}, with shepherds / without | end year, with / without |",
            "|---" * (4 + len(shows[0]["falls"])) + "|",
        ]
        for r in shows:
            falls = " | ".join(f"{f:.1e} ({c0:.6f})" for _, f, c0 in r["falls"])
            lines.append(f"| {r['seed']} | {_year(r['half'])} ({r['era']} era) | {falls} | "
                         f"{r['g'][0]:.3f}, {r['g'][1]:.3f} / {r['g_off'][0]:.3f}, {r['g_off'][1]:.3f} | "
                         f"{_year(r['end'])} / {_year(r['end_off'])} |")
        lines.append("")
    from tikkun.outputs.atomic import write_with

    write_with(path, lambda tmp: Path(tmp).write_text("\n".join(lines)))
    data = {"seeds": list(seeds), "souls": souls, "runs_minutes": round(minutes, 1), "workers": workers,
            "spread": {k: (v if np.isfinite(v) else None) for k, v in  # none with one seed
                       (("end_years", base["end_spread"]), ("area_C", base["spread_area"]),
                        ("area_G", base["spread_area_G"]))},
            "variants": {r["variant"]: {
                "switched_off": "nothing" if r is base else MECHANISMS[r["variant"]][0],
                "end_year": {str(s): (None if e < 0 else int(e)) for s, e in zip(seeds, r["ends"])},
                "area_C": dict(zip(map(str, seeds), r["areas_by_seed"]["C"])),
                "area_G": dict(zip(map(str, seeds), r["areas_by_seed"]["G"])),
                **({} if r is base else {"acts": _acts(r, len(seeds))[0], "by": _acts(r, len(seeds))[1]}),
            } for r in rows}}
    write_with(path.with_suffix(".json"),
               lambda tmp: Path(tmp).write_text(json.dumps(data, indent=1, allow_nan=False) + "\n"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[20, 21, 22, 23, 24])
    ap.add_argument("--souls", type=int, default=600_000)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--cache", default=str(ROOT / "runs" / "mechanisms"))
    ap.add_argument("--doc", default=str(ROOT / "docs" / "mechanisms.md"))
    ap.add_argument("--only", nargs="*", default=None, help="run only these variants (and the default)")
    ap.add_argument("--fresh", action="store_true", help="forget the kept runs")
    ap.add_argument("--partial", action="store_true",
                    help="run nothing: write the doc from the kept runs of the seeds for which every variant has finished")
    args = ap.parse_args()

    cache = Path(args.cache) / f"souls-{args.souls}"
    cache.mkdir(parents=True, exist_ok=True)
    if args.fresh:
        for p in cache.glob("*.npz"):
            p.unlink()
    variants = ["default", *(args.only if args.only else MECHANISMS)]
    if args.partial:
        kept = [s for s in args.seeds
                if all(kept_path(cache, v, s, scenario_raw(v, s, args.souls)).exists() for v in variants)]
        if not kept:
            raise SystemExit(f"no seed has every variant finished in {cache}")
        args.seeds = kept
    jobs = [(v, s) for s in args.seeds for v in variants]
    os.environ["NUMBA_NUM_THREADS"] = "1"  # each worker one thread: all cores busy with whole runs
    t0 = time.perf_counter()
    results = {}
    with cf.ProcessPoolExecutor(max_workers=args.workers) as pool:
        futures = {pool.submit(run_one, v, s, args.souls, str(cache)): (v, s) for v, s in jobs}
        for i, fut in enumerate(cf.as_completed(futures), 1):
            key = futures[fut]
            results[key] = fut.result()
            end = int(results[key]["end_year"])
            print(f"[{i}/{len(jobs)}] {key[0]:>14} seed {key[1]}: end {end if end >= 0 else 'never'} "
                  f"({float(results[key]['seconds']):.0f} s)", flush=True)
    minutes = (time.perf_counter() - t0) / 60
    if args.partial:
        minutes = sum(float(r["seconds"]) for r in results.values()) / 60 / max(args.workers, 1)
    if args.only:
        return
    from tikkun.scenario import load_scenario

    scenario = load_scenario(preset="history")
    horizon = scenario.run.years
    rows = analyse(results, args.seeds, horizon)
    doc = Path(args.doc)
    figure(results, args.seeds, horizon, doc.parent / "figures" / "mechanisms.png", rows)
    write_doc(rows, args.seeds, args.souls, minutes, args.workers, doc, history_shows(results, args.seeds, scenario))
    print(f"wrote {doc}, {doc.with_suffix('.json')} and {doc.parent / 'figures' / 'mechanisms.png'} ({minutes:.1f} minutes)")


if __name__ == "__main__":
    main()
