"""``all-equal`` (002, "any division among them is only in their HBD ... from the minister ... to the one who sits
behind the grindstone, all are equal"): hbd is speed, never the end state.

Arms (MODEL.md: the spread of hbd): ``spread``, hbd ~ LogNormal(0, 0.3) (the default), and ``equal``,
every soul's hbd 1 (``souls.hbd_sigma = 0``); each run to the end of correction. A soul draws
the same numbers in both arms but its hbd (hbd = exp(sigma z_i), one z_i a soul), so the souls
of one seed are the same souls in both.

Measure: the quarter of souls highest in hbd in ``spread`` and the quarter lowest, and the mean
year each quarter completed, in ``spread`` and, for the same souls, in ``equal`` (what the
split gives when hbd does not differ); the spread of every soul's illumination at the end, in
each arm. Verdict: holds if in every seed both runs end, with the spread the top quarter
completes earlier on average than the bottom quarter by more than the same souls' quarters
differ without it, and at the end every soul's illumination is the same number in each arm.

By construction: illumination has no hbd in it, so at the end of correction (every c_i = 1,
G = 1) it is lam W for every soul; what the model decides is that the speed differs.
"""

from __future__ import annotations

import numpy as np

from .core import COLOURS, Arm, Experiment, Verdict, range_text


def _quarters(spread_souls):
    """The bottom and top quarters by hbd (bool masks over souls in soul order), from the run
    with the spread: ``hbd <= q1`` and ``hbd >= q3``; and the hbd."""
    hbd = np.asarray(spread_souls["hbd"], float)
    q1, q3 = np.quantile(hbd, [0.25, 0.75])
    return hbd <= q1, hbd >= q3, hbd


def measure(by_arm):
    out = {"spread": {}, "equal": {}}
    equal = {r.seed: r for r in by_arm["equal"]}
    for r in by_arm["spread"]:
        s = r.souls()
        bottom, top, _ = _quarters(s)
        for arm, run in (("spread", r), ("equal", equal[r.seed])):
            t = s if run is r else run.souls()
            if not np.array_equal(np.asarray(t["soul"]), np.asarray(s["soul"])):
                raise ValueError(f"all-equal: the runs of seed {r.seed} do not list the same souls")
            cy = np.asarray(t["completed_year"], float)
            ill = np.asarray(t["illumination"], float)
            out[arm][r.seed] = {"ended": run.summary.get("end_year") is not None,
                                "completion_top_quarter": float(np.nanmean(cy[top])),
                                "completion_bottom_quarter": float(np.nanmean(cy[bottom])),
                                "illumination_range_at_end": float(ill.max() - ill.min())}
    return out


def _gap(d):
    return d["completion_bottom_quarter"] - d["completion_top_quarter"]


def verdict(m):
    seeds = list(m["spread"])
    ok = all(m[arm][seed]["ended"] and m[arm][seed]["illumination_range_at_end"] == 0.0
             for arm in ("spread", "equal") for seed in seeds)
    ok = ok and all(_gap(m["spread"][seed]) > 0.0 and _gap(m["spread"][seed]) > abs(_gap(m["equal"][seed]))
                    for seed in seeds)
    gaps = [_gap(m["spread"][seed]) for seed in seeds]
    gaps_equal = [_gap(m["equal"][seed]) for seed in seeds]
    rng = {arm: max(v["illumination_range_at_end"] for v in m[arm].values()) for arm in ("spread", "equal")}
    return Verdict(bool(ok), "both runs end; with the spread the top quarter by hbd completes earlier on average than "
                   "the bottom quarter, by more than the same souls' quarters differ without it; the final "
                   "illumination is identical for every soul in each arm; every seed",
                   {"completion_gap_years": gaps, "completion_gap_years_equal": gaps_equal,
                    "illumination_range_at_end": rng},
                   f"the top quarter by hbd completes {range_text(gaps, 1)} years earlier on average "
                   f"(the same souls without the spread: {range_text(gaps_equal, 1, ' to ')}); "
                   f"final illumination range across souls {rng['spread']:.3g} (spread), {rng['equal']:.3g} (equal)")


