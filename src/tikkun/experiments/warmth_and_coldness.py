"""``warmth-and-coldness`` (004, the question of warmth and holy coldness): under shocks of
impurity, souls with neither, warmth only, attachment ("holy coldness") only, or both.

Every soul is given warmth 0 or 0.9 and attachment 0 or 0.9 (a policy at year 0); shocks come at
rate 0.5 a year throughout. Measure: C at the last year and the screen the shocks took. Verdict:
holds if in every seed attachment only ends with higher C than warmth only, and both with C at
least as high as every other arm.
"""

from __future__ import annotations

import numpy as np

from .core import Arm, Experiment, Verdict, band, curve

YEARS = 300
ARMS = {"neither": (0.0, 0.0), "warmth": (0.9, 0.0), "attachment": (0.0, 0.9), "both": (0.9, 0.9)}


def measure(by_arm):
    out = {}
    for arm in ARMS:
        out[arm] = {r.seed: {"C_end": float(r.metrics["cleansing_mean"][-1]), "screen_lost": float(r.metrics["screen_lost"].sum()),
                             "lost_aim": int(r.metrics["lost_aim"].sum())} for r in by_arm[arm]}
    return out


def verdict(m):
    ok = True
    for s in m["both"]:
        c = {a: m[a][s]["C_end"] for a in ARMS}
        ok &= c["attachment"] > c["warmth"] and c["both"] >= max(c["neither"], c["warmth"], c["attachment"])
    mean = {a: np.mean([v["C_end"] for v in m[a].values()]) for a in ARMS}
    return Verdict(bool(ok), "C at the end: attachment only > warmth only, and both >= every other arm; every seed",
                   {f"C_end_{a}": [v["C_end"] for v in m[a].values()] for a in ARMS},
                   "mean C at the end: " + ", ".join(f"{a} {x:.3f}" for a, x in mean.items()))


def figure(fig, by_arm, m, v):
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(YEARS)
    for (arm, (w, a)), colour in zip(ARMS.items(), ("0.4", "tab:orange", "tab:blue", "tab:green")):
        band(ax, x, np.array([curve(r, "cleansing_mean", YEARS) for r in by_arm[arm]]), colour,
             f"{arm} (warmth {w}, attachment {a})")
    ax.set_xlabel("year (shocks at 0.5 a year throughout)")
    ax.set_ylabel("collective correction C")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")


EXPERIMENT = Experiment(
    name="warmth-and-coldness",
    claim="Under shocks, attachment (holy coldness) outlasts them better than warmth; both together best.",
    source="004, warmth and purity, and holy coldness: 'attach his soul to Hashem ... protected from all harm'",
    arms=tuple(Arm(name, events=({"kind": "policy", "year": 0, "group": {"share": 1.0}, "warmth": w, "attachment": a,
                                   "label": name},)) for name, (w, a) in ARMS.items()),
    base="quick", souls=20_000, years=YEARS, set={"impurity.rate": 0.5},
    why_size="C is a mean over souls: 20,000 give it to about 0.3%; 300 years of shocks at 0.5 a year (about 150 "
             "shocks) against the quick world's light",
    measure=measure, verdict=verdict, figure=figure,
)
