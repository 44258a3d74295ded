"""``no-unity-no-correction`` (000: only what the light united can be corrected): the sparks of
a vessel broken after stirring (mixed, not one) against those of a struck vessel.

The vessels are :mod:`.mixing_is_not_unity`'s stirred and struck ones, on its 64 x 64 grid,
where that claim measures the stirred one mixed (coarse mixing 0.7-0.8) and not one (unity
about half): on a larger grid the same stir has not yet mixed the vessel, and its sparks
would be those of a vessel merely separated. Each vessel's final unity and mixing are recorded
with the verdict.

Measure: C of phase 2 (the ``quick`` world, constant light) for each vessel; the year T in
which the struck arm's C first reaches 0.5, and the stirred arm's C in that year. Verdict: holds
if in every seed the stirred arm's C at T is below 0.1 ("barely correct"). The line also gives
the year the stirred arm's C reaches 0.5 and both arms' C at the end: a verdict at one
year cannot tell a delay from a stop, and the reader is told which it is.
"""

from __future__ import annotations

import numpy as np

from . import mixing_is_not_unity as mixing
from .core import SHEPHERD_SPAN, Arm, Experiment, Verdict, band, curve, light_turns, range_text

YEARS = 300
STIRRED_BELOW = 0.1  # "barely correct": the rule's bound on the stirred C (verdict and figure)
STAGES = {"stirred": mixing.STAGES["stir"], "struck": mixing.STAGES["strike"]}  # the vessels that claim measures
GRID = mixing.GRID


def _half_year(run) -> int | None:
    """The first year the run's C reaches 0.5 (None if it never does)."""
    hit = np.nonzero(run.metrics["cleansing_mean"] >= 0.5)[0]
    return int(run.metrics["year"][hit[0]]) if hit.size else None


def measure(by_arm):
    out = {"seeds": {}}
    struck = {r.seed: r for r in by_arm["struck"]}
    for r in by_arm["stirred"]:
        s = struck[r.seed]
        t = _half_year(s)
        out["seeds"][r.seed] = {
            "T": t, "C_stirred_at_T": r.at("cleansing_mean", t) if t is not None else None,
            "T_stirred": _half_year(r),
            "unity_mean_stirred": r.summary.get("sparks_unity_mean"), "unity_mean_struck": s.summary.get("sparks_unity_mean"),
            "vessel_stirred": r.summary.get("genesis"), "vessel_struck": s.summary.get("genesis"),
            "C_end_stirred": float(r.metrics["cleansing_mean"][-1]),
            "C_end_struck": float(s.metrics["cleansing_mean"][-1])}
    return out


def years_span(ys) -> str:
    """``year 105`` or ``years 105-106``: the years over the seeds."""
    return f"year{'s' if min(ys) != max(ys) else ''} {range_text(ys, 0)}"


def verdict(m):
    vals = [v["C_stirred_at_T"] for v in m["seeds"].values()]
    ok = all(x is not None for x in vals) and max(vals) < STIRRED_BELOW
    ts = [v["T"] for v in m["seeds"].values()]
    u = [v["unity_mean_stirred"] for v in m["seeds"].values()]
    us = [v["unity_mean_struck"] for v in m["seeds"].values()]
    mixed = [v["vessel_stirred"]["final_mixing"] for v in m["seeds"].values()]
    one = [v["vessel_stirred"]["final_unity"] for v in m["seeds"].values()]
    reached = all(x is not None for x in vals)
    when = years_span(ts) if reached else ""
    # what comes after the rule's year: the stirred sparks are late, or never correct (a reader of
    # "barely correct" at one year must see which)
    later = [v.get("T_stirred") for v in m["seeds"].values()]
    late = (f"reaches 0.5 in {years_span(later)}" if all(y is not None for y in later)
            else f"never reaches 0.5 in {sum(y is None for y in later)} of {len(later)} seeds")
    ends = ([v["C_end_stirred"] for v in m["seeds"].values()], [v["C_end_struck"] for v in m["seeds"].values()])
    line = (f"when the struck sparks' C reaches 0.5 ({when}), the stirred sparks' C is {range_text(vals, 3)}; "
            f"the stirred C {late} (C at the end: {range_text(ends[0], 3)} stirred, "
            f"{range_text(ends[1], 3)} struck); "
            f"sparks' mean unity {range_text(u, 2)} (stirred) against {range_text(us, 2)} (struck); "
            f"the stirred vessel's mixing {range_text(mixed, 2)}, unity {range_text(one, 2)}"
            if reached else "the struck arm never reached C = 0.5")
    return Verdict(ok, f"stirred C < {STIRRED_BELOW:g} in the year the struck C first reaches 0.5, every seed",
                   {"C_stirred_at_T_max": max(v for v in vals if v is not None) if any(v is not None for v in vals) else None,
                    "T": ts, "sparks_unity_mean_stirred": float(np.mean(u)),
                    "sparks_unity_mean_struck": float(np.mean(us)),
                    "stirred_vessel_mixing": mixed, "stirred_vessel_unity": one}, line)


