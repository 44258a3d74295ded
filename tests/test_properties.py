"""Property-based tests (Hypothesis) where the input space is large: every numeric key of a
scenario against its range, and the counter-based generator against chunking and order."""

import tomllib

import annotated_types as at
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import naive
from tikkun import random as rng
from tikkun.scenario import ScenarioError, build_scenario, scenario_to_toml
from tikkun.scenario.schema import GLOBAL_KEYS, GLOBAL_OPEN, Scenario

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _numeric_keys():
    """``(section.key, type, lo, lo_inclusive, hi, hi_inclusive)`` of every int or float key of the
    scenario's sections, with the bounds the schema declares."""
    out = []
    for section, field in Scenario.model_fields.items():
        model = field.annotation
        if not (isinstance(model, type) and hasattr(model, "model_fields")):
            continue
        for name, f in model.model_fields.items():
            if f.annotation not in (int, float):
                continue
            lo, lo_in, hi, hi_in = None, True, None, True
            for m in f.metadata:
                if isinstance(m, at.Ge):
                    lo, lo_in = m.ge, True
                elif isinstance(m, at.Gt):
                    lo, lo_in = m.gt, False
                elif isinstance(m, at.Le):
                    hi, hi_in = m.le, True
                elif isinstance(m, at.Lt):
                    hi, hi_in = m.lt, False
            out.append((f"{section}.{name}", f.annotation, lo, lo_in, hi, hi_in))
    return out


KEYS = _numeric_keys()
# keys whose valid values depend on another key: what the other key must then be
COMPANIONS = {
    "souls.count": {"network.enabled": False},  # k < count only matters with a network
    "generations.torah_from": {"generations.messiah_from": 2 ** 41},  # above any torah_from drawn
    "generations.messiah_from": {"generations.torah_from": 0},
    "network.k": {"souls.count": 1000},
}


def _raw(key, value):
    raw = {}
    for dotted, v in {**COMPANIONS.get(key, {}), key: value}.items():
        section, name = dotted.split(".")
        raw.setdefault(section, {})[name] = v
    return raw


def test_the_probabilities_of_the_model_are_bounded_by_0_and_1():
    """MODEL.md's chances, shares and unities lie in [0, 1]: the schema says so for each (the
    properties below then test the schema's bounds for every key)."""
    bounds = {k: (lo, lo_in, hi, hi_in) for k, _, lo, lo_in, hi, hi_in in KEYS}
    for key in ("souls.steadiness", "souls.regain", "souls.special_share", "light.kappa0", "light.omega",
                "light.conductance", "network.theta_max", "network.p_rewire", "network.rewired_share",
                "impurity.shock_size", "worlds.rho", "worlds.initial_unity"):
        assert bounds[key] == (0, True, 1, True), key
    assert len(KEYS) > 30  # the schema was read: every section's numeric keys


@st.composite
def inside(draw):
    key, kind, lo, lo_in, hi, hi_in = draw(st.sampled_from(KEYS))
    if kind is int:
        a = (lo if lo_in else lo + 1) if lo is not None else -(2 ** 40)
        b = (hi if hi_in else hi - 1) if hi is not None else 2 ** 40
        if key == "souls.count":
            b = min(b, 10_000)  # only validated, never allocated; keep it small anyway
        value = draw(st.integers(a, b))
    else:
        value = draw(st.floats(lo if lo is not None else -1e9, hi if hi is not None else 1e9,
                               exclude_min=not lo_in, exclude_max=not hi_in, allow_nan=False))
    return key, value


@st.composite
def outside(draw):
    key, kind, lo, lo_in, hi, hi_in = draw(st.sampled_from([k for k in KEYS if k[2] is not None or k[4] is not None]))
    sides = [s for s, b in (("below", lo), ("above", hi)) if b is not None]
    side = draw(st.sampled_from(sides))
    if kind is int:
        if side == "below":
            value = draw(st.integers(-(2 ** 40), lo - 1 if lo_in else lo))
        else:
            value = draw(st.integers(hi + 1 if hi_in else hi, hi + 2 ** 40))
    elif side == "below":
        value = draw(st.floats(-1e12, lo, exclude_max=lo_in, allow_nan=False))
    else:
        value = draw(st.floats(hi, 1e12 + hi, exclude_min=hi_in, allow_nan=False))
    return key, value


