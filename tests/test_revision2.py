"""The five changes of MODEL.md's revision 2 and what a user reads of them, each against a
closed form, a hand computation or a count that the code under test does not make."""

import json
import subprocess
import sys
import time

import numpy as np
import pyarrow.parquet as pq
import pytest

import naive
import tikkun
from conftest import make_scenario
from tikkun.engine import build, simulate
from tikkun.outputs import run_folder as rf
from tikkun.scenario import ScenarioError, build_scenario, load_scenario


def _raw(**overrides):
    return make_scenario(**overrides).model_dump(mode="json", exclude_none=True)


# ----------------------------------------------------------------- practice
def test_practice_zero_corrects_nothing_without_shepherds():
    """P = 0: a soul's own light is 0, and with no shepherd there is no other light."""
    raw = _raw(years=30)
    raw["events"] = [{"kind": "set", "year": 0, "key": "light.practice", "value": 0.0}]
    sim = simulate(build_scenario(raw))
    assert (sim.state.screen == 0).all() and sim.metrics["cleansing_mean"].max() == 0.0
    assert (sim.metrics["practice"] == 0.0).all()


def test_before_the_shepherds_only_alpha_times_practice_matters():
    """Without shepherds every soul's light is alpha * P times a factor free of both, so
    (alpha, P) and (alpha / 4, 4 P) give the same history up to rounding."""
    a = simulate(make_scenario(**{"years": 40, "light.alpha": 0.4, "light.practice": 1.0}))
    b = simulate(make_scenario(**{"years": 40, "light.alpha": 0.1, "light.practice": 4.0}))
    assert a.metrics["shepherds"].max() == 0
    np.testing.assert_allclose(a.metrics["cleansing_mean"], b.metrics["cleansing_mean"], rtol=1e-5)
    assert a.metrics["cleansing_mean"][-1] > 0.1


# ----------------------------------------------------------------- inclusion
@pytest.mark.parametrize("inclusion", [True, False])
def test_a_spark_without_unity_corrects_through_the_whole(inclusion):
    """Sparks of unity 0 correct only by inclusion, u = (1 - 0) * C(t-1): nothing while C = 0;
    once a shepherds event makes souls complete (C > 0), the others' sparks grow, and by
    exactly C(t-1) * ell in their first year of growth. Without inclusion, never."""
    raw = _raw(**{"sparks.unity": {"kind": "constant", "value": 0.0}, "years": 12, "network.enabled": False,
                  "sparks.inclusion": inclusion})
    raw["events"] = [{"kind": "shepherds", "year": 5, "group": {"first": 0, "count": 30}}]
    sc = build_scenario(raw)
    init, step = build(sc)
    st = init()
    # the judge of the first generation (from the year-0 cleansings), as the twin chooses it
    c_judge = naive.judge_cleansing(sc.generations.judge, st.cleansing, st.special, False, sc.run.seed, 0)
    assert sc.generations.length > 6 and sc.generations.messiah_from > 6
    for _ in range(5):
        st, row = step(st)
    assert row["cleansing_mean"] == 0.0 and (st.screen == 0).all()
    st, row = step(st)  # year 5: the shepherds are made; C(4) = 0, so nothing else grows yet
    others = slice(int(st.spark_start[30]), None)
    assert (st.screen[others] == 0).all() and row["cleansing_mean"] == pytest.approx(30 / 300, rel=1e-6)
    c_prev = float(st.cleansing.astype(np.float64).mean())  # C(5), MODEL.md's mean of the c_i
    before = st.screen.copy()
    assert st.holding.all()  # every soul holds the aim through year 6 (losses come at its end)
    st, row = step(st)  # year 6: C(5) = 0.1 > 0
    grown = st.screen[others] - before[others]
    if not inclusion:
        assert (grown == 0).all()
        return
    assert (grown > 0).all()
    # the light of a soul this year, by hand: alpha lam W J (1 + beta C) h (P e (eps + c) + phi_s),
    # with c = 0 for these souls, every soul holding its aim, and the shepherds' light on (30
    # shepherds since year 5); W from the twin's four worlds over years 0-6 under lam = 1, J
    # from the twin's judge
    u = np.full(4, sc.worlds.initial_unity)
    for _ in range(7):
        u = naive.worlds_year(u, 1.0, A=1.0, rho=sc.worlds.rho)
    conductance = float(np.prod(u))
    holiness = sc.light.kappa0 + (1 - sc.light.kappa0) * c_judge
    owner = np.repeat(np.arange(st.n_souls), st.sparks_per_soul)[others]
    gain = sc.light.alpha * 1.0 * conductance * holiness * (1 + sc.light.beta * c_prev)
    e = st.effort.astype(np.float64)[owner]
    ell = (gain * st.hbd.astype(np.float64)[owner] * (1.0 * (e * (sc.light.eps + 0.0)) + sc.light.phi_s)).astype(np.float32)
    np.testing.assert_allclose(grown, np.float32(c_prev) * ell, rtol=1e-6)


