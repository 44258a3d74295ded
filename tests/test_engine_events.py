"""What mutation testing of engine/core.py and rules/events.py found unchecked: the judge when
soul 0 judges or nobody may, shepherds by events in and before the Messiah era, the first
rewiring of R = 1, the network of one neighbour, how groups rank souls, a complete event's
cleansing. Each expected value is worked out by hand from MODEL.md or taken from tests/naive.py."""

import numpy as np
import pytest

import naive
from conftest import make_scenario
from tikkun.rules import events as ev
from tikkun.scenario import build_scenario
from tikkun.scenario.schema import Group
from tikkun.rules.population import initial_state

SMALL = {"souls.count": 48}


def _with_events(events, **kw):
    raw = make_scenario(**{**SMALL, **kw}).model_dump(mode="json", exclude_none=True)
    raw["events"] = events
    return build_scenario(raw)


def _apply(st, events, year, **kw):
    """The rule on its own: ``events`` (dicts as in a scenario) applied to ``st`` in ``year``."""
    ev.apply_soul_events(st, list(enumerate(_with_events(events).events)), 1, year, **kw)


def _complete_since(st, i, year):
    """Soul ``i`` made complete by hand in ``year``: every screen at its size."""
    a, b = st.spark_start[i], st.spark_start[i + 1]
    st.screen[a:b] = st.size[a:b]
    st.cleansing[i], st.complete[i], st.completed_year[i] = 1.0, 1, year


# ------------------------------------------------------------ rules/events.py
def test_lowest_and_highest_rank_by_the_field_they_name():
    """A group ranks souls by the field it names: attachment and cleansing as they are, effort by
    the baseline e0 (what a policy sets), never by another field (MODEL.md, "Events")."""
    st = initial_state(make_scenario(**SMALL))
    n = st.n_souls
    st.effort0[:] = np.arange(n, dtype=np.float32)           # e0 rises with the index
    st.effort[:] = np.arange(n, dtype=np.float32)[::-1]      # this year's effort falls with it
    st.attachment[:] = 0.5
    st.attachment[[7, 3, 11]] = [0.1, 0.2, 0.05]
    st.cleansing[:] = 0.0
    st.cleansing[[42, 8]] = [1.0, 0.7]
    assert ev.select_group(Group(lowest="attachment", count=3), st, 1, 0, 0).tolist() == [3, 7, 11]
    assert ev.select_group(Group(highest="cleansing", count=2), st, 1, 0, 0).tolist() == [8, 42]
    assert ev.select_group(Group(highest="effort", count=2), st, 1, 0, 0).tolist() == [n - 2, n - 1]


def test_a_shepherds_event_dates_only_the_souls_not_yet_complete():
    """Souls not yet complete complete in the event's year; a soul complete since year 3 keeps 3."""
    st = initial_state(make_scenario(**SMALL))
    _complete_since(st, 5, 3)
    _apply(st, [{"kind": "shepherds", "year": 7, "group": {"souls": [4, 5]}}], 7)
    assert st.complete[[4, 5]].tolist() == [1, 1]
    assert st.completed_year[[4, 5]].tolist() == [7, 3]


def test_a_complete_event_leaves_its_souls_at_cleansing_one():
    """Every screen at its size, so c_i = sum_j s_j / sum_j D_j = 1 (002), computed here by hand."""
    st = initial_state(make_scenario(**SMALL))
    _apply(st, [{"kind": "complete", "year": 1, "group": {"souls": [2, 6]}}], 1)
    for i in (2, 6):
        a, b = st.spark_start[i], st.spark_start[i + 1]
        by_hand = st.screen[a:b].astype(np.float64).sum() / st.size_total[i]
        assert by_hand == pytest.approx(1.0, rel=1e-6)
        assert st.cleansing[i] == np.float32(1.0)



