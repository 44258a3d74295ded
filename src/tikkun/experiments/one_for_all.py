"""``one-for-all`` (002, "when a single soul from Israel is purified from all its filth ...
through it, all the souls of its generation will be corrected"; "Moses is equal to 600,000"):
with shepherds by events only (r2), no shepherd at all against one soul made complete and a
shepherd early in the Messiah era.

Measure: the end of correction of the history. Verdict: holds if in every seed the end comes
with the shepherd by 6,000 (the texts' six thousand years), sooner than without it by more
than a tenth of the years from the event to 6,000. The arm without a shepherd runs on to
10,000, so that how much sooner is measured, not cut at 6,000: where it does not end by then,
the shepherd's gain is at least the years from its end to 10,000, printed as such.
"""

from __future__ import annotations

import numpy as np

from .core import Arm, Experiment, Verdict, band, curve, end_rows, end_year, range_text, years_text

YEAR = 4040
HORIZON = 6000  # the end must come by it with the shepherd
LONG = 10_000  # the runs' horizon: the arm without a shepherd is measured to it
MUCH = 0.1 * (HORIZON - YEAR)  # "much sooner": a tenth of the years from the event to 6,000


def measure(by_arm):
    out = {}
    for arm in ("none", "one"):
        out[arm] = {r.seed: {"end_year": end_year(r), "G_6000": r.at("weakest_link", HORIZON - 1),
                             "G_end": float(r.metrics["weakest_link"][-1]),
                             "C_5000": r.at("cleansing_mean", 5000),
                             "C_before_shepherd": r.at("cleansing_mean", YEAR - 1)} for r in by_arm[arm]}
    return out


def verdict(m):
    # a seed whose history ends before the shepherd's year is no test: the event never comes
    # (at a population smaller than the claim's own, the largest sparks are smaller)
    tested = [s for s in m["one"] if m["none"][s]["end_year"] is None or m["none"][s]["end_year"] > YEAR]
    ok, gains = True, []
    for s in tested:
        a, b = m["one"][s]["end_year"], m["none"][s]["end_year"]
        if a is None or a >= HORIZON:  # no end within the texts' years: the claim's first part fails
            ok = False
            gains.append(None)
            continue
        gain = (b if b is not None else LONG) - a
        gains.append(gain if b is not None else f">{gain}")
        ok &= gain > MUCH  # where the arm without never ends, a lower bound: it must pass on its own
    ends = [m["one"][s]["end_year"] for s in tested]
    none = [m["none"][s]["end_year"] for s in tested]
    early = {s: m["none"][s]["end_year"] for s in m["one"] if s not in tested}
    line = (f"end with one shepherd: {years_text(ends, f'not by {LONG}')}; "
            f"without: {years_text(none, f'not by {LONG}')}") if tested else ""
    never = [s for s in tested if m["none"][s]["end_year"] is None]
    if never:  # how far from the end the arm without a shepherd stays
        at_6000 = [m["none"][s]["G_6000"] for s in never]
        at_end = [m["none"][s].get("G_end") for s in never]
        line += f" (G without, in the seeds that never end: {range_text(at_6000, 2)} at {HORIZON:,}"
        line += f", {range_text(at_end, 2)} at {LONG:,})" if None not in at_end else ")"
    if any(g is not None for g in gains):
        # how much sooner, seed by seed: where the arm without never ends, at least the years to its horizon
        line += "; sooner by " + ", ".join("?" if g is None else (f"at least {g[1:]}" if isinstance(g, str) else str(g))
                                           for g in gains) + " years"
    before = [m["one"][s].get("C_before_shepherd") for s in tested]
    if tested and None not in before:  # how near complete the souls are: 1 - C, which C's digits would hide
        short = [1.0 - c for c in before]
        line += f"; 1 - C in {YEAR - 1:,}, before the shepherd: {range_text(short, 1, ' to ', 'e')}"
    if early:
        told = ", ".join(f"seed {s} in {y:,}" for s, y in early.items())
        line += ("; " if line else "") + f"ended before the shepherd's year {YEAR:,}, not a test: {told}"
    return Verdict(bool(ok) and bool(tested),
                   f"with the shepherd the end comes by {HORIZON:,}, sooner than without it by more than {MUCH:.0f} "
                   f"years (a tenth of the years from the event to {HORIZON:,}; the arm without runs to {LONG:,}, and "
                   f"where it does not end by then the gain counted is the years to {LONG:,}, a lower bound); every "
                   f"seed whose history lasts to the shepherd's year ({YEAR:,}; one that ends before it is no test)",
                   {"end_with_shepherd": ends, "end_without": none, "years_sooner": gains,
                    "ended_before_the_shepherd": early},
                   line, tested=bool(tested))


