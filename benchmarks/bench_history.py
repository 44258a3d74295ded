"""The whole default history, as a user runs it, next to the memory floor measured in the same run.

    python benchmarks/bench_history.py [--split] [--graph]

Runs ``tikkun run`` on the ``history`` preset (600,000 souls; genesis first, then the years to
the end of correction) in a fresh process, as a user does, and prints: the processor, the
years run, the wall time (interpreter start, imports, cached kernels, genesis, the initial
population, every year, the outputs), the time per year, the streaming bandwidth measured just
before and just after the run by a copy, and by ``bench_engine.py``'s no-work passes over the
initial state (the fastest of the three sets the floor, the stricter choice: where the state
stays in the last-level cache between years, the no-work passes move it faster than a copy of
512 MB, which measures main memory), and the wall time against two floors, each labelled:

* **touched**: the bytes the yearly passes actually touch, year by year (the headline). The
  history is run once more in this process with the soul pass watched: the souls of settled
  segments it passes by, and the sparks its loop per soul skips, are not charged; what it
  reads and writes is charged by the 64-byte cache line. The warm network's pass touches the
  whole graph every year and is charged in full.
* **full state**: the bytes of ``bench_engine.py`` (from the arrays' sizes) every year, even
  where the kernels skip work. Late in the history most souls are settled and passed by, so
  this floor is an upper bound of the work's floor, and the ratio against it a lower bound.

``--split`` runs the history a second time in this process, with the yearly passes and the
rewiring timed, and prints where the time goes: the warm network, the soul pass, the
rewiring, and the rest (Python, genesis, the initial population); the rewirings with the
dense cumulative and with the cumulative as runs of ones (where nearly every soul's cleansing
is 1), their number, time and median, and the rewirings' share of the time; the two
passes' mean year in eras of the history (late in it the soul pass passes most souls by and
the year is the warm network's). Last, the
history's **lower bound** with the kernels' instructions as they are, as ``bench_engine.py``
gives the mean year's: the warm network at its in-cache rate (``bench_engine.py``'s compute
floor, on every thread) for every soul every year, the soul pass at its in-cache rate for
the souls still open at the start of each year (settled and complete souls cost it less, so
they are not charged), and the rewirings and the rest as measured. Where it is above 1.5x
the touched floor, no memory layout can meet the target.

``--graph`` runs the history once more, untimed, and prints the share of the graph's edges
that are far (farther than the ring's k/2 places, and than 4,096 souls) at a few years: the
warm network's far reads, which no numbering of the souls can bring near once the graph is
random.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import subprocess
import sys
import tempfile
import time

import numba
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_engine import (KernelTimer, bytes_per_year, in_cache_kernel_seconds_per_soul_year,  # noqa: E402
                          processor, stream_bandwidth, traffic_floor_seconds)

LINE = 64  # bytes: memory moves by cache lines


def _lines(touched: np.ndarray, itemsize: int) -> int:
    """Bytes of the cache lines holding the elements where ``touched`` (bool, one per element)
    is set, the array taken to start on a line."""
    per = LINE // itemsize
    pad = (-touched.shape[0]) % per
    return int(np.concatenate([touched, np.zeros(pad, bool)]).reshape(-1, per).any(axis=1).sum()) * LINE


class TouchedBytes:
    """The bytes the yearly passes touch, year by year, read off the soul pass's own arguments:
    wraps :func:`tikkun.engine.year_kernel.year_pass` where the engine looks it up (``with``
    restores it) and, for each year, works out from its arguments and the segments it reports
    settled which souls and sparks it went through, as its code does:

    * a segment it passes by (settled this year) costs the read and write of its souls'
      ``shepherd``, and where it was not settled the year before, the look at ``complete``,
      ``holding`` and ``cleansing``;
    * every other soul costs what ``bytes_per_year`` charges a soul (``effort``, ``hbd``,
      ``regain``, ``steadiness``, ``size_total`` read; ``holding``, ``complete``, ``cleansing``,
      ``shepherd`` read and written);
    * a run of such souls with the flat spark loop (no shocks, at least one soul in 16 open)
      costs all of its sparks (``size``, ``unity`` and ``spark_owner`` read, ``screen`` read and
      written), and its souls' ``spark_start`` where the souls' sums go eight at a time
      (:data:`tikkun.engine.year_kernel.SUMS_BY_EIGHT`); a run with the loop per soul costs its
      souls' ``spark_start`` and the sparks of its open souls (shocks do not reach a complete
      soul, so the loop skips its sparks).

    Every array charged by the line; ``attachment`` (read only in years with shocks) and the
    look for the year of completion after the pass are left out, as in ``bench_engine.py``
    (the floor lower, the ratio stricter). The warm network's pass costs ``network`` bytes a
    year.
    """

    def __init__(self, network: int):
        self.network = network
        self.years: list[int] = []

    def __enter__(self):
        import tikkun.engine.year_kernel as yk

        self._yk, self._orig = yk, yk.year_pass
        names = list(inspect.signature(self._orig.py_func).parameters)

        def watched(*args):
            a = dict(zip(names, args))
            complete = a["complete"].copy()  # as the year finds it: pass 1 counts, pass 2 skips by it
            self._orig(*args)
            self.years.append(self.network + self._soul_pass(a, complete))

        yk.year_pass = watched
        return self

    def __exit__(self, *exc):
        self._yk.year_pass = self._orig

    def _soul_pass(self, a: dict, complete: np.ndarray) -> int:
        yk = self._yk
        n = complete.shape[0]
        seg_of = np.arange(n) // yk.SEGMENT  # segments restart at each block: BLOCK is a multiple of SEGMENT
        block_of_seg = (np.arange(seg_of[-1] + 1) * yk.SEGMENT) // yk.BLOCK
        g_in_block = np.arange(seg_of[-1] + 1) - block_of_seg * (yk.BLOCK // yk.SEGMENT)
        n_shocks = int(a["n_shocks"])
        now = a["settled_now"][block_of_seg]
        before = a["settled_before"][block_of_seg]
        bit = np.uint64(1) << g_in_block.astype(np.uint64)
        settled_seg = (now & bit) != 0
        new_seg = settled_seg & ((before & bit) == 0)
        # runs of unsettled segments within a block, as the kernel makes them
        start = ~settled_seg & (np.r_[True, settled_seg[:-1]] | (g_in_block == 0))
        run_of_seg = np.cumsum(start) - 1
        settled = settled_seg[seg_of]
        run = run_of_seg[seg_of]
        open_ = (~settled) & (complete == 0)
        n_runs = int(start.sum())
        nr = np.bincount(run[~settled], minlength=n_runs)
        n_open = np.bincount(run[~settled], weights=open_[~settled], minlength=n_runs)
        flat_run = (n_shocks == 0) & (yk.FLAT_MIN_OPEN * n_open >= nr)
        flat = ~settled & flat_run[run]
        per_soul = ~settled & ~flat_run[run]
        sparks_of = np.diff(a["spark_start"])
        spark_souls = flat | (per_soul & (complete == 0))
        sparks = np.repeat(spark_souls, sparks_of)
        flat_sparks = np.repeat(flat, sparks_of)
        # (mask, arrays, times): each array charged the lines its mask touches, written ones twice
        charges = [(~settled, ("effort", "hbd", "regain", "steadiness", "size_total"), 1),
                   (~settled, ("holding", "complete", "cleansing", "shepherd"), 2),
                   (settled, ("shepherd",), 2),
                   (new_seg[seg_of], ("complete", "holding", "cleansing"), 1),
                   (sparks, ("size", "unity"), 1),
                   (sparks, ("screen",), 2),
                   (flat_sparks, ("spark_owner",), 1),
                   (np.r_[per_soul | (flat & yk.SUMS_BY_EIGHT), False], ("spark_start",), 1)]
        total = 0
        for mask, names, times in charges:
            lines = {}
            for k in names:
                size = a[k].itemsize
                if size not in lines:
                    lines[size] = _lines(mask, size) if mask.any() else 0
                total += times * lines[size]
        return total


def network_bytes(state) -> int:
    """Bytes of the warm network's pass a year: the graph, its weights, the baseline and last
    year's effort read, this year's written (as ``bytes_per_year`` counts them)."""
    if not state.neighbours.shape[1]:
        return 0
    read = sum(getattr(state, k).nbytes for k in ("neighbours", "edge_weight", "effort0", "effort"))
    return int(read + 2 * state.effort_next.nbytes)


def touched_bytes() -> tuple[np.ndarray, int, float]:
    """The default history in this process, untimed: the bytes its yearly passes touch each
    year (:class:`TouchedBytes`), the bytes ``bytes_per_year`` charges every year, and the
    bandwidth at which ``bench_engine``'s no-work passes move those bytes on the initial state
    (in the kernels' pattern: where the state stays in the last-level cache, faster than the
    copy of 512 MB)."""
    from tikkun import api
    from tikkun.engine import build
    from tikkun.scenario import load_scenario

    sc = load_scenario(preset="history")
    init_fn, _step = build(sc, *api.vessel_inputs(sc))
    state = init_fn()
    full = bytes_per_year(state, sc)
    pattern = full / traffic_floor_seconds(state)[0]
    with TouchedBytes(network_bytes(state)) as tb:
        del state, init_fn, _step
        api.run(preset="history")
    return np.array(tb.years, dtype=np.int64), full, pattern


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


def open_soul_years(complete, n: int) -> int:
    """The souls not yet complete at the start of each year, summed over the years: ``complete``
    is the metrics' count at the end of each year, and no soul is complete at the start of year
    0 (the soul pass's full work, charged by the history's lower bound)."""
    complete = np.asarray(complete, dtype=np.int64)
    return int(n * complete.shape[0] - complete[:-1].sum())


ERAS = (20, 300, 1000, 2000, 3000, 4000, 5000)  # years where the eras of the time split begin


def era_means(network: np.ndarray, souls: np.ndarray) -> list[tuple[int, int, float, float]]:
    """``(first, last, network, soul pass)``: the two passes' mean seconds a year in each era
    from year 20 (the first years' kernels warm up) that the history reaches; ``network`` and
    ``souls`` give each year's seconds, year 0 first."""
    years = network.shape[0]
    out = []
    for a, b in zip(ERAS, ERAS[1:] + (years,)):
        if a < min(b, years):
            out.append((a, min(b, years) - 1, float(network[a:b].mean()), float(souls[a:b].mean())))
    return out


def split_seconds() -> dict:
    """The history in this process with its parts timed (seconds)."""
    import tikkun.rules.good_and_pure as good_and_pure
    from tikkun import api

    rewire, years, runs = [], [], []
    orig = good_and_pure.rewire

    def timed(seed, year, p_rewire, neighbours, cleansing, *args, **kwargs):
        # which cumulative the rewiring draws from (outside the time: the rewiring decides alike)
        runs.append(rewires_from_runs(cleansing))
        t = time.perf_counter()
        try:
            return orig(seed, year, p_rewire, neighbours, cleansing, *args, **kwargs)
        finally:
            rewire.append(time.perf_counter() - t)
            years.append(year)

    good_and_pure.rewire = timed
    try:
        with KernelTimer() as kt:
            t = time.perf_counter()
            result = api.run(preset="history")
            wall = time.perf_counter() - t
    finally:
        good_and_pure.rewire = orig
    n = int(result.summary["souls"])
    net, souls, rew = sum(kt.times["network"]), sum(kt.times["souls"]), sum(rewire)
    rewire, runs = np.array(rewire), np.array(runs, dtype=bool)
    return {"wall": wall, "network": net, "souls": souls, "rewiring": rew, "rewirings": len(rewire),
            "rest": wall - net - souls - rew, "years": len(kt.times["network"]), "souls_n": n,
            "open_soul_years": open_soul_years(result.metrics["complete"], n),
            "eras": era_means(np.array(kt.times["network"]), np.array(kt.times["souls"])),
            "by_cumulative": rewirings_by_cumulative(rewire, runs, np.array(years))}


def rewires_from_runs(cleansing: np.ndarray) -> bool:
    """True where the rewiring draws from the cumulative as runs of ones, decided as
    :func:`tikkun.rules.good_and_pure.rewire` decides it."""
    from tikkun.rules.good_and_pure import SPARSE_SHARE, sparse_cumulative

    return sparse_cumulative(cleansing, cleansing.shape[0] // SPARSE_SHARE)[0] is not None


def rewirings_by_cumulative(seconds: np.ndarray, runs: np.ndarray, years: np.ndarray) -> dict:
    """The rewirings with the dense cumulative and with the runs of ones: for each, how many,
    their total and median time (seconds) and the first year of the kind (None for none)."""
    out = {}
    for kind, mask in (("dense", ~runs), ("runs", runs)):
        t = seconds[mask]
        out[kind] = {"count": int(mask.sum()), "total": float(t.sum()),
                     "median": float(np.median(t)) if t.size else float("nan"),
                     "first_year": int(years[mask][0]) if t.size else None}
    return out


GRAPH_YEARS = (0, 100, 300, 1000, 2000, 3000, 4000, 5000)


def far_edges() -> dict:
    """The history in this process, untimed: at each of ``GRAPH_YEARS`` it reaches, the share of
    edges farther than the ring's ``k/2`` places and than 4,096 souls (around the ring)."""
    from tikkun import api

    shares = {}

    def progress(state, row):
        if row["year"] in GRAPH_YEARS:
            nb = state.neighbours
            n, k = nb.shape
            d = np.abs(nb.astype(np.int64) - np.arange(n)[:, None])
            d = np.minimum(d, n - d)
            shares[row["year"]] = (float(np.mean(d > k // 2)), float(np.mean(d > 4096)))

    api.run(preset="history", progress=progress)
    return shares


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", action="store_true", help="also time the parts of the history in this process")
    ap.add_argument("--graph", action="store_true", help="also print the share of far edges through the history")
    args = ap.parse_args()

    history_wall("--years", "1")  # fills Numba's cache if empty: the timed run starts as a second run does
    bw_before = stream_bandwidth()
    wall, summary = history_wall()
    bw_after = stream_bandwidth()
    years = summary["years_run"]
    touched, full, pattern = touched_bytes()
    bw = max(bw_before, bw_after, pattern)  # the fastest sets the floor: the stricter choice
    if touched.shape[0] != years:
        raise RuntimeError(f"the watched history ran {touched.shape[0]} years, the timed one {years}")
    floor_full = years * full / bw
    floor_touched = float(touched.sum()) / bw
    print(f"processor                {processor()}")
    end = summary["end_year"]
    print(f"history                  {summary['souls']:,} souls, {summary['sparks']:,} sparks, genesis + "
          f"{years:,} years (" + (f"end of correction in year {end:,})" if end is not None else
                                  "the end of correction not reached)"))
    print(f"wall time (tikkun run)   {wall:.1f} s, {wall / years * 1e3:.2f} ms a year on average "
          f"(the run's own stepping: {summary['wall_seconds']:.1f} s)")
    print(f"stream bandwidth         {bw_before / 1e9:.2f} GB/s before, {bw_after / 1e9:.2f} GB/s after (copy); "
          f"{pattern / 1e9:.2f} GB/s by the no-work passes over the initial state (the fastest sets the floor)")
    print(f"bytes touched a year     {touched.mean() / 1e6:.1f} MB on average ({touched.max() / 1e6:.1f} MB at most, "
          f"{touched.min() / 1e6:.1f} MB at least; the full state {full / 1e6:.1f} MB)")
    print(f"floor, touched bytes     {floor_touched:.1f} s for the history ({floor_touched / years * 1e3:.2f} ms a year)")
    print(f"floor, full state        {floor_full:.1f} s for the history ({full / bw * 1e3:.2f} ms a year)")
    print(f"achieved / floor         {wall / floor_touched:.2f}x the touched bytes' floor (the headline; "
          f"target <= 1.5x); {wall / floor_full:.2f}x the full state's (a lower bound)")
    if args.split:
        s = split_seconds()
        print(f"in this process          {s['wall']:.1f} s: warm network {s['network']:.1f} s, soul pass "
              f"{s['souls']:.1f} s, {s['rewirings']} rewirings {s['rewiring']:.1f} s, the rest {s['rest']:.1f} s "
              f"(genesis, initial population, Python)")
        d, r = s["by_cumulative"]["dense"], s["by_cumulative"]["runs"]
        print(f"the rewirings            {d['count']} with the dense cumulative, {d['total']:.1f} s (median "
              f"{d['median'] * 1e3:.1f} ms); {r['count']} with the cumulative as runs of ones, {r['total']:.1f} s "
              f"(median {r['median'] * 1e3:.1f} ms" + (f", from year {r['first_year']:,})" if r["count"] else ")")
              + f"; the rewirings {s['rewiring'] / s['wall']:.1%} of the time in this process (target <= 10%)")
        print("the passes by era         " + "; ".join(
            f"{a:,}-{b:,}: {net * 1e3:.2f} / {souls * 1e3:.2f}" for a, b, net, souls in s["eras"])
              + " ms a year (warm network / soul pass, means)")
        # what the history cannot go below with these instructions: the warm network in cache for
        # every soul every year, the soul pass in cache for the souls still open (a settled or
        # complete soul costs it less), and the time outside the passes as measured
        from tikkun import api
        from tikkun.scenario import load_scenario

        net_ns, souls_ns, _launch = in_cache_kernel_seconds_per_soul_year(
            *api.vessel_inputs(load_scenario(preset="history")))
        cores = numba.get_num_threads()
        net_c = s["years"] * s["souls_n"] * net_ns / cores
        souls_c = s["open_soul_years"] * souls_ns / cores
        bound = net_c + souls_c + s["rewiring"] + s["rest"]
        print(f"history's lower bound    {bound:.1f} s ({bound / floor_touched:.2f}x the touched bytes' floor): the "
              f"warm network in cache {net_c:.1f} s ({net_ns * 1e9:.1f} ns a soul-year on one core, every soul), the "
              f"soul pass in cache {souls_c:.1f} s ({souls_ns * 1e9:.1f} ns, {s['open_soul_years'] / 1e6:,.0f} "
              f"million open soul-years), the rewirings and the rest as measured; the target needs fewer "
              f"instructions or a cheaper rewiring where this is above 1.5x")
    if args.graph:
        for year, (near_ring, far) in sorted(far_edges().items()):
            print(f"far edges, year {year:>5,}   {near_ring:.1%} farther than the ring's places, "
                  f"{far:.1%} farther than 4,096 souls")


if __name__ == "__main__":
    main()
