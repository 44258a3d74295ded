"""``all-equal`` (002, "any division among them is only in their HBD ... from the minister to the one who sits
behind the grindstone, all are equal"): hbd is speed, never the end state.

Measure (one arm, the default spread of hbd, run to the end of correction): the mean year of
completion of the quarter of souls highest in hbd and of the quarter lowest; the spread of
every soul's illumination at the end. Verdict: holds if in every seed the run ends, the top
quarter completes earlier on average than the bottom quarter, and at the end every soul's
illumination is the same number.

By construction: illumination has no hbd in it, so at the end of correction (every c_i = 1,
G = 1) it is lam W for every soul; what the model decides is that the speed differs.
"""

from __future__ import annotations

import numpy as np

from .core import COLOURS, Arm, Experiment, Verdict


def measure(by_arm):
    out = {}
    for r in by_arm["spread"]:
        s = r.souls()
        hbd = np.asarray(s["hbd"], float)
        cy = np.asarray(s["completed_year"], float)
        q1, q3 = np.quantile(hbd, [0.25, 0.75])
        ill = np.asarray(s["illumination"], float)
        out[r.seed] = {"ended": r.summary.get("end_year") is not None,
                       "completion_top_quarter": float(np.nanmean(cy[hbd >= q3])),
                       "completion_bottom_quarter": float(np.nanmean(cy[hbd <= q1])),
                       "corr_hbd_completion": float(np.corrcoef(hbd, np.nan_to_num(cy, nan=np.nanmax(cy)))[0, 1]),
                       "illumination_range_at_end": float(ill.max() - ill.min())}
    return out


def verdict(m):
    ok = all(v["ended"] and v["completion_top_quarter"] < v["completion_bottom_quarter"]
             and v["illumination_range_at_end"] == 0.0 for v in m.values())
    gaps = [v["completion_bottom_quarter"] - v["completion_top_quarter"] for v in m.values()]
    rng = max(v["illumination_range_at_end"] for v in m.values())
    return Verdict(bool(ok), "the run ends; the top quarter by hbd completes earlier on average than the bottom quarter; "
                   "the final illumination is identical for every soul; every seed",
                   {"completion_gap_years": gaps, "illumination_range_at_end": rng},
                   f"the top quarter by hbd completes {min(gaps):.1f}-{max(gaps):.1f} years earlier on average; "
                   f"final illumination range across souls {rng:.3g}")


def figure(fig, by_arm, m, v):
    from matplotlib.lines import Line2D

    ax1 = fig.add_subplot(1, 2, 1)
    ax2 = fig.add_subplot(1, 2, 2)
    runs = by_arm["spread"]
    ill_all = []
    for k, r in enumerate(runs):
        s = r.souls()
        hbd = np.asarray(s["hbd"], float)
        cy = np.asarray(s["completed_year"], float)
        q1, q2, q3 = np.quantile(hbd, [0.25, 0.5, 0.75])
        if k == 0:  # one seed's souls behind every seed's means, for the spread within a seed
            top = float(np.nanquantile(cy, 0.99))
            shown = cy <= top
            ax1.scatter(hbd[shown], cy[shown], s=2, alpha=0.15, color="0.6", lw=0)
            for q in (q1, q3):
                ax1.axvline(q, color="0.3", ls=":", lw=1)
            ax1.text(q1, 0.02, "bottom quarter ", transform=ax1.get_xaxis_transform(), ha="right", fontsize=8)
            ax1.text(q3, 0.02, " top quarter", transform=ax1.get_xaxis_transform(), ha="left", fontsize=8)
        # the rule's quarters (bottom: hbd <= q1, top: hbd >= q3) and the two between
        quarters = (hbd <= q1, (hbd > q1) & (hbd < q2), (hbd >= q2) & (hbd < q3), hbd >= q3)
        ax1.plot([hbd[q].mean() for q in quarters], [np.nanmean(cy[q]) for q in quarters], "o-", ms=4, lw=1.2,
                 color=COLOURS[k % len(COLOURS)])
        ill_all.append(np.asarray(s["illumination"], float))
    keys = [Line2D([], [], ls="", marker="o", ms=4, color="0.6", label=f"each soul, seed {runs[0].seed}")]
    keys += [Line2D([], [], marker="o", ms=4, color=COLOURS[k % len(COLOURS)], label=f"quarters' means, seed {r.seed}")
             for k, r in enumerate(runs)]
    ax1.legend(handles=keys, fontsize=7, loc="upper right", ncol=2)  # above the souls: the axis goes past them
    gaps = [d["completion_bottom_quarter"] - d["completion_top_quarter"] for d in m.values()]
    ax1.set_title(f"speed differs: the top quarter by hbd completes\n{min(gaps):.1f}-{max(gaps):.1f} years before "
                  "the bottom quarter", fontsize=9)
    ax1.set_xlabel("measure of mind hbd")
    ax1.set_ylabel(f"year the soul became complete\n(the latest 1% of seed {runs[0].seed} not shown)")
    ax1.set_ylim(0, top * 1.45)
    ill = np.concatenate(ill_all)
    ax2.hist(ill, bins=20, color="tab:green")
    spread = float(ill.max() - ill.min())
    ax2.text(0.03, 0.6, f"{len(ill):,} souls;\nhighest minus lowest: {spread:.3g}", transform=ax2.transAxes,
             fontsize=8, va="center")  # left of the bar
    ax2.set_xlabel("illumination at the end of correction")
    ax2.set_ylabel(f"souls ({len(runs)} seeds together)")
    ax2.set_title("the end is the same for all", fontsize=9)
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)


EXPERIMENT = Experiment(
    name="all-equal",
    claim="The spread of hbd makes the speed differ, and the final illumination identical.",
    source="002, 'any division among them is only in their HBD'; 'all are equal'",
    arms=(Arm("spread", label="hbd ~ LogNormal(0, 0.3)"),),
    base="quick", souls=20_000, years=10_000, set={"run.stop_at_end": True},
    why_size="quarters of 5,000 souls each give the mean completion year to a fraction of a year; the quick world "
             "of 20,000 souls ends in years 2,250-4,676 (seeds 20-22), so a horizon of 10,000 years lets every seed "
             "end (the run stops there)",
    construction="illumination lam W ((1 - omega) c_i + omega G) has no hbd in it: identical at the end by construction; "
                 "the measured part is that the speed differs",
    measure=measure, verdict=verdict, figure=figure,
)