def test_a_shepherds_event_leaves_its_souls_holding_the_aim():
    """The aim is a 0/1 flag (MODEL.md, "Aim"): a shepherd holds it, as 1 exactly (the soul pass
    counts holders by adding the flags)."""
    st = initial_state(make_scenario(**SMALL))
    st.holding[[4, 5]] = 0
    _apply(st, [{"kind": "shepherds", "year": 7, "group": {"souls": [4, 5]}}], 7)
    assert st.holding[[4, 5]].tolist() == [1, 1]
    assert st.shepherd[[4, 5]].tolist() == [1, 1]


def test_a_complete_event_dates_only_the_souls_not_yet_complete():
    """As for shepherds: souls completed by the event get its year; one complete since year 3 keeps 3."""
    st = initial_state(make_scenario(**SMALL))
    _complete_since(st, 5, 3)
    st.holding[4] = 0
    _apply(st, [{"kind": "complete", "year": 9, "group": {"souls": [4, 5]}}], 9)
    assert st.complete[[4, 5]].tolist() == [1, 1]
    assert st.completed_year[[4, 5]].tolist() == [9, 3]
    assert st.holding[[4, 5]].tolist() == [1, 1]
    assert st.shepherd[[4, 5]].tolist() == [0, 0]  # complete, not a shepherd


def test_a_complete_event_that_spares_the_smallest_spark_leaves_its_soul_open():
    """spare = "smallest" (the missing spark): the group's smallest spark stays at screen 0, so its
    soul is not complete, has no year of completion, and its cleansing is its other sparks'
    sizes over all its sizes, computed here by hand; the group's other souls complete."""
    st = initial_state(make_scenario(**SMALL))
    group = [10, 11, 12]
    # the group's smallest spark made the middle soul's, so that souls lie on both sides of it
    sparks = np.concatenate([np.arange(st.spark_start[i], st.spark_start[i + 1]) for i in group])
    smallest = int(st.spark_start[11])
    st.size[smallest] = np.float32(st.size[sparks].min() / 2)
    st.size_total[11] = st.size[st.spark_start[11]:st.spark_start[12]].astype(np.float64).sum()
    owner = 11
    _apply(st, [{"kind": "complete", "year": 4, "group": {"souls": group}, "spare": "smallest"}], 4)
    assert st.screen[smallest] == 0.0
    assert st.complete[owner] == 0 and st.completed_year[owner] == -1
    a, b = st.spark_start[owner], st.spark_start[owner + 1]
    others = [j for j in range(a, b) if j != smallest]
    by_hand = sum(float(st.size[j]) for j in others) / sum(float(st.size[j]) for j in range(a, b))
    assert float(st.cleansing[owner]) == pytest.approx(by_hand, rel=1e-6)
    rest = [i for i in group if i != owner]
    assert st.complete[rest].tolist() == [1, 1] and st.completed_year[rest].tolist() == [4, 4]


@pytest.mark.parametrize("before, flag, after", [(0, 2, 2), (0, 1, 1), (2, 2, 2), (2, 1, 1), (1, 2, 1), (1, 1, 1)])
def test_a_shepherds_event_keeps_a_shepherd_for_good(before, flag, after):
    """Flags (rules/shepherds.py): 1 for good (the Messiah era), 2 until the generation ends. An
    event gives its own flag, except that a shepherd for good stays one (002: "permanently")."""
    st = initial_state(make_scenario(**SMALL))
    st.shepherd[3] = before
    _apply(st, [{"kind": "shepherds", "year": 2, "group": {"souls": [3]}}], 2, shepherd_flag=flag)
    assert st.shepherd[3] == after