# ----------------------------------------------------------------- shocks
def test_shocks_follow_their_events_whenever_they_come():
    """The shock rate is an ordinary scheduled global: an event that sets it in year 10 brings
    shocks from year 10 (revision 1 silently ignored it before impurity.start_year)."""
    raw = _raw(years=60)
    raw["events"] = [{"kind": "set", "year": 10, "until": 40, "key": "impurity.rate", "value": 2.0, "label": "exile"}]
    sim = simulate(build_scenario(raw))
    shocks = sim.metrics["shocks"]
    assert shocks[:10].sum() == 0 and shocks[40:].sum() == 0 and shocks[10:40].sum() > 30
    assert (sim.metrics["shock_rate"][10:40] == 2.0).all() and (sim.metrics["shock_rate"][:10] == 0).all()


def test_the_old_start_year_is_refused_with_its_reason():
    with pytest.raises(ScenarioError, match="impurity.start_year no longer exists"):
        load_scenario(preset="quick", overrides={"impurity.start_year": 100})


def test_a_complete_soul_is_beyond_the_shocks():
    """Souls made complete keep every screen at its size and their aim under heavy shocks,
    while the incomplete lose screen and aim."""
    raw = _raw(years=8, **{"light.alpha": 1e-6, "network.enabled": False})
    raw["events"] = [{"kind": "shepherds", "year": 0, "group": {"first": 0, "count": 50}},
                     {"kind": "set", "year": 1, "key": "impurity.rate", "value": 5.0}]
    init, step = build(build_scenario(raw))
    st = init()
    st, _ = step(st)
    st.screen[int(st.spark_start[50]):] = 0.5 * st.size[int(st.spark_start[50]):]
    st = st.replace(**{k: v.copy() for k, v in st.arrays().items()})
    lost = 0
    for _ in range(7):
        st, row = step(st)
        lost += row["lost_aim"]
    done = slice(0, int(st.spark_start[50]))
    assert (st.screen[done] == st.size[done]).all() and st.holding[:50].all() and st.complete[:50].all()
    assert (st.screen[int(st.spark_start[50]):] < 0.5 * st.size[int(st.spark_start[50]):]).all()
    assert lost > 0


# ----------------------------------------------------------------- shepherds
def test_a_shepherd_before_the_messiah_era_serves_its_generation_only():
    """A shepherds event in year 45 (generations of 40 years, Messiah from 200): the soul is a
    shepherd in years 45-79, not from year 80 (the next generation), and stays complete; the
    shepherds' light comes with it and goes with it."""
    raw = _raw(years=100, **{"generations.messiah_from": 200, "generations.torah_from": 100, "light.alpha": 0.05})
    raw["events"] = [{"kind": "shepherds", "year": 45, "group": {"first": 7, "count": 1}, "label": "Moses"}]
    sim = simulate(build_scenario(raw))
    sh = sim.metrics["shepherds"]
    assert (sh[:45] == 0).all() and (sh[45:80] == 1).all() and (sh[80:] == 0).all()
    assert sim.state.complete[7] == 1 and sim.state.shepherd[7] == 0 and sim.state.completed_year[7] == 45


def test_shepherds_by_events_only():
    """generations.shepherds = "events": in the Messiah era complete souls do not become
    shepherds; an event in the era makes one for good."""
    base = {"years": 90, "generations.messiah_from": 20, "generations.torah_from": 10, "light.alpha": 3.0}
    auto = simulate(make_scenario(**base))
    raw = _raw(**base, **{"generations.shepherds": "events"})
    none = simulate(build_scenario(raw))
    raw["events"] = [{"kind": "shepherds", "year": 30, "group": {"first": 3, "count": 1}}]
    one = simulate(build_scenario(raw))
    assert auto.metrics["shepherds"][-1] == auto.metrics["complete"][-1] > 1
    assert none.metrics["shepherds"].max() == 0 and none.metrics["complete"][-1] > 1
    assert (one.metrics["shepherds"][30:] == 1).all() and one.state.shepherd[3] == 1


