"""Toward the good and pure (004, "to connect to people who are good and pure").

Every ``R`` years each soul, with probability ``p_rewire``, replaces the neighbour with the
lowest cleansing by a soul drawn with probability proportional to cleansing: never itself,
never one it already hears. Rows are rewired in place, each by the thread that owns it, with
draws from the counter-based generator, so the graph after any year is a pure function of
the seed and the history.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .. import random as rng
from ..engine.native.prefetch import prefetch
from .network import MAX_TRIES, _in_row, row_weights

PREFETCH_AHEAD = 8  # rewiring souls


@njit(cache=True)
def _cumulative(cleansing):
    """float64 ``(n,)``: the running sum of cleansing, in soul order (``np.cumsum`` in float64
    gives the same bits; compiled, it does not convert the float32 array in buffers first)."""
    out = np.empty(cleansing.shape[0], dtype=np.float64)
    acc = 0.0
    for i in range(cleansing.shape[0]):
        acc += np.float64(cleansing[i])
        out[i] = acc
    return out


GUIDE_PARTS = 16  # stretches of the guide table, each built by one thread from a binary search


@njit(cache=True, parallel=True)
def guide_table(cumulative, total, buckets):
    """int64 ``(buckets,)``: ``guide[g]``, the first ``m`` with ``cumulative[m] > g total / buckets``.

    With it, :func:`draw_index` inverts the cumulative in a step or two on average instead of a
    binary search through 600,000 values (Chen's guide table). Built in ``GUIDE_PARTS``
    stretches of buckets in parallel, each starting from a binary search for its first bound
    and walking on: every entry is defined alone, so the split changes no value.
    """
    guide = np.empty(buckets, dtype=np.int64)
    n = cumulative.shape[0]
    parts = min(buckets, GUIDE_PARTS)
    per = (buckets + parts - 1) // parts
    for p in prange(parts):
        lo = p * per
        hi = min(buckets, lo + per)
        if lo >= hi:
            continue
        m = np.searchsorted(cumulative, lo * total / buckets, side="right")
        for g in range(lo, hi):
            bound = g * total / buckets
            while m < n and cumulative[m] <= bound:
                m += 1
            guide[g] = m
    return guide


@njit(cache=True, inline="always")
def draw_start(x, total, guide):
    """Where :func:`draw_index` starts its walk: ``guide[g]`` for the bucket ``g`` of ``x``
    (indices below it have ``cumulative <= g total / buckets <= x``)."""
    buckets = guide.shape[0]
    g = min(buckets - 1, int(x * buckets / total))
    while g > 0 and g * total / buckets > x:  # rounding may put x just below its bucket
        g -= 1
    return guide[g]


@njit(cache=True, inline="always")
def draw_walk(x, cumulative, m):
    """The first index from ``m`` on with ``cumulative > x``."""
    while m < cumulative.shape[0] and cumulative[m] <= x:
        m += 1
    return m


@njit(cache=True, inline="always")
def draw_index(x, cumulative, total, guide):
    """``searchsorted(cumulative, x, side="right")``, exactly, by the guide table: the walk of
    :func:`draw_walk` from :func:`draw_start`."""
    return draw_walk(x, cumulative, draw_start(x, total, guide))


N_CHUNKS = 64  # stretches of souls, each listed and rewired by one thread


@njit(cache=True, parallel=True)
def _rewire(seed, year, p_rewire, neighbours, edge_weight, warmth, cleansing, cumulative, total, guide, counts):
    """In each of ``counts.shape[0]`` stretches of souls, the souls that rewire this time are
    listed first (their draws in a loop the compiler vectorises, then the list without a
    branch; no array over all souls: faster than listing all of them with a pass of its own),
    then rewired from the list, each asking ahead (``PREFETCH_AHEAD`` places down the list)
    for the random reads of a later one: its neighbours' cleansing and warmth, its row of
    weights and the first two lines of the cumulative where its first draw starts (kept with
    the draw); twice as far ahead for the row of the graph those reads start from; and half
    as far ahead its first draw walks the cumulative and the warmth of the neighbour it gives
    is asked for (docs/performance.md). A soul's row is touched only by the thread rewiring
    it, so the order changes nothing. The graph and its weights are read raveled, with
    unsigned indices: a row taken as a view costs a view and its reference counts at every
    soul (measured: docs/performance.md). ``counts`` int64: the souls rewired in each stretch."""
    n, k = neighbours.shape
    key = rng.year_key(seed, year, rng.PURPOSE_REWIRE)
    key_pick = rng.year_key(seed, year, rng.PURPOSE_REWIRE_PICK)
    weights = edge_weight.ravel()
    rows = neighbours.ravel()
    n_chunks = counts.shape[0]
    chunk = (n + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        lo = min(n, c * chunk)
        hi = min(n, lo + chunk)
        # the draws first, in a loop of their own that the compiler vectorises, then the list
        rewires = np.empty(hi - lo, dtype=np.uint8)
        for i in range(lo, hi):
            rewires[i - lo] = rng.uniform_at(key, i, 0) < p_rewire
        souls = np.empty(hi - lo, dtype=np.int64)
        count = 0
        for i in range(lo, hi):
            souls[count] = i  # kept only if the soul rewires
            count += rewires[i - lo]
        done = 0
        # a soul's first draw: its place in the guide when its reads are asked for, its walk
        # through the cumulative half the distance ahead, once those lines have come, so that
        # the warmth of the neighbour it gives can be asked for in time
        half = PREFETCH_AHEAD // 2
        xs = np.empty(count, dtype=np.float64)
        starts = np.empty(count, dtype=np.int64)
        first = np.empty(count, dtype=np.int64)
        for r in range(min(PREFETCH_AHEAD, count)):
            xs[r] = rng.uniform_at(key_pick, souls[r], 0) * total
            starts[r] = draw_start(xs[r], total, guide)
        for r in range(min(half, count)):
            first[r] = draw_walk(xs[r], cumulative, starts[r])
        for r in range(count):
            # the row of a soul further down the list, so that its entries are at hand when the
            # reads it points to are asked for
            prefetch(rows, souls[min(r + 2 * PREFETCH_AHEAD, count - 1)] * k)
            if r + PREFETCH_AHEAD < count:
                s = r + PREFETCH_AHEAD  # a later soul
                later_base = np.uint64(souls[s] * k)
                for q in range(k):
                    m_later = np.uint32(rows[later_base + np.uint64(q)])
                    prefetch(cleansing, m_later)
                    prefetch(warmth, m_later)
                prefetch(weights, later_base)  # the row of weights it will write
                x = rng.uniform_at(key_pick, souls[s], 0) * total
                start = draw_start(x, total, guide)
                xs[s] = x
                starts[s] = start
                prefetch(cumulative, start)
                prefetch(cumulative, min(start + 8, n - 1))  # a walk passes the first line as often as not
            if r + half < count:
                m_s = draw_walk(xs[r + half], cumulative, starts[r + half])
                first[r + half] = m_s
                prefetch(warmth, min(m_s, n - 1))
            i = souls[r]
            base = np.uint64(i * k)
            worst = 0  # the least cleansed neighbour; ties: the first
            c_worst = cleansing[np.uint32(rows[base])]
            for q in range(1, k):
                c_q = cleansing[np.uint32(rows[base + np.uint64(q)])]
                if c_q < c_worst:
                    worst = q
                    c_worst = c_q
            old = rows[base + np.uint64(worst)]
            for attempt in range(MAX_TRIES):
                if attempt == 0:
                    m = first[r]
                else:
                    m = draw_index(rng.uniform_at(key_pick, i, attempt) * total, cumulative, total, guide)
                if m >= n:
                    m = n - 1
                if m != i and m != old and not _in_row(rows, base, k, worst, m):
                    rows[base + np.uint64(worst)] = m
                    row_weights(rows, weights, base, k, warmth, warmth[i])
                    done += 1
                    break
        counts[c] = done


def rewire(seed: int, year: int, p_rewire: float, neighbours: np.ndarray, cleansing: np.ndarray,
           edge_weight: np.ndarray | None = None, warmth: np.ndarray | None = None) -> int:
    """Rewire ``neighbours`` int32 ``(n, k)`` in place; return how many souls rewired.

    ``edge_weight`` float32 ``(n, k)``, if given, follows the graph: a rewired row gets its
    weights again from ``warmth`` (:func:`tikkun.rules.network.row_weights`).

    The target is drawn by inverting the cumulative cleansing (float64, summed in order, so
    the same on any thread count). With no cleansing anywhere nothing can be drawn. Both
    arrays must be C-contiguous: the kernel writes them raveled, and a raveled copy of another
    layout would take the writes.
    """
    for name, a in (("neighbours", neighbours), ("edge_weight", edge_weight)):
        if a is not None and not a.flags.c_contiguous:
            raise ValueError(f"{name} must be C-contiguous")
    cumulative = _cumulative(cleansing)
    total = float(cumulative[-1]) if cumulative.size else 0.0
    if total <= 0.0 or neighbours.shape[1] == 0:
        return 0
    counts = np.zeros(N_CHUNKS, dtype=np.int64)
    if edge_weight is None:
        edge_weight = np.zeros(neighbours.shape, dtype=np.float32)
        warmth = np.zeros(neighbours.shape[0], dtype=np.float32)
    # a bucket per 16 souls: the table is cheap to build and a draw scans ~8 values in cache
    guide = guide_table(cumulative, total, max(1, cumulative.shape[0] // 16))
    _rewire(int(seed), int(year), float(p_rewire), neighbours, edge_weight, warmth, cleansing, cumulative, total, guide,
            counts)
    return int(counts.sum())
