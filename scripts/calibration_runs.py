"""The runs of docs/calibration.md's tables, made again from the history preset as it is.

docs/calibration.md gives every run of the calibration (seed 20, 600,000 souls): three runs of
the years before the Torah that fix ``alpha * P``, and seventeen full runs at that product with
other values of ``alpha`` and of the shocks' rates (the exiles' and the last centuries'), the
last of them the preset itself. This script makes each of them from the ``history`` preset,
changing only what its row names, and prints the tables' rows in Markdown:

    python scripts/calibration_runs.py [--seed 20] [--souls 600000] [--workers 2]

Runs are spread over ``--workers`` processes of one Numba thread each (no bit of a result
depends on the number of threads).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import time

import calibrate

PRODUCT_ALPHA = 0.25
PRACTICES = (0.004, 0.002, 0.00369788)  # runs 1-3: alpha 0.25, the years before the Torah
#: alpha * P before the Torah, as the search found it from run 3 (every full run keeps it)
PRODUCT = 0.000924471
# runs 4-19: (alpha, the exiles' shock rate, the rate from 5,700): MODEL.md's starting rates over a
# range of alphas, and at two alphas lower rates, to show what the rates do to the end;
# run 20: the preset's own alpha and rates (the default history)
FULL = ((0.25, 0.05, 0.1), (0.3125, 0.05, 0.1), (0.3125, 0.05, 0.075), (0.3125, 0.05, 0.05),
        (0.3125, 0.03, 0.05), (0.35, 0.03, 0.05),
        *((a, 0.05, 0.1) for a in (0.35, 0.375, 0.4, 0.45, 0.455, 0.4625, 0.47, 0.475, 0.5, 0.55)),
        (None, None, None))
EXILES, LATE = ("first exile", "long exile"), "the media"
YEARS_SHOWN = (4000, 5699, 5999)


def preset_light() -> tuple[float, float]:
    """The history preset's ``alpha`` and practice before the Torah: the calibration's result."""
    from tikkun.scenario import load_scenario

    sc = load_scenario(preset="history")
    (practice,) = [e.value for e in sc.events if e.label == calibrate.PRACTICE_LABEL and e.key == "light.practice"]
    return sc.light.alpha, practice


def practice_for(alpha: float) -> float:
    """The practice before the Torah that keeps ``alpha * P = PRODUCT`` at ``alpha``: the
    preset's own at its own alpha (bit for bit: the last run is the default history)."""
    alpha0, practice0 = preset_light()
    return practice0 if alpha == alpha0 else PRODUCT / alpha


def scenario(alpha: float, practice: float, exiles: float | None, late: float | None, seed: int, souls: int):
    """The history preset with ``alpha``, the practice before the Torah, and (where given) the
    shocks' rate of the exiles' and of the last centuries' events."""
    from tikkun.scenario import build_scenario

    raw = calibrate._with(alpha, practice, seed).model_dump(mode="json", exclude_none=True)
    raw["souls"]["count"] = souls
    rates = [e for e in raw["events"] if e.get("key") == "impurity.rate"]
    if sorted({e["label"] for e in rates}) != sorted([*EXILES, LATE]):
        raise SystemExit(f"the history preset's impurity.rate events are not {[*EXILES, LATE]}")
    for e in rates:
        value = exiles if e["label"] in EXILES else late
        if value is not None:
            e["value"] = value
    return build_scenario(raw, "calibration run")


def product_run(practice: float, seed: int, souls: int) -> dict:
    import tikkun

    t = time.perf_counter()
    res = tikkun.run(scenario(PRODUCT_ALPHA, practice, None, None, seed, souls), years=calibrate.TORAH)
    return {"c2448": float(res.metrics["cleansing_mean"][-1]), "seconds": time.perf_counter() - t}


def full_run(alpha: float, exiles: float, late: float, seed: int, souls: int) -> dict:
    import tikkun

    t = time.perf_counter()
    res = tikkun.run(scenario(alpha, practice_for(alpha), exiles, late, seed, souls))
    g = res.metrics["weakest_link"]
    return {"end": res.summary["end_year"], "c2448": float(res.metrics["cleansing_mean"][calibrate.TORAH - 1]),
            "g": {y: float(g[y]) if y < len(g) else None for y in YEARS_SHOWN}, "seconds": time.perf_counter() - t}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--souls", type=int, default=600_000)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    os.environ["NUMBA_NUM_THREADS"] = "1"
    t0 = time.perf_counter()
    with cf.ProcessPoolExecutor(max_workers=args.workers) as pool:
        alpha0, practice0 = preset_light()
        rows = [(alpha0 if a is None else a, ex, late) for a, ex, late in FULL]
        full = [pool.submit(full_run, a, ex, late, args.seed, args.souls) for a, ex, late in rows]
        product = [pool.submit(product_run, p, args.seed, args.souls) for p in PRACTICES]
        print("| run | practice | `C(2448)` |\n|---|---|---|")
        for i, (p, f) in enumerate(zip(PRACTICES, product), 1):
            print(f"| {i} | {p:g} | {f.result()['c2448']:.4f} |", flush=True)
        print(f"\nthe preset: alpha = {alpha0:g}, P before the Torah = {practice0:g}: alpha * P = "
              f"{alpha0 * practice0:.6g}\n")
        head = " | ".join(f"`G` at {y:,}" for y in YEARS_SHOWN)
        print(f"| run | alpha | shocks: exiles / from 5,700 | end of correction | {head} | `C(2448)` |")
        print("|---" * (5 + len(YEARS_SHOWN)) + "|")
        for i, ((a, ex, late), f) in enumerate(zip(rows, full), len(PRACTICES) + 1):
            r = f.result()
            gs = " | ".join("(ended)" if v is None else f"{v:.3f}" for v in r["g"].values())
            end = "never" if r["end"] is None else f"{r['end']:,}"
            shocks = "the preset's" if ex is None else f"{ex:g} / {late:g}"
            print(f"| {i} | {a:g} | {shocks} | {end} | {gs} | {r['c2448']:.4f} |", flush=True)
    print(f"\n{len(FULL) + len(PRACTICES)} runs in {(time.perf_counter() - t0) / 60:.1f} minutes "
          f"on {args.workers} worker processes")


if __name__ == "__main__":
    main()