@SETTINGS
@given(inside())
def test_any_value_inside_a_keys_range_is_accepted_and_round_trips(case):
    key, value = case
    sc = build_scenario(_raw(key, value))
    section, name = key.split(".")
    assert getattr(getattr(sc, section), name) == value
    again = build_scenario(tomllib.loads(scenario_to_toml(sc)))
    assert again == sc
    assert getattr(getattr(again, section), name) == value


@SETTINGS
@given(outside())
def test_any_value_outside_a_keys_range_is_refused_with_the_key_named(case):
    key, value = case
    with pytest.raises(ScenarioError) as info:
        build_scenario(_raw(key, value))
    assert key in str(info.value)


@SETTINGS
@given(st.sampled_from(sorted(GLOBAL_KEYS)), st.floats(-1e9, 1e9, allow_nan=False), st.booleans())
def test_a_set_event_takes_exactly_its_keys_range(key, value, in_horizon):
    # the event's range is the section's own range for the key, its open bounds open
    bounds = {k: (lo_, lo_in, hi_, hi_in) for k, _, lo_, lo_in, hi_, hi_in in KEYS}
    lo, lo_in, hi, hi_in = bounds[key]
    assert GLOBAL_KEYS[key] == (lo, hi)
    raw = {"run": {"years": 100}, "events": [{"kind": "set", "year": 10, "until": 50 if in_horizon else 100,
                                              "key": key, "value": value}]}
    if (lo <= value if lo_in else lo < value) and (value <= hi if hi_in else value < hi):
        sc = build_scenario(raw)
        assert build_scenario(tomllib.loads(scenario_to_toml(sc))) == sc
    else:
        with pytest.raises(ScenarioError) as info:
            build_scenario(raw)
        assert key in str(info.value)


@pytest.mark.parametrize("key", sorted(GLOBAL_KEYS))
def test_a_set_event_at_each_bound_of_its_key_is_taken_or_refused_as_the_key_itself(key):
    """At each bound the event does what ``--set`` does with the key (``light.alpha = 0`` is
    refused both ways: its range is open below)."""
    for value in GLOBAL_KEYS[key]:
        direct = {**_raw(key, value), "run": {"years": 100}}
        event = {"run": {"years": 100}, "events": [{"kind": "set", "year": 10, "key": key, "value": value}]}
        outcomes = []
        for raw in (direct, event):
            try:
                build_scenario(raw)
                outcomes.append("taken")
            except ScenarioError as e:
                assert key in str(e)
                outcomes.append("refused")
        assert outcomes[0] == outcomes[1], (key, value, outcomes)
    assert [k for k in GLOBAL_KEYS if GLOBAL_OPEN[k][0]] == ["light.alpha"]


# ----------------------------------------------------------------- the counter-based generator
@SETTINGS
@given(seed=st.integers(0, 2 ** 62), year=st.integers(0, 10 ** 6), purpose=st.integers(0, 64), k=st.integers(0, 2 ** 20),
       entities=st.lists(st.integers(0, 2 ** 48), min_size=1, max_size=300), data=st.data())
def test_draws_do_not_depend_on_chunking_or_order(seed, year, purpose, k, entities, data):
    ents = np.array(entities, dtype=np.int64)
    whole = rng.uniforms(seed, year, ents, purpose, k)
    cuts = sorted(data.draw(st.lists(st.integers(0, ents.size), max_size=5)))
    parts = [rng.uniforms(seed, year, piece, purpose, k) for piece in np.split(ents, cuts)]
    assert np.concatenate(parts).tobytes() == whole.tobytes()
    order = np.array(data.draw(st.permutations(range(ents.size))), dtype=np.int64)
    assert rng.uniforms(seed, year, ents[order], purpose, k).tobytes() == whole[order].tobytes()
    # and each draw is the pure-Python SplitMix64 chain of its coordinates
    j = data.draw(st.integers(0, ents.size - 1))
    assert whole[j] == naive.uniform(seed, year, int(ents[j]), purpose, k)
    assert ((whole >= 0.0) & (whole < 1.0)).all()
