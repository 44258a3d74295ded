"""The population of year 0 (MODEL.md, phase 2, "State": the table of initial values).

Every soul and spark draws its initial values from the scenario's distributions, each a pure
function of (seed, soul or spark, purpose) through an inverse CDF of its own uniform, so a
soul's draw depends neither on the population's size nor on any other soul: baseline effort
``Gamma`` (002, Torah and Mitzva), warmth and attachment ``Beta`` (004), hbd ``LogNormal``
(002, "any division among them is only in their HBD"), the special souls the top share by hbd (002, the soul
of Moses), ``1 + Poisson`` sparks a soul with ``LogNormal`` sizes (002, "each soul divides
into several sparks"), and the network (:mod:`tikkun.rules.network`, 004).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from scipy import special

from .. import random as rng
from ..scenario.schema import Scenario
from ..state import MAX_SPARKS, State, spark_entities_of, written_zeros
from .network import build_graph, edge_weights, given_graph


@njit(cache=True)
def poisson_quantile(u, mean):
    """int64 ``(n,)``: the smallest ``k`` with ``P(Poisson(mean) <= k) >= u`` (inverse CDF).

    Sums the probabilities term by term in float64, as ``scipy.stats.poisson.ppf`` defines it
    (tested against it), but fast enough for millions of souls.
    """
    out = np.zeros(u.shape[0], dtype=np.int64)
    if mean <= 0.0:
        return out
    p0 = math.exp(-mean)
    for i in range(u.shape[0]):
        k = 0
        p = p0
        cdf = p0
        while cdf < u[i] and k < MAX_SPARKS:
            k += 1
            p *= mean / k
            cdf += p
        out[i] = k
    return out


def _beta(u, a, b):
    return special.betaincinv(a, b, u)


def draw_unity(scenario: Scenario, entities: np.ndarray) -> np.ndarray:
    """Unity ``iota_j`` of each spark from the scenario's distribution (when genesis is off):
    ``entities`` int64 ``(m,)`` (:func:`spark_entities`) -> float32 ``(m,)`` in [0, 1]."""
    dist = scenario.sparks.unity
    seed = scenario.run.seed
    if dist.kind == "constant":
        return np.full(entities.shape[0], dist.value, dtype=np.float32)
    u = rng.open_uniforms(seed, 0, entities, rng.PURPOSE_SPARK_UNITY)
    if dist.kind == "uniform":
        vals = dist.low + (dist.high - dist.low) * u
    else:
        vals = _beta(u, dist.a, dist.b)
    return np.clip(vals, 0.0, 1.0).astype(np.float32)


def initial_state(scenario: Scenario, unity_fn=None, world_unity: float | None = None, graph=None) -> State:
    """Draw the population of year 0: every value a pure function of (seed, soul or spark, purpose).

    Inverse CDFs of per-entity uniforms make each soul's draw independent of the population
    size and of every other soul. ``unity_fn(entities) -> float32 (m,)`` replaces the
    scenario's unity distribution (genesis' shatter uses it); ``world_unity`` is where the
    four worlds start (the vessel's final unity; default ``worlds.initial_unity``). ``graph``:
    with ``network.kind = "given"``, whom each soul listens to (:func:`given_graph`).
    """
    s = scenario.souls
    seed = scenario.run.seed
    n = s.count
    souls = np.arange(n, dtype=np.int64)

    def u(purpose):
        return rng.open_uniforms(seed, 0, souls, purpose)

    effort0 = (special.gammaincinv(s.effort_shape, u(rng.PURPOSE_EFFORT)) * s.effort_scale).astype(np.float32)
    warmth = _beta(u(rng.PURPOSE_WARMTH), s.warmth_a, s.warmth_b).astype(np.float32)
    attachment = _beta(u(rng.PURPOSE_ATTACHMENT), s.attachment_a, s.attachment_b).astype(np.float32)
    hbd = np.exp(s.hbd_sigma * special.ndtri(u(rng.PURPOSE_HBD))).astype(np.float32)

    extra = poisson_quantile(u(rng.PURPOSE_SPARK_COUNT), s.sparks_extra_mean)
    counts = 1 + np.minimum(extra, MAX_SPARKS - 1)
    spark_start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=spark_start[1:])
    entities = spark_entities_of(spark_start)

    size = np.exp(scenario.sparks.size_sigma * special.ndtri(
        rng.open_uniforms(seed, 0, entities, rng.PURPOSE_SPARK_SIZE))).astype(np.float32)
    unity = (unity_fn or (lambda e: draw_unity(scenario, e)))(entities).astype(np.float32)
    size_total = np.add.reduceat(size.astype(np.float64), spark_start[:-1])

    special_mask = written_zeros(n, np.uint8)
    n_special = int(round(s.special_share * n))
    if n_special:
        # Ties in hbd are broken by the soul's index so the choice is deterministic.
        order = np.lexsort((souls, -hbd.astype(np.float64)))
        special_mask[order[:n_special]] = 1

    net = scenario.network
    if (graph is not None) != (net.enabled and net.kind == "given"):
        raise ValueError('a graph is given exactly when the network is on and network.kind = "given"')
    if graph is not None:
        neighbours = given_graph(graph, n)
    elif net.enabled:
        neighbours = build_graph(net.kind, n, net.k, net.rewired_share, seed)
    else:
        neighbours = np.zeros((n, 0), dtype=np.int32)
    return State(
        year=0,
        effort=effort0.copy(),
        effort_next=effort0.copy(),
        neighbours=neighbours,
        edge_weight=edge_weights(neighbours, warmth),
        effort0=effort0,
        warmth=warmth,
        attachment=attachment,
        hbd=hbd,
        steadiness=np.full(n, s.steadiness, dtype=np.float32),
        regain=np.full(n, s.regain, dtype=np.float32),
        holding=np.ones(n, dtype=np.uint8),
        shepherd=written_zeros(n, np.uint8),
        special=special_mask,
        complete=written_zeros(n, np.uint8),
        completed_year=np.full(n, -1, dtype=np.int32),
        cleansing=written_zeros(n, np.float32),
        size_total=size_total,
        spark_start=spark_start,
        size=size,
        unity=unity,
        screen=written_zeros(entities.shape[0], np.float32),
        worlds=np.full(4, scenario.worlds.initial_unity if world_unity is None else world_unity, dtype=np.float64),
    )
