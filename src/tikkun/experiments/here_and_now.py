"""``here-and-now`` (000, "Don't lose aim of the goal"): catching the aim again at once
("right here and now, and not a moment later") against slowly (r = 0.05).

Measure: C every 100 years of the history's first 3,000 years. Verdict: holds if, in every
seed, C with r = 1 exceeds C with r = 0.05 at every recorded year once correction has begun
(both arms' C at least 0.001) and while neither is all but done (both below 0.999).
"""

from __future__ import annotations

import numpy as np

from .core import Arm, Experiment, Verdict, curve, range_text

YEARS = 3000
STEP = 100


BEGUN, DONE = 1e-3, 0.999  # the rule compares the arms where both have begun and neither is all but done


def _compared(a, b):
    """Where the rule compares C(r = 1) with C(r = 0.05) (numbers or arrays of them)."""
    return (np.minimum(a, b) >= BEGUN) & (np.maximum(a, b) < DONE)


def measure(by_arm):
    seeds = [r.seed for r in by_arm["here-and-now"]]
    rec = list(range(0, YEARS, STEP))
    fast = {r.seed: [r.at("cleansing_mean", y) for y in rec] for r in by_arm["here-and-now"]}
    slow = {r.seed: [r.at("cleansing_mean", y) for y in rec] for r in by_arm["slowly"]}
    gaps, worst = [], (np.inf, None, None, None)
    for s in seeds:
        for y, a, b in zip(rec, fast[s], slow[s]):
            if _compared(a, b):
                gaps.append(a - b)
                if a - b < worst[0]:
                    worst = (a - b, y, s, b)
    return {"recorded_years": rec, "C_here_and_now": fast, "C_slowly": slow, "compared": len(gaps),
            "against": sum(g <= 0 for g in gaps),  # comparisons where r = 1 is not ahead
            "smallest_gap": worst[0] if gaps else None, "smallest_gap_year": worst[1], "smallest_gap_seed": worst[2],
            "smallest_gap_C_slowly": worst[3],
            "C_2600_here_and_now": [float(r.at("cleansing_mean", 2600)) for r in by_arm["here-and-now"]],
            "C_2600_slowly": [float(r.at("cleansing_mean", 2600)) for r in by_arm["slowly"]]}


def verdict(m):
    ok = m["compared"] > 0 and m["smallest_gap"] is not None and m["smallest_gap"] > 0
    return Verdict(ok, "C(r = 1) > C(r = 0.05) at every recorded year (every 100) where both arms' C is at least 0.001 "
                   "and below 0.999 (begun, not yet all but done), in every seed",
                   {k: m[k] for k in ("compared", "against", "smallest_gap", "smallest_gap_year", "smallest_gap_seed",
                                      "smallest_gap_C_slowly", "C_2600_here_and_now", "C_2600_slowly")},
                   f"smallest gap {m['smallest_gap']:.3g} (year {m['smallest_gap_year']}, seed "
                   f"{m['smallest_gap_seed']}, C of r = 0.05 there {m['smallest_gap_C_slowly']:.3g}); "
                   f"{m['against']} of {m['compared']} comparisons not ahead; C(2600): "
                   f"{range_text(m['C_2600_here_and_now'])} against {range_text(m['C_2600_slowly'])}"
                   if m["smallest_gap"] is not None else "no year where both arms had begun")


LINTHRESH = 1e-5  # the gap's axis is linear within this of zero, logarithmic beyond
SEED_COLOURS = ("0.1", "tab:purple", "tab:olive", "tab:cyan", "tab:brown")


