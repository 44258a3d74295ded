"""A sweep on 2 worker processes against the same runs one after another.

    python benchmarks/bench_sweep.py [--runs 20] [--souls 20000] [--workers 2]

Twenty runs of the ``quick`` preset at 20,000 souls (seeds 20, 21, ...), made twice from the
command line, as a user would: by ``tikkun sweep`` with a local cluster of 2 workers (its
start, the workers' warm-up, each run's checkpoints and the tables included), and by the
same twenty ``tikkun run`` commands one after another (each a new process that loads the
compiled kernels from Numba's cache, with Numba's default threads). Prints both times, their
ratio (target: at most 0.6 on 2 cores) and the processor, and checks that both give the
same metrics, bit for bit.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq


def processor() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def tikkun(*args, cwd) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tikkun", *map(str, args)], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--souls", type=int, default=20000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    seeds = list(range(20, 20 + args.runs))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # the kernels compiled (or loaded) once, so that neither side pays for compiling
        tikkun("run", "--preset", "quick", "--souls", 300, "--out", "warm", "-q", cwd=tmp)
        (tmp / "bench.toml").write_text(f'base = "quick"\nseeds = {seeds}\nset = {{ "souls.count" = {args.souls} }}\n')

        serial = sum(tikkun("run", "--preset", "quick", "--souls", args.souls, "--seed", s, "--out", f"serial/{s}", "-q",
                            cwd=tmp) for s in seeds)
        swept = tikkun("sweep", "bench.toml", "--workers", args.workers, "--out", "sweep", "-q", cwd=tmp)

        for s in seeds:
            a = pq.read_table(tmp / "serial" / str(s) / "metrics.parquet")
            b = pq.read_table(tmp / "sweep" / "runs" / f"seed={s}" / "metrics.parquet")
            assert a.equals(b), f"seed {s}: the sweep's metrics differ from tikkun run's"
        walls = pq.read_table(tmp / "sweep" / "sweep.parquet").column("wall_seconds").to_pylist()

    print(f"processor: {processor()} ({os.cpu_count()} cores)")
    print(f"{args.runs} runs of quick at {args.souls:,} souls (400 years each)")
    print(f"  tikkun run, one after another : {serial:7.1f} s")
    print(f"  tikkun sweep, {args.workers} workers        : {swept:7.1f} s  "
          f"(runs inside the workers: {sum(walls):.1f} s in all)")
    print(f"  ratio sweep / serial          : {swept / serial:7.2f}   (target <= 0.6)")
    print("  metrics: the same, bit for bit")


if __name__ == "__main__":
    main()
