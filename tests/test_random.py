"""The counter-based generator against a pure-Python SplitMix64 twin, and its statistics."""

import numpy as np
from scipy import stats

import naive
from tikkun import random as rng


# SplitMix64's published outputs for the seed 1234567 (Vigna's splitmix64.c; Rosetta Code,
# "Pseudo-random numbers/Splitmix64"): the n-th is the finaliser of seed + n * 0x9E3779B97F4A7C15
SPLITMIX64_1234567 = [6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431,
                      16408922859458223821]


def test_the_hash_is_splitmix64_as_published():
    """The finaliser both the kernels and the twin chain gives the reference generator's outputs,
    so the twin agreeing with the kernels is not two copies of one mistake."""
    golden = 0x9E3779B97F4A7C15
    states = [(1234567 + n * golden) % 2**64 for n in range(5)]  # _mix adds the gamma itself
    assert [int(rng._mix(np.uint64(s))) for s in states] == SPLITMIX64_1234567
    assert [naive.mix(s) for s in states] == SPLITMIX64_1234567
    assert int(rng._mix(np.uint64(0))) == 0xE220A8397B1DCDAF  # and the seed 0's first output


def test_bits_match_pure_python_twin():
    ents = np.array([0, 1, 2, 12345, 2**40 + 7], dtype=np.int64)
    for seed, year, purpose, k in [(0, 0, 1, 0), (20, 5999, 8, 1), (2**40, 3, 17, 9)]:
        got = rng.uniforms(seed, year, ents, purpose, k)
        want = naive.uniforms(seed, year, ents, purpose, k)
        np.testing.assert_array_equal(got, want)


def test_keyed_draws_are_the_same_draws():
    """The yearly kernels hoist the (seed, purpose, year) part of the hash out of the soul
    loop; the draws must stay bit for bit those of the plain chain."""
    from numba import njit

    @njit
    def keyed(seed, year, purpose, ents, k):
        key = rng.year_key(seed, year, purpose)
        out = np.empty(ents.shape[0])
        for i in range(ents.shape[0]):
            out[i] = rng.uniform_at(key, ents[i], k)
        return out

    ents = np.array([0, 1, 2, 12345, 2**40 + 7], dtype=np.int64)
    for seed, year, purpose, k in [(0, 0, 1, 0), (20, 5999, 8, 1), (2**40, 3, 17, 9)]:
        np.testing.assert_array_equal(keyed(seed, year, purpose, ents, k), naive.uniforms(seed, year, ents, purpose, k))


def test_entity_keyed_draws_are_the_same_draws():
    """The soul pass hashes (seed, purpose, year, soul) once for a soul's two draws of a year
    (k = 0 and 1); each must stay bit for bit the draw of the plain chain."""
    from numba import njit

    @njit
    def entity_keyed(seed, year, purpose, ents, k):
        key = rng.year_key(seed, year, purpose)
        out = np.empty(ents.shape[0])
        for i in range(ents.shape[0]):
            out[i] = rng.uniform_from(rng.entity_key(key, ents[i]), k)
        return out

    ents = np.array([0, 1, 2, 12345, 2**40 + 7], dtype=np.int64)
    for seed, year, purpose, k in [(0, 0, 8, 0), (20, 5999, 8, 1), (2**40, 3, 17, 9)]:
        np.testing.assert_array_equal(entity_keyed(seed, year, purpose, ents, k),
                                      naive.uniforms(seed, year, ents, purpose, k))


def test_uniform_statistics_and_independence():
    u = rng.uniforms(7, 3, np.arange(200_000), rng.PURPOSE_AIM)
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    v = rng.uniforms(7, 3, np.arange(200_000), rng.PURPOSE_AIM, 1)
    w = rng.uniforms(7, 4, np.arange(200_000), rng.PURPOSE_AIM)
    for other in (v, w, u[1:]):
        r = np.corrcoef(u[: other.size], other)[0, 1]
        assert abs(r) < 0.01
    o = rng.open_uniforms(7, 3, np.arange(1000), 1)
    assert (o > 0).all() and (o < 1).all()
