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
    # points on a log axis (no bars: a bar's base on a log axis would be arbitrary)
    ax = fig.add_subplot(1, 1, 1)
    shown = []
    for i, (arm, colour) in enumerate((("early", "tab:red"), ("late", "tab:blue"))):
        ys = np.array([np.nan if d["years"] is None else d["years"] for d in m[arm].values()], float)
        if np.isfinite(ys).any():
            lo, hi = np.nanmin(ys), np.nanmax(ys)
            ax.plot([i, i], [lo, hi], color="0.6", lw=7, alpha=0.5, solid_capstyle="round",
                    label="range over the seeds" if i == 0 else None)
            ax.text(i + 0.06, np.sqrt(lo * hi), f"{lo:,.0f}-{hi:,.0f} years" if lo < hi else f"{lo:,.0f} years",
                    va="center", fontsize=9, color=colour)
        ax.scatter(np.full(len(ys), i), ys, color=colour, s=22, zorder=3, edgecolor="k", lw=0.5,
                   label=f"each seed, from year {STARTS[arm]:,}")
        shown += [y for y in ys if y > 0]
        never = int(np.isnan(ys).sum())
        if never:
            ax.text(i, 0.02, f"{never} seed(s) not complete by the end", transform=ax.get_xaxis_transform(),
                    ha="center", fontsize=8, color=colour)
    early = [d["years"] for d in m["early"].values() if d["years"] is not None]
    if early:  # the rule: the late newcomer in fewer than half the early one's years, seed by seed
        ax.axhline(0.5 * min(early), color="0.4", ls="--", lw=1,
                   label=f"half the shortest time from year {STARTS['early']:,} ({0.5 * min(early):,.0f} years)")
    ax.set_xticks([0, 1], [f"starts in year {STARTS['early']:,}", f"starts in year {STARTS['late']:,}"])
    ax.set_xlim(-0.6, 1.6)
    ax.set_ylabel("years until the newcomer is complete (log)")
    ax.set_yscale("log")
    if shown:  # room above the points for the legend
        ax.set_ylim(min(shown) / 3, max(shown) * 5)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8, loc="upper right")


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