# ----------------------------------------------------------------- what a user reads
def test_illumination_in_souls_parquet_uses_the_years_conductance(tmp_path):
    """Under a dim light (0.9 < A) the worlds sink; souls.parquet's illumination must be
    lam W ((1 - omega) c + omega G) with the worlds' W of the last year, computed here by hand
    from MODEL.md's recursion of the four worlds."""
    res = tikkun.run(preset="quick", souls=2000, years=50, overrides={"light.light": 0.9}, out=tmp_path / "r")
    sc = res.scenario
    u = np.full(4, sc.worlds.initial_unity)
    for _ in range(50):
        lam_w = 0.9
        for w in range(4):
            target = min(1.0, lam_w / 1.0)
            lam_w *= u[w]  # the light reaching the next world passes through this one's old unity
            u[w] += sc.worlds.rho * (target - u[w])
    metrics = pq.read_table(tmp_path / "r" / "metrics.parquet").to_pydict()
    souls = pq.read_table(tmp_path / "r" / "souls.parquet").to_pydict()
    W = float(np.prod(u))
    assert W < 0.5
    assert metrics["conductance"][-1] == pytest.approx(W, rel=1e-9)
    c = np.asarray(souls["cleansing"], dtype=np.float64)
    G = metrics["weakest_link"][-1]
    np.testing.assert_allclose(souls["illumination"], 0.9 * W * (0.5 * c + 0.5 * G), rtol=1e-9)
    assert np.mean(souls["illumination"]) == pytest.approx(metrics["illumination_mean"][-1], rel=1e-5)


def test_every_loss_of_the_aim_is_counted():
    """With regain = 1 every soul holds the aim at the start of each year, so the year's
    losses are exactly the souls not holding it at its end."""
    sim = simulate(make_scenario(**{"souls.regain": 1.0, "souls.steadiness": 0.3, "years": 40}))
    m = sim.metrics
    lost, holding = m["lost_aim"], m["holding_aim"]
    assert (lost == 300 - holding).all() and lost[10:15].sum() > 0


def test_completed_year_and_unity_mean(tmp_path):
    """completed_year: the number of souls complete by year t equals the yearly count of
    complete souls; unity_mean: each soul's sparks' mean unity, by a loop over the souls."""
    res = tikkun.run(preset="quick", souls=1500, years=200, overrides={"light.alpha": 0.6}, out=tmp_path / "r")
    souls = pq.read_table(tmp_path / "r" / "souls.parquet")
    cy = souls.column("completed_year")
    assert cy.null_count == int((~np.asarray(souls.column("complete"))).sum()) > 0
    years = np.nan_to_num(cy.to_numpy(zero_copy_only=False).astype(np.float64), nan=-1).astype(np.int64)
    m = res.metrics
    for t in range(0, 200, 7):
        assert int(((years >= 0) & (years <= t)).sum()) == m["complete"][t], t
    st = res.simulation.state
    want = [float(np.mean(st.unity[st.spark_start[i]:st.spark_start[i + 1]].astype(np.float64)))
            for i in range(st.n_souls)]
    np.testing.assert_allclose(souls.column("unity_mean").to_numpy(), want, rtol=1e-12)


def test_summary_names_the_events_never_reached_and_the_genesis(tmp_path):
    """A run that ends before some of its events lists them; a run with a vessel reports its
    final unity and mixing (those of genesis.parquet's last row) and the sparks' mean unity."""
    raw = _raw(**{"light.alpha": 50.0, "years": 300, "run.stop_at_end": True, "souls.count": 60})
    raw["genesis"] = {"n": 32, "stages": [{"kind": "separate"}, {"kind": "approach", "duration": 10.0},
                                          {"kind": "strike", "duration": 300.0, "light": 1.5},
                                          {"kind": "withdraw", "duration": 20.0}, {"kind": "shatter"}]}
    raw["events"] = [{"kind": "scale", "year": 250, "until": 260, "key": "light.light", "factor": 2.0, "label": "late"}]
    t0 = time.perf_counter()
    res = tikkun.run(build_scenario(raw), out=tmp_path / "r")
    elapsed = time.perf_counter() - t0
    s = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert s["end_year"] is not None and s["end_year"] < 250
    assert s["events_not_reached"] == [{"index": 0, "kind": "scale", "label": "late", "year": 250}]
    g = pq.read_table(tmp_path / "r" / "genesis.parquet").to_pydict()
    seconds = s["genesis"].pop("seconds")  # the genesis' own time, which wall_seconds (the years') leaves out
    assert s["genesis"] == {"final_unity": g["unity"][-1], "final_mixing": g["mixing"][-1]}
    assert 0 < seconds and seconds + s["wall_seconds"] <= elapsed
    assert s["sparks_unity_mean"] == pytest.approx(float(res.simulation.state.unity.astype(np.float64).mean()))
    assert 0.0 < s["sparks_unity_mean"] < 1.0


