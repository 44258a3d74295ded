"""The four worlds (seed 000: the Worlds of ABYA "conduct Light"; unity holds "only when
the Upper Light maintains it")."""

import sys
from pathlib import Path

import numpy as np
import pytest

from tikkun.rules.worlds import WORLDS, conductance, iota_eq, light_reaching, step_worlds

sys.path.insert(0, str(Path(__file__).parent))
import naive_genesis as naive  # noqa: E402


def test_iota_eq():
    assert iota_eq(0.0, 1.0) == 0.0
    assert iota_eq(0.4, 1.0) == pytest.approx(0.4)
    assert iota_eq(1.0, 1.0) == 1.0
    assert iota_eq(7.0, 1.0) == 1.0
    assert iota_eq(0.5, 2.0) == pytest.approx(0.25)
    np.testing.assert_allclose(iota_eq(np.array([0.0, 0.5, 1.5]), 1.0), [0.0, 0.5, 1.0])
    with pytest.raises(ValueError):
        iota_eq(0.5, 0.0)


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.9, 1.0, 1.7])
@pytest.mark.parametrize("rho", [0.0, 0.1, 1.0])
def test_step_matches_naive_loop(lam, rho):
    rng = np.random.default_rng(int(lam * 10 + rho * 100))
    u = rng.uniform(0, 1, 4)
    for _ in range(50):
        new = step_worlds(u, lam, 1.0, rho)
        np.testing.assert_allclose(new, naive.step_worlds(u, lam, 1.0, rho), atol=1e-15)
        u = new


def test_step_is_bit_for_bit_the_numpy_form():
    """``step_worlds`` works in Python floats for speed; it must give exactly the bits of its
    NumPy form (the engine's results depend on them), NaN included."""
    rng = np.random.default_rng(3)
    for _ in range(3000):
        u = rng.uniform(0, 1, 4) ** rng.uniform(0.2, 4.0)
        lam, A, rho = rng.uniform(0, 3), rng.uniform(0.05, 2), rng.uniform(0, 1)
        want = u + rho * (np.minimum(1.0, light_reaching(u, lam) / A) - u)
        assert step_worlds(u, lam, A, rho).tobytes() == want.tobytes()
    u = np.array([0.5, np.nan, 1.0, 0.25])
    want = u + 0.1 * (np.minimum(1.0, light_reaching(u, 0.7) / 1.0) - u)
    np.testing.assert_array_equal(step_worlds(u, 0.7, 1.0, 0.1), want)


def test_light_reaching_and_conductance():
    u = np.array([0.5, 0.8, 1.0, 0.25])
    np.testing.assert_allclose(light_reaching(u, 2.0), [2.0, 1.0, 0.8, 0.8])
    assert conductance(u) == pytest.approx(0.1)
    assert len(WORLDS) == 4 and WORLDS[0] == "atzilut"


@pytest.mark.parametrize("lam", [1.0, 1.5, 10.0])
def test_light_at_or_above_threshold_holds_all_at_one(lam):
    u = np.ones(4)
    for _ in range(500):
        u = step_worlds(u, lam, 1.0, 0.1)
        assert np.all(u == 1.0)
    assert conductance(u) == 1.0
    # and from the vessel's unity they all rise to 1
    u = np.full(4, 0.6)
    for _ in range(2000):
        u = step_worlds(u, lam, 1.0, 0.1)
    np.testing.assert_allclose(u, 1.0, atol=1e-9)


def test_dim_light_collapses_from_the_top_down():
    lam, A, rho = 0.7, 1.0, 0.1
    u = np.ones(4)
    hist = [u]
    for _ in range(3000):
        u = step_worlds(u, lam, A, rho)
        hist.append(u)
    hist = np.array(hist)
    # The highest keeps the most at every year; each lower world falls further.
    assert np.all(np.diff(hist, axis=1) <= 1e-15)
    # Year 1: every world sees at most lam < A, so all four lose rho (1 - lam/A) together.
    np.testing.assert_allclose(hist[1], 1.0 - rho * (1.0 - lam / A))
    # From year 2 on the loss cascades down: the light reaching a world is what the worlds
    # above let through, so each lower world falls strictly further than the one above.
    assert np.all(np.diff(hist[2:], axis=1) < 0)
    # The cascade, not a fixed light, sets the lower worlds: with Atzilut held at 1 by hand
    # (an unbroken top), Beria would only fall to lam/A, not (lam/A)^2.
    v = np.ones(4)
    for _ in range(3000):
        v = step_worlds(v, lam, A, rho)
        v[0] = 1.0
    assert v[1] == pytest.approx(lam / A, rel=1e-9)
    # Equilibrium: u_w = (lam/A) * prod_{above} u = (lam/A)^(2^w); conductance (lam/A)^15.
    np.testing.assert_allclose(hist[-1], [(lam / A) ** (2 ** w) for w in range(4)], rtol=1e-9)
    assert conductance(hist[-1]) == pytest.approx((lam / A) ** 15, rel=1e-8)


def test_bad_input():
    with pytest.raises(ValueError):
        step_worlds(np.ones(3), 1.0, 1.0, 0.1)
    with pytest.raises(ValueError):
        step_worlds(np.ones(4), 1.0, 1.0, 1.5)
