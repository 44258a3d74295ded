"""Events: the schedule of global parameters and the actions on groups of souls."""

import numpy as np
import pytest

import naive
from conftest import make_scenario
from tikkun.rules import events as ev
from tikkun.scenario import build_scenario
from tikkun.rules.population import initial_state


def _with_events(events, **kw):
    raw = make_scenario(**kw).model_dump(mode="json", exclude_none=True)
    raw["events"] = events
    return build_scenario(raw)


def test_schedule_set_and_scale_in_order():
    sc = _with_events([
        {"kind": "scale", "year": 10, "until": 20, "key": "light.light", "factor": 1.5},
        {"kind": "set", "year": 15, "key": "light.light", "value": 2.0},
        {"kind": "scale", "year": 18, "until": 19, "key": "light.light", "factor": 0.5},
    ])
    lam = ev.parameter_schedule(sc)["light.light"]
    want = np.ones(60)
    want[10:20] *= 1.5
    want[15:] = 2.0
    want[18] *= 0.5
    np.testing.assert_array_equal(lam, want)


def test_group_selectors():
    sc = make_scenario()
    st = initial_state(sc)
    from tikkun.scenario.schema import Group

    assert list(ev.select_group(Group(souls=[5, 3, 5]), st, 1, 0, 0)) == [3, 5]
    assert list(ev.select_group(Group(first=10, count=3), st, 1, 0, 0)) == [10, 11, 12]
    low = ev.select_group(Group(lowest="hbd", count=4), st, 1, 0, 0)
    assert set(low) == set(np.argsort(st.hbd, kind="stable")[:4])
    high = ev.select_group(Group(highest="effort", count=2), st, 1, 0, 0)
    assert set(high) == set(np.argsort(-st.effort0, kind="stable")[:2])
    share = ev.select_group(Group(share=0.5), st, 1, 0, 0)
    assert 100 < share.size < 200
    # each soul's own draw (purpose 15, k = the event's index), as the plain-Python twin makes it
    souls = {"effort": st.effort}
    for seed, year, index in ((1, 0, 0), (1, 7, 0), (1, 0, 3), (4, 7, 3)):
        want = naive.select_group(Group(share=0.5), souls, seed, year, index)
        np.testing.assert_array_equal(ev.select_group(Group(share=0.5), st, seed, year, index), want)


def test_shepherds_reset_policy_act_on_the_group_only():
    sc = make_scenario()
    st = initial_state(sc)
    st.screen[:] = 0.5 * st.size
    st.cleansing[:] = 0.5
    events = _with_events([
        {"kind": "shepherds", "year": 1, "group": {"souls": [4]}},
        {"kind": "reset", "year": 1, "group": {"souls": [7]}, "hbd": 0.25},
        {"kind": "policy", "year": 1, "group": {"souls": [9, 10]}, "regain": 1.0, "warmth": 0.9, "effort": 3.0},
    ]).events
    before = {k: v.copy() for k, v in st.arrays().items()}
    ev.apply_soul_events(st, list(enumerate(events)), sc.run.seed, 1)
    a, b = st.spark_start[4], st.spark_start[5]
    assert (st.screen[a:b] == st.size[a:b]).all() and st.complete[4] and st.shepherd[4] and st.cleansing[4] == 1
    a, b = st.spark_start[7], st.spark_start[8]
    assert (st.screen[a:b] == 0).all() and st.cleansing[7] == 0 and st.hbd[7] == np.float32(0.25)
    # the edges that hear souls 9 and 10 carry their new warmth
    np.testing.assert_allclose(st.edge_weight, naive.edge_weights(st.neighbours, st.warmth), rtol=1e-6)
    assert st.regain[9] == 1.0 and st.warmth[10] == np.float32(0.9) and st.effort0[9] == 3.0 and st.effort[10] == 3.0
    untouched = np.setdiff1d(np.arange(st.n_souls), [4, 7, 9, 10])
    for name in ("cleansing", "hbd", "regain", "warmth", "effort0", "shepherd"):
        np.testing.assert_array_equal(getattr(st, name)[untouched], before[name][untouched])
    sparks_untouched = np.ones(st.n_sparks, bool)
    for i in (4, 7):
        sparks_untouched[st.spark_start[i]:st.spark_start[i + 1]] = False
    np.testing.assert_array_equal(st.screen[sparks_untouched], before["screen"][sparks_untouched])


def test_one_shepherd_lights_every_soul():
    """002, 'Moses is equal to 600,000': once a shepherd exists every soul gets phi_s."""
    from tikkun.engine import simulate

    common = {"souls.count": 200, "souls.effort_scale": 1e-6, "years": 40}
    without = simulate(make_scenario(**common))
    with_ = simulate(_with_events([{"kind": "shepherds", "year": 5, "group": {"souls": [0]}}], **common))
    assert with_.metrics["cleansing_mean"][-1] > 20 * without.metrics["cleansing_mean"][-1]
    assert with_.metrics["shepherds"][5] == 1 and without.metrics["shepherds"].max() == 0
