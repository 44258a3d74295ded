"""Speed of the yearly step at the texts' own scale, next to the floor this machine allows.

    python benchmarks/bench_engine.py [--years 300] [--souls 600000] [--set KEY=VALUE ...]

Runs the ``history`` preset (600,000 souls) for a few hundred years and prints: the processor
and which of its specific paths the kernels use, souls, sparks, seconds per year after the
warm-up (the mean, which carries the rewiring every 10 years, and the median, which leaves it
out), soul-years per second, the bytes the yearly step must touch (from the arrays' sizes and
the kernels' access pattern), the streaming bandwidth of this machine measured in the same run,
before and after the years (a copy, NumPy's on one thread and a compiled one on every thread,
the best; the higher of the two moments counts), two passes that move exactly those bytes in
the kernels' pattern with no work, and the ratio of the achieved time to the floor: the
shorter of the two, the copy's time for those bytes and the no-work passes'
(:func:`memory_floor`: where the year's bytes stay in the last-level cache between years, the
copy of 512 MB measures a slower memory than the one they come from). The mean year's ratio
is the headline (what a user's run takes), the median's stands beside it.
Also, each measured in the same run: each of the year's passes against its own no-work pass;
the warm network on this year's graph and on a ring (what the small world's far edges cost); the
split of a year between the warm network's pass, the soul pass and Python; the fixed cost of
starting a parallel loop; the two passes on a population small enough to stay in cache (what
they cost when memory is not the limit: the compute floor of these kernels, each pass apart);
the mean year's lower bound with these instructions (that compute floor on every thread, plus
the mean time of a year outside its two passes: the rewiring, Python); the start-up
time of a second run (compiled kernels come from Numba's cache) and the peak resident memory
of a history run of 60 years (read by the child process itself, so the benchmark's own arrays
do not count).
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

import numba
import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def _parallel_copy(dst, src):
    # each stretch as a view indexed from 0: a loop over ``range(lo, hi)`` of the whole arrays
    # pays for negative-index checks and does not vectorise, and such a copy measures the
    # processor, not the memory
    n = src.shape[0]
    chunk = (n + 63) // 64
    for c in prange(64):
        lo = min(n, c * chunk)
        hi = min(n, lo + chunk)
        a = src[lo:hi]
        b = dst[lo:hi]
        for i in range(a.shape[0]):
            b[i] = a[i]


def processor() -> str:
    """The processor as the system names it, its logical CPUs, and a core's L2 cache."""
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    l2 = ""
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            if (index / "level").read_text().strip() == "2":
                l2 = f", L2 {(index / 'size').read_text().strip()}B a core"
        except OSError:
            pass
    return f"{name}, {os.cpu_count()} logical CPUs{l2}"


def native_paths() -> str:
    """Which processor-specific paths the kernels take here (tikkun.native)."""
    from tikkun.native import PORTABLE, gather

    if PORTABLE:
        return "none (TIKKUN_PORTABLE=1)"
    from tikkun.engine import year_kernel as yk

    used = [name for name, on in (("gathered network row", gather.AVAILABLE),
                                  ("sparks' light by eight", yk.LIGHT_BY_EIGHT),
                                  ("souls' sums by eight", yk.SUMS_BY_PERMUTATION),
                                  ("souls' sums by eight, gathered", yk.SUMS_BY_EIGHT and not yk.SUMS_BY_PERMUTATION),
                                  ("open souls' sums", yk.SUMS_OF_OPEN_SOULS and not yk.SUMS_BY_EIGHT),
                                  ("prefetch", True)) if on]
    return ", ".join(used)


def stream_bandwidth(nbytes: int = 512 * 2**20, repeats: int = 7) -> float:
    """Bytes per second moved by a large copy (read + write): the best of ``repeats`` copies by
    NumPy (one thread) and as many by :func:`_parallel_copy` (every thread)."""
    src = np.ones(nbytes // 8, dtype=np.float64)
    dst = np.empty_like(src)
    _parallel_copy(dst, src)
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t)
        t = time.perf_counter()
        _parallel_copy(dst, src)
        best = min(best, time.perf_counter() - t)
    return 2 * src.nbytes / best


