"""Toward the good and pure (004, "to connect to people who are good and pure").

Every ``R`` years each soul, with probability ``p_rewire``, replaces the neighbour with the
lowest cleansing by a soul drawn with probability proportional to cleansing: never itself,
never one it already hears. Rows are rewired in place, each by the thread that owns it, with
draws from the counter-based generator, so the graph after any year is a pure function of
the seed and the history.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from .. import random as rng
from ..native.prefetch import prefetch
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
    (indices below it have ``cumulative <= g total / buckets <= x``). ``x``, ``total``: float;
    ``guide``: int64 ``(buckets,)`` (:func:`guide_table`); returns an int64 index."""
    buckets = guide.shape[0]
    g = min(buckets - 1, int(x * buckets / total))
    while g > 0 and g * total / buckets > x:  # rounding may put x just below its bucket
        g -= 1
    return guide[g]


@njit(cache=True, inline="always")
def draw_walk(x, cumulative, m):
    """The first index from ``m`` on with ``cumulative > x`` (float64 ``(n,)``; ``n`` if none)."""
    while m < cumulative.shape[0] and cumulative[m] <= x:
        m += 1
    return m


@njit(cache=True, inline="always")
def draw_index(x, cumulative, total, guide):
    """``searchsorted(cumulative, x, side="right")``, exactly, by the guide table: the walk of
    :func:`draw_walk` from :func:`draw_start`. ``cumulative``: float64 ``(n,)`` ending at
    ``total``; ``guide``: int64 ``(buckets,)`` over it; returns an index in ``[0, n]``."""
    return draw_walk(x, cumulative, draw_start(x, total, guide))


# ------------------------------------------------------------------ the cumulative as runs of ones
SPARSE_SHARE = 64  # the cumulative is kept as runs when fewer than one soul in 64 has cleansing other than 1


class SparseCumulative(NamedTuple):
    """The running sum of cleansing as segments (:func:`_sparse_cumulative`): segment ``s``
    starts at soul ``first[s]`` (int64); the sum before it is ``before[s]`` and at its last soul
    ``last[s]`` (float64); ``single[s]`` (uint8) is 1 for a segment of one soul, 0 for a run of
    ones, whose souls' sums are ``before[s] + 1, before[s] + 2, ...``; ``guide`` (int64) is
    :func:`guide_table` over ``last``."""

    first: np.ndarray
    before: np.ndarray
    last: np.ndarray
    single: np.ndarray
    guide: np.ndarray


def _segments(size: int) -> SparseCumulative:
    """Room for ``size`` segments (the guide empty: it is made once the segments are known)."""
    return SparseCumulative(np.empty(size, np.int64), np.empty(size, np.float64), np.empty(size, np.float64),
                            np.empty(size, np.uint8), np.empty(0, np.int64))


@njit(cache=True, inline="always")
def _push(seg, count, first, before, last, single):
    """Write segment ``count`` of ``seg``; return the new count."""
    seg.first[count] = first
    seg.before[count] = before
    seg.last[count] = last
    seg.single[count] = single
    return count + 1


@njit(cache=True, inline="always")
def _other_than_one_bits(cleansing, lo, m):
    """The bits of souls ``lo .. lo + m - 1`` (``m <= 64``) whose cleansing is not 1 (uint64)."""
    bits = np.uint64(0)
    for b in range(m):
        bits |= np.uint64(cleansing[lo + b] != np.float32(1.0)) << np.uint64(b)
    return bits


@njit(cache=True, parallel=True)
def _mark_other_than_one(cleansing, not_one):
    """Bit ``i % 64`` of ``not_one[i // 64]`` (uint64) set where soul ``i``'s cleansing is not 1."""
    n = cleansing.shape[0]
    full = n // 64
    for w in prange(full):
        lo = 64 * w
        ones = 0
        for b in range(64):  # a fixed count, an unsigned index: the compiler vectorises it
            ones += np.int32(cleansing[np.uint64(lo + b)] == np.float32(1.0))
        not_one[w] = np.uint64(0) if ones == 64 else _other_than_one_bits(cleansing, lo, 64)
    if full < not_one.shape[0]:
        not_one[full] = _other_than_one_bits(cleansing, 64 * full, n - 64 * full)