def test_a_resumed_run_with_a_vessel_keeps_the_seconds_of_its_genesis(tmp_path):
    from test_resume import Cut, _crash_after

    raw = _raw(**{"years": 40, "souls.count": 60})
    raw["genesis"] = {"n": 32, "stages": [{"kind": "separate"}, {"kind": "strike", "duration": 50.0, "light": 1.5},
                                          {"kind": "shatter"}]}
    with pytest.raises(Cut):
        tikkun.run(build_scenario(raw), out=tmp_path / "r", checkpoint_every=10, progress=_crash_after(25))
    meta = rf.checkpoint_meta(tmp_path / "r")
    assert meta["genesis_seconds"] > 0
    res = tikkun.resume(tmp_path / "r")
    assert res.summary["genesis"]["seconds"] == meta["genesis_seconds"]
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["genesis"]["seconds"] == meta["genesis_seconds"]


def test_event_option_appends_to_the_history(tmp_path):
    """--event adds an event without replacing the scenario's own; a set event takes a label;
    the run reports events that never came."""
    env_args = [sys.executable, "-m", "tikkun", "run", "--preset", "quick", "--souls", "500", "--years", "250", "-q",
                "--set", "light.alpha=0.5"]
    out = tmp_path / "r"
    proc = subprocess.run([*env_args, "--out", str(out),
                           "--event", '{kind = "set", year = 30, key = "light.practice", value = 0.0, label = "drought"}'],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    sc = load_scenario(out / "scenario.toml")
    assert [(e.kind, e.label) for e in sc.events] == [("shepherds", ""), ("set", "drought")]
    m = pq.read_table(out / "metrics.parquet").to_pydict()
    assert m["practice"][29] == 1.0 and m["practice"][30] == 0.0
    bad = subprocess.run([*env_args, "--out", str(tmp_path / "bad"), "--event", "{kind = 'set', year = }"],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and "--event" in bad.stderr and not (tmp_path / "bad").exists()


def test_complete_event_spares_the_smallest_spark():
    """A ``complete`` event with spare = "smallest": every soul complete but the owner of the
    smallest spark (found here by a plain argmin), none a shepherd; G is that spark's share;
    every complete soul shines lam W ((1 - omega) + omega G), short of full (002: deficient in
    every soul while a tiny part of a tiny spark is missing)."""
    raw = _raw(years=12, **{"light.alpha": 1e-3, "network.enabled": False})
    raw["events"] = [{"kind": "complete", "year": 10, "group": {"share": 1.0}, "spare": "smallest", "label": "all but one"}]
    init, step = build(build_scenario(raw))
    st = init()
    for _ in range(10):
        st, row = step(st)
    smallest = int(np.argmin(st.size))
    owner = int(np.nonzero(st.spark_start <= smallest)[0][-1])
    st, row = step(st)  # year 10: the event, then the year's growth
    assert row["complete"] == 299 and row["shepherds"] == 0 and st.complete[owner] == 0
    frac = float(st.screen[smallest]) / float(st.size[smallest])
    assert row["weakest_link"] == pytest.approx(frac, rel=1e-6) and 0 < frac < 1
    assert st.completed_year[owner] == -1 and (np.delete(st.completed_year, owner) == 10).all()
    from tikkun.outputs.run_folder import souls_table

    metrics = {"conductance": np.array([row["conductance"]])}
    lam, W = row["light"], row["conductance"]
    ill = souls_table(st, build_scenario(raw), step.schedule, metrics)["illumination"]
    done = np.delete(np.arange(300), owner)
    np.testing.assert_allclose(ill[done], lam * W * (0.5 + 0.5 * row["weakest_link"]), rtol=1e-12)
    assert (ill < lam * W).all()
