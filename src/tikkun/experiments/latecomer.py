"""``latecomer`` (002, "he will buy his world in one hour due to the ability of that generation"):
a fresh soul of low hbd (0.5) starting at year 500 against one starting at year 5,500.

Measure: the years the newcomer takes to become complete (souls.parquet's completed_year of
soul 0, reset at its start). Verdict: holds if in every seed the late one completes in fewer
than half the years of the early one.
"""

from __future__ import annotations

import numpy as np

from .core import Arm, Experiment, Verdict, years_text

STARTS = {"early": 500, "late": 5500}


def measure(by_arm):
    out = {}
    for arm, start in STARTS.items():
        out[arm] = {}
        for r in by_arm[arm]:
            cy = r.souls()["completed_year"][0]
            done = cy == cy and cy >= 0  # NaN when never
            out[arm][r.seed] = {"start": start, "completed_year": int(cy) if done else None,
                                "years": int(cy) - start if done else None}
    return out


def verdict(m):
    ok = True
    for s, early in m["early"].items():
        late = m["late"][s]
        ok &= late["years"] is not None and (early["years"] is None or late["years"] < 0.5 * early["years"])
    ey = [v["years"] for v in m["early"].values()]
    ly = [v["years"] for v in m["late"].values()]
    return Verdict(bool(ok), "the late newcomer completes in fewer than half the early one's years; every seed",
                   {"years_early": ey, "years_late": ly}, f"years to complete: from {STARTS['early']:,}: {years_text(ey, 'not complete')}; "
                   f"from {STARTS['late']:,}: {years_text(ly, 'not complete')}")


def figure(fig, by_arm, m, v):
    ax = fig.add_subplot(1, 1, 1)
    for i, (arm, colour) in enumerate((("early", "tab:red"), ("late", "tab:blue"))):
        ys = [d["years"] for d in m[arm].values()]
        shown = [y if y is not None else np.nan for y in ys]
        ax.bar(i, np.nanmean(shown) if np.isfinite(shown).any() else 0, 0.6, color=colour, alpha=0.8)
        ax.scatter(np.full(len(shown), i), shown, color="k", s=12, zorder=3)
    ax.set_xticks([0, 1], [f"starts in year {STARTS['early']:,}", f"starts in year {STARTS['late']:,}"])
    ax.set_ylabel("years until the newcomer is complete")
    ax.set_yscale("log")
    ax.grid(alpha=0.3, axis="y")


def _arm(name):
    start = STARTS[name]
    return Arm(name, events=({"kind": "reset", "year": start, "group": {"first": 0, "count": 1}, "hbd": 0.5,
                              "label": "a newcomer"},), label=f"from {start:,}")


EXPERIMENT = Experiment(
    name="latecomer",
    claim="A fresh low-hbd soul starting in year 5,500 completes in far fewer years than one starting in year 500.",
    source="002, 'he will buy his world in one hour due to the ability of that generation'",
    arms=(_arm("early"), _arm("late")),
    base="history", souls=60_000, years=6000, set={"run.stop_at_end": False},
    why_size="one soul in a world that carries it: 60,000 souls make the world's C and its shepherds as the history "
             "has them; the run goes on to year 6,000 whatever the end, so the late newcomer is always met",
    measure=measure, verdict=verdict, figure=figure,
)
