"""``light-maintains-unity`` (000, "this unity is possible only when the Upper Light maintains
it"): after the strike, the light held (lam = 1.5) against the light withdrawn (lam = 0); and
the worlds that carry the light down, under a light held at the threshold against none.

Measure: the vessel's unity at the end of the maintain or withdraw stage (200 time units,
n = 64); the worlds' conductance W after 100 years of phase 2 (at the end of year 99) in two arms of their own, whose four
worlds start at unity 1, as the strike leaves the vessel (0.99995), one under the light at 1
(= A), the other without light. (Started from the withdrawn vessel's unity, 0.36-0.38, the
worlds' W would be below 0.05 before any year without light: no test of its decay.) Verdict:
holds if in every seed the maintained vessel keeps unity >= 0.95 and the withdrawn one falls
below 0.7, and W stays >= 0.95 under the light and falls below 0.05 without it.
"""

from __future__ import annotations

import numpy as np

from .core import Arm, Experiment, Verdict, bound_sig, bound_text

_STRUCK = [{"kind": "separate"}, {"kind": "approach", "duration": 20.0},
           {"kind": "strike", "duration": 3000.0, "light": 1.5}]
STAGES = {
    "maintain": _STRUCK + [{"kind": "maintain", "duration": 200.0, "light": 1.5}, {"kind": "shatter"}],
    "withdraw": _STRUCK + [{"kind": "withdraw", "duration": 200.0}, {"kind": "shatter"}],
}


KEPT, LOST = 0.95, 0.7  # the rule's bounds on the vessel's unity: held at least, withdrawn below
W_KEPT, W_LOST = 0.95, 0.05  # and on the worlds' W after 100 years (the end of year 99)


WORLDS_FROM = 1.0  # where the worlds' arms start every world: the struck vessel's unity, to the solver's precision


def measure(by_arm):
    out = {}
    for arm in ("maintain", "withdraw"):
        out[arm] = {r.seed: {"unity": float(r.genesis()["unity"][-1])} for r in by_arm[arm]}
    for arm in ("worlds-held", "worlds-dark"):
        out[arm] = {r.seed: {"W_0": r.at("conductance", 0), "W_100": r.at("conductance", 99)} for r in by_arm[arm]}
    return out


def verdict(m):
    keep = min(v["unity"] for v in m["maintain"].values())
    lose = max(v["unity"] for v in m["withdraw"].values())
    w_keep = min(v["W_100"] for v in m["worlds-held"].values())
    w_lose = max(v["W_100"] for v in m["worlds-dark"].values())
    ok = keep >= KEPT and lose < LOST and w_keep >= W_KEPT and w_lose < W_LOST
    nums = {"maintained_unity_min": keep, "withdrawn_unity_max": lose, "W_100_maintained_min": w_keep,
            "W_100_withdrawn_max": w_lose}
    return Verdict(ok, f"maintained unity >= {KEPT:g}, withdrawn < {LOST:g}; W after 100 years >= {W_KEPT:g} under the light, "
                   f"< {W_LOST:g} without; every seed",
                   nums, f"vessel's unity: maintained >= {bound_text(keep, False)}, withdrawn <= "
                         f"{bound_text(lose, True)}; worlds' W after 100 years, every world from unity 1: >= "
                         f"{bound_text(w_keep, False)} under the light against <= {bound_sig(w_lose, True)} without")


