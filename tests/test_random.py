"""The counter-based generator against a pure-Python SplitMix64 twin, and its statistics."""

import numpy as np
from scipy import stats

import naive
from tikkun import random as rng


def test_bits_match_pure_python_twin():
    ents = np.array([0, 1, 2, 12345, 2**40 + 7], dtype=np.int64)
    for seed, year, purpose, k in [(0, 0, 1, 0), (20, 5999, 8, 1), (2**40, 3, 17, 9)]:
        got = rng.uniforms(seed, year, ents, purpose, k)
        want = naive.uniforms(seed, year, ents, purpose, k)
        np.testing.assert_array_equal(got, want)


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
