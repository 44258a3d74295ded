"""Genesis and the four worlds inside a run: the sparks' unity comes from the broken vessel,
the conductance from the worlds."""

import numpy as np
import pytest

import naive
import tikkun
from conftest import make_scenario
from tikkun.genesis import run_genesis, shatter_unity
from tikkun.rules import worlds
from tikkun.state import spark_entities


def test_conductance_follows_the_worlds_under_dim_light():
    sc = make_scenario(**{"light.light": 0.8, "years": 30})
    res = tikkun.run(sc)
    m = res.metrics
    u = np.full(4, 1.0)
    for t in range(30):  # naive loop of MODEL.md's world rule
        lam_w = 0.8 * np.concatenate(([1.0], np.cumprod(u[:-1])))
        u = u + 0.1 * (np.minimum(1.0, lam_w / 1.0) - u)
        assert m["u_atzilut"][t] == pytest.approx(u[0]) and m["u_assiya"][t] == pytest.approx(u[3])
        assert m["conductance"][t] == pytest.approx(np.prod(u))
    assert m["u_assiya"][-1] < m["u_atzilut"][-1] < 1.0  # the chain falls further at the bottom
    full = tikkun.run(make_scenario(**{"years": 30}))
    np.testing.assert_array_equal(full.metrics["conductance"], 1.0)  # lam >= A: all hold at 1
    assert res.metrics["cleansing_mean"][-1] < full.metrics["cleansing_mean"][-1]


def test_run_with_genesis_draws_unity_from_the_broken_vessel(tmp_path):
    raw = make_scenario(**{"years": 5}).model_dump(mode="json", exclude_none=True)
    raw["genesis"] = {"n": 32, "block": 4, "stages": [
        {"kind": "separate"}, {"kind": "approach", "duration": 20.0},
        {"kind": "strike", "duration": 50.0, "light": 1.5}, {"kind": "shatter"}]}
    sc = tikkun.scenario.build_scenario(raw)
    res = tikkun.run(sc, out=tmp_path / "g")
    files = {p.name for p in (tmp_path / "g").iterdir()}
    assert {"genesis.parquet", "field.npy", "metrics.parquet"} <= files
    vessel = run_genesis(sc.genesis, sc.run.seed)
    st = res.simulation.state
    np.testing.assert_array_equal(st.unity, shatter_unity(vessel.field, spark_entities(st), sc.run.seed))
    # the worlds start at the vessel's final unity and relax toward iota_eq(1) = 1
    u0 = worlds.step_worlds(np.full(4, vessel.final_unity), 1.0, 1.0, 0.1)
    assert res.metrics["u_atzilut"][0] == pytest.approx(u0[0])


def test_the_worlds_hold_or_sink_against_the_genesis_threshold_A():
    """The light's threshold is the vessel's A (MODEL.md: "with lam >= A all four hold at 1; a
    light below A makes the chain collapse from the top down"). With A = 2 the default light
    lam = 1 is below it: year by year the four unities and the conductance are those of the
    twin's rule with A = 2 (naive.worlds_year), from the vessel's final unity, and they sink,
    where under A = 1 the same light would hold them near 1."""
    raw = make_scenario(**{"years": 20}).model_dump(mode="json", exclude_none=True)
    raw["genesis"] = {"n": 16, "block": 4, "A": 2.0, "stages": [
        {"kind": "separate"}, {"kind": "approach", "duration": 10.0},
        {"kind": "strike", "duration": 20.0, "light": 3.0}, {"kind": "shatter"}]}
    sc = tikkun.scenario.build_scenario(raw)
    m = tikkun.run(sc).metrics
    assert (m["light"] == 1.0).all()
    u = np.full(4, run_genesis(sc.genesis, sc.run.seed).final_unity)
    start = u.copy()
    for t in range(20):
        u = naive.worlds_year(u, 1.0, A=2.0, rho=sc.worlds.rho)
        got = [m["u_atzilut"][t], m["u_beria"][t], m["u_yetzira"][t], m["u_assiya"][t]]
        np.testing.assert_allclose(got, u, rtol=1e-12, err_msg=f"year {t}")
        assert m["conductance"][t] == pytest.approx(np.prod(u), rel=1e-12)
    assert (u < start).all() and u[0] < 0.7 and m["conductance"][-1] < 0.1  # the threshold acted
    held = start
    for _ in range(20):
        held = naive.worlds_year(held, 1.0, A=1.0, rho=sc.worlds.rho)
    assert np.prod(held) > 0.99  # the same light, were A 1


def test_engine_refuses_a_genesis_scenario_without_the_vessel():
    """A scenario with [genesis] must get its sparks' unity from the vessel, never silently
    from the distribution the vessel replaces; vessel_inputs supplies it."""
    from tikkun.api import vessel_inputs
    from tikkun.engine import build

    sc = tikkun.load_scenario(preset="history", years=3,
                              overrides={"souls.count": 500, "genesis.n": 32, "run.stop_at_end": False})
    init_without_vessel, _ = build(sc)
    with pytest.raises(ValueError, match="genesis"):
        init_without_vessel()
    unity_fn, world_unity = vessel_inputs(sc)
    init_fn, _ = build(sc, unity_fn=unity_fn, world_unity=world_unity)
    st = init_fn()
    np.testing.assert_array_equal(st.unity, unity_fn(spark_entities(st)))
    assert st.worlds[0] == world_unity


def test_resume_of_a_run_with_genesis_equals_uninterrupted(tmp_path):
    """A resumed history steps its saved state (unity and worlds already drawn from the vessel):
    it must neither need the vessel again nor differ from the run that was never cut."""
    kw = dict(preset="history", years=10, overrides={"souls.count": 2000, "genesis.n": 32,
                                                     "run.stop_at_end": False})
    full = tikkun.run(out=tmp_path / "full", **kw)

    from test_resume import Cut, _crash_after

    with pytest.raises(Cut):  # as if killed: the checkpoint of year 4 is on disk, no summary
        tikkun.run(out=tmp_path / "cut", checkpoint_every=2, progress=_crash_after(5), **kw)
    assert (tmp_path / "cut" / "checkpoint.npz").exists()
    assert not (tmp_path / "cut" / "summary.json").exists()
    resumed = tikkun.resume(tmp_path / "cut")
    for k in full.metrics:
        np.testing.assert_array_equal(full.metrics[k], resumed.metrics[k], err_msg=k)
    for k in ("cleansing", "effort", "illumination"):
        np.testing.assert_array_equal(full.souls[k], resumed.souls[k], err_msg=k)
    assert resumed.summary["years_run"] == 10