def figure(fig, by_arm, m, v):
    ax1 = fig.add_subplot(1, 2, 1)
    ax2 = fig.add_subplot(1, 2, 2)
    for arm, colour in (("maintain", "tab:blue"), ("withdraw", "tab:red")):
        for i, r in enumerate(by_arm[arm]):
            g = r.genesis()
            stage = np.asarray(g["stage"])
            keep = stage == arm
            t = np.asarray(g["time"])[keep]
            ax1.plot(t - t[0], np.asarray(g["unity"])[keep], color=colour, lw=1.2, alpha=0.8,
                     label=("light held at 1.5" if arm == "maintain" else "light withdrawn (0)") if i == 0 else None)
    for arm, colour, label in (("worlds-held", "tab:blue", "light 1 (= A)"), ("worlds-dark", "tab:red", "light 0")):
        for i, r in enumerate(by_arm[arm]):
            ax2.plot(r.metrics["year"], r.metrics["conductance"], color=colour, lw=1.2, alpha=0.8,
                     label=label if i == 0 else None)
    # the rule's bounds, each in its arm's colour: the unity at the stage's end, W after 100 years
    def stage_length(r):
        g = r.genesis()
        t = np.asarray(g["time"])[np.asarray(g["stage"]) == r.arm]
        return t[-1] - t[0]

    end = max(stage_length(r) for r in by_arm["maintain"])
    ax1.axvline(end, color="0.5", ls=":", lw=1)
    ax1.axhline(KEPT, color="tab:blue", ls="--", lw=0.9, label=f"the rule at the end: held \u2265 {KEPT:g}")
    ax1.axhline(LOST, color="tab:red", ls="--", lw=0.9, label=f"the rule at the end: withdrawn < {LOST:g}")
    ax2.axvline(99, color="0.5", ls=":", lw=1)
    ax2.axhline(W_KEPT, color="tab:blue", ls="--", lw=0.9, label=f"the rule after 100 years: W \u2265 {W_KEPT:g} held")
    ax2.axhline(W_LOST, color="tab:red", ls="--", lw=0.9, label=f"the rule after 100 years: W < {W_LOST:g} withdrawn")
    # where the worlds start: every world at unity 1, as the strike leaves the vessel, in both arms
    w0 = [v["W_0"] for v in m["worlds-dark"].values()]
    ax2.text(0.93, 0.86, "every world starts at unity 1, as the strike\nleaves the vessel; year 0 is the first year\n"
             f"of each arm's light (W at the end of year 0:\n{min(w0):.3f} without light)",
             transform=ax2.transAxes, ha="right", va="top", fontsize=7.5, color="0.25")
    ax1.set_xlabel("time after the strike (solver's time units)")
    ax1.set_ylabel("vessel's unity 1 - mean(phi^2)")
    ax1.set_ylim(0, 1.05)
    ax1.set_title("the vessel", fontsize=10)
    ax2.set_xlabel("year of phase 2")
    ax2.set_ylabel("conductance W of the four worlds")
    ax2.set_yscale("log")
    ax2.set_title("the worlds", fontsize=10)
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7.5, loc="lower left")


EXPERIMENT = Experiment(
    name="light-maintains-unity",
    claim="After the strike, unity stays near 1 while the light holds it and decays when it withdraws; the worlds' conductance likewise.",
    source="000, 'only when the Upper Light maintains it and does not let it disappear'",
    arms=(Arm("maintain", {"genesis.n": 64, "genesis.stages": STAGES["maintain"]}, label="light held"),
          Arm("withdraw", {"genesis.n": 64, "genesis.stages": STAGES["withdraw"]}, label="light withdrawn"),
          Arm("worlds-held", {"worlds.initial_unity": WORLDS_FROM, "light.light": 1.0}, label="worlds under the light"),
          Arm("worlds-dark", {"worlds.initial_unity": WORLDS_FROM, "light.light": 0.0}, label="worlds without light")),
    base="quick", souls=2000, years=100,
    why_size="the vessel alone (its two arms' phase 2 is not measured) and the four worlds (their two arms, with no "
             "vessel: every world from unity 1), which do not depend on the population: 64 x 64 and 2,000 souls",
    construction="the worlds' half: each world's unity relaxes by a tenth a year toward iota_eq(light) = min(1, light / A), "
                 "1 under the light at A and 0 without it, so W = prod u_w tends to 1 in one arm and falls as about "
                 "0.9^(4t) in the other; the vessel's half is measured (the phase-field solver)",
    measure=measure, verdict=verdict, figure=figure, by_population=False,
)