def memory_floor(copy_seconds: float, no_work_seconds: float) -> tuple[float, str]:
    """The floor of a year: the shorter of the time the copy's bandwidth needs for its bytes and
    the time two passes take to move exactly those bytes in the kernels' pattern with no work,
    and which of the two it is. A copy of 512 MB measures main memory; on a machine whose
    last-level cache holds the year's bytes (119 MB at 600,000 souls) between years, they come
    from that cache, and the no-work passes, which move them the same way, are the shorter: the
    floor is then theirs, and the ratio against it the stricter."""
    if no_work_seconds < copy_seconds:
        return no_work_seconds, "the no-work passes"
    return copy_seconds, "the copy"


def bytes_per_year(state, scenario) -> int:
    """Bytes the yearly passes must move: arrays read once, arrays written counted twice.

    Only arrays the model needs every year count: the soul pass reads regain and steadiness
    for every soul (its loops make every soul's draws, without branches) and the index of each
    spark's soul (:func:`tikkun.engine.year_kernel.spark_owners`), and ``spark_start`` where the
    souls' sums go eight souls at a time (:data:`tikkun.engine.year_kernel.SUMS_BY_EIGHT`: each
    soul's first spark and count), elsewhere only each block's two ends (its flat loop over
    sparks needs no soul's start); attachment is read only in years with shocks. Those left out
    make the floor lower and the ratio stricter.
    """
    from tikkun.engine.year_kernel import SUMS_BY_EIGHT, spark_owners

    read = ["size", "unity", "hbd", "size_total", "effort", "regain", "steadiness"]
    if SUMS_BY_EIGHT:
        read += ["spark_start"]
    read_write = ["screen", "cleansing", "holding", "complete", "shepherd"]
    if state.neighbours.shape[1]:
        # the warm network is its own pass: it reads the graph, its weights, the baseline and
        # last year's effort and writes this year's (effort_next, counted twice), which the
        # soul pass then reads again (the "effort" above)
        read += ["neighbours", "edge_weight", "effort0", "effort"]
        read_write += ["effort_next"]
    total = sum(getattr(state, k).nbytes for k in read) + 2 * sum(getattr(state, k).nbytes for k in read_write)
    return int(total + spark_owners(state.spark_start).nbytes)


