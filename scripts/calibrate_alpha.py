"""Calibrate ``light.alpha``, the one rate of the model, and nothing else.

MODEL.md: "Calibrate its default (and only it) so that the default history, default seed,
reaches the end of correction between years 5,500 and 6,000 ... it is a calibration, not a
prediction." This script runs the ``history`` preset at full scale (600,000 souls) with
candidate values of alpha and searches, in log(alpha), for an end year inside the window,
aiming at its middle. Every run it makes is printed, so the calibration can be audited:

    python scripts/calibrate_alpha.py [--target 5750] [--low 5500] [--high 6000] [--alpha A]

The end year falls as alpha grows. After each run the next guess comes from the secant in
(log alpha, end year) through the two runs closest to the target, kept inside the bracket;
a run that never ends counts as beyond the horizon.
"""

from __future__ import annotations

import argparse
import math
import time


def end_year(alpha: float, seed: int | None = None) -> int | None:
    import tikkun

    overrides = {"light.alpha": alpha, "run.stop_at_end": True}
    if seed is not None:
        overrides["run.seed"] = seed
    # tikkun.run, not the bare engine: the preset breaks the vessel first (genesis)
    return tikkun.run(preset="history", overrides=overrides).summary["end_year"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--alpha", type=float, default=None, help="first guess (default: the preset's value)")
    ap.add_argument("--target", type=float, default=5750.0)
    ap.add_argument("--low", type=int, default=5500)
    ap.add_argument("--high", type=int, default=6000)
    ap.add_argument("--max-runs", type=int, default=10)
    args = ap.parse_args()

    from tikkun.scenario import load_scenario

    alpha = args.alpha or load_scenario(preset="history").light.alpha
    horizon = load_scenario(preset="history").run.years
    runs: list[tuple[float, float]] = []  # (log alpha, end year; horizon * 1.2 if never)
    lo_a, hi_a = -math.inf, math.inf      # bracket in log alpha: end too late / too early
    for i in range(args.max_runs):
        t = time.perf_counter()
        end = end_year(alpha)
        y = float(end) if end is not None else 1.2 * horizon
        print(f"run {i + 1}: alpha = {alpha:.6g}  end of correction = {end}  ({time.perf_counter() - t:.0f} s)", flush=True)
        if end is not None and args.low <= end <= args.high:
            print(f"calibrated: light.alpha = {alpha:.6g} (end of correction in year {end})")
            return
        la = math.log(alpha)
        runs.append((la, y))
        if y > args.target:
            lo_a = max(lo_a, la)
        else:
            hi_a = min(hi_a, la)
        pts = sorted(runs, key=lambda p: abs(p[1] - args.target))[:2]
        if len(pts) == 2 and pts[0][1] != pts[1][1] and end is not None:
            (x0, y0), (x1, y1) = pts
            guess = x0 + (args.target - y0) * (x1 - x0) / (y1 - y0)
        else:
            guess = la + (math.log(2.0) if y > args.target else -math.log(2.0))
        if math.isfinite(lo_a) and math.isfinite(hi_a):
            if not (lo_a < guess < hi_a):
                guess = 0.5 * (lo_a + hi_a)
        alpha = math.exp(guess)
    print("not calibrated within --max-runs; see the runs above")


if __name__ == "__main__":
    main()
