"""``mixing-is-not-unity`` (000, "Unity That Cannot Be Broken"): a vessel stirred (vibration)
or fused (melted metals) looks mixed at a coarse scale but is not one at each point; struck by
the light above the threshold it is both.

Measure: the vessel's unity (1 - mean phi^2) and coarse mixing at the end of each arm's genesis
(genesis.parquet), n = 64. Verdict: holds if in every seed stir and fuse have mixing above
unity by at least 0.15 and unity below 0.6, and strike has both at least 0.95.
"""

from __future__ import annotations

import numpy as np

from .core import Arm, Experiment, Verdict, bound_text, range_text

ARMS = ("stir", "fuse", "strike")
_OPEN = [{"kind": "separate"}, {"kind": "approach", "duration": 20.0}]
STAGES = {
    "stir": _OPEN + [{"kind": "stir", "duration": 128.0, "light": 0.0, "stir_amplitude": 2.0, "stir_period": 8.0},
                     {"kind": "shatter"}],
    "fuse": [{"kind": "fuse", "duration": 100.0}, {"kind": "shatter"}],
    "strike": _OPEN + [{"kind": "strike", "duration": 3000.0, "light": 1.5}, {"kind": "shatter"}],
}


def measure(by_arm):
    out = {}
    for arm in ARMS:
        finals = {r.seed: r.genesis() for r in by_arm[arm]}
        out[arm] = {s: {"unity": float(g["unity"][-1]), "mixing": float(g["mixing"][-1])} for s, g in finals.items()}
    return out


GRID = 64  # the vessel's side, in cells (no-unity-no-correction breaks the same vessels)
GAP, UNITY_BELOW = 0.15, 0.6  # the rule for stir and fuse: mixing above unity by this much, unity below this
STRUCK_ABOVE = 0.95  # and for the strike: unity and mixing at least this


def verdict(m):
    ok = True
    worst = {}
    for arm in ("stir", "fuse"):
        gaps = [v["mixing"] - v["unity"] for v in m[arm].values()]
        unities = [v["unity"] for v in m[arm].values()]
        worst[arm] = {"smallest_gap": min(gaps), "largest_unity": max(unities)}
        ok &= min(gaps) >= GAP and max(unities) < UNITY_BELOW
    lows = [min(v["unity"], v["mixing"]) for v in m["strike"].values()]
    worst["strike"] = {"smallest_of_unity_and_mixing": min(lows)}
    ok &= min(lows) >= STRUCK_ABOVE
    def rng(arm, key):
        return range_text([v[key] for v in m[arm].values()], 2)

    return Verdict(bool(ok), f"stir and fuse: mixing - unity >= {GAP:g} and unity < {UNITY_BELOW:g}; strike: unity and mixing "
                   f">= {STRUCK_ABOVE:g}; every seed",
                   worst, "unity / mixing over the seeds: " + "; ".join(f"{a} {rng(a, 'unity')} / {rng(a, 'mixing')}" for a in ARMS))


def figure(fig, by_arm, m, v):
    ax = fig.add_subplot(1, 1, 1)
    w = 0.35
    names = {"unity": "unity (pointwise, 1 - mean phi^2)", "mixing": "mixing (8 x 8 blocks)"}
    for i, arm in enumerate(ARMS):
        for j, (key, colour) in enumerate((("unity", "tab:blue"), ("mixing", "tab:orange"))):
            vals = [d[key] for d in m[arm].values()]
            ax.bar(i + (j - 0.5) * w, np.mean(vals), w, color=colour, alpha=0.8,
                   label=names[key] if i == 0 else None)
            ax.scatter(np.full(len(vals), i + (j - 0.5) * w), vals, color="k", s=10, zorder=3,
                       label=f"each of the {len(vals)} seeds" if i == j == 0 else None)
    # the rule's bounds over the bars they bound; the gap, a per-seed difference, written on its bars
    for i, arm in enumerate(ARMS):
        if arm == "strike":
            ax.hlines(STRUCK_ABOVE, i - 1.1 * w, i + 1.1 * w, color="k", ls="--", lw=1,
                      label=f"the rule, strike: unity and mixing \u2265 {STRUCK_ABOVE:g}")
            continue
        ax.hlines(UNITY_BELOW, i - 1.1 * w, i + 0.1 * w, color="tab:red", ls="--", lw=1,
                  label=f"the rule, stir and fuse: unity < {UNITY_BELOW:g}" if i == 0 else None)
        gap = min(d["mixing"] - d["unity"] for d in m[arm].values())
        ax.text(i + 0.5 * w, 0.3, f"mixing \u2212\nunity \u2265 {bound_text(gap, False, 2)}\nin every\nseed "
                f"(rule:\n\u2265 {GAP:g})",
                ha="center", va="center", fontsize=7.5)
    ax.set_xticks(range(len(ARMS)), ["stir (vibration)", "fuse (melted metals)", "strike (light 1.5 > A)"])
    ax.set_ylabel("measure of the vessel at the end (0 to 1)")
    ax.set_ylim(0, 1.3)  # room above the bars for the legend
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.grid(alpha=0.3, axis="y")
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda k: (labels[k].startswith("the rule"), labels[k].startswith("each")))
    ax.legend([handles[k] for k in order], [labels[k] for k in order], loc="upper center", fontsize=8, ncol=3, title="bars: the mean over the seeds; dots: each seed",
              title_fontsize=8)


EXPERIMENT = Experiment(
    name="mixing-is-not-unity",
    claim="Stir and fuse: mixing high, unity low; strike: both high.",
    source="000, 'mix liquids together by way of vibration, or cause metals to merge together by way of fusion'; 'the most powerful Light'",
    arms=tuple(Arm(a, {"genesis.n": GRID, "genesis.stages": STAGES[a]}) for a in ARMS),
    base="quick", souls=100, years=1,
    why_size="a claim about the vessel alone: a 64 x 64 vessel shows it in seconds (docs/genesis.md); the phase 2 "
             "run that carries it through the sweep is one year of 100 souls",
    measure=measure, verdict=verdict, figure=figure, by_population=False,
)