def test_a_reset_gives_a_fresh_start_holding_the_aim():
    """reset (MODEL.md, "Events"): screens 0, cleansing 0, not complete, no year of completion, not
    a shepherd, the aim held (1), effort back to its baseline."""
    st = initial_state(make_scenario(**SMALL))
    a, b = st.spark_start[8], st.spark_start[9]
    st.screen[a:b] = st.size[a:b]
    st.cleansing[8], st.complete[8], st.completed_year[8], st.shepherd[8], st.holding[8] = 1.0, 1, 5, 1, 0
    st.effort[8] = st.effort0[8] + 1.0
    _apply(st, [{"kind": "reset", "year": 9, "group": {"souls": [8]}}], 9)
    assert st.screen[a:b].tolist() == [0.0] * (b - a)
    assert (st.cleansing[8], st.complete[8], st.completed_year[8], st.shepherd[8], st.holding[8]) == (0.0, 0, -1, 0, 1)
    assert st.effort[8] == st.effort0[8]


def test_an_event_on_a_soul_of_one_spark_corrects_that_spark():
    """A soul's sparks are 1 + Poisson: a soul with exactly one spark has it set to its size too."""
    st = initial_state(make_scenario(**SMALL))
    counts = np.diff(st.spark_start)
    one = int(np.flatnonzero(counts == 1)[0])
    j = int(st.spark_start[one])
    st.screen[j] = 0.0
    _apply(st, [{"kind": "complete", "year": 1, "group": {"souls": [one]}}], 1)
    assert st.screen[j] == st.size[j]


def test_an_event_that_names_nobody_does_not_stop_the_next():
    """A group may be empty (a share that draws no soul); the year's later events still act."""
    sc = _with_events([{"kind": "reset", "year": 3, "group": {"share": 1e-12}},
                       {"kind": "complete", "year": 3, "group": {"souls": [6]}}])
    st = initial_state(sc)
    assert ev.select_group(sc.events[0].group, st, sc.run.seed, 3, 0).size == 0
    ev.apply_soul_events(st, ev.soul_events_by_year(sc)[3], sc.run.seed, 3)
    assert st.complete[6] == 1


def test_a_global_event_listed_after_a_soul_event_still_acts():
    """parameter_schedule reads every set and scale event, wherever the soul events lie in the list."""
    sc = _with_events([{"kind": "reset", "year": 5, "group": {"souls": [1]}},
                       {"kind": "set", "year": 10, "key": "light.light", "value": 2.5}])
    lam = ev.parameter_schedule(sc)["light.light"]
    assert lam[9] == sc.light.light and lam[10:].tolist() == [2.5] * (sc.run.years - 10)

# ------------------------------------------------------------ engine/core.py
def test_no_automatic_shepherds_when_shepherds_come_by_events():
    """generations.shepherds = "events" (r2): complete souls in the Messiah era do not become shepherds."""
    from tikkun.engine import simulate

    sc = _with_events([{"kind": "complete", "year": 0, "group": {"first": 0, "count": 3}}],
                      **{"generations.shepherds": "events", "generations.torah_from": 0,
                         "generations.messiah_from": 0, "years": 2})
    sim = simulate(sc)
    assert (sim.metrics["complete"] >= 3).all()
    assert (sim.metrics["shepherds"] == 0).all() and (sim.state.shepherd == 0).all()


def test_a_lone_shepherd_of_a_generation_steps_down_at_its_end():
    """002: a shepherds event before the Messiah era lasts to its generation's end, also when
    it made one shepherd only (generations of 10 years: shepherd in years 3-9, not from 10)."""
    from tikkun.engine import simulate

    sim = simulate(_with_events([{"kind": "shepherds", "year": 3, "group": {"souls": [0]}}],
                                **{"generations.length": 10, "years": 12}))
    sh = sim.metrics["shepherds"]
    assert sh[:3].tolist() == [0] * 3 and sh[3:10].tolist() == [1] * 7 and sh[10:].tolist() == [0, 0]
    assert sim.state.shepherd[0] == 0 and sim.state.complete[0] == 1


