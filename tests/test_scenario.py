"""Scenarios: defaults, round trip, and every kind of bad input named by its key."""

import tomllib

import pytest

from tikkun.scenario import (ScenarioError, add_events, apply_overrides, build_scenario, load_scenario,
                             parse_event_options, parse_set_options, preset_names, scenario_to_toml)
from tikkun.scenario.loading import _with_horizon
from tikkun.scenario.schema import Scenario


def test_presets_load_and_round_trip():
    assert {"history", "quick"} <= set(preset_names())
    for name in preset_names():
        sc = load_scenario(preset=name)
        again = build_scenario(tomllib.loads(scenario_to_toml(sc)))
        assert again == sc
    h = load_scenario(preset="history")
    assert h.souls.count == 600_000 and h.run.years == 6000


def test_every_field_has_a_description():
    def walk(model):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, Scenario.__mro__[1]):
                walk(ann)

    for section in ("run", "souls", "sparks", "light"):
        walk(Scenario.model_fields[section].annotation)


@pytest.mark.parametrize("raw, needle", [
    ({"souls": {"cuont": 5}}, "souls.cuont: unknown key (did you mean 'count'?)"),
    ({"souls": {"count": -5}}, "souls.count"),
    ({"souls": {"count": 0}}, "souls.count"),
    ({"run": {"years": 0}}, "run.years"),
    ({"light": {"alpha": "fast"}}, "light.alpha"),
    ({"light": {"kappa0": 1.5}}, "light.kappa0"),
    ({"light": {"alpha": float("nan")}}, "light.alpha: nan"),
    ({"light": {"light": float("inf")}}, "light.light: inf"),
    ({"sparks": {"unity": {"kind": "gauss"}}}, "sparks.unity"),
    ({"sparks": {"unity": {"kind": "uniform", "low": 0.8, "high": 0.2}}}, "high"),
    ({"events": [{"kind": "set", "year": 7000, "key": "light.light", "value": 1}]}, "past the horizon"),
    ({"events": [{"kind": "scale", "year": 10, "until": 7000, "key": "light.light", "factor": 2}]}, "past the horizon"),
    ({"events": [{"kind": "set", "year": 1, "key": "light.lihgt", "value": 1}]}, "did you mean 'light.light'"),
    ({"events": [{"kind": "shepherds", "year": 1, "group": {"souls": [700000]}}]}, "souls.count"),
    ({"events": [{"kind": "policy", "year": 1, "group": {"first": 3}, "regain": 1}]}, "first needs count"),
    ({"events": [{"kind": "policy", "year": 1, "group": {"souls": [1]}}]}, "at least one of"),
])
def test_bad_input_names_the_key(raw, needle):
    with pytest.raises(ScenarioError) as info:
        build_scenario(raw)
    assert needle in str(info.value)


def test_bad_files(tmp_path):
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("this is = = not toml")
    with pytest.raises(ScenarioError, match="not a valid TOML"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="unknown preset 'quik' \\(did you mean 'quick'\\?\\)"):
        load_scenario(preset="quik")


def test_years_override_trims_events():
    sc = load_scenario(preset="history", years=2460)
    assert [(e.label, e.year, e.until) for e in sc.events] == [("before the Torah", 0, 2448), ("exodus", 2448, 2460)]
    sc = load_scenario(preset="history", years=5800)
    assert [(e.label, e.until) for e in sc.events][-1] == ("the media", None)  # to the horizon, as before


def test_history_breaks_the_vessel_first():
    """MODEL.md phase 1 (r2): the history's vessel is struck, and breaks when the light leaves
    it: separate, approach, strike, withdraw, shatter on a 256 x 256 vessel."""
    h = load_scenario(preset="history")
    assert h.genesis is not None and h.genesis.n == 256
    assert [s.kind for s in h.genesis.stages] == ["separate", "approach", "strike", "withdraw", "shatter"]


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_runs(name, tmp_path):
    """Smoke test: every shipped scenario runs end to end (shrunk: few souls, few years, a
    small vessel), writes its folder and reports its genesis when it has one."""
    import tikkun

    sc = load_scenario(preset=name)
    overrides = {"souls.count": 2000}
    if sc.genesis is not None:
        overrides["genesis.n"] = 32
    res = tikkun.run(preset=name, years=5, overrides=overrides, out=tmp_path / name)
    assert res.summary["years_run"] == 5 and len(res.metrics["year"]) == 5
    assert (tmp_path / name / "metrics.parquet").exists()
    if sc.genesis is not None:
        assert (tmp_path / name / "genesis.parquet").exists()
        assert 0.0 < res.metrics["u_assiya"][0] <= 1.0