_PEAK_CHILD = """
import resource, sys
from tikkun.cli import main
sys.argv = ["tikkun"] + sys.argv[1:]
try:  # main(), not the script's entry, which ends the process itself once the run is written
    main()
except SystemExit as stop:
    if stop.code:
        raise
try:  # the peak of this process's own memory since exec (Linux)
    status = open("/proc/self/status").read()
    print(int(status.split("VmHWM:")[1].split()[0]) * 1024)
except OSError:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


@njit(parallel=True, cache=True)
def _traffic_network(neighbours, edge_weight_bits, effort, effort0, effort_next, zero):
    # the arrays' bits masked by a zero the compiler cannot see, in stretches of views indexed
    # from 0, as _traffic_souls: the loops vectorise and nothing is dropped
    n, k = neighbours.shape
    rows, weights = neighbours.ravel(), edge_weight_bits.ravel()
    chunk = (n + 255) // 256
    for c in prange(256):
        lo = min(n, c * chunk)
        hi = min(n, lo + chunk)
        r, w = rows[lo * k:hi * k], weights[lo * k:hi * k]
        e, e0, out = effort[lo:hi], effort0[lo:hi], effort_next[lo:hi]
        for i in range(e.shape[0]):
            x = np.int32(0)
            for q in range(k):
                x |= r[i * k + q] | w[i * k + q]
            out[i] = e0[i] | ((e[i] | x) & zero)


@njit(inline="always")
def _traffic_block(effort, hbd, regain, steadiness, holding, complete, shepherd, cleansing, size_total, spark_start,
                   owner, size, unity, screen, read_starts, zero):
    # a block's views, indexed from 0: loops with known bounds vectorise
    z8 = np.uint8(zero)
    for i in range(effort.shape[0]):
        x = effort[i] | hbd[i] | regain[i] | steadiness[i] | np.int32(size_total[i] >> 32)
        if read_starts:  # the souls' sums by eight read each soul's first spark
            x |= np.int32(spark_start[i])
        cleansing[i] |= x & zero
        holding[i] |= complete[i] & z8
        complete[i] |= holding[i] & z8
        shepherd[i] |= complete[i] & z8
    for j in range(screen.shape[0]):
        screen[j] |= (unity[j] | size[j] | np.int32(owner[j])) & zero


@njit(parallel=True, cache=True)
def _traffic_souls(effort, hbd, regain, steadiness, holding, complete, shepherd, cleansing, size_total,
                   spark_start, owner, size, unity, screen, read_starts, zero):
    # on the arrays' bits, masked by a zero the compiler cannot see: nothing is dropped, and
    # the loops vectorise (a float min would not), so this measures memory, not arithmetic
    n = effort.shape[0]
    block = 2048
    for b in prange((n + block - 1) // block):
        lo = b * block
        hi = min(n, lo + block)
        jlo, jhi = spark_start[lo], spark_start[hi]
        _traffic_block(effort[lo:hi], hbd[lo:hi], regain[lo:hi], steadiness[lo:hi], holding[lo:hi], complete[lo:hi],
                       shepherd[lo:hi], cleansing[lo:hi], size_total[lo:hi], spark_start[lo:hi], owner[jlo:jhi],
                       size[jlo:jhi], unity[jlo:jhi], screen[jlo:jhi], read_starts, zero)


def _souls_traffic(s, owner):
    """:func:`_traffic_souls` on the state's arrays ``s`` (a dict), seen as their bits."""
    from tikkun.engine.year_kernel import SUMS_BY_EIGHT

    bits = {k: s[k].view(np.int32) for k in ("effort_next", "hbd", "regain", "steadiness", "cleansing", "size",
                                             "unity", "screen")}
    _traffic_souls(bits["effort_next"], bits["hbd"], bits["regain"], bits["steadiness"], s["holding"], s["complete"],
                   s["shepherd"], bits["cleansing"], s["size_total"].view(np.int64), s["spark_start"], owner,
                   bits["size"], bits["unity"], bits["screen"], SUMS_BY_EIGHT, np.int32(0))


def traffic_floor_seconds(state, repeats: int = 15) -> tuple[float, float, float]:
    """Shortest wall times (like the copy's bandwidth, the best of several) of two passes that
    move exactly the bytes of :func:`bytes_per_year`, in the kernels' order and pattern (row by
    row over the graph, block by block over souls and their sparks), with next to no
    arithmetic and no gathers: what the memory system delivers for this access pattern, a
    floor that is not a single copy. Returns ``(both passes, the network's, the souls')``, the
    first the best of their sums. Works on copies."""
    from tikkun.engine.year_kernel import spark_owners

    s = {k: v.copy() for k, v in state.arrays().items()}
    owner = spark_owners(s["spark_start"])
    both, net, souls = [], [], []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        if s["neighbours"].shape[1]:
            _traffic_network(s["neighbours"], s["edge_weight"].view(np.int32), s["effort"].view(np.int32),
                             s["effort0"].view(np.int32), s["effort_next"].view(np.int32), np.int32(0))
        t1 = time.perf_counter()
        _souls_traffic(s, owner)
        t2 = time.perf_counter()
        both.append(t2 - t0)
        net.append(t1 - t0)
        souls.append(t2 - t1)
    return float(np.min(both[1:])), float(np.min(net[1:])), float(np.min(souls[1:]))