def figure(fig, by_arm, m, v):
    from matplotlib.lines import Line2D

    ax1 = fig.add_subplot(1, 2, 1)
    ax2 = fig.add_subplot(1, 2, 2)
    runs = by_arm["spread"]
    equal = {r.seed: r for r in by_arm["equal"]}
    ill_all = {"spread": [], "equal": []}
    top = 0.0
    for k, r in enumerate(runs):
        s = r.souls()
        e = equal[r.seed].souls()
        hbd = np.asarray(s["hbd"], float)
        cy = np.asarray(s["completed_year"], float)
        cy_equal = np.asarray(e["completed_year"], float)
        q1, q2, q3 = np.quantile(hbd, [0.25, 0.5, 0.75])
        if k == 0:  # one seed's souls behind every seed's means, for the spread within a seed
            top = float(np.nanquantile(cy, 0.99))
            shown = cy <= top
            ax1.scatter(hbd[shown], cy[shown], s=2, alpha=0.15, color="0.6", lw=0)
            for q in (q1, q3):
                ax1.axvline(q, color="0.3", ls=":", lw=1)
            ax1.text(q1, 0.02, "bottom quarter ", transform=ax1.get_xaxis_transform(), ha="right", fontsize=8)
            ax1.text(q3, 0.02, " top quarter", transform=ax1.get_xaxis_transform(), ha="left", fontsize=8)
        # the rule's quarters (bottom: hbd <= q1, top: hbd >= q3) and the two between; without the
        # spread, the same souls' quarters, drawn where their hbd lies with it
        quarters = (hbd <= q1, (hbd > q1) & (hbd < q2), (hbd >= q2) & (hbd < q3), hbd >= q3)
        x = [hbd[q].mean() for q in quarters]
        colour = COLOURS[k % len(COLOURS)]
        ax1.plot(x, [np.nanmean(cy[q]) for q in quarters], "o-", ms=4, lw=1.2, color=colour)
        ax1.plot(x, [np.nanmean(cy_equal[q]) for q in quarters], "o--", ms=4, lw=1.0, color=colour, mfc="white")
        ill_all["spread"].append(np.asarray(s["illumination"], float))
        ill_all["equal"].append(np.asarray(e["illumination"], float))
    keys = [Line2D([], [], ls="", marker="o", ms=4, color="0.6", label=f"each soul, seed {runs[0].seed}"),
            Line2D([], [], marker="o", ms=4, color=COLOURS[0],
                   label=f"quarters' means, a colour a seed ({runs[0].seed}-{runs[-1].seed}, overlapping)"
                   if len(runs) > 1 else
                   f"quarters' means, seed {runs[0].seed}"),
            Line2D([], [], marker="o", ms=4, ls="--", color=COLOURS[0], mfc="white",
                   label="the same souls without the spread (every hbd 1)")]
    ax1.legend(handles=keys, fontsize=7, loc="upper right")  # above the souls: the axis goes past them
    gaps = [_gap(d) for d in m["spread"].values()]
    gaps_equal = [_gap(d) for d in m["equal"].values()]
    ax1.set_title(f"speed differs: with the spread the top quarter by hbd completes\n{range_text(gaps, 1)} "
                  f"years before the bottom quarter (without it: {range_text(gaps_equal, 1, ' to ')})",
                  fontsize=9)
    ax1.set_xlabel("measure of mind hbd (in the arm with the spread)")
    ax1.set_ylabel(f"year the soul became complete\n(the latest 1% of seed {runs[0].seed} not shown)")
    ax1.set_ylim(0, top * 1.6)
    ends = {arm: np.concatenate(v) for arm, v in ill_all.items()}
    # every soul a dot at its illumination, an arm a column (spread a little sideways): where every
    # soul shines alike the column is one line (side by side, a histogram's bars of one value would
    # read as two values)
    jitter = ((np.arange(max(len(v) for v in ends.values())) * 0.6180339887) % 1.0 - 0.5) * 0.36  # evenly, no draw
    for k, (arm, colour) in enumerate((("spread", "tab:green"), ("equal", "tab:olive"))):
        v = ends[arm]
        ax2.scatter(k + jitter[:len(v)], v, s=3, alpha=0.25, color=colour, lw=0, rasterized=True)
    spread = {arm: float(v.max() - v.min()) for arm, v in ends.items()}
    ax2.set_xticks([0, 1], ["with the spread\nof hbd", "every hbd 1"])
    ax2.set_xlim(-0.6, 1.6)
    lo, hi = min(float(v.min()) for v in ends.values()), max(float(v.max()) for v in ends.values())
    pad = max(0.05 * (hi - lo), 0.02 * max(abs(hi), 1e-9))
    ax2.set_ylim(lo - pad, hi + 3 * pad)
    seeds = f"{len(runs)} seed{'' if len(runs) == 1 else 's'}"
    ax2.text(0.5, 0.97, f"{len(ends['spread']):,} souls in each arm ({seeds});\nhighest minus lowest: "
             f"{spread['spread']:.3g} with the spread, {spread['equal']:.3g} with every hbd 1",
             transform=ax2.transAxes, fontsize=8, ha="center", va="top")
    ax2.set_xlabel("arm")
    ax2.set_ylabel("illumination at the end of correction\n(a dot a soul)")
    ax2.set_title("the end is the same for all", fontsize=9)
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)


EXPERIMENT = Experiment(
    name="all-equal",
    claim="The spread of hbd makes the speed differ, and the final illumination identical.",
    source="002, 'any division among them is only in their HBD'; 'all are equal'",
    arms=(Arm("spread", label="hbd ~ LogNormal(0, 0.3)"), Arm("equal", {"souls.hbd_sigma": 0.0}, label="every hbd 1")),
    base="quick", souls=20_000, years=10_000, set={"run.stop_at_end": True},
    why_size="quarters of 5,000 souls each give the mean completion year to a fraction of a year; the quick world "
             "of 20,000 souls ends in years 1,864-4,676 (seeds 20-24, both arms), so a horizon of 10,000 years lets every seed "
             "end (the run stops there)",
    construction="illumination lam W ((1 - omega) c_i + omega G) has no hbd in it: identical at the end by construction; "
                 "the measured part is that the speed differs",
    measure=measure, verdict=verdict, figure=figure,
)