def test_shepherds_made_by_events_in_the_messiah_era_stay_from_its_first_year():
    """(r2) An event in the Messiah era makes shepherds for good, in its first year (20) as
    later (25): both are still shepherds after the generation's start at year 30."""
    from tikkun.engine import simulate

    sc = _with_events([{"kind": "shepherds", "year": 20, "group": {"souls": [0]}},
                       {"kind": "shepherds", "year": 25, "group": {"souls": [1]}}],
                      **{"generations.shepherds": "events", "generations.length": 10,
                         "generations.torah_from": 10, "generations.messiah_from": 20, "years": 31})
    sim = simulate(sc)
    sh = sim.metrics["shepherds"]
    assert (sh[:20] == 0).all() and (sh[20:25] == 1).all() and (sh[25:] == 2).all()
    assert sim.state.shepherd[:2].tolist() == [1, 1]  # shepherds.FOREVER


def test_the_judge_may_be_soul_zero():
    """Messiah era from year 0 (any soul may judge); soul 0 made complete in year 0 is the only
    soul with cleansing above 0, so it judges with c_judge = 1 and J = kappa0 + (1 - kappa0) = 1."""
    from tikkun.engine import simulate

    sc = _with_events([{"kind": "complete", "year": 0, "group": {"souls": [0]}}],
                      **{"generations.torah_from": 0, "generations.messiah_from": 0, "years": 1})
    m = simulate(sc).metrics
    assert m["judge"][0] == 0 and m["judge_cleansing"][0] == 1.0 and m["holiness"][0] == pytest.approx(1.0)


def test_without_an_eligible_soul_there_is_no_judge_and_c_judge_is_zero():
    """No special soul and no Messiah era: nobody may judge, so c_judge = 0 and J = kappa0 in every
    year, although the last soul (made complete in year 5) has cleansing 1 at the start of year 10."""
    from tikkun.engine import simulate

    sc = _with_events([{"kind": "complete", "year": 5, "group": {"souls": [47]}}],
                      **{"souls.special_share": 0.0, "generations.length": 10, "years": 12})
    sim = simulate(sc)
    m = sim.metrics
    assert (m["judge"] == -1).all() and (m["judge_cleansing"] == 0.0).all()
    np.testing.assert_allclose(m["holiness"], sc.light.kappa0, rtol=1e-12)
    assert sim.state.cleansing[47] == 1.0


def test_rewiring_every_year_starts_in_year_one():
    """004, every R years: with R = 1 the first rewiring is in year 1, not at creation (year 0),
    even with a soul cleansed by an event in year 0; year 1's rewiring is the naive twin's."""
    from tikkun.engine import build

    sc = _with_events([{"kind": "shepherds", "year": 0, "group": {"souls": [0]}}],
                      **{"network.rewire_every": 1, "network.p_rewire": 1.0, "years": 2})
    init, step = build(sc)
    st = init()
    graph0 = st.neighbours.copy()
    st, row0 = step(st)
    assert row0["rewired"] == 0
    np.testing.assert_array_equal(st.neighbours, graph0)
    before, cleansing = st.neighbours.copy(), st.cleansing.copy()
    st, row1 = step(st)
    want = naive.rewire(sc.run.seed, 1, 1.0, before, cleansing)
    assert (want != before).any()
    np.testing.assert_array_equal(st.neighbours, want)
    assert row1["rewired"] == int((want != before).any(axis=1).sum())


def test_warm_network_with_one_neighbour_by_hand():
    """k = 1: soul i hears one soul m, P_i = w_i w_m / w_m = w_i, so year 0's effort is
    e0_i + theta_max w_i (e0_m - e0_i) (MODEL.md, Friedkin-Johnsen; e0_i with a cold m)."""
    from tikkun.engine import build

    sc = make_scenario(**{**SMALL, "network.k": 1, "years": 1})
    init, step = build(sc)
    st = init()
    e0, w = st.effort0.astype(np.float64), st.warmth.astype(np.float64)
    m = st.neighbours[:, 0]
    want = np.where(w[m] > 0, e0 + sc.network.theta_max * w * (e0[m] - e0), e0)
    st, _ = step(st)
    assert np.abs(want - e0).max() > 1e-3  # the network moves efforts
    np.testing.assert_allclose(st.effort, want, rtol=1e-5, atol=1e-6)