def network_graph_seconds(state, repeats: int = 15) -> tuple[float, float]:
    """The warm network's pass on the state's own graph and on a ring of the same size and
    degree (no far edges), each after a soul-sized pass that leaves the caches as a year does:
    what the far edges of the small world (random gathers of last year's effort) cost. The
    best of several runs of each, as for the floors."""
    from tikkun.engine import year_kernel as yk
    from tikkun.engine.year_kernel import spark_owners
    from tikkun.rules.network import build_graph, edge_weights, warm_network

    s = {k: v.copy() for k, v in state.arrays().items()}
    owner = spark_owners(s["spark_start"])
    sums = np.empty(yk.n_blocks(state.n_souls), dtype=np.float64)  # as the engine asks for them
    ring = build_graph("ring", state.n_souls, s["neighbours"].shape[1], 0.0, 0)
    graphs = [(s["neighbours"], s["edge_weight"]), (ring, edge_weights(ring, s["warmth"]))]
    out = []
    for neighbours, weights in graphs:
        times = []
        for _ in range(repeats + 1):
            _souls_traffic(s, owner)
            t = time.perf_counter()
            warm_network(0.8, neighbours, weights, s["effort"], s["effort_next"], s["effort0"], sums, yk.BLOCK)
            times.append(time.perf_counter() - t)
        out.append(float(np.min(times[1:])))
    return out[0], out[1]


def default_run_peak_bytes(years: int = 60) -> int:
    """Peak resident memory of a ``tikkun run`` of the history preset, read by the child itself.

    Not ``getrusage(RUSAGE_CHILDREN)`` in this process: Linux counts in a child's maximum the
    pages it shared with its parent between fork and exec, so that figure is this benchmark's
    own size, not the run's.
    """
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-c", _PEAK_CHILD, "run", "--preset", "history", "--years", str(years), "-q",
               "--out", os.path.join(tmp, "h")]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1])


