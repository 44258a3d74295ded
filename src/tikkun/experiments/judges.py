"""``judges`` (002, "each generation behaves according to its judge"): the judge chosen with the
highest cleansing against the lowest.

Measure: the year C first reaches one half, and the mean of C over the history's years. Verdict:
holds if in every seed C reaches one half no later under the highest judge and its mean C over
the years is higher.
"""

from __future__ import annotations

import numpy as np

from .core import Arm, Experiment, Verdict, band, curve, range_text, years_text

HORIZON = 6000


def _half(r):
    c = r.metrics["cleansing_mean"]
    hit = np.nonzero(c >= 0.5)[0]
    return int(r.metrics["year"][hit[0]]) if hit.size else None


def measure(by_arm):
    out = {}
    for arm in ("highest", "lowest"):
        out[arm] = {r.seed: {"half_year": _half(r), "C_mean": float(np.nanmean(curve(r, "cleansing_mean", HORIZON, 1.0))),
                             "J_mean": float(np.mean(r.metrics["holiness"]))} for r in by_arm[arm]}
    return out


def verdict(m):
    ok = True
    for s, hi in m["highest"].items():
        lo = m["lowest"][s]
        ok &= hi["half_year"] is not None and (lo["half_year"] is None or hi["half_year"] <= lo["half_year"])
        ok &= hi["C_mean"] > lo["C_mean"]
    hy = [v["half_year"] for v in m["highest"].values()]
    ly = [v["half_year"] for v in m["lowest"].values()]
    dc = [m["highest"][s]["C_mean"] - m["lowest"][s]["C_mean"] for s in m["highest"]]
    return Verdict(bool(ok), "under the highest judge C reaches 1/2 no later and its mean over the 6,000 years (1 after "
                   "a run's end) is higher; every seed",
                   {"half_year_highest": hy, "half_year_lowest": ly, "C_mean_difference": dc},
                   f"C reaches 1/2 in years {years_text(hy, 'never')} (highest) against {years_text(ly, 'never')} (lowest); "
                   f"mean C higher by {range_text(dc, 4)}")


def figure(fig, by_arm, m, v):
    ax1, ax2, ax3, ax4 = (fig.add_subplot(2, 2, i + 1) for i in range(4))
    x = np.arange(HORIZON)
    arms = (("highest", "tab:blue"), ("lowest", "tab:red"))
    # the zoom: the decades around the years C reaches 1/2 in either arm
    every = [d["half_year"] for arm, _ in arms for d in m[arm].values() if d["half_year"] is not None]
    zoom = (10 * ((min(every) - 30) // 10), 10 * ((max(every) + 50) // 10)) if every else (0, HORIZON)
    for arm, colour in arms:
        c = np.array([curve(r, "cleansing_mean", HORIZON, 1.0) for r in by_arm[arm]])
        band(ax1, x, c, colour, f"judge: {arm} cleansing")
        band(ax3, x, np.array([curve(r, "holiness", HORIZON) for r in by_arm[arm]]), colour, f"judge: {arm} cleansing")
        band(ax2, x, c, colour, f"judge: {arm} cleansing")
        # the year each seed's C first reaches 1/2: the verdict's first number
        half = [d["half_year"] for d in m[arm].values() if d["half_year"] is not None]
        ax2.plot(half, np.full(len(half), 0.5), "|", color=colour, ms=14, mew=1.5)
        if half:
            ax2.annotate(f"C = 1/2 in {_years(half)}", (min(half), 0.5), xytext=(-6, 30 if arm == "highest" else -36),
                         textcoords="offset points", ha="right" if arm == "highest" else "left", fontsize=8,
                         color=colour, arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.8})
    # the difference whose mean over the years is the verdict's second number
    diff = np.array([curve(r, "cleansing_mean", HORIZON, 1.0) for r in by_arm["highest"]]) - np.array(
        [curve(r, "cleansing_mean", HORIZON, 1.0) for r in by_arm["lowest"]])
    band(ax4, x, diff, "tab:purple", "")
    dc = v.numbers["C_mean_difference"]
    ax4.text(0.98, 0.95, f"its mean over the {HORIZON:,} years,\nseed by seed: {range_text(dc, 4)}",
             transform=ax4.transAxes, ha="right", va="top", fontsize=8, color="tab:purple")
    ax4.axhline(0, color="k", lw=0.6)
    ax1.axvspan(*zoom, color="0.85", lw=0)
    ax1.text(zoom[0], 0.55, "zoom (right) ", fontsize=8, color="0.35", ha="right")
    ax2.axhline(0.5, color="0.5", ls=":", lw=1)
    ax2.set_xlim(*zoom)
    ax2.set_title(f"years {zoom[0]:,}-{zoom[1]:,}: C reaches 1/2", fontsize=9)
    ax1.set_title(f"the whole history (years 0-{HORIZON:,})", fontsize=9)
    ax1.set_ylabel("collective correction C")
    ax2.set_ylabel("collective correction C")
    ax3.set_ylabel("holiness of the time J")
    ax3.set_title("holiness J = kappa0 + (1 - kappa0) c_judge", fontsize=9)
    ax4.set_title("C under the highest judge minus C under the lowest", fontsize=9)
    ax4.set_ylabel("difference in C")
    ax1.legend(fontsize=8, loc="center right")
    ax3.legend(fontsize=8, loc="lower right")
    for ax in (ax1, ax2, ax3, ax4):
        ax.grid(alpha=0.3)
    for ax in (ax3, ax4):
        ax.set_xlabel("year from creation")


def _years(ys) -> str:
    """``[2466, 2467, 2466]`` -> ``"2,466-2,467"``"""
    lo, hi = min(ys), max(ys)
    return f"{lo:,}" if lo == hi else f"{lo:,}-{hi:,}"


EXPERIMENT = Experiment(
    name="judges",
    claim="Correction is faster under a judge with the highest cleansing than under the lowest.",
    source="002, 'each generation behaves according to its judge'",
    arms=(Arm("highest", {"generations.judge": "highest"}), Arm("lowest", {"generations.judge": "lowest"})),
    base="history", souls=60_000, years=HORIZON, figsize=(9.5, 7.5),
    why_size="a claim about the pace of C, a mean over souls: 60,000 souls (600 of them special, who judge before the "
             "Messiah era) give it to about 0.1%; a population smaller than the calibrated 600,000 ends sooner (its "
             "largest sparks decide the end), so some of these runs end before the Messiah era",
    construction="the holiness of the time J = kappa0 + (1 - kappa0) c_judge is higher under the more cleansed judge, "
                 "and every soul's light is proportional to J, so in any one year the highest judge gives more light; "
                 "what is measured is how that carries through the years (C reaching 1/2, the mean of C); and "
                 "once a judge is complete J = 1 in either arm: at 60,000 souls (seed 20) the highest judge is "
                 "complete from year 1,040 and the lowest from 2,680, after the correction that follows the exodus; "
                 "the arms differ in those years, and, in a run that reaches the Messiah era, in that era, where "
                 "every soul may judge, while the lowest judge is one of the last incomplete souls",
    measure=measure, verdict=verdict, figure=figure,
)