@njit(cache=True, inline="always")
def _run_of_ones(seg, count, acc, i, j):
    """Souls ``i .. j - 1``, whose cleansing is 1, added to the running sum ``acc`` as the
    loop of :func:`_cumulative` adds them; returns the segments' new count and the sum. Every
    addition of 1.0 is exact (its result a whole multiple of the sum's unit in the last place)
    as long as the sum stays below the next power of two, so the run is ``acc + 1, acc + 2,
    ...`` exactly up to the addition that crosses one: that one may round, so it is made as
    the loop makes it, as a segment of its own, and the run goes on. A whole number below
    2**53 plus ones never rounds."""
    while i < j:
        if acc == np.floor(acc):
            exact = j - i
        else:
            _, e = math.frexp(acc)  # acc in [2**(e-1), 2**e)
            exact = min(j - i, int(math.ceil(math.ldexp(1.0, e) - acc)) - 1)  # the difference is exact
        if exact > 0:
            count = _push(seg, count, i, acc, acc + exact, 0)
            acc += exact
            i += exact
        if i < j:  # the addition that crosses a power of two, as the loop makes it
            b = acc
            acc += 1.0
            count = _push(seg, count, i, b, acc, 1)
            i += 1
    return count, acc


@njit(cache=True)
def _sparse_cumulative(cleansing, limit, seg, not_one):
    """Fill ``seg`` (:class:`SparseCumulative`'s arrays but the guide) with the running sum of
    ``cleansing`` as segments; return their number, or -1 if more than ``limit`` souls have
    cleansing other than 1 (``seg`` then holds nothing of use). ``not_one`` (uint64
    ``(ceil(n / 64),)``) holds the bits of those souls (:func:`_mark_other_than_one`).

    The sums are those of :func:`_cumulative`, addition by addition in float64: a soul whose
    cleansing is not 1 is a segment of its own, its value that addition's result, and the
    runs of ones between them are added as :func:`_run_of_ones` says."""
    n = cleansing.shape[0]
    count = 0
    acc = 0.0
    i = 0  # the next soul to add
    n_other = 0
    for w in range(not_one.shape[0]):
        bits = not_one[w]
        b = 0
        while bits != np.uint64(0):
            while not bits & np.uint64(1):
                bits >>= np.uint64(1)
                b += 1
            other = 64 * w + b
            n_other += 1
            if n_other > limit:
                return -1
            count, acc = _run_of_ones(seg, count, acc, i, other)
            before = acc
            acc += np.float64(cleansing[other])
            count = _push(seg, count, other, before, acc, 1)
            i = other + 1
            bits >>= np.uint64(1)
            b += 1
    count, acc = _run_of_ones(seg, count, acc, i, n)
    return count


@njit(cache=True, inline="always")
def sparse_draw(x, seg, total, n):
    """``searchsorted(cumulative, x, side="right")``, exactly, from the cumulative as segments
    (:func:`sparse_cumulative`): the first segment whose last sum exceeds ``x``, by the guide
    table over the segments' last sums (:func:`draw_index`); in a run, whose sums are
    ``a + 1, a + 2, ...`` from the sum ``a <= x`` before it, the first place ``j`` with
    ``a + j + 1 > x``, that is ``floor(x - a)``. The difference is exact: a run either lies
    within one power of two, so ``x`` and ``a`` lie within a factor of two (Sterbenz's lemma),
    or starts from a whole ``a``, so ``x - a`` keeps ``x``'s fraction."""
    s = draw_index(x, seg.last, total, seg.guide)
    if s >= seg.last.shape[0]:
        return np.int64(n)
    if seg.single[s]:
        return seg.first[s]
    return seg.first[s] + np.int64(x - seg.before[s])


