"""``missing-spark`` (002, "when a tiny part of a tiny spark is missing"; "while even a single
soul is denied of complete purity ... deficient in every soul"): every soul completed at once,
against every soul but the smallest spark of all.

Measure: in the year of the event, G, and what it makes of a complete soul's illumination
(``1 - omega (1 - G)`` of full, with the run's own omega: an identity of the equations, not a
measurement); the years until the end of correction after the event. The event empties the
spark at the year's start, before the year's light: a tiny spark can be filled again within
that year. Verdict: holds if in every seed the end does not come in the year the spark is
missing (G < 1) and the end waits for the spark (it comes later than in the arm with nothing
missing).

By construction: illumination is lam W ((1 - omega) c_i + omega G), so a complete soul's deficit
is omega (1 - G) whatever the model does; what the model decides is how long the end waits.
"""

from __future__ import annotations

import tomllib

import numpy as np

from .core import Arm, Experiment, Verdict, end_year, range_text

EVENT = 30
YEARS = 400


def _omega(r) -> float:
    """The run's own omega, from the scenario its folder keeps (written whole, every key)."""
    return float(tomllib.loads((r.folder / "scenario.toml").read_text(encoding="utf-8"))["light"]["omega"])


def measure(by_arm):
    out = {}
    for arm in ("nothing-missing", "one-spark-missing"):
        out[arm] = {}
        for r in by_arm[arm]:
            g, omega = r.at("weakest_link", EVENT), _omega(r)
            # by construction: lam W (1 - omega + omega G) / (lam W), what G makes of a complete soul's light
            complete_share = 1.0 - omega * (1.0 - g)
            e = end_year(r)
            out[arm][r.seed] = {"G_at_event": g, "omega": omega, "complete_soul_share_of_full": complete_share,
                                "end_year": e, "years_after_event": None if e is None else e - EVENT}
    return out


def verdict(m):
    miss, full = m["one-spark-missing"], m["nothing-missing"]
    ok = all(v["G_at_event"] < 1.0 for v in miss.values())
    waits = []
    for s, v in miss.items():
        a, b = full[s]["end_year"], v["end_year"]
        waits.append(None if b is None else b - (a if a is not None else EVENT))
        ok &= b is None or (a is not None and b > a)
    g = [v["G_at_event"] for v in miss.values()]
    share = [v["complete_soul_share_of_full"] for v in miss.values()]
    filled = [s for s, v in miss.items() if v["G_at_event"] >= 1.0]
    line = (f"G at the end of the event's year: {range_text(g, 3, ' to ', 'g')} over the seeds, so (by construction) every "
            f"complete soul shines at {range_text(share, 4)} of full; the end waits "
            + ", ".join("never" if w is None else f"{w}" for w in waits)
            + f" year{'' if waits == [1] else 's'} for the spark")
    if filled:  # the spark was not missing at any year's end: the end had nothing to wait for
        line += (f"; in seed{'s' if len(filled) > 1 else ''} {', '.join(map(str, filled))} the event's own year's "
                 "light fills the spark before the year ends (G = 1), so the end does not wait")
    return Verdict(bool(ok), "with one spark missing: G < 1 in the event's year (a complete soul's illumination is "
                   "then short of full by omega (1 - G), by construction), and a later end than with nothing missing; "
                   "every seed",
                   {"G_at_event": g, "end_waits_years": waits, "spark_filled_in_the_event_year": filled}, line)


DODGE = 0.08  # years between the seeds' red lines on the left, so that lines on the same values stay apart


