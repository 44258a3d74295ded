"""``good-and-pure`` (004, "connect to people who are good and pure"): rewiring toward the more
cleansed on against off.

Measure: the end of correction of the history, and the mean C over its years. Verdict: holds
if in every seed the end comes sooner with rewiring (or only with it, the arm without not ending by
the horizon, 6,000).
"""

from __future__ import annotations

import numpy as np

from .core import Arm, Experiment, Verdict, band, curve, end_year, years_text

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


def figure(fig, by_arm, m, v):
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(HORIZON)
    for arm, colour in (("rewiring", "tab:blue"), ("no-rewiring", "tab:red")):
        band(ax, x, np.array([curve(r, "weakest_link", HORIZON, 1.0) for r in by_arm[arm]]), colour, f"G, {arm}")
        band(ax, x, np.array([curve(r, "cleansing_mean", HORIZON, 1.0) for r in by_arm[arm]]), colour, f"C, {arm}", style="--")
    ax.set_xlabel("year from creation")
    ax.set_ylabel("weakest link G (solid), C (dashed)")
    ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")


EXPERIMENT = Experiment(
    name="good-and-pure",
    claim="Rewiring toward the good and pure brings the end of correction sooner.",
    source="004, 'connect to people who are good and pure'",
    arms=(Arm("rewiring", {"network.good_and_pure": True}), Arm("no-rewiring", {"network.good_and_pure": False})),
    base="history", souls=600_000, years=HORIZON,
    why_size="the end year depends on the population (its largest sparks decide it) and the history's light is "
             "calibrated for 600,000 souls: at 100,000 the end can come millennia earlier (seed 20 in 3,565), so the "
             "claim about the end is tested at the texts' own scale",
    measure=measure, verdict=verdict, figure=figure,
)