def figure(fig, by_arm, m, v):
    grid = fig.add_gridspec(2, 1, height_ratios=(3, 1.3))
    ax = fig.add_subplot(grid[0])
    axj = fig.add_subplot(grid[1], sharex=ax)
    x = np.arange(YEARS)
    arms = (("struck", "tab:blue", "sparks of the struck vessel"), ("stirred", "tab:red", "sparks of the stirred vessel"))
    for arm, colour, label in arms:
        band(ax, x, np.array([curve(r, "cleansing_mean", YEARS) for r in by_arm[arm]]), colour, label)
        band(axj, x, np.array([curve(r, "holiness", YEARS) for r in by_arm[arm]]), colour, label)
    ax.axhline(0.5, color="0.6", ls=":", lw=1)
    # what the verdict compares: the year T the struck C first reaches 0.5 (seed by seed), the stirred
    # C in it (a dot a seed), and the rule's bound on that C
    seeds = [s for s in m["seeds"].values() if s["T"] is not None]
    if seeds:
        ts = [s["T"] for s in seeds]
        for axis in (ax, axj):
            axis.axvspan(min(ts) - 0.5, max(ts) + 0.5, color="tab:purple", alpha=0.25, lw=0, zorder=0)
        ax.plot(ts, [s["C_stirred_at_T"] for s in seeds], "o", color="tab:red", mec="k", mew=0.5, ms=4, zorder=4,
                label="the stirred C in that year, a dot a seed")
        ax.axhline(STIRRED_BELOW, color="tab:red", ls="--", lw=0.8,
                   label=f"the rule: the stirred C below {STIRRED_BELOW:g} in that year")
        lo, hi = min(s["C_stirred_at_T"] for s in seeds), max(s["C_stirred_at_T"] for s in seeds)
        span = years_span(ts)
        # under the dotted 0.5 and above the stirred curve, which climbs to the right
        ax.text(max(ts) + 3, 0.475, f"{span} (purple): the struck C\nfirst reaches 0.5; the stirred C\n"
                f"then {lo:.3f}-{hi:.3f} (the dots;\nthe dashed line: the bound)", fontsize=8, va="top",
                color="tab:purple")
    # the kinks of C: years in which every soul's light changed at once (both arms' runs say when)
    turns = light_turns(by_arm["struck"][0])
    judged = {light_turns(r)["judge_complete"] for r in by_arm["struck"]}
    if len(judged) == 1 and None not in judged:
        (y,) = judged
        j0 = by_arm["struck"][0].at("holiness", y - 1)
        ax.annotate(f"year {y}: a new generation's judge, complete:\nJ from {j0:g} to 1 multiplies every soul's "
                    f"light by {1 / j0:.3g}",
                    (y, curve(by_arm["struck"][0], "cleansing_mean", YEARS)[y]), xytext=(3, 0.62), fontsize=8,
                    arrowprops={"arrowstyle": "->", "color": "0.3"})
    for a, b in zip(turns["shepherd_from"], turns["shepherd_until"]):
        for axis in (ax, axj):
            axis.axvspan(a, b, zorder=0, **SHEPHERD_SPAN)
        # right of the band, where both curves are above 0.9: clear of them
        ax.text(b + 3, 0.3, f"years {a}-{b} (olive\nband): a shepherd,\nthe preset's event;\nits light reaches "
                "every\nsoul until its\ngeneration ends", ha="left", va="center", fontsize=8)
    ax.set_ylabel("collective correction C\n(mean cleansing)")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, loc="upper left")
    axj.set_ylabel("holiness J\n(of the judge)")
    axj.set_title("the judge's holiness J in each arm (colours as above)", fontsize=8)
    axj.set_xlabel("year of correction (a generation: 40 years, its judge chosen at its start)")
    axj.set_ylim(0.45, 1.05)
    for axis in (ax, axj):
        axis.grid(alpha=0.3)
    ax.tick_params(labelbottom=False)


EXPERIMENT = Experiment(
    name="no-unity-no-correction",
    claim="Sparks from a stirred vessel barely correct; sparks from a struck one do.",
    source="000, 'only when the Upper Light maintains it'; unity that cannot be broken",
    arms=(Arm("stirred", {"genesis.n": GRID, "genesis.stages": STAGES["stirred"]}),
          Arm("struck", {"genesis.n": GRID, "genesis.stages": STAGES["struck"]})),
    base="quick", souls=20_000, years=YEARS,
    why_size="the vessels of mixing-is-not-unity, on its 64 x 64 grid, where its stir mixes the vessel (on a larger "
             "grid the same stir has not yet mixed it); C is a mean over souls: 20,000 give it to about 0.3%; 300 "
             "years of the quick world's constant light take the struck sparks past one half (its shepherd at year "
             "200 comes to both arms alike)",
    construction="with inclusion (r2) a spark of unity 0 still corrects through the whole as C grows, so no spark "
                 "is barred for ever; what is measured is how far behind the stirred sparks fall",
    measure=measure, verdict=verdict, figure=figure, figsize=(9.5, 6.5),
)
