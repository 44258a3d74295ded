"""Unity and mixing: definitions against naive loops, on hand-made fields, and the claim
``mixing-is-not-unity`` on small stage runs (seed 000: vibration and fusion are "not true
unification"; the blow of the Light melts the qualities into one)."""

import sys
from pathlib import Path

import numpy as np
import pytest

from tikkun.genesis import GenesisConfig, Stage, coarse, mass, mixing, run_genesis, unity

sys.path.insert(0, str(Path(__file__).parent))
import naive_genesis as naive  # noqa: E402


def _fields(n=32):
    y, x = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    rng = np.random.default_rng(0)
    return {
        "random": rng.uniform(-1, 1, (n, n)),
        "separated": np.where(x < n // 2, -1.0, 1.0),
        "checker1": np.where((x + y) % 2 == 0, -1.0, 1.0),  # finest emulsion
        "stripes16": np.where((x // 16) % 2 == 0, -1.0, 1.0),
        "melted": np.zeros((n, n)),
        "half_melted": np.full((n, n), 0.5),
    }


@pytest.mark.parametrize("name", list(_fields()))
@pytest.mark.parametrize("w", [1, 4, 8])
def test_measures_match_naive(name, w):
    phi = _fields()[name]
    assert unity(phi) == pytest.approx(naive.unity(phi), abs=1e-12)
    np.testing.assert_allclose(coarse(phi, w), naive.coarse(phi, w), atol=1e-12)
    assert mixing(phi, w) == pytest.approx(naive.mixing(phi, w), abs=1e-12)
    assert mass(phi) == pytest.approx(float(np.sum(phi)) / phi.size, abs=1e-12)


def test_hand_made_values():
    f = _fields()
    # Two qualities side by side: no unity, no mixing.
    assert unity(f["separated"]) == 0.0 and mixing(f["separated"], 8) == 0.0
    # An emulsion finer than the blocks: fully mixed, no unity ("oil poured over water").
    assert unity(f["checker1"]) == 0.0 and mixing(f["checker1"], 8) == 1.0
    # Coarser than the blocks: neither.
    assert mixing(f["stripes16"], 8) == 0.0
    # Melted into one quality: both.
    assert unity(f["melted"]) == 1.0 and mixing(f["melted"], 8) == 1.0
    assert unity(f["half_melted"]) == pytest.approx(0.75) and mixing(f["half_melted"], 8) == pytest.approx(0.75)


def test_coarse_rejects_bad_block():
    with pytest.raises(ValueError):
        coarse(np.zeros((10, 10)), 3)


# -- the claim on small runs (n = 64, short stages) --------------------------------------

BASE = [Stage(kind="separate"), Stage(kind="approach", duration=20.0)]


@pytest.fixture(scope="module")
def arms():
    scripts = {
        "stir": BASE + [Stage(kind="stir", duration=128.0, light=0.0, stir_amplitude=2.0, stir_period=8.0)],
        "fuse": BASE + [Stage(kind="fuse", duration=100.0)],
        "strike": BASE + [Stage(kind="strike", duration=500.0, light=1.5)],
    }
    out = {}
    for name, stages in scripts.items():
        r = run_genesis(GenesisConfig(n=64, stages=stages), seed=7)
        out[name] = (float(r.records["unity"][-1]), float(r.records["mixing"][-1]), r)
    return out


def test_stir_and_fuse_mix_without_unity(arms):
    # With kappa = A = 1 an interface is ~1.4 cells wide, so an emulsion fine enough to
    # fill 8 x 8 blocks carries unity ~0.4 in its boundaries: the claim shows as a gap.
    for name in ("stir", "fuse"):
        u, m, _ = arms[name]
        assert m > 0.6, f"{name}: mixing {m:.3f}"
        assert u < 0.55, f"{name}: unity {u:.3f}"
        assert m - u > 0.2, f"{name}: mixing {m:.3f} vs unity {u:.3f}"


def test_strike_gives_both(arms):
    u, m, _ = arms["strike"]
    assert u > 0.95 and m > 0.95
    for name in ("stir", "fuse"):
        assert u > arms[name][0] + 0.4


def test_arm_records_agree_with_naive_measures(arms):
    for name, (u, m, r) in arms.items():
        assert u == pytest.approx(naive.unity(r.field), abs=1e-12)
        assert m == pytest.approx(naive.mixing(r.field, 8), abs=1e-12)
        assert r.records["mass"][-1] == pytest.approx(0.0, abs=1e-13)
