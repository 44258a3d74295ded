"""``good-and-pure`` (004, "connect to people who are good and pure"): rewiring toward the more
cleansed on against off.

Measure: the end of correction of the history, and the mean C over its years. Verdict: holds
if in every seed the end comes sooner with rewiring (or only with it, the arm without not ending by
the horizon, 6,000).
"""

from __future__ import annotations

import numpy as np

from .core import Arm, Experiment, Verdict, band, curve, end_rows, end_year, years_text

HORIZON = 6000


def measure(by_arm):
    out = {}
    for arm in ("rewiring", "no-rewiring"):
        out[arm] = {r.seed: {"end_year": end_year(r), "C_mean": float(np.mean(curve(r, "cleansing_mean", HORIZON, 1.0))),
                             "rewired": int(r.metrics["rewired"].sum())} for r in by_arm[arm]}
    return out


def verdict(m):
    ok = True
    for s, on in m["rewiring"].items():
        off = m["no-rewiring"][s]
        ok &= on["end_year"] is not None and (off["end_year"] is None or on["end_year"] < off["end_year"])
    on = [v["end_year"] for v in m["rewiring"].values()]
    off = [v["end_year"] for v in m["no-rewiring"].values()]
    return Verdict(bool(ok), "the end of correction comes sooner with rewiring (or only with it by 6,000); every seed",
                   {"end_rewiring": on, "end_no_rewiring": off}, f"end with rewiring: {years_text(on, f'not by {HORIZON}')}; without: {years_text(off, f'not by {HORIZON}')}")


TORAH = 2448  # the history's exodus: the light x 1.5 for the generation that received the Torah


def figure(fig, by_arm, m, v):
    from matplotlib.legend_handler import HandlerTuple
    from matplotlib.patches import Patch

    # the verdict is each seed's end year: a row a seed under the curves shows it
    grid = fig.add_gridspec(2, 1, height_ratios=(1, 0.42))
    ax = fig.add_subplot(grid[0])
    rows = fig.add_subplot(grid[1], sharex=ax)
    x = np.arange(HORIZON)
    arms = (("rewiring", "tab:blue"), ("no-rewiring", "tab:red"))
    for arm, colour in arms:
        band(ax, x, np.array([curve(r, "weakest_link", HORIZON, 1.0) for r in by_arm[arm]]), colour, f"G, {arm}")
        band(ax, x, np.array([curve(r, "cleansing_mean", HORIZON, 1.0) for r in by_arm[arm]]), colour, f"C, {arm}", style="--")
    # the eras that explain the jumps: the Torah's light lifts C; from the Messiah era a complete soul
    # becomes a shepherd and its light reaches every soul, which lifts G
    run = by_arm["rewiring"][0]
    era = np.asarray(run.metrics["era"]).astype(str)
    messiah = [int(y) for y, e in zip(run.metrics["year"], era) if e == "messiah"][:1]
    for year, at, text in ((TORAH, 0.25, f"{TORAH:,}: the Torah\n(exodus: light \u00d7 1.5\nfor a generation)"),
                           *((y, 0.75, f"{y:,}: the Messiah era\n(complete souls\nbecome shepherds)") for y in messiah)):
        for a in (ax, rows):
            a.axvline(year, color="0.4", ls=":", lw=1)
        ax.text(year - 40, at, text, fontsize=7.5, color="0.3", ha="right", va="center")
    seeds = sorted(m["rewiring"])
    keys = end_rows(rows, [(arm, colour, [m[arm][s]["end_year"] for s in seeds]) for arm, colour in arms], seeds, HORIZON)
    rows.set_xlabel("year from creation")
    ax.tick_params(labelbottom=False)
    ax.set_ylabel("weakest link G (solid), C (dashed)")
    ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    # the two shadings drawn over each other, as where the arms' ranges overlap
    handles += [(Patch(color="tab:blue", alpha=0.2, lw=0), Patch(color="tab:red", alpha=0.2, lw=0)), *keys]
    labels += ["the two arms' ranges overlapping", *[k.get_label() for k in keys]]
    ax.legend(handles, labels, handler_map={tuple: HandlerTuple(ndivide=1)}, fontsize=7.5, loc="upper left",
              bbox_to_anchor=(0.0, 0.94))  # under C's line at 1, left of the Torah


EXPERIMENT = Experiment(
    name="good-and-pure",
    claim="Rewiring toward the good and pure brings the end of correction sooner.",
    source="004, the question (its answer does not return to it): 'to connect to people who are good and pure'",
    arms=(Arm("rewiring", {"network.good_and_pure": True}), Arm("no-rewiring", {"network.good_and_pure": False})),
    base="history", souls=600_000, years=HORIZON,
    why_size="the end year depends on the population (its largest sparks decide it) and the history's light is "
             "calibrated for 600,000 souls: at 100,000 the end can come millennia earlier (seed 20 in 3,565), so the "
             "claim about the end is tested at the texts' own scale",
    measure=measure, verdict=verdict, figure=figure, figsize=(9.5, 6.4),
)