def sparse_cumulative(cleansing: np.ndarray, limit: int):
    """``(segments, not_one)`` where at most ``limit`` souls have cleansing other than 1, else
    ``(None, None)``: the running sum of cleansing as :class:`SparseCumulative` (with a guide
    table over the segments' last sums, four buckets a segment) and the bits (uint64
    ``(ceil(n / 64),)``) marking the other souls (:func:`_sparse_cumulative`)."""
    n = cleansing.shape[0]
    if n == 0:
        return None, None
    seg = _segments(2 * limit + 130)  # each other soul and the run before it; each power of two crossed at most once
    not_one = np.empty((n + 63) // 64, dtype=np.uint64)
    _mark_other_than_one(cleansing, not_one)  # in parallel; the segments then follow the marked souls
    count = _sparse_cumulative(cleansing, limit, seg, not_one)
    if count < 0:
        return None, None
    last = seg.last[:count]
    total = float(last[-1]) if count else 0.0
    guide = guide_table(last, total, 4 * count) if total > 0.0 else np.zeros(1, np.int64)
    return SparseCumulative(seg.first[:count], seg.before[:count], last, seg.single[:count], guide), not_one


N_CHUNKS = 64  # stretches of souls, each listed and rewired by one thread


@njit(cache=True, inline="always")
def _cleansing_of(cleansing, runs, not_one, m):
    """Soul ``m``'s cleansing; with ``runs``, read only where ``not_one`` marks it other than 1."""
    if runs and not (not_one[m >> np.uint32(6)] >> np.uint64(m & np.uint32(63))) & np.uint64(1):
        return np.float32(1.0)
    return cleansing[m]


@njit(cache=True, parallel=True)
def _rewire(seed, year, p_rewire, neighbours, edge_weight, warmth, cleansing, cumulative, total, guide, runs, seg,
            not_one, counts):
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
    soul (measured: docs/performance.md). ``counts`` int64: the souls rewired in each stretch.

    With ``runs`` the draws come from the cumulative as segments ``seg``
    (:func:`sparse_draw`) and a neighbour's cleansing is read only where ``not_one`` marks it
    other than 1 (a bit a soul, 75 KB at 600,000 souls, in a core's cache); ``cumulative`` and
    ``guide`` are then not read. Late in the history nearly every soul's cleansing is 1: the
    random reads of a rewired soul are then its neighbours' warmth alone (docs/performance.md)."""
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
            starts[r] = 0 if runs else draw_start(xs[r], total, guide)
        for r in range(min(half, count)):
            first[r] = sparse_draw(xs[r], seg, total, n) if runs else draw_walk(xs[r], cumulative, starts[r])
        for r in range(count):
            # the row of a soul further down the list, so that its entries are at hand when the
            # reads it points to are asked for
            prefetch(rows, souls[min(r + 2 * PREFETCH_AHEAD, count - 1)] * k)
            if r + PREFETCH_AHEAD < count:
                s = r + PREFETCH_AHEAD  # a later soul
                later_base = np.uint64(souls[s] * k)
                for q in range(k):
                    m_later = np.uint32(rows[later_base + np.uint64(q)])
                    if not runs:
                        prefetch(cleansing, m_later)
                    prefetch(warmth, m_later)
                prefetch(weights, later_base)  # the row of weights it will write
                x = rng.uniform_at(key_pick, souls[s], 0) * total
                xs[s] = x
                if not runs:
                    start = draw_start(x, total, guide)
                    starts[s] = start
                    prefetch(cumulative, start)
                    prefetch(cumulative, min(start + 8, n - 1))  # a walk passes the first line as often as not
            if r + half < count:
                if runs:
                    m_s = sparse_draw(xs[r + half], seg, total, n)
                else:
                    m_s = draw_walk(xs[r + half], cumulative, starts[r + half])
                first[r + half] = m_s
                prefetch(warmth, min(m_s, n - 1))
            i = souls[r]
            base = np.uint64(i * k)
            worst = 0  # the least cleansed neighbour; ties: the first
            c_worst = _cleansing_of(cleansing, runs, not_one, np.uint32(rows[base]))
            for q in range(1, k):
                c_q = _cleansing_of(cleansing, runs, not_one, np.uint32(rows[base + np.uint64(q)]))
                if c_q < c_worst:
                    worst = q
                    c_worst = c_q
            old = rows[base + np.uint64(worst)]
            for attempt in range(MAX_TRIES):
                if attempt == 0:
                    m = first[r]
                else:
                    x = rng.uniform_at(key_pick, i, attempt) * total
                    m = sparse_draw(x, seg, total, n) if runs else draw_index(x, cumulative, total, guide)
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
    the same on any thread count); where fewer than one soul in :data:`SPARSE_SHARE` has
    cleansing other than 1, the cumulative is kept as runs of ones (:func:`sparse_cumulative`),
    which gives the same sums and the same draws. With no cleansing anywhere nothing can be
    drawn. Both arrays must be C-contiguous: the kernel writes them raveled, and a raveled copy
    of another layout would take the writes.
    """
    for name, a in (("neighbours", neighbours), ("edge_weight", edge_weight)):
        if a is not None and not a.flags.c_contiguous:
            raise ValueError(f"{name} must be C-contiguous")
    n = cleansing.shape[0]
    seg, not_one = sparse_cumulative(cleansing, n // SPARSE_SHARE)
    runs = seg is not None  # nearly every soul's cleansing is 1: the cumulative as runs, no array over all souls
    if runs:
        cumulative = np.empty(0, dtype=np.float64)
        total = float(seg.last[-1]) if seg.last.size else 0.0
    else:
        cumulative = _cumulative(cleansing)
        total = float(cumulative[-1]) if cumulative.size else 0.0
        seg = _segments(0)  # not read
        not_one = np.empty(0, dtype=np.uint64)
    if total <= 0.0 or neighbours.shape[1] == 0:
        return 0
    counts = np.zeros(N_CHUNKS, dtype=np.int64)
    if edge_weight is None:
        edge_weight = np.zeros(neighbours.shape, dtype=np.float32)
        warmth = np.zeros(neighbours.shape[0], dtype=np.float32)
    # a bucket per 16 souls: the table is cheap to build and a draw scans ~8 values in cache
    guide = np.empty(0, dtype=np.int64) if runs else guide_table(cumulative, total, max(1, n // 16))
    _rewire(int(seed), int(year), float(p_rewire), neighbours, edge_weight, warmth, cleansing, cumulative, total, guide,
            runs, seg, not_one, counts)
    return int(counts.sum())