def figure(fig, by_arm, m, v):
    ax1 = fig.add_subplot(1, 2, 1)
    ax2 = fig.add_subplot(1, 2, 2)
    for arm, colour, label in (("nothing-missing", "tab:blue", "every spark corrected"),
                               ("one-spark-missing", "tab:red", "all but the smallest spark")):
        runs = sorted(by_arm[arm], key=lambda r: r.seed)
        full = arm == "nothing-missing"
        for i, r in enumerate(runs):
            yrs = r.metrics["year"]
            keep = yrs >= EVENT - 3
            # the arm with nothing missing as larger open circles under the others, so that it shows where
            # the arms coincide; the other arm's seeds set a little apart, so that each is seen where they
            # take the same values (two reach G = 1 in year 30, as the seeds with nothing missing do)
            shift = 0.0 if full else (i - (len(runs) - 1) / 2) * DODGE
            ax1.plot(yrs[keep] + shift, r.metrics["weakest_link"][keep], color=colour, marker="o", ms=8 if full else 3,
                     mfc="none" if full else colour, lw=1 if full else 0.9, zorder=2 if full else 3,
                     label=(label if full else f"{label}\n(each seed moved {DODGE:g} year from\nthe next, so none "
                            "hides another;\nlabelled where it ends)") if i == 0 else None)
            if not full:
                ax1.annotate(str(r.seed), (yrs[-1] + shift, r.metrics["weakest_link"][-1]), xytext=(0, 8),
                             textcoords="offset points", ha="center", fontsize=7, color="0.3")
        share = [m[arm][r.seed]["complete_soul_share_of_full"] for r in runs]
        # each seed a dot, side by side in seed order, labelled (a bar of their mean on an axis that does not
        # start at 0 would read as a seed's value; dots on one line would hide each other)
        at = (0 if full else 1) + np.linspace(-0.25, 0.25, len(runs))
        ax2.scatter(at, share, color=colour, s=28, zorder=3, edgecolors="k", linewidths=0.5)
        for x, y, r in zip(at, share, runs):
            ax2.annotate(str(r.seed), (x, y), xytext=(0, 5), textcoords="offset points", ha="center", fontsize=7,
                         color="0.3")
    ax1.set_xlabel("year")
    ax1.set_ylabel("weakest link G")
    ax1.set_title(f"year {EVENT}: every soul made complete, or all but one spark", fontsize=10)
    ax1.grid(alpha=0.3)
    # room above G = 1 and the seeds' labels for the legend: no line runs under it
    ax1.set_ylim(-0.05, 1.62)
    ax1.set_yticks(np.linspace(0, 1, 6))
    ax1.legend(fontsize=7.5, loc="upper left")
    ax2.set_xticks([0, 1], ["every spark", "one spark missing"])
    ax2.set_xlim(-0.6, 1.6)
    ax2.set_xlabel("arm (each dot labelled with its seed)")
    ax2.set_ylabel("illumination / full illumination\n(1 - omega (1 - G), by construction)")
    lo = min(min(d["complete_soul_share_of_full"] for d in m[a].values()) for a in m)
    ax2.set_ylim(max(0.0, lo - 0.05), 1.04)
    ax2.set_title(f"a complete soul in year {EVENT} (one dot a seed)", fontsize=10)
    ax2.grid(alpha=0.3, axis="y")


EXPERIMENT = Experiment(
    name="missing-spark",
    claim="All complete but one tiny spark: no end of correction; every soul's illumination below full by omega (1 - G).",
    source="002, 'when a tiny part of a tiny spark is missing'; 'deficient in every soul'",
    arms=(Arm("nothing-missing", events=({"kind": "complete", "year": EVENT, "group": {"share": 1.0}, "label": "all complete"},)),
          Arm("one-spark-missing", events=({"kind": "complete", "year": EVENT, "group": {"share": 1.0}, "spare": "smallest",
                                            "label": "all but one spark"},))),
    base="quick", souls=2000, years=YEARS, set={"run.stop_at_end": True},
    why_size="one spark against all the others: 2,000 souls (about 8,000 sparks) make the smallest spark tiny",
    construction="a complete soul's illumination is lam W (1 - omega + omega G): its deficit omega (1 - G) is an "
                 "identity of the equations; the measured part is how long the end waits for the spark",
    measure=measure, verdict=verdict, figure=figure,
)