# ---------------------------------------------------------------- the messages of bad input, to the letter
@pytest.mark.parametrize("raw, lines", [
    # an unknown key is named by its full path, with the nearest known key and the keys allowed there
    ({"sould": {}}, ["sould: unknown key (did you mean 'souls'?); allowed here: name, description, run, souls, "
                     "sparks, light, network, impurity, generations, worlds, genesis, events"]),
    ({"sparks": {"unity": {"kind": "beta", "aa": 3}}},
     ["sparks.unity.aa: unknown key (did you mean 'a'?); allowed here: kind, a, b"]),
    ({"genesis": {"nn": 3}}, ["genesis.nn: unknown key (did you mean 'n'?); allowed here: n, A, kappa, M, block, "
                              "dt_initial, dt_min, dt_max, tolerance, stabilization, record_every, stages"]),
    ({"genesis": {"stages": [{"kind": "separate"}, {"kind": "approach", "duraton": 5}]}},
     ["genesis.stages[1].duraton: unknown key (did you mean 'duration'?); allowed here: kind, duration, light, "
      "stir_amplitude, stir_period, noise"]),
    ({"events": [{"kind": "set", "year": 1, "key": "light.light", "value": 1},
                 {"kind": "reset", "year": 1, "group": {"first": 0, "count": 0, "sould": 3}}]},
     ["events[1].group.count: Input should be greater than 0 (got 0)",
      "events[1].group.sould: unknown key (did you mean 'souls'?); allowed here: souls, first, count, share, lowest, highest"]),
    ({"events": [{"kind": "reset", "year": 1, "group": {"souls": [1, -2]}}]},
     ["events[0].group.souls[1]: Input should be greater than or equal to 0 (got -2)"]),
    # what was given is shown, except for a missing key (nothing was given) and a table
    ({"run": {"stop_at_end": "maybe"}},
     ["run.stop_at_end: Input should be a valid boolean, unable to interpret input (got 'maybe')"]),
    ({"events": [{"kind": "set", "year": 1, "key": "light.light"}]}, ["events[0].value: Field required"]),
    ({"events": [{"kind": "set", "year": 5, "until": 5, "key": "light.light", "value": 1}]},
     ["events[0]: until (5) must be after year (5)"]),
])
def test_bad_input_is_named_to_the_letter(raw, lines):
    with pytest.raises(ScenarioError) as info:
        build_scenario(raw)
    assert str(info.value).splitlines() == ["scenario: invalid scenario", *lines]


def test_set_options_are_key_value_pairs():
    assert parse_set_options([" light.alpha = 0.5", "run.seed=3", "name=a=b"]) == {
        "light.alpha": "0.5", "run.seed": "3", "name": "a=b"}
    for bad in ("light.alpha", "=5", "  =5"):
        with pytest.raises(ScenarioError, match="expected KEY=VALUE"):
            parse_set_options([bad])


def test_overrides_parse_toml_values_and_reach_any_depth():
    raw = {"light": {"alpha": 1.0}, "sparks": {"unity": {"kind": "beta", "a": 8.0}}}
    out = apply_overrides(raw, {"light.alpha": "0.5", "sparks.unity.a": "3", "run.stop_at_end": "false",
                                "name": "[1, 2]", "description": "two words", "run.years": 7})
    assert out == {"light": {"alpha": 0.5}, "sparks": {"unity": {"kind": "beta", "a": 3}},
                   "run": {"stop_at_end": False, "years": 7}, "name": [1, 2], "description": "two words"}
    assert raw["light"]["alpha"] == 1.0 and raw["sparks"]["unity"]["a"] == 8.0  # the input is left as it was
    with pytest.raises(ScenarioError, match="light is not a section"):
        apply_overrides({"light": 3}, {"light.alpha": "1"})
    with pytest.raises(ScenarioError, match="a dotted path"):
        apply_overrides({}, {"light..alpha": "1"})


def test_event_options_are_inline_tables_appended_to_the_history():
    ev = parse_event_options(['{kind = "reset", year = 5, group = {first = 0, count = 2}}'])
    assert ev == [{"kind": "reset", "year": 5, "group": {"first": 0, "count": 2}}]
    for bad in ("5", '"reset"', "[1, 2]"):
        with pytest.raises(ScenarioError, match="expected an inline table"):
            parse_event_options([bad])
    with pytest.raises(ScenarioError, match="not a TOML inline table"):
        parse_event_options(["{kind = "])
    raw = {"events": [{"kind": "set", "year": 1, "key": "light.light", "value": 2.0}]}
    out = add_events(raw, ev)
    assert out["events"] == raw["events"] + ev and len(raw["events"]) == 1
    out["events"][1]["group"]["count"] = 9
    assert ev[0]["group"]["count"] == 2  # a copy, not the caller's tables
    assert add_events({}, ev)["events"] == ev


def test_years_override_keeps_every_event_before_the_horizon_in_any_order():
    """Events are not sorted by year: one past the new horizon is dropped, the ones after it in
    the list are still kept; a span reaching past the horizon is cut at it, one ending on it
    kept as it is; a horizon of one year keeps the events of year 0."""
    raw = {"run": {"years": 100}, "events": [
        {"kind": "set", "year": 50, "key": "light.light", "value": 2.0},
        {"kind": "set", "year": 5, "until": 30, "key": "light.light", "value": 3.0},
        {"kind": "set", "year": 0, "until": 20, "key": "light.beta", "value": 0.5},
        {"kind": "set", "year": 0, "until": 2, "key": "light.eps", "value": 0.5}]}
    sc = build_scenario(_with_horizon(raw, 20))
    assert [(e.year, e.until) for e in sc.events] == [(5, 20), (0, 20), (0, 2)]
    sc = build_scenario(_with_horizon(raw, 1))
    assert sc.run.years == 1 and [(e.year, e.until) for e in sc.events] == [(0, 1), (0, 1)]
