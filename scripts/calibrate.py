"""Calibrate the two numbers MODEL.md (revision 2) sets to targets, and nothing else.

MODEL.md, "The default history": ``light.alpha`` so that the end of correction falls in years
5,500 - 6,000, and the practice before the Torah (the ``light.practice`` event labelled
"before the Torah") so that ``C`` at year 2,448 lies between 0.02 and 0.1 (seed 20, 600,000
souls). "It is a calibration, not a prediction." Every run is printed, so the calibration can
be audited:

    python scripts/calibrate.py [--alpha A] [--practice P] [--seed 20] [--max-runs 12]

How. Before the Torah no shepherd exists, so every soul's light is ``alpha * P`` times a
factor that neither changes: the years 0 - 2,447 depend on the product ``K = alpha P`` alone
(up to the last bits of the arithmetic). So the search is in two steps:

1. ``K``: runs of the years before the Torah only, at the given alpha, searching ``P`` in
   log-log (``C(2448)`` grows with ``P``) for ``C(2448)`` near the window's middle (0.06);
2. ``alpha``: full runs with ``P = K / alpha``, searching ``log alpha`` (the end year falls as
   alpha grows; secant through the two runs nearest the target inside the bracket; a run that
   never ends counts as beyond the horizon) for an end in the window, aiming at 5,750.

The last full run gives both checks at once: its ``C(2448)`` and its end year.
"""

from __future__ import annotations

import argparse
import math
import time

TORAH = 2448
PRACTICE_LABEL = "before the Torah"


def _with(alpha: float, practice: float, seed: int) -> "tikkun.Scenario":  # noqa: F821
    """The history preset with ``alpha`` and the practice before the Torah set to ``practice``."""
    from tikkun.scenario import build_scenario, load_scenario

    raw = load_scenario(preset="history").model_dump(mode="json", exclude_none=True)
    raw["light"]["alpha"] = alpha
    raw["run"]["seed"] = seed
    hits = [e for e in raw["events"] if e.get("label") == PRACTICE_LABEL and e.get("key") == "light.practice"]
    if len(hits) != 1:
        raise SystemExit(f"the history preset needs exactly one light.practice event labelled {PRACTICE_LABEL!r}")
    hits[0]["value"] = practice
    return build_scenario(raw, "calibration")


def c_at_torah(alpha: float, practice: float, seed: int) -> float:
    """``C`` as the Torah is given: the mean cleansing at the end of year 2,447."""
    import tikkun

    res = tikkun.run(_with(alpha, practice, seed), years=TORAH)
    return float(res.metrics["cleansing_mean"][-1])


def full_run(alpha: float, practice: float, seed: int):
    import tikkun

    res = tikkun.run(_with(alpha, practice, seed))
    m = res.metrics
    return res.summary["end_year"], float(m["cleansing_mean"][TORAH - 1]), float(m["weakest_link"][-1])


def _secant(runs, target, lo, hi, step):
    """Next guess in x from (x, y) runs: the secant through the two nearest the target, kept
    inside the bracket (lo, hi) by bisection; a step of ``step`` while there is one run."""
    pts = sorted(runs, key=lambda p: abs(p[1] - target))[:2]
    x_last, y_last = runs[-1]
    if len(pts) == 2 and pts[0][1] != pts[1][1]:
        (x0, y0), (x1, y1) = pts
        guess = x0 + (target - y0) * (x1 - x0) / (y1 - y0)
    else:
        guess = x_last + step
    if math.isfinite(lo) and math.isfinite(hi) and not (lo < guess < hi):
        guess = 0.5 * (lo + hi)
    return guess


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--alpha", type=float, default=None, help="first alpha (default: the preset's)")
    ap.add_argument("--practice", type=float, default=None, help="first practice before the Torah (default: the preset's)")
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--c-window", type=float, nargs=2, default=(0.02, 0.1))
    ap.add_argument("--end-window", type=int, nargs=2, default=(5500, 6000))
    ap.add_argument("--end-target", type=float, default=5750.0)
    ap.add_argument("--max-runs", type=int, default=12)
    ap.add_argument("--skip-practice", action="store_true", help="keep alpha * practice as given (step 2 only)")
    args = ap.parse_args()

    from tikkun.scenario import load_scenario

    preset = load_scenario(preset="history")
    alpha = args.alpha or preset.light.alpha
    practice = args.practice or next(e.value for e in preset.events if e.label == PRACTICE_LABEL)
    horizon = preset.run.years
    c_lo, c_hi = args.c_window
    c_target = 0.5 * (c_lo + c_hi)

    # 1. the product alpha * P, from the years before the Torah
    if not args.skip_practice:
        runs, lo, hi = [], -math.inf, math.inf
        for i in range(args.max_runs):
            t = time.perf_counter()
            c = c_at_torah(alpha, practice, args.seed)
            print(f"practice run {i + 1}: alpha = {alpha:.6g}  practice = {practice:.6g}  C(2448) = {c:.4f}  "
                  f"({time.perf_counter() - t:.0f} s)", flush=True)
            if abs(c - c_target) <= 0.15 * c_target:
                break
            x, y = math.log(practice), math.log(max(c, 1e-9))
            runs.append((x, y))
            if c < c_target:
                lo = max(lo, x)
            else:
                hi = min(hi, x)
            practice = math.exp(_secant(runs, math.log(c_target), lo, hi, math.log(2.0) if c < c_target else -math.log(2.0)))
    product = alpha * practice
    print(f"alpha * practice before the Torah = {product:.6g}", flush=True)

    # 2. alpha, with the product kept
    runs, lo, hi = [], -math.inf, math.inf
    for i in range(args.max_runs):
        t = time.perf_counter()
        practice = product / alpha
        end, c2448, g = full_run(alpha, practice, args.seed)
        print(f"full run {i + 1}: alpha = {alpha:.6g}  practice = {practice:.6g}  C(2448) = {c2448:.4f}  "
              f"end of correction = {end}  G at the end = {g:.4g}  ({time.perf_counter() - t:.0f} s)", flush=True)
        if end is not None and args.end_window[0] <= end <= args.end_window[1]:
            ok = c_lo <= c2448 <= c_hi
            print(f"calibrated: light.alpha = {alpha:.6g}, practice before the Torah = {practice:.6g} "
                  f"(end of correction in year {end}; C(2448) = {c2448:.4f}, {'inside' if ok else 'OUTSIDE'} "
                  f"[{c_lo}, {c_hi}])")
            return
        x = math.log(alpha)
        y = float(end) if end is not None else 1.2 * horizon
        runs.append((x, y))
        if y > args.end_target:
            lo = max(lo, x)
        else:
            hi = min(hi, x)
        alpha = math.exp(_secant(runs, args.end_target, lo, hi, math.log(1.25) if y > args.end_target else -math.log(1.25)))
    print("not calibrated within --max-runs; see the runs above")


if __name__ == "__main__":
    main()
