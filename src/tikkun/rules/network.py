"""The warm network: effort spreads through warm connections (004; MODEL.md, "The social network").

Each soul listens to ``k`` others. Edge ``i <- m`` carries the weight ``w_m``, the warmth of the
one heard ("build warm relationships with other people to counter all of the cold
relationships"): cold neighbours carry nothing. Effort follows Friedkin-Johnsen,

    e_i <- theta_i * (sum_m w_m e_m / sum_m w_m) + (1 - theta_i) * e0_i,   theta_i = theta_max * w_i,

and a soul with no warm neighbour keeps ``e0_i``. The normalised weights (times ``w_i``) are
kept beside the graph (:func:`edge_weights`), so the yearly pass needs neither the sum of the
weights nor a division (:func:`warm_effort`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .. import random as rng
from ..native import gather
from ..native.prefetch import prefetch


@njit(cache=True, inline="always")
def row_weights(rows, weights, base, k, warmth, warmth_i):
    """The weights ``P_iq = w_i w_m / sum_q' w_m'`` of one soul's edges, float32 into
    ``weights[base:base + k]``.

    rows: int32 ``(n k,)``, the raveled graph, soul ``i``'s row from ``base = i k`` (uint64);
    weights: float32, raveled like it; warmth float32 ``(n,)``; warmth_i = w_i. Edge ``i <- m``
    carries ``w_m`` normalised over the row, times the soul's own warmth (its susceptibility
    ``theta_i = theta_max w_i`` without ``theta_max``, which a scenario may schedule by year).
    A soul with no warm neighbour gets a row of zeros. On raveled arrays, as the passes over
    souls read them: a row taken as a view costs a view and its reference counts at every
    soul (measured in the rewiring: docs/performance.md).
    """
    den = 0.0
    for q in range(k):
        den += float(warmth[np.uint32(rows[base + np.uint64(q)])])
    for q in range(k):
        j = base + np.uint64(q)
        weights[j] = float(warmth_i) * float(warmth[np.uint32(rows[j])]) / den if den > 0.0 else 0.0


@njit(cache=True, parallel=True)
def _edge_weights(neighbours, warmth, out):
    k = neighbours.shape[1]
    rows = neighbours.ravel()
    weights = out.ravel()
    for i in prange(neighbours.shape[0]):
        row_weights(rows, weights, np.uint64(i * k), k, warmth, warmth[i])


def edge_weights(neighbours: np.ndarray, warmth: np.ndarray) -> np.ndarray:
    """float32 ``(n, k)``: :func:`row_weights` of every soul (kept beside the graph; rewiring and
    warmth policies keep it in step)."""
    out = np.empty(neighbours.shape, dtype=np.float32)
    _edge_weights(neighbours, warmth, out)
    return out


@njit(cache=True, inline="always")
def _edge(rows, weights, effort, j, e0):
    """``P_iq (e_m - e0_i)`` of the edge at ``j = i k + q`` of the raveled graph ``rows`` and its
    raveled ``weights`` (float32). The neighbour's index is read as unsigned, so the gather pays
    for no negative-index wraparound."""
    return weights[j] * (effort[np.uint32(rows[j])] - e0)


@njit(cache=True, inline="always")
def _not_below_zero(e):
    """Effort is never negative (MODEL.md: ``e_i >= 0``). The formula keeps it so in exact
    arithmetic; in float32, with ``theta_max w_i`` near 1 and silent neighbours, the weights'
    rounding could leave it a few 1e-7 below zero, and a negative effort would be a negative
    light."""
    return e if e > np.float32(0.0) else np.float32(0.0)


@njit(cache=True, inline="always")
def _eight(rows, weights, effort, j, e0):
    """Edges ``j .. j+7`` (``j`` unsigned) of the raveled graph added in the fixed tree
    ``((01 + 23) + (45 + 67))``."""
    u = np.uint64
    return (((_edge(rows, weights, effort, j, e0) + _edge(rows, weights, effort, j + u(1), e0))
             + (_edge(rows, weights, effort, j + u(2), e0) + _edge(rows, weights, effort, j + u(3), e0)))
            + ((_edge(rows, weights, effort, j + u(4), e0) + _edge(rows, weights, effort, j + u(5), e0))
               + (_edge(rows, weights, effort, j + u(6), e0) + _edge(rows, weights, effort, j + u(7), e0))))


@njit(cache=True, inline="always")
def _warm_effort_k(rows, weights, k, i, effort, effort0_i, theta_max):
    """:func:`warm_effort` on the raveled graph ``rows`` int32 ``(n k,)`` and its raveled weights."""
    j0 = np.uint64(i) * np.uint64(k)
    e0 = effort0_i
    acc = np.float32(0.0)
    for q in range(0, k - k % 8, 8):
        acc += _eight(rows, weights, effort, j0 + np.uint64(q), e0)
    for q in range(k - k % 8, k):
        acc += _edge(rows, weights, effort, j0 + np.uint64(q), e0)
    return _not_below_zero(e0 + np.float32(theta_max) * acc)


@njit(cache=True, inline="always")
def warm_effort(neighbours, edge_weight, i, effort, effort0_i, theta_max):
    """Next effort of soul ``i`` (float32) from last year's ``effort`` float32 ``(n,)``.

    With the row weights ``P_iq`` of :func:`row_weights` (``sum_q P_iq = w_i``, or 0 with no
    warm neighbour), Friedkin-Johnsen's ``theta_i avg_i + (1 - theta_i) e0_i`` is

        e_i = e0_i + theta_max * sum_q P_iq (e_m - e0_i),

    which needs no division and gives ``e0_i`` to a soul with no warm neighbour. The edges are
    added eight at a time in a fixed tree (:func:`_eight`), then the rest one by one: the same
    bits on any thread count, and independent gathers in flight instead of one long chain of
    additions.
    """
    return _warm_effort_k(neighbours.ravel(), edge_weight.ravel(), neighbours.shape[1], i, effort, effort0_i,
                          theta_max)


# the row of eight as one vector where the processor gathers (the same tree, the same bits)
_row_of_eight = gather.edge_sum8 if gather.AVAILABLE else _eight


@njit(cache=True, inline="always")
def _warm_effort_8(rows, weights, i, effort, effort0_i, theta_max):
    """:func:`warm_effort` for exactly eight neighbours (the default ``k``), bit for bit the same,
    with every index a constant offset: the compiler then keeps the row in registers, which the
    loop does not allow. Where the processor has a fast gather, the row is one vector
    (:func:`tikkun.native.gather.edge_sum8`)."""
    j = np.uint64(i) * np.uint64(8)
    return _not_below_zero(effort0_i + np.float32(theta_max) * _row_of_eight(rows, weights, effort, j, effort0_i))


PREFETCH_ROWS = 128  # souls: how far ahead each soul's row of the graph is asked for
PREFETCH_GATHERS = 16  # souls: how far ahead the efforts a row points to are asked for (the best
# distance measured; docs/performance.md)


@njit(cache=True, inline="always")
def _ask_ahead(row_soul, gather_soul, k, rows, weights, effort, pairs):
    """Ask for the row of soul ``row_soul`` and its weights, and for the efforts that soul
    ``gather_soul`` will gather (:func:`tikkun.native.prefetch.prefetch`); both are
    unsigned and inside the graph. ``k`` is the graph's degree, passed as the constant 8 for
    the default graph: its loop of eight asks is then unrolled, and its neighbours are read two
    at a time from ``pairs``, the graph seen as uint64 (both halves are asked for, so which is
    which does not matter): one load for two asks."""
    ahead = row_soul * np.uint64(k)
    prefetch(rows, ahead)  # a row of k > 16 spans more lines: the hardware follows the rest
    prefetch(weights, ahead)
    soon = gather_soul * np.uint64(k)
    if k == 8:
        half = soon // np.uint64(2)
        for p in range(4):
            two = pairs[half + np.uint64(p)]
            prefetch(effort, two & np.uint64(0xFFFFFFFF))
            prefetch(effort, two >> np.uint64(32))
    else:
        for q in range(k):
            prefetch(effort, np.uint32(rows[soon + np.uint64(q)]))


def warm_network(theta_max, neighbours, edge_weight, effort, effort_next, effort0, block_sums=None, block=None):
    """One year of the warm network for every soul: ``effort_next[i] = warm_effort(...)``.

    theta_max: float; neighbours int32 ``(n, k)``; edge_weight float32 ``(n, k)``
    (:func:`edge_weights`); effort (read), effort_next (written), effort0: float32 ``(n,)``.
    Each soul's value depends only on last year's efforts, so the result is the same for any
    split over threads.

    block_sums: float64 ``(ceil(n / block),)``, if given (with ``block``, the engine's block of
    souls), gets the sum of the new efforts over each block of ``block`` souls, added in soul
    order from 0.0 (the year's mean effort is made
    of them: the soul pass then need not read the efforts again, nor wait on a chain of
    additions, for souls it passes by).

    Memory is asked for ahead of need (:func:`_ask_ahead`): the rows of the graph, which the
    hardware's prefetcher does not fetch far enough ahead of this loop, and the efforts of far
    neighbours, random reads in an array larger than a core's L2 cache at 600,000 souls.

    The default degree ``k = 8`` has a compiled loop of its own (:func:`_warm_network_8`):
    with the degree a constant, its asks and its additions unroll (faster than both loops
    behind a branch in one compiled function).

    A pass of its own rather than a step of the soul pass: done block by block inside the soul
    pass, the network was slower, its far reads pushed out of a core's cache by the soul
    pass's streams; the extra traffic is one float32 array written and read. (Measurements:
    docs/performance.md.)
    """
    for name, a in (("neighbours", neighbours), ("edge_weight", edge_weight), ("effort", effort),
                    ("effort_next", effort_next), ("effort0", effort0)):
        if not a.flags.c_contiguous:  # the kernels read rows as vectors from the arrays' memory
            raise ValueError(f"{name} must be C-contiguous")
    if block_sums is None:  # nobody wants the sums: 256 blocks, enough to share among threads
        block = max(1, -(-neighbours.shape[0] // 256))
        block_sums = np.empty(-(-neighbours.shape[0] // block), dtype=np.float64)
    if block is None or block <= 0:
        raise ValueError(f"block must be a positive number of souls with block_sums, got {block}")
    n_blocks = (neighbours.shape[0] + block - 1) // block
    if block_sums.shape != (n_blocks,) or block_sums.dtype != np.float64:
        raise ValueError(f"block_sums must be float64 ({n_blocks},), got {block_sums.dtype} {block_sums.shape}")
    if neighbours.shape[1] == 8:
        _warm_network_8(theta_max, neighbours, edge_weight, effort, effort_next, effort0, block, block_sums)
    else:
        _warm_network_k(theta_max, neighbours, edge_weight, effort, effort_next, effort0, block, block_sums)


@njit(cache=True, inline="always")
def _network_soul(theta_max, rows, weights, k, effort, effort_next, effort0, i):
    """Soul ``i``'s new effort, written to ``effort_next[i]`` and returned (float32). Passed the
    literal 8 as ``k``, the branch and every index fold to constants (:func:`_warm_effort_8`)."""
    if k == 8:
        e = _warm_effort_8(rows, weights, i, effort, effort0[i], theta_max)
    else:
        e = _warm_effort_k(rows, weights, k, i, effort, effort0[i], theta_max)
    effort_next[i] = e
    return e


@njit(cache=True, inline="always")
def _network_block(theta_max, rows, weights, k, n, effort, effort_next, effort0, lo, hi):
    """Souls ``lo:hi`` of the warm network; returns the sum of their new efforts, added in
    soul order from 0.0 (float64).

    The souls whose asks ahead stay inside the graph (all but the last ``PREFETCH_ROWS``)
    have a loop of their own, with unsigned indices: no bound to clamp the asks to and no
    negative index to wrap, fewer instructions a soul (docs/performance.md)."""
    s = 0.0
    # the graph two neighbours at a time, for the asks ahead (k = 8 only: a row is four pairs)
    pairs = rows.view(np.uint64) if k == 8 else np.empty(0, dtype=np.uint64)
    u = np.uint64
    inside = max(lo, min(hi, n - PREFETCH_ROWS))
    for i in range(u(lo), u(inside)):
        _ask_ahead(i + u(PREFETCH_ROWS), i + u(PREFETCH_GATHERS), k, rows, weights, effort, pairs)
        s += float(_network_soul(theta_max, rows, weights, k, effort, effort_next, effort0, i))
    last = u(n - 1)
    for i in range(u(inside), u(hi)):
        _ask_ahead(min(i + u(PREFETCH_ROWS), last), min(i + u(PREFETCH_GATHERS), last), k, rows, weights, effort,
                   pairs)
        s += float(_network_soul(theta_max, rows, weights, k, effort, effort_next, effort0, i))
    return s


@njit(cache=True, parallel=True, error_model="numpy")
def _warm_network_8(theta_max, neighbours, edge_weight, effort, effort_next, effort0, block, block_sums):
    n = neighbours.shape[0]
    rows, weights = neighbours.ravel(), edge_weight.ravel()
    for b in prange(block_sums.shape[0]):
        block_sums[b] = _network_block(theta_max, rows, weights, 8, n, effort, effort_next, effort0, b * block,
                                       min(n, (b + 1) * block))


@njit(cache=True, parallel=True, error_model="numpy")
def _warm_network_k(theta_max, neighbours, edge_weight, effort, effort_next, effort0, block, block_sums):
    n = neighbours.shape[0]
    rows, weights = neighbours.ravel(), edge_weight.ravel()
    for b in prange(block_sums.shape[0]):
        block_sums[b] = _network_block(theta_max, rows, weights, neighbours.shape[1], n, effort, effort_next,
                                       effort0, b * block, min(n, (b + 1) * block))


# ------------------------------------------------------------------ the graph
MAX_TRIES = 64  # redraws of a target that is the soul itself or already a neighbour


@njit(cache=True, inline="always")
def _in_row(rows, base, k, q_skip, m):
    """True if soul ``m`` is in the row from ``base`` (uint64) of the raveled graph ``rows``,
    at a place other than ``q_skip``."""
    for q in range(k):
        if q != q_skip and rows[base + np.uint64(q)] == m:
            return True
    return False


@njit(cache=True, parallel=True)
def _build_graph(seed, n, k, share, neighbours):
    rows = neighbours.ravel()
    for i in prange(n):
        base = np.uint64(i * k)
        for q in range(k):  # ring lattice: +1, -1, +2, -2, ...
            step = q // 2 + 1
            rows[base + np.uint64(q)] = (i + step) % n if q % 2 == 0 else (i - step) % n
        for q in range(k):
            if share < 1.0 and rng.uniform(seed, 0, i, rng.PURPOSE_GRAPH, q) >= share:
                continue
            for attempt in range(MAX_TRIES):
                u = rng.uniform(seed, 0, i, rng.PURPOSE_GRAPH, k + q * MAX_TRIES + attempt)
                m = min(n - 1, int(u * n))
                if m != i and not _in_row(rows, base, k, q, m):
                    rows[base + np.uint64(q)] = m
                    break


def build_graph(kind: str, n: int, k: int, rewired_share: float, seed: int) -> np.ndarray:
    """int32 ``(n, k)``: whom each soul listens to.

    ``ring``: the ``k`` nearest souls on a ring (+1, -1, +2, -2, ...); ``small-world``: that
    ring with each edge rewired with probability ``rewired_share`` to a uniformly drawn soul
    (never itself, never a duplicate; neighbours stay mostly close in memory); ``random``:
    every edge drawn. Each row is a pure function of (seed, soul).
    """
    if k >= n:
        raise ValueError(f"k = {k} needs more than {n} souls")
    share = {"ring": 0.0, "small-world": rewired_share, "random": 1.0}[kind]
    neighbours = np.empty((n, k), dtype=np.int32)
    _build_graph(int(seed), int(n), int(k), float(share), neighbours)
    return neighbours


MAX_DEGREE = 256  # network.k's bound (scenario/schema.py)


def given_graph(graph, n: int) -> np.ndarray:
    """A graph of one's own as the state holds it (``network.kind = "given"``): a new int32 array
    ``(n, k)``, C-contiguous, row ``i`` the ``k`` souls soul ``i`` listens to (004: each soul is warmed by
    those it connects to; every soul the same number, so that the rewiring works in place).

    Raises ValueError, saying what is wrong and where, unless ``graph`` is a 2-D array of whole
    numbers with ``n`` rows and 1 to :data:`MAX_DEGREE` columns (at most ``n - 1``), every entry a soul
    (``0 <= m < n``), and no soul listens to itself or to one soul twice (the graphs tikkun
    builds and the rewiring toward the good and pure keep both so).
    """
    a = np.asarray(graph)
    if a.ndim != 2:
        raise ValueError(f"must be a 2-D array, a row of neighbours for each soul (it has {a.ndim} dimension{'' if a.ndim == 1 else 's'})")
    if a.dtype.kind not in "iu":
        raise ValueError(f"must hold whole numbers, the souls' indices (it holds {a.dtype})")
    if a.shape[0] != n:
        raise ValueError(f"has {a.shape[0]:,} rows and souls.count is {n:,}: a row for each soul")
    most = min(MAX_DEGREE, n - 1)  # no soul listens to itself or to one soul twice
    if not 1 <= a.shape[1] <= most:
        raise ValueError(f"has {a.shape[1]:,} columns: each soul listens to 1 to {most} others"
                         + ("" if most == MAX_DEGREE else f" (souls.count is {n:,})"))
    outside = (a < 0) | (a >= n)
    if outside.any():
        i, q = np.argwhere(outside)[0]
        raise ValueError(f"soul {i} listens to {a[i, q]}, not a soul (the souls are 0 to {n - 1:,})")
    own = (a == np.arange(n)[:, None]).any(axis=1)
    if own.any():
        raise ValueError(f"soul {int(np.argmax(own))} listens to itself")
    ordered = np.sort(a, axis=1)
    twice = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
    if twice.any():
        i = int(np.argmax(twice))
        m = ordered[i, 1:][ordered[i, 1:] == ordered[i, :-1]][0]
        raise ValueError(f"soul {i} listens to soul {m} twice")
    return np.array(a, dtype=np.int32, order="C")  # a copy: the rewiring changes the state's graph in place