def second_start_seconds() -> float:
    """Wall time of a whole tiny run in a fresh process, after one run has filled the cache."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "tikkun", "run", "--preset", "quick", "--years", "1", "-q"]
        subprocess.run(cmd + ["--out", os.path.join(tmp, "a")], check=True, capture_output=True)
        t = time.perf_counter()
        subprocess.run(cmd + ["--out", os.path.join(tmp, "b")], check=True, capture_output=True)
        return time.perf_counter() - t


class KernelTimer:
    """Wall time of each call of the two compiled passes of a year (the warm network and the
    fused soul pass), by wrapping them where the engine looks them up; ``with`` restores them."""

    def __enter__(self):
        import tikkun.engine.year_kernel as yk
        import tikkun.rules.network as network

        self.times = {"network": [], "souls": []}
        self._saved = [(network, "warm_network"), (yk, "year_pass")]
        self._orig = [getattr(m, name) for m, name in self._saved]
        for (mod, name), f, key in zip(self._saved, self._orig, ("network", "souls")):
            setattr(mod, name, self._wrap(f, self.times[key]))
        return self

    @staticmethod
    def _wrap(f, out):
        def timed(*args):
            t = time.perf_counter()
            f(*args)
            out.append(time.perf_counter() - t)
        return timed

    def __exit__(self, *exc):
        for (mod, name), f in zip(self._saved, self._orig):
            setattr(mod, name, f)

    def median(self, key: str, skip: int) -> float:
        return float(np.median(self.times[key][skip:]))


@njit(parallel=True, cache=True)
def _launch(out):
    for b in prange(out.shape[0]):
        out[b] = b


def launch_seconds(repeats: int = 200) -> float:
    """Median wall time of starting a parallel loop that does nothing (its threading layer's
    fixed cost, paid twice a year)."""
    out = np.empty(8)
    _launch(out)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        _launch(out)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def in_cache_kernel_seconds_per_soul_year(unity_fn, world_unity, souls: int = 16_384, years: int = 200,
                                          runs: int = 5):
    """The two compiled passes on a population whose arrays fit in cache (about 3 MB), on ONE
    thread: core-seconds per soul and year when memory is not the limit (the compute floor of
    this kernel), without the fixed cost of starting each parallel loop (measured with an empty
    one and subtracted; at this size it would otherwise be most of the figure). Each pass's
    median year, the best of ``runs`` runs (as the copy's bandwidth is the best of several: a
    floor, which a shared machine's slow moments should not raise). Returns ``(seconds per
    soul-year of the network, of the soul pass, launch seconds)``. One thread because at this
    size two threads mostly measure how long a parked thread takes to wake. Python's per-year
    work is not included."""
    from tikkun.engine import build
    from tikkun.scenario import load_scenario

    sc = load_scenario(preset="history", years=years + 20,
                       overrides={"souls.count": souls, "run.stop_at_end": False})
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    best_net = best_souls = np.inf
    try:
        for _ in range(runs):
            init_fn, step_fn = build(sc, unity_fn=unity_fn, world_unity=world_unity)  # nothing kept between runs
            state = init_fn()
            with KernelTimer() as kt:
                for _ in range(years + 20):
                    state, _row = step_fn(state)
            best_net = min(best_net, kt.median("network", 20))
            best_souls = min(best_souls, kt.median("souls", 20))
        launch = launch_seconds()
    finally:
        numba.set_num_threads(threads)
    return (best_net - launch) / souls, (best_souls - launch) / souls, launch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--years", type=int, default=300)
    ap.add_argument("--souls", type=int, default=600_000)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a scenario override, as for tikkun run (e.g. sparks.inclusion=false: the year without "
                         "revision 2's inclusion)")
    args = ap.parse_args()

    from tikkun.api import vessel_inputs
    from tikkun.engine import build
    from tikkun.scenario import load_scenario
    from tikkun.scenario.loading import parse_set_options

    sc = load_scenario(preset="history", years=args.years,
                       overrides={"souls.count": args.souls, "run.stop_at_end": False,
                                  **parse_set_options(args.set)})
    t = time.perf_counter()
    unity_fn, world_unity = vessel_inputs(sc)  # the default history breaks the vessel first
    genesis_s = time.perf_counter() - t
    t = time.perf_counter()
    init_fn, step_fn = build(sc, unity_fn=unity_fn, world_unity=world_unity)
    state = init_fn()
    init_s = time.perf_counter() - t
    bw_before = stream_bandwidth()  # the machine's bandwidth moves from minute to minute: before and after
    times = []
    with KernelTimer() as kt:
        for _ in range(args.years):
            t = time.perf_counter()
            state, _row = step_fn(state)
            times.append(time.perf_counter() - t)
    median_year = float(np.median(times[args.warmup:]))
    mean_year = float(np.mean(times[args.warmup:]))
    net_s, souls_s = kt.median("network", args.warmup), kt.median("souls", args.warmup)
    moved = bytes_per_year(state, sc)
    bw_after = stream_bandwidth()
    bw = max(bw_before, bw_after)  # the higher counts: the stricter choice
    traffic, traffic_net, traffic_souls = traffic_floor_seconds(state)
    floor, floor_by = memory_floor(moved / bw, traffic)
    net_own, net_ring = network_graph_seconds(state) if state.neighbours.shape[1] else (0.0, 0.0)
    launch_all = launch_seconds()  # on every thread, as the yearly passes start
    in_cache_net, in_cache_souls, launch = in_cache_kernel_seconds_per_soul_year(unity_fn, world_unity)
    in_cache = in_cache_net + in_cache_souls
    peak = default_run_peak_bytes()
    start2 = second_start_seconds()
    cores = numba.get_num_threads()
    first, last = args.warmup, args.years - 1
    # each year's time outside its two passes: Python, and the rewiring in one year in ten
    outside = (np.array(times[args.warmup:]) - np.array(kt.times["network"][args.warmup:])
               - np.array(kt.times["souls"][args.warmup:]))
    rest = float(np.median(outside))
    print(f"processor                {processor()}")
    print(f"native paths             {native_paths()}; {cores} threads ({numba.threading_layer()} layer)")
    print(f"souls                    {state.n_souls:,}" + (f" (with {', '.join(args.set)})" if args.set else ""))
    print(f"sparks                   {state.n_sparks:,}")
    print(f"genesis (256 x 256)      {genesis_s:.2f} s")
    print(f"initial population       {init_s:.2f} s")
    print(f"seconds per year         mean {mean_year * 1e3:.2f} ms (years {first}-{last}, with the rewiring every "
          f"{sc.network.rewire_every} years); median {median_year * 1e3:.2f} ms (without it)")
    print(f"  of which: warm network {net_s * 1e3:.2f} ms, soul pass {souls_s * 1e3:.2f} ms (medians), "
          f"the rest {rest * 1e3:.2f} ms (Python: globals, events, judge, row)")
    print(f"  per soul-year          warm network {net_s / state.n_souls * 1e9:.2f} ns, soul pass "
          f"{souls_s / state.n_souls * 1e9:.2f} ns (medians; wall time on {cores} threads)")
    print(f"soul-years per second    {state.n_souls / mean_year:,.0f} (mean year)")
    print(f"bytes touched per year   {moved / 1e6:.1f} MB")
    print(f"stream bandwidth         {bw_before / 1e9:.2f} GB/s before the years, {bw_after / 1e9:.2f} GB/s after "
          f"(copy; the higher counts): these bytes in {moved / bw * 1e3:.2f} ms")
    print(f"same traffic, no work    {traffic * 1e3:.2f} ms ({traffic * bw / moved:.2f}x the copy's time: two passes "
          f"moving these bytes in the kernels' pattern)")
    print(f"memory floor per year    {floor * 1e3:.2f} ms (set by {floor_by}, the shorter)")
    print(f"achieved / floor, mean   {mean_year / floor:.2f}x (the headline: years {first}-{last}, rewiring included; "
          f"target <= 1.5x); {mean_year * bw / moved:.2f}x the copy's time")
    print(f"achieved / floor, median {median_year / floor:.2f}x (the typical year without rewiring)")
    print(f"  each pass / its traffic warm network {net_s / traffic_net:.2f}x ({traffic_net * 1e3:.2f} ms), soul pass "
          f"{souls_s / traffic_souls:.2f}x ({traffic_souls * 1e3:.2f} ms) (medians against the best no-work pass)")
    print(f"far edges                warm network {net_own * 1e3:.2f} ms on this year's graph, {net_ring * 1e3:.2f} ms "
          f"on a ring of the same degree (no far edges)")
    compute = in_cache * state.n_souls / cores
    print(f"parallel loop start      {launch_all * 1e6:.0f} us on {cores} threads, {launch * 1e6:.0f} us on one "
          f"({numba.threading_layer()} layer; twice a year)")
    print(f"in cache (16,384 souls)  {in_cache * 1e9:.1f} ns per soul-year on one core in the two passes: "
          f"{compute * 1e3:.2f} ms a year at {state.n_souls:,} souls on {cores} threads if memory cost nothing "
          f"({compute / floor:.1f}x the memory floor); warm network {in_cache_net * 1e9:.1f} ns, soul pass "
          f"{in_cache_souls * 1e9:.1f} ns")
    # what the mean year cannot go below with these instructions, this rewiring and this Python:
    # the passes at their compute floor, plus the mean time of a year outside the passes
    bound = compute + float(np.mean(outside))
    print(f"mean year's lower bound  {bound * 1e3:.2f} ms ({bound / floor:.2f}x the floor): the passes in cache "
          f"{compute * 1e3:.2f} ms + the mean time outside them {np.mean(outside) * 1e3:.2f} ms (the rewiring every "
          f"{sc.network.rewire_every} years, Python); the target needs fewer instructions or a cheaper rewiring "
          f"where this is above 1.5x")
    print(f"6,000 years at this rate {6000 * mean_year:.0f} s (mean year)")
    print(f"peak memory, history run {peak / 1e9:.2f} GB (the history preset's genesis, souls and first 60 years, "
          f"in a child process; target < 1.5 GB)")
    print(f"second run start-up      {start2:.2f} s (whole 1-year quick run, cached kernels; target < 3 s)")


if __name__ == "__main__":
    main()
