"""The benchmarks' own instruments: the copy and the passes that move a year's bytes with no
work, the shorter of which sets the floor, the count of open souls the history's lower bound
charges, and the split of the rewirings by the cumulative they draw from. Their speed is the
benchmarks' business; here, that they do what they claim: the copy copies every element, the
no-work passes read and write back every array they are charged for without changing a bit,
the open soul-years are those the soul pass finds, and a rewiring is counted with the runs of
ones where the rewiring builds them."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_engine  # noqa: E402  (the benchmarks are scripts beside the package, not in it)


@pytest.mark.parametrize("n", [1, 63, 64, 1000, 4097])
def test_parallel_copy_copies_every_element(n):
    src = np.random.default_rng(n).random(n)
    dst = np.full(n, np.nan)
    bench_engine._parallel_copy(dst, src)
    np.testing.assert_array_equal(dst, src)


def test_the_floor_is_the_shorter_of_the_copy_and_the_no_work_passes():
    """Where the year's bytes stay in the last-level cache the no-work passes move them faster
    than the copy of 512 MB: the floor is then theirs (the stricter), and named as such."""
    assert bench_engine.memory_floor(5.0e-3, 2.1e-3) == (2.1e-3, "the no-work passes")
    assert bench_engine.memory_floor(2.3e-3, 2.6e-3) == (2.3e-3, "the copy")


def test_no_work_passes_change_no_bit(small_state):
    """Both traffic passes on a small history population: every array as it was, bit for bit
    (the network's pass writes its ``effort_next`` from ``effort0``, as charged)."""
    from tikkun.engine.year_kernel import spark_owners

    s = {k: v.copy() for k, v in small_state.arrays().items()}
    s["effort_next"][:] = s["effort0"]
    before = {k: v.copy() for k, v in s.items()}
    bench_engine._traffic_network(s["neighbours"], s["edge_weight"].view(np.int32), s["effort"].view(np.int32),
                                  s["effort0"].view(np.int32), s["effort_next"].view(np.int32), np.int32(0))
    bench_engine._souls_traffic(s, spark_owners(s["spark_start"]))
    for k in before:
        assert s[k].tobytes() == before[k].tobytes(), k


@pytest.fixture(scope="module")
def small_state():
    from tikkun.engine import build
    from tikkun.scenario import load_scenario

    sc = load_scenario(preset="quick", years=3, overrides={"souls.count": 5000})
    init_fn, step_fn = build(sc)
    state = init_fn()
    for _ in range(3):
        state, _row = step_fn(state)
    return state


def test_open_soul_years_counts_what_the_soul_pass_finds(monkeypatch):
    """The history's lower bound charges the soul pass for the souls open at the start of each
    year, derived from the metrics' end-of-year counts; here against the souls the soul pass
    itself finds open, watched year by year, in a run where souls complete."""
    import inspect

    import bench_history

    import tikkun.engine.year_kernel as yk
    from tikkun import api

    orig = yk.year_pass
    names = list(inspect.signature(orig.py_func).parameters)
    found = []

    def watched(*args):
        found.append(int(np.count_nonzero(dict(zip(names, args))["complete"] == 0)))
        return orig(*args)

    monkeypatch.setattr(yk, "year_pass", watched)
    result = api.run(preset="quick")
    complete = result.metrics["complete"]
    assert complete[-1] > 0 and len(found) == len(complete)  # souls did complete: the shift matters
    n = int(result.summary["souls"])
    assert bench_history.open_soul_years(complete, n) == sum(found)


def test_era_means_split_the_years_where_the_eras_begin():
    import bench_history

    years = 2500
    net, souls = np.arange(years, dtype=float), 2.0 * np.arange(years, dtype=float)
    eras = bench_history.era_means(net, souls)
    assert [(a, b) for a, b, _, _ in eras] == [(20, 299), (300, 999), (1000, 1999), (2000, 2499)]
    for a, b, n_mean, s_mean in eras:
        assert n_mean == (a + b) / 2 and s_mean == a + b  # the mean of a run of integers
    assert bench_history.era_means(net[:10], souls[:10]) == []  # no era reached


def test_the_split_tells_the_rewirings_by_the_cumulative_they_drew_from():
    """``--split`` counts a rewiring as drawn from the runs of ones exactly where fewer than one
    soul in ``SPARSE_SHARE`` is other than 1 (at the limit and one past it), and sums and takes the
    medians of each kind's times as closed forms give them."""
    import bench_history
    from tikkun.rules import good_and_pure

    n = 6400
    limit = n // good_and_pure.SPARSE_SHARE
    for others in (0, 1, limit, limit + 1, n):
        c = np.ones(n, np.float32)
        c[np.random.default_rng(others).choice(n, others, replace=False)] = 0.5
        assert bench_history.rewires_from_runs(c) == (others <= limit)
    seconds = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    runs = np.array([False, False, True, True, True])
    got = bench_history.rewirings_by_cumulative(seconds, runs, np.array([10, 20, 30, 40, 50]))
    assert got["dense"] == {"count": 2, "total": 3.0, "median": 1.5, "first_year": 10}
    assert got["runs"] == {"count": 3, "total": 12.0, "median": 4.0, "first_year": 30}
    none = bench_history.rewirings_by_cumulative(seconds[:2], runs[:2], np.array([10, 20]))["runs"]
    assert none["count"] == 0 and none["first_year"] is None


@pytest.mark.slow
def test_the_peak_memory_of_a_history_run_is_read_from_the_run_itself():
    """The benchmark's peak memory comes from a child that runs the command and then prints its
    own peak: a run of the history's 600,000 souls holds at least the year's 114 MB of state,
    and the number is the child's last line (the script's entry, which ends the process itself
    once a run is written, would leave it unprinted)."""
    peak = bench_engine.default_run_peak_bytes(years=2)
    assert 114e6 < peak < 24 * 2**30