def figure(fig, by_arm, m, v):
    ax1 = fig.add_subplot(2, 1, 1)
    ax2 = fig.add_subplot(2, 1, 2, sharex=ax1)
    x = np.arange(YEARS)
    for arm, colour, label in (("here-and-now", "tab:blue", "r = 1 (here and now)"), ("slowly", "tab:red", "r = 0.05")):
        # one line per seed: at 60,000 souls they lie within a line's width of each other
        for k, r in enumerate(by_arm[arm]):
            ax1.plot(x, curve(r, "cleansing_mean", YEARS), color=colour, lw=1,
                     label=f"{label}, each of {len(by_arm[arm])} seeds" if k == 0 else None)
    ax1.set_ylabel("collective correction C\n(mean cleansing)")
    ax1.set_ylim(0, 1.05)
    ax1.legend(loc="upper left", fontsize=8)

    # what the rule compares: the gap at each recorded year inside its window, seed by seed
    rec = np.array(m["recorded_years"])
    lows, lowest = [], 0.0
    for k, s in enumerate(m["C_here_and_now"]):
        a, b = np.array(m["C_here_and_now"][s]), np.array(m["C_slowly"][s])
        inside = _compared(a, b)
        gap = a - b
        ax2.plot(rec[inside], gap[inside], "o-", ms=2.5, lw=0.8, color=SEED_COLOURS[k % len(SEED_COLOURS)],
                 label=f"seed {s}")
        lows += [(y, g, s) for y, g in zip(rec[inside], gap[inside]) if g <= 0]
        lowest = min([lowest, *gap[inside]])
    ax2.axhline(0, color="k", lw=0.8)
    for y, g, s in lows:
        ax2.plot(y, g, "x", color="tab:red", ms=9, mew=2, zorder=4)
    if lows:
        ax2.plot([], [], "x", color="tab:red", ms=7, mew=2, label="r = 1 not above r = 0.05")
        y, g, s = min(lows, key=lambda t: t[1])
        # the rule fails where the gap is not above 0: equal (at small sizes both arms can have the same
        # C) is said so, never as a gap of "-0"
        gap_text = f"smallest gap {g:.3g}" if g < 0 else "gap 0: equal"
        ax2.annotate(f"{gap_text}\n(year {y:,}, seed {s})", (y, g), xytext=(y + 250, min(3 * g, -3 * LINTHRESH)),
                     fontsize=8, color="tab:red", va="center", arrowprops={"arrowstyle": "->", "color": "tab:red"})
        for ax in (ax1, ax2):
            ax.axvline(y, color="tab:red", ls=":", lw=1)
        how = f"below C(r = 0.05)\n in seed {s}, by {-g:.2g}" if g < 0 else f"equal to C(r = 0.05)\n in seed {s}, not above"
        ax1.text(y, 0.55, f" year {y:,}: C(r = 1) {how} (lower panel)", fontsize=8, color="tab:red", va="center")
    ax2.set_yscale("symlog", linthresh=LINTHRESH)
    ax2.set_ylim(min(-2e-4, 10 * lowest), 1)
    ax2.set_ylabel(f"gap C(r = 1) \u2212 C(r = 0.05)\n(symmetric log axis,\nlinear within \u00b1{LINTHRESH:g})")
    ax2.set_xlabel("year from creation (the gap: every 100 years, where the rule compares)")
    ax2.legend(loc="upper left", fontsize=8, ncol=3)
    for ax in (ax1, ax2):
        ax.axvline(2448, color="0.5", ls=":", lw=1)
        ax.grid(alpha=0.3)
    ax1.text(2448, 0.3, "the Torah (2,448) ", fontsize=8, color="0.4", ha="right")


EXPERIMENT = Experiment(
    name="here-and-now",
    claim="Catching the aim again at once gives higher cleansing at every recorded year once correction has begun.",
    source="000, 'Don't lose aim of the goal': catch it again right here and now",
    arms=(Arm("here-and-now", {"souls.regain": 1.0}, label="r = 1"), Arm("slowly", {"souls.regain": 0.05}, label="r = 0.05")),
    base="history", souls=60_000, years=YEARS, figsize=(9.5, 7.2),
    why_size="the claim is about C, a mean over souls, compared seed by seed: the two arms of a seed share their "
             "souls, graph and draws, and differ in the aim's regaining alone (between seeds C differs far more, more "
             "than twofold in the chaos era, through different souls and judges); 60,000 souls, a tenth of the texts' "
             "population, since the claim is about a mean, not about the end; 3,000 years cover the years before "
             "the Torah, when correction begins, and the rise after it",
    measure=measure, verdict=verdict, figure=figure,
)
