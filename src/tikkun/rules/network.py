"""The warm network: effort spreads through warm connections (004; MODEL.md, "The social network").

Each soul listens to ``k`` others. Edge ``i <- m`` carries the weight ``w_m``, the warmth of the
one heard ("build warm relationships with other people to counter all of the cold
relationships"): cold neighbours carry nothing. Effort follows Friedkin-Johnsen,

    e_i <- theta_i * (sum_m w_m e_m / sum_m w_m) + (1 - theta_i) * e0_i,   theta_i = theta_max * w_i,

and a soul with no warm neighbour keeps ``e0_i``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .. import random as rng


@njit(cache=True, inline="always")
def warm_effort(i, neighbours, edge_warmth, effort, effort0_i, theta_i):
    """Next effort of soul ``i`` (float64) from last year's ``effort`` float32 ``(n,)``.

    neighbours: int32 ``(n, k)``; edge_warmth: float32 ``(n, k)``, the warmth ``w_m`` of each
    neighbour (kept beside the graph so that a far neighbour costs one memory access, for its
    effort, not two); theta_i = theta_max * w_i.
    """
    num = 0.0
    den = 0.0
    for q in range(neighbours.shape[1]):
        w = float(edge_warmth[i, q])
        num += w * effort[neighbours[i, q]]
        den += w
    if den <= 0.0:
        return float(effort0_i)
    return theta_i * (num / den) + (1.0 - theta_i) * effort0_i


@njit(cache=True, parallel=True, error_model="numpy")
def warm_network(theta_max, neighbours, edge_warmth, effort, effort_next, effort0, warmth):
    """One year of the warm network for every soul: ``effort_next[i] = warm_effort(i, ...)``.

    theta_max: float; neighbours int32 ``(n, k)``; edge_warmth float32 ``(n, k)``; effort
    (read), effort_next (written), effort0, warmth: float32 ``(n,)``. Each soul's value depends
    only on last year's efforts, so the result is the same for any split over threads.

    A pass of its own rather than a step of the fused soul pass: measured on the history
    preset at 600,000 souls, the two passes take ~16 ms a year against ~21 ms fused (the
    gather loop and the spark loop compete for registers and cache when interleaved); the
    extra traffic is one float32 array written and read (2.4 MB).
    """
    n = effort.shape[0]
    for i in prange(n):
        effort_next[i] = warm_effort(i, neighbours, edge_warmth, effort, effort0[i], theta_max * warmth[i])


# ------------------------------------------------------------------ the graph
KIND_CODES = {"ring": 0, "small-world": 1, "random": 2}
MAX_TRIES = 64  # redraws of a target that is the soul itself or already a neighbour


@njit(cache=True, inline="always")
def _in_row(row, q_skip, m):
    for q in range(row.shape[0]):
        if q != q_skip and row[q] == m:
            return True
    return False


@njit(cache=True, parallel=True)
def _build_graph(seed, n, k, share, neighbours):
    for i in prange(n):
        row = neighbours[i]
        for q in range(k):  # ring lattice: +1, -1, +2, -2, ...
            step = q // 2 + 1
            row[q] = (i + step) % n if q % 2 == 0 else (i - step) % n
        for q in range(k):
            if share < 1.0 and rng.uniform(seed, 0, i, rng.PURPOSE_GRAPH, q) >= share:
                continue
            for attempt in range(MAX_TRIES):
                u = rng.uniform(seed, 0, i, rng.PURPOSE_GRAPH, k + q * MAX_TRIES + attempt)
                m = min(n - 1, int(u * n))
                if m != i and not _in_row(row, q, m):
                    row[q] = m
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
