"""``warmth-and-coldness`` (004, the question of warmth and holy coldness): under shocks of
impurity, souls with neither, warmth only, attachment ("holy coldness") only, or both.

Every soul is given warmth 0 or 0.9 and attachment 0 or 0.9 (a policy at year 0); shocks come
throughout at one of four rates a year: 0.03, rarer than anywhere in the history; the history
preset's (MODEL.md's starting values: 0.05 in the exiles, 0.1 in the last centuries); and 0.5, a
world of constant shocks. MODEL.md names no rate for the claim, so the verdict is measured at each and
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

from .core import SHEPHERD_SPAN, Arm, Experiment, Verdict, band, curve, light_turns, range_text

YEARS = 300
POLICIES = {"neither": (0.0, 0.0), "warmth": (0.9, 0.0), "attachment": (0.0, 0.9), "both": (0.9, 0.9)}
RATES = (0.03, 0.05, 0.1, 0.5)
# what each rate is (history.toml, docs/calibration.md): below the history's, its exiles' (3,338 on) and
# its years from 5,700 ("the media"), and a world of constant shocks
WHICH = {0.03: "rarer than in the history", 0.05: "the history's exiles",
         0.1: "the history from year 5,700", 0.5: "constant shocks"}
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
    # what the shocks themselves cost each arm (the claim's "outlasts the shocks"), beside the rule's C:
    # the screen they took from attachment only, as a share of what they took from warmth only, seed by seed
    shares = {r: [m[f"attachment-{r}"][s]["screen_lost"] / m[f"warmth-{r}"][s]["screen_lost"]
                  for s in m[f"warmth-{r}"] if m[f"warmth-{r}"][s]["screen_lost"] > 0] for r in RATES}
    took = "; ".join(f"{range_text(x, 2)} at {r}" for r, x in shares.items() if x)
    numbers = {f"C_end_{a}": [v["C_end"] for v in m[a].values()] for a in ARMS}
    numbers |= {f"screen_lost_{a}": [v["screen_lost"] for v in m[a].values()] for a in ARMS}
    return Verdict(all(holds.values()), "C at the end: attachment only > warmth only, and both >= every other arm; "
                   f"every seed, at each shock rate ({', '.join(map(str, RATES))} a year)", numbers,
                   "C at the end over the seeds, " + "; ".join(parts)
                   + (f". The screen the shocks took from attachment only, as a share of what they took from "
                      f"warmth only: {took}" if took else ""))


def figure(fig, by_arm, m, v):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    x = np.arange(YEARS)
    # beside each panel a strip of C at the last year on its own scale: the arms differ there by
    # about 0.01, which the 0-1 axis of the curves cannot show, and the rule compares just that
    grid = fig.add_gridspec(3, 2, height_ratios=(0.15, 1, 1))
    key = fig.add_subplot(grid[0, :])  # the legend of every panel, above them
    key.axis("off")
    pairs = [grid[1 + i // 2, i % 2].subgridspec(1, 2, width_ratios=(1, 0.3), wspace=0.06) for i in range(len(RATES))]
    axes = [fig.add_subplot(pair[0]) for pair in pairs]
    strips = [fig.add_subplot(pair[1]) for pair in pairs]
    # the kinks every arm shares: the years in which every soul's light changed at once
    turns = [light_turns(r) for rs in by_arm.values() for r in rs]
    shared = turns[0] if all(t == turns[0] for t in turns) else None
    for ax, strip, rate in zip(axes, strips, RATES):
        for (p, (w, a)), colour in zip(POLICIES.items(), COLOURS.values()):
            band(ax, x, np.array([curve(r, "cleansing_mean", YEARS) for r in by_arm[f"{p}-{rate}"]]), colour,
                 f"{p} (warmth {w}, attachment {a})")
        if shared:
            if shared["judge_complete"] is not None:
                ax.axvline(shared["judge_complete"], color="k", ls=":", lw=1)
            for a, b in zip(shared["shepherd_from"], shared["shepherd_until"]):
                ax.axvspan(a, b, **SHEPHERD_SPAN)
        why = [part for part, fails in (("attachment ends below warmth", _attachment_not_above),
                                        ("both not highest", _both_not_highest)) if fails(m, rate)]
        ax.set_title(f"shocks at {rate} a year ({WHICH[rate]}):\n"
                     + ("holds" if _holds_at(m, rate) else "does not hold: " + ", ".join(why)), fontsize=9)
        ax.set_ylim(0, 1.05)
        ax.grid(alpha=0.3)
        _end_strip(strip, m, rate)
    for ax in axes[2:]:
        ax.set_xlabel("year")
    for ax in axes[::2]:
        ax.set_ylabel("collective correction C")
    handles, labels = axes[0].get_legend_handles_labels()
    handles.append(Line2D([], [], color="0.4", marker="o", ls="", ms=4))
    labels.append(f"beside each panel: C at year {YEARS}, one dot a seed,\non its own scale")
    if shared:
        if shared["judge_complete"] is not None:
            y = shared["judge_complete"]
            j0 = by_arm[next(iter(ARMS))][0].at("holiness", y - 1)
            handles.append(Line2D([], [], color="k", ls=":", lw=1))
            labels.append(f"year {y}: a new generation's judge, complete:\nJ from {j0:g} to 1, every soul's "
                          f"light \u00d7 {1 / j0:.3g}")
        for a, b in zip(shared["shepherd_from"], shared["shepherd_until"]):
            handles.append(Patch(**SHEPHERD_SPAN))
            labels.append(f"years {a}-{b}: a shepherd (the preset's\nevent) until its generation ends")
    key.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8, title="in every panel", title_fontsize=8,
               columnspacing=1.2, handlelength=1.8)


def _end_strip(ax, m, rate) -> None:
    """C at the last year, arm by arm, one dot a seed (spread sideways by seed so none hides
    another), on an axis zoomed to the values: what the verdict compares."""
    ends = {p: [m[f"{p}-{rate}"][s]["C_end"] for s in sorted(m[f"{p}-{rate}"])] for p in POLICIES}
    for i, (p, colour) in enumerate(COLOURS.items()):
        c = ends[p]
        ax.plot(i + np.linspace(-0.25, 0.25, len(c)) if len(c) > 1 else [i], c, "o", color=colour, ms=3.5,
                mec="white", mew=0.4)
    lo, hi = min(map(min, ends.values())), max(map(max, ends.values()))
    pad = max(hi - lo, 0.004) * 0.12
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlim(-0.6, len(POLICIES) - 0.4)
    ax.set_xticks(range(len(POLICIES)), list(POLICIES), rotation=90, fontsize=8)
    ax.yaxis.tick_right()
    ax.tick_params(axis="y", labelsize=7.5)
    ax.grid(axis="y", alpha=0.3)
    ax.yaxis.set_label_position("right")
    ax.set_ylabel(f"C at year {YEARS}", fontsize=8.5)


COLOURS = {"neither": "0.2", "warmth": "tab:orange", "attachment": "tab:blue", "both": "tab:green"}


def caption(m, v) -> str:
    """The footer: where the claim holds and, where it does not, which part fails (the numbers
    are in the record and claims.md)."""
    held = [r for r in RATES if _holds_at(m, r)]
    text = "004, warmth and holy coldness. "
    text += f"Holds at {_rates(held)} shocks a year" if held else "Holds at no rate of shocks"
    for part, fails in (("attachment alone does not end above warmth alone", _attachment_not_above),
                        ("both together do not end highest", _both_not_highest)):
        where = [r for r in RATES if fails(m, r)]
        if where:
            text += f"; at {_rates(where)}, {part}"
    return text + ". C at the end, arm by arm: claims.md."


def _rates(rates) -> str:
    return ", ".join(map(str, rates))


def _attachment_not_above(m, rate) -> bool:
    return any(m[f"attachment-{rate}"][s]["C_end"] <= m[f"warmth-{rate}"][s]["C_end"] for s in m[f"both-{rate}"])


def _both_not_highest(m, rate) -> bool:
    return any(m[f"both-{rate}"][s]["C_end"] < max(m[f"{p}-{rate}"][s]["C_end"] for p in ("neither", "warmth", "attachment"))
               for s in m[f"both-{rate}"])


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
    measure=measure, verdict=verdict, figure=figure, figsize=(9.5, 9.0), caption=caption,
)
