"""``warmth-and-coldness`` (004, the question of warmth and holy coldness): under shocks of
impurity, souls with neither, warmth only, attachment ("holy coldness") only, or both.

Every soul is given warmth 0 or 0.9 and attachment 0 or 0.9 (a policy at year 0); shocks come
throughout at one of four rates a year: the history preset's (0.03 in the exiles, 0.05 in the
last centuries), MODEL.md's starting value for the last centuries (0.1), and 0.5, a world of
constant shocks. MODEL.md names no rate for the claim, so the verdict is measured at each and
holds only where it holds at all four.
Measure: C at the last year and the screen the shocks took. Verdict: holds if at every rate, in
every seed, attachment only ends with higher C than warmth only, and both with C at least as
high as every other arm.

Partly by construction: a shock takes a share ``K (1 - a)`` of each open spark's screen (and
breaks the aim with that probability), so attachment ``a`` shields a soul from every shock
while warmth shields it from none; warmth acts through
the network, the whole year round, with or without shocks. Which of the two counts for more is
what the rates decide.
"""

from __future__ import annotations

import numpy as np

from .core import Arm, Experiment, Verdict, band, curve, range_text

YEARS = 300
POLICIES = {"neither": (0.0, 0.0), "warmth": (0.9, 0.0), "attachment": (0.0, 0.9), "both": (0.9, 0.9)}
RATES = (0.03, 0.05, 0.1, 0.5)
WHICH = {0.03: "the history's exiles", 0.05: "the history's last centuries", 0.1: "MODEL.md's last centuries",
         0.5: "constant shocks"}
#: the arm of a policy at a rate, e.g. ``warmth-0.05``
ARMS = {f"{p}-{r}": (p, r) for r in RATES for p in POLICIES}


def measure(by_arm):
    out = {}
    for arm in ARMS:
        out[arm] = {r.seed: {"C_end": float(r.metrics["cleansing_mean"][-1]), "screen_lost": float(r.metrics["screen_lost"].sum()),
                             "lost_aim": int(r.metrics["lost_aim"].sum())} for r in by_arm[arm]}
    return out


def _holds_at(m, rate) -> bool:
    c = {p: m[f"{p}-{rate}"] for p in POLICIES}
    return all(c["attachment"][s]["C_end"] > c["warmth"][s]["C_end"]
               and c["both"][s]["C_end"] >= max(c[p][s]["C_end"] for p in ("neither", "warmth", "attachment"))
               for s in c["both"])


def verdict(m):
    holds = {r: _holds_at(m, r) for r in RATES}
    parts = []
    for r in RATES:
        c = {p: [v["C_end"] for v in m[f"{p}-{r}"].values()] for p in POLICIES}
        parts.append(f"rate {r}: " + ", ".join(f"{p} {range_text(x)}" for p, x in c.items())
                     + (" (holds)" if holds[r] else " (does not hold)"))
    return Verdict(all(holds.values()), "C at the end: attachment only > warmth only, and both >= every other arm; "
                   f"every seed, at each shock rate ({', '.join(map(str, RATES))} a year)",
                   {f"C_end_{a}": [v["C_end"] for v in m[a].values()] for a in ARMS},
                   "C at the end over the seeds, " + "; ".join(parts))


def figure(fig, by_arm, m, v):
    x = np.arange(YEARS)
    axes = [fig.add_subplot(2, 2, i + 1) for i in range(len(RATES))]
    for ax, rate in zip(axes, RATES):
        for (p, (w, a)), colour in zip(POLICIES.items(), ("0.4", "tab:orange", "tab:blue", "tab:green")):
            band(ax, x, np.array([curve(r, "cleansing_mean", YEARS) for r in by_arm[f"{p}-{rate}"]]), colour,
                 f"{p} (warmth {w}, attachment {a})")
        ax.set_title(f"shocks at {rate} a year ({WHICH[rate]}): {'holds' if _holds_at(m, rate) else 'does not hold'}",
                     fontsize=9)
        ax.set_ylim(0, 1.05)
        ax.grid(alpha=0.3)
    for ax in axes[2:]:
        ax.set_xlabel("year")
    for ax in axes[::2]:
        ax.set_ylabel("collective correction C")
    axes[-1].legend(fontsize=7, loc="lower right")


EXPERIMENT = Experiment(
    name="warmth-and-coldness",
    claim="Under shocks, attachment (holy coldness) outlasts them better than warmth; both together best.",
    source="004, warmth and purity, and holy coldness: 'he is protected from all harm' (who believes no one has control but Hashem); 'attach his soul to Hashem'",
    arms=tuple(Arm(name, {"impurity.rate": rate},
                   events=({"kind": "policy", "year": 0, "group": {"share": 1.0}, "warmth": POLICIES[p][0],
                            "attachment": POLICIES[p][1], "label": p},), label=f"{p}, shocks at {rate} a year")
               for name, (p, rate) in ARMS.items()),
    base="quick", souls=20_000, years=YEARS,
    why_size="C is a mean over souls: 20,000 give it to about 0.3%; 300 years of shocks at each rate (9, 15, 30 and "
             "150 shocks on average) against the quick world's light",
    construction="a shock takes a share K (1 - a) of each open spark's screen: attachment shields from every shock by the "
                 "equations, warmth from none; what is measured is whether that outweighs warmth's pull through the "
                 "network at each rate",
    measure=measure, verdict=verdict, figure=figure, figsize=(9.5, 7.5),
)
