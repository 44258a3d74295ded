"""Counter-based randomness: every draw is a pure function of (seed, year, entity, purpose).

MODEL.md, "Randomness": results must not depend on the thread count, the chunking, or a
resume from a checkpoint. There is therefore no generator *state* anywhere in tikkun: a draw
is a hash of its coordinates. The hash chains the SplitMix64 finaliser (Steele, Lea & Flood
2014), whose avalanche is complete after one application, once per coordinate, so that
neighbouring counters give unrelated outputs.

The same ``@njit`` functions serve the yearly kernels (scalar calls inside ``prange``) and
the initial population (the vectorised ``uniforms`` below), so there is one definition of
every draw.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Purposes: one integer per kind of draw, so two rules never share a stream.
# Never renumber: it would change every result of every seed.
PURPOSE_EFFORT = 1
PURPOSE_WARMTH = 2
PURPOSE_ATTACHMENT = 3
PURPOSE_HBD = 4
PURPOSE_SPARK_COUNT = 5
PURPOSE_SPARK_SIZE = 6
PURPOSE_SPARK_UNITY = 7
PURPOSE_AIM = 8
PURPOSE_SHOCK_COUNT = 9
PURPOSE_SHOCK_AIM = 10
PURPOSE_REWIRE = 11
PURPOSE_REWIRE_PICK = 12
PURPOSE_GRAPH = 13
PURPOSE_JUDGE = 14
PURPOSE_GROUP = 15
PURPOSE_GENESIS_NOISE = 16
PURPOSE_GENESIS_STIR = 17
PURPOSE_SPARK_POSITION = 18

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TWO_M53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, inline="always")
def _mix(z):
    """SplitMix64 finaliser. ``z``: uint64 -> uint64."""
    z = z + _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def draw_bits(seed, year, entity, purpose, k):
    """64 random bits for the coordinates ``(seed, year, entity, purpose, k)``.

    All arguments are non-negative integers (``k`` numbers several draws of one entity in
    one year, e.g. the shocks of a year). Returns uint64.
    """
    h = _mix(np.uint64(seed))
    h = _mix(h ^ np.uint64(purpose))
    h = _mix(h ^ np.uint64(year))
    h = _mix(h ^ np.uint64(entity))
    return _mix(h ^ np.uint64(k))


@njit(cache=True, inline="always")
def uniform(seed, year, entity, purpose, k):
    """A float64 uniform on [0, 1) with 53 random bits, a pure function of its coordinates."""
    return float(draw_bits(seed, year, entity, purpose, k) >> _S11) * _TWO_M53


@njit(cache=True, inline="always")
def year_key(seed, year, purpose):
    """The hash of ``(seed, purpose, year)``, the part of :func:`draw_bits` shared by every
    entity of a year (uint64). With it, :func:`uniform_at` makes a draw in two mixes instead
    of five, and gives exactly the bits of :func:`uniform` (the chain is the same)."""
    h = _mix(np.uint64(seed))
    h = _mix(h ^ np.uint64(purpose))
    return _mix(h ^ np.uint64(year))


@njit(cache=True, inline="always")
def uniform_at(key, entity, k):
    """``uniform(seed, year, entity, purpose, k)`` for ``key = year_key(seed, year, purpose)``."""
    h = _mix(key ^ np.uint64(entity))
    return float(_mix(h ^ np.uint64(k)) >> _S11) * _TWO_M53


@njit(cache=True, inline="always")
def entity_key(key, entity):
    """The hash of ``(seed, purpose, year, entity)`` for ``key = year_key(seed, year, purpose)``:
    the part of :func:`uniform_at` shared by an entity's draws ``k = 0, 1, ...`` (uint64)."""
    return _mix(key ^ np.uint64(entity))


@njit(cache=True, inline="always")
def uniform_from(entity_key_, k):
    """``uniform_at(key, entity, k)`` for ``entity_key_ = entity_key(key, entity)``: one mix."""
    return float(_mix(entity_key_ ^ np.uint64(k)) >> _S11) * _TWO_M53


@njit(cache=True)
def _uniforms(seed, year, entities, purpose, k):
    out = np.empty(entities.shape[0], dtype=np.float64)
    for i in range(entities.shape[0]):
        out[i] = uniform(seed, year, entities[i], purpose, k)
    return out


def uniforms(seed: int, year: int, entities: np.ndarray, purpose: int, k: int = 0) -> np.ndarray:
    """Vectorised :func:`uniform`: ``entities`` int64 (n,) -> float64 (n,) in [0, 1).

    Values are open at 1 and may be exactly 0; callers that need (0, 1) (inverse CDFs)
    shift by half an ulp, see :func:`open_uniforms`.
    """
    ent = np.ascontiguousarray(entities, dtype=np.int64)
    if ent.size and ent.min() < 0:
        raise ValueError("entities must be non-negative")
    return _uniforms(int(seed), int(year), ent, int(purpose), int(k))


def open_uniforms(seed: int, year: int, entities: np.ndarray, purpose: int, k: int = 0) -> np.ndarray:
    """Uniforms on the open interval (0, 1), safe for inverse CDFs: ``entities`` int64 ``(n,)``
    -> float64 ``(n,)``."""
    return uniforms(seed, year, entities, purpose, k) + 0.5 * _TWO_M53