def figure(fig, by_arm, m, v):
    from matplotlib.legend_handler import HandlerTuple
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    # the verdict is each seed's end year: a row a seed under the curves shows it
    grid = fig.add_gridspec(2, 1, height_ratios=(1, 0.4))
    ax = fig.add_subplot(grid[0])
    rows = fig.add_subplot(grid[1], sharex=ax)
    x = np.arange(LONG)
    data = {(arm, key): np.array([curve(r, key, LONG, after_end=1.0) for r in by_arm[arm]])
            for arm in ("none", "one") for key in ("weakest_link", "cleansing_mean")}
    # the arms differ only by the shepherd's event: before its year they are the same runs, drawn once
    same = all(np.array_equal(data["none", k][:, :YEAR], data["one", k][:, :YEAR]) for k in ("weakest_link", "cleansing_mean"))
    start = YEAR if same else 0
    for arm, colour in (("none", "tab:red"), ("one", "tab:blue")):
        for key, style in (("weakest_link", "-"), ("cleansing_mean", "--")):
            band(ax, x[start:], data[arm, key][:, start:], colour, "", style=style)
    if same:
        for key, style in (("weakest_link", "-"), ("cleansing_mean", "--")):
            band(ax, x[:YEAR + 1], data["none", key][:, :YEAR + 1], "0.35", "", style=style)
    for a in (ax, rows):
        a.axvline(YEAR, color="0.5", ls=":", lw=1)
        a.axvline(HORIZON, color="0.5", ls="-.", lw=1)  # the end must come by it
    ax.text(HORIZON + 60, 1.02, f"{HORIZON:,}: the end must\ncome by this year", fontsize=7.5, color="0.3",
            va="bottom")
    # the end years as the measure reads them, from the runs themselves
    end = {arm: {r.seed: end_year(r) for r in by_arm[arm]} for arm in ("one", "none")}
    seeds = sorted(end["one"])
    ends = end_rows(rows, [(f"one shepherd from {YEAR:,}", "tab:blue", [end["one"][s] for s in seeds]),
                           ("no shepherd", "tab:red", [end["none"][s] for s in seeds])], seeds, LONG)
    keys = [Line2D([], [], color="tab:red", label="no shepherd"),
            Line2D([], [], color="tab:blue", label=f"one soul a shepherd from {YEAR:,}")]
    if same:
        keys.append(Line2D([], [], color="0.35", label=f"both (the same runs before {YEAR:,})"))
    keys += [Line2D([], [], color="k", label="solid: weakest link G"),
             Line2D([], [], color="k", ls="--", label="dashed: collective correction C")]
    # the two shadings drawn over each other, as where the arms' ranges overlap
    overlap = (Patch(color="tab:red", alpha=0.2, lw=0), Patch(color="tab:blue", alpha=0.2, lw=0))
    ax.legend(handles=keys + [overlap, *ends],
              labels=[k.get_label() for k in keys] + ["the two arms' ranges overlapping", *[k.get_label() for k in ends]],
              handler_map={tuple: HandlerTuple(ndivide=1)}, fontsize=8, loc="upper center",
              ncol=3)  # above the curves: the axis goes past 1
    rows.set_xlabel("year from creation")
    ax.tick_params(labelbottom=False)
    ax.set_ylabel("weakest link G (solid),\ncollective correction C (dashed)")
    # from 3,000, or from before the earliest end (a smaller population can end before the shepherd):
    # no end is drawn outside the frame
    earliest = min([e for arm in end.values() for e in arm.values() if e is not None], default=3000)
    ax.set_xlim(max(0, min(3000, 500 * ((earliest - 100) // 500))), LONG)
    ax.set_ylim(0, 1.42)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.grid(alpha=0.3)
    # where C (dashed) is near 1 in both arms the year before the shepherd, what its light lifts is G, the last sparks
    c_before = [curve(r, "cleansing_mean", YEAR, after_end=1.0)[YEAR - 1] for rs in by_arm.values() for r in rs]
    if min(c_before) >= 0.99:
        # in the years before the shepherd, above the bands there (they rise only after it)
        ax.text(0.01, 0.66, "C (dashed) is near 1 in\nboth arms: nearly every\nsoul is complete before\nthe shepherd; "
                "its light\ncorrects the last sparks\n(G, solid)", transform=ax.transAxes, ha="left", va="top",
                fontsize=8, color="0.25", bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})


EXPERIMENT = Experiment(
    name="one-for-all",
    claim="With shepherds by events only: one soul made complete early in the Messiah era brings the end of correction, and much sooner.",
    source="002, 'Moses is equal to 600,000'; 'through it, all the souls of its generation will be corrected'",
    arms=(Arm("none", label="no shepherd"),
          Arm("one", events=({"kind": "shepherds", "year": YEAR, "group": {"first": 0, "count": 1}, "label": "one shepherd"},),
              label="one shepherd")),
    base="history", souls=600_000, years=LONG, set={"generations.shepherds": "events"},
    why_size="the end year depends on the population (its largest sparks decide it): at 100,000 souls the history "
             "can end before the Messiah era (seed 20 in 3,565), before the shepherd comes, so the claim about the "
             "end is tested at the texts' own 600,000 souls",
    construction="the shepherds' light (phi_s in every soul's light) reaches every soul once any shepherd exists, "
                 "whatever their number: one shepherd gives each soul what 600,000 would ('Moses is equal to "
                 "600,000' is in the equations); what is measured is whether and when that light brings the end. "
                 "By the shepherd's year nearly every soul is complete in both arms (the verdict gives C in the year "
                 "before it): what the shepherd changes is the weakest link G, the last sparks",
    measure=measure, verdict=verdict, figure=figure, figsize=(9.5, 6.6),
)
