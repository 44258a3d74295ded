"""The whole default history (issue 3's measure) next to the memory floor measured in the same run.

    python benchmarks/bench_history.py [--split]

Runs ``tikkun run`` on the ``history`` preset (600,000 souls; genesis first, then the years to
the end of correction) in a fresh process, as a user does, and prints: the years run, the wall
time (interpreter start, imports, cached kernels, genesis, the initial population, every year,
the outputs), the time per year, the bytes a year must touch (as in ``bench_engine.py``: from
the arrays' sizes, the same every year even where the kernels skip work), the streaming
bandwidth measured just before and just after the run (the higher of the two sets the floor,
the stricter choice), the floor of the whole history (years x bytes / bandwidth) and the ratio.

``--split`` runs the history a second time in this process, with the yearly passes and the
rewiring timed, and prints where the time goes: the warm network, the soul pass, the
rewiring, and the rest (Python, genesis, the initial population).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_engine import KernelTimer, bytes_per_year, stream_bandwidth  # noqa: E402


def history_wall(*extra: str) -> tuple[float, dict]:
    """Wall time of ``tikkun run --preset history`` in a fresh process, and its summary."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "history")
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tikkun", "run", "--preset", "history", "-q", "--out", out, *extra],
                       check=True, capture_output=True)
        wall = time.perf_counter() - t
        with open(os.path.join(out, "summary.json")) as f:
            return wall, json.load(f)


def split_seconds() -> dict:
    """The history in this process with its parts timed (seconds)."""
    import tikkun.rules.good_and_pure as good_and_pure
    from tikkun import api

    rewire = []
    orig = good_and_pure.rewire

    def timed(*args, **kwargs):
        t = time.perf_counter()
        try:
            return orig(*args, **kwargs)
        finally:
            rewire.append(time.perf_counter() - t)

    good_and_pure.rewire = timed
    try:
        with KernelTimer() as kt:
            t = time.perf_counter()
            api.run(preset="history")
            wall = time.perf_counter() - t
    finally:
        good_and_pure.rewire = orig
    net, souls, rew = sum(kt.times["network"]), sum(kt.times["souls"]), sum(rewire)
    return {"wall": wall, "network": net, "souls": souls, "rewiring": rew, "rewirings": len(rewire),
            "rest": wall - net - souls - rew}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", action="store_true", help="also time the parts of the history in this process")
    args = ap.parse_args()

    from tikkun.api import vessel_inputs
    from tikkun.engine import build
    from tikkun.scenario import load_scenario

    sc = load_scenario(preset="history")
    # the bytes a year touches follow from the arrays' sizes: an initial state gives them
    init_fn, _step = build(sc, *vessel_inputs(sc))
    moved = bytes_per_year(init_fn(), sc)
    del init_fn, _step
    history_wall("--years", "1")  # fills Numba's cache if empty: the timed run starts as a second run does
    bw_before = stream_bandwidth()
    wall, summary = history_wall()
    bw_after = stream_bandwidth()
    bw = max(bw_before, bw_after)
    years = summary["years_run"]
    floor_year = moved / bw
    floor = years * floor_year
    print(f"history                  {summary['souls']:,} souls, {summary['sparks']:,} sparks, genesis + "
          f"{years:,} years (end of correction in year {summary['end_year']})")
    print(f"wall time (tikkun run)   {wall:.1f} s, {wall / years * 1e3:.2f} ms a year on average "
          f"(the run's own stepping: {summary['wall_seconds']:.1f} s)")
    print(f"bytes touched per year   {moved / 1e6:.1f} MB")
    print(f"stream bandwidth         {bw_before / 1e9:.2f} GB/s before, {bw_after / 1e9:.2f} GB/s after (copy)")
    print(f"memory floor             {floor_year * 1e3:.2f} ms a year, {floor:.1f} s for the history")
    print(f"achieved / floor         {wall / floor:.2f}x (target <= 1.5x)")
    if args.split:
        s = split_seconds()
        print(f"in this process          {s['wall']:.1f} s: warm network {s['network']:.1f} s, soul pass "
              f"{s['souls']:.1f} s, {s['rewirings']} rewirings {s['rewiring']:.1f} s, the rest {s['rest']:.1f} s "
              f"(genesis, initial population, Python)")


if __name__ == "__main__":
    main()
