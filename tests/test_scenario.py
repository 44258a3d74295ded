"""Scenarios: defaults, round trip, and every kind of bad input named by its key."""

import re
import tomllib

import numpy as np
import pytest

from tikkun.scenario import (ScenarioError, add_events, apply_overrides, build_scenario, load_scenario,
                             parse_event_options, parse_set_options, preset_names, scenario_to_toml)
from tikkun.scenario.loading import _with_horizon, preset_text
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
    with pytest.raises(ScenarioError, match="no such scenario file") as info:
        load_scenario(tmp_path / "missing.toml")
    assert "preset" not in str(info.value)
    # a preset's name where a file goes: the file is missing, and the preset is named the way to run it
    with pytest.raises(ScenarioError, match=r"^history: no such scenario file \('history' is a preset: "
                                            r"--preset history on the command line, preset='history' in Python\)$"):
        load_scenario("history")
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
    ({"sould": {}}, [("sould: unknown key (did you mean 'souls'?); allowed here: name, description, run, souls, "
                      "sparks, light, network, impurity, generations, worlds, genesis, events")]),
    ({"sparks": {"unity": {"kind": "beta", "aa": 3}}},
     ["sparks.unity.aa: unknown key (did you mean 'a'?); allowed here: kind, a, b"]),
    ({"genesis": {"nn": 3}}, [("genesis.nn: unknown key (did you mean 'n'?); allowed here: n, A, kappa, M, block, "
                               "dt_initial, dt_min, dt_max, tolerance, stabilization, record_every, stages")]),
    ({"genesis": {"stages": [{"kind": "separate"}, {"kind": "approach", "duraton": 5}]}},
     [("genesis.stages[1].duraton: unknown key (did you mean 'duration'?); allowed here: kind, duration, light, "
       "stir_amplitude, stir_period, noise")]),
    ({"events": [{"kind": "set", "year": 1, "key": "light.light", "value": 1},
                 {"kind": "reset", "year": 1, "group": {"first": 0, "count": 0, "sould": 3}}]},
     ["events[1].group.count: Input should be greater than 0 (got 0)",
      "events[1].group.sould: unknown key (did you mean 'souls'?); allowed here: souls, first, count, share, lowest, highest"]),
    ({"events": [{"kind": "reset", "year": 1, "group": {"souls": [1, -2]}}]},
     ["events[0].group.souls[1]: Input should be greater than or equal to 0 (got -2)"]),
    # a required key misspelt is one problem, its "did you mean", not also "Field required"
    ({"events": [{"kind": "reset", "yeer": 10, "group": {"first": 0, "count": 1}}]},
     ["events[0].yeer: unknown key (did you mean 'year'?); allowed here: kind, year, group, label, hbd"]),
    ({"events": [{"kind": "set", "year": 1, "key": "light.light", "valeu": 1}]},
     ["events[0].valeu: unknown key (did you mean 'value'?); allowed here: kind, year, until, key, value, label"]),
    # what was given is shown, except for a missing key (nothing was given) and a table
    ({"run": {"stop_at_end": "maybe"}}, ["run.stop_at_end: Input should be true or false (got 'maybe')"]),
    ({"events": [{"kind": "set", "year": 1, "key": "light.light"}]}, ["events[0].value: Field required"]),
    ({"events": [{"kind": "set", "year": 5, "until": 5, "key": "light.light", "value": 1}]},
     ["events[0]: until (5) must be after year (5)"]),
    # a boolean is not a number (pydantic alone reads true as 1: network.k = true would run with k = 1)
    ({"network": {"k": True}}, ["network.k: Input should be a whole number, not true or false (got True)"]),
    # and a check across keys says nothing of the value pydantic made of it (souls.count 1 from true)
    ({"souls": {"count": True}}, ["souls.count: Input should be a whole number, not true or false (got True)"]),
    ({"light": {"beta": False}}, ["light.beta: Input should be a number, not true or false (got False)"]),
    ({"events": [{"kind": "reset", "year": 1, "group": {"souls": [3, True]}}]},
     ["events[0].group.souls[1]: Input should be a whole number, not true or false (got True)"]),
    ({"events": [{"kind": "set", "year": 1, "key": "light.light", "value": True}]},
     ["events[0].value: Input should be a number, not true or false (got True)"]),
    ({"genesis": {"stages": [{"kind": "separate"}, {"kind": "approach", "duration": True}]}},
     ["genesis.stages[1].duration: Input should be a number, not true or false (got True)"]),
    # nor is text (pydantic alone reads alpha = "0.2" as 0.2), nor 1 or "yes" a boolean
    ({"light": {"alpha": "0.2"}}, ["light.alpha: Input should be a number, not text (got '0.2'; write it without "
                                   "quotes)"]),
    ({"network": {"k": "8"}}, ["network.k: Input should be a whole number, not text (got '8'; write it without "
                               "quotes)"]),
    ({"events": [{"kind": "scale", "year": 1, "key": "light.light", "factor": "2"}]},
     ["events[0].factor: Input should be a number, not text (got '2'; write it without quotes)"]),
    # "nan" and "inf" read as numbers, but unquoted they are refused too: no hint to unquote them
    ({"light": {"light": "nan"}}, ["light.light: Input should be a number, not text (got 'nan')"]),
    ({"light": {"alpha": "-inf"}}, ["light.alpha: Input should be a number, not text (got '-inf')"]),
    ({"network": {"enabled": 1}}, ["network.enabled: Input should be true or false (got 1)"]),
    ({"sparks": {"inclusion": "yes"}}, ["sparks.inclusion: Input should be true or false (got 'yes')"]),
    # an event's kind, missing or misspelt, is named with the kinds allowed (not pydantic's "tag")
    ({"events": [{"year": 2}]}, ["events[0].kind: missing; allowed: set, scale, shepherds, complete, reset, policy"]),
    ({"events": [{"kind": "rest", "year": 2}]},
     ["events[0].kind: unknown kind 'rest' (did you mean 'reset'?); allowed: set, scale, shepherds, complete, reset, "
      "policy"]),
    # a bad stage is the one problem: not also "Tuple should have at least 1 item" for the list
    ({"genesis": {"stages": [{"kind": "separate", "lite": 1}]}},
     [("genesis.stages[0].lite: unknown key (did you mean 'light'?); allowed here: kind, duration, light, "
       "stir_amplitude, stir_period, noise")]),
    # NaN and infinity are told as every other problem: the origin first, then the key
    ({"light": {"alpha": float("nan")}}, ["light.alpha: nan is not allowed; give a finite number"]),
    # a group of no souls would be an event that does nothing, silently
    ({"events": [{"kind": "reset", "year": 1, "group": {"souls": []}}]},
     ["events[0].group.souls: List should have at least 1 item after validation, not 0"]),
    # a value where a section is expected, a list where a number is: what was given, in the user's words
    ({"light": 3}, ["light: Input should be a table of keys (a section) (got 3)"]),
    ({"light": {"alpha": [1, 2]}}, ["light.alpha: Input should be a valid number (got [1, 2])"]),
    # every problem at once, each once: a value of the wrong kind does not hide the others
    ({"light": {"alpah": 1, "beta": "x", "alpha": -3, "eps": float("inf")}, "souls": {"count": 0},
      "network": {"k": True}},
     ["light.eps: inf is not allowed; give a finite number",
      "light.beta: Input should be a number, not text (got 'x')",  # no number in quotes: no hint of them
      "network.k: Input should be a whole number, not true or false (got True)",
      "souls.count: Input should be greater than 0 (got 0)",
      "light.alpha: Input should be greater than 0 (got -3)",
      "light.alpah: unknown key (did you mean 'alpha'?); allowed here: alpha, light, practice, conductance, beta, "
      "eps, phi_s, kappa0, omega"]),
])
def test_bad_input_is_named_to_the_letter(raw, lines):
    with pytest.raises(ScenarioError) as info:
        build_scenario(raw)
    assert str(info.value).splitlines() == ["scenario: invalid scenario", *lines]


def test_numpy_numbers_and_booleans_are_taken_as_numbers_and_booleans():
    # what an API user computes with NumPy is of the right kind, though not a Python int or bool
    sc = build_scenario({"network": {"k": np.int64(6), "enabled": np.bool_(False)},
                         "light": {"alpha": np.float32(0.5)}, "souls": {"count": np.int32(1000)}})
    assert (sc.network.k, sc.network.enabled, sc.light.alpha, sc.souls.count) == (6, False, 0.5, 1000)


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
                   "run": {"stop_at_end": False, "years": 7}, "name": "[1, 2]", "description": "two words"}
    assert raw["light"]["alpha"] == 1.0 and raw["sparks"]["unity"]["a"] == 8.0  # the input is left as it was
    with pytest.raises(ScenarioError, match="light is not a section"):
        apply_overrides({"light": 3}, {"light.alpha": "1"})
    with pytest.raises(ScenarioError, match="a dotted path"):
        apply_overrides({}, {"light..alpha": "1"})


def test_a_text_key_keeps_the_text_as_given():
    """``--set name=2024`` was read as TOML, the number 2024, and refused as no text (``inf``
    likewise, ``description=true`` as a boolean, even given from Python as a ``str``): a key whose
    value is text takes the text as typed; quoted, TOML's string, as before."""
    for value in ("2024", "inf", "true", "[1, 2]"):
        assert load_scenario(preset="quick", overrides={"description": value}).description == value
    assert load_scenario(preset="quick", overrides={"name": "2024"}).name == "2024"
    assert load_scenario(preset="quick", overrides={"name": '"x2"'}).name == "x2"
    assert load_scenario(preset="quick", overrides={"light.alpha": "0.5"}).light.alpha == 0.5  # numbers still parse


@pytest.mark.parametrize("overrides", [{"run": "5", "run.seed": "3"}, {"light": "5", "light.alpha": "0.1"},
                                       {"run": 5}])
def test_a_value_set_for_a_section_is_named_as_the_mistake(overrides):
    """``--set run=5 --seed 3`` said "--set run.seed: run is not a section", blaming the seed:
    the override that gives a section a plain value is the one named."""
    section = next(k for k in overrides if "." not in k)
    with pytest.raises(ScenarioError, match=f"^--set {section}=5: {section} is a section, not a value; set its keys"):
        load_scenario(preset="quick", overrides=overrides)


def test_a_check_across_keys_does_not_echo_the_whole_scenario(tmp_path):
    """A check across keys is given the whole table; its message names the keys and stops there
    (a small scenario's table was appended as "(got {...})")."""
    path = tmp_path / "bad.toml"
    path.write_text("[network]\nk = 10\n[souls]\ncount = 5\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(source=path)
    (line,) = [ln for ln in str(err.value).splitlines() if ln.startswith("scenario: ")]
    assert "network.k = 10" in line and "(got" not in line


@pytest.mark.parametrize("kw, message", [
    (dict(source=5), "scenario: a scenario file's path (got int)"),
    (dict(preset=5), "preset: a preset's name as text"),
    (dict(preset="quick", overrides="light.alpha=1"), "overrides: a dict of dotted keys and values"),
    (dict(preset="quick", overrides={1: 2}), "(got a dict with the key 1)"),
    (dict(preset="quick", events={"kind": "reset", "year": 5}), "events: a list of dicts"),
    (dict(preset="quick", years="5"), "years: a whole number (got '5')"),
    (dict(preset="quick", years=2.0), "years: a whole number (got 2.0)"),
    (dict(preset="quick", years=True), "years: a whole number (got True)"),
])
def test_load_scenario_names_an_argument_of_the_wrong_kind(kw, message):
    """Python's TypeError or AttributeError came of these ('int' object is not iterable, 'str'
    object has no attribute 'items'), or a horizon of 2.0 years read on: now one message each."""
    with pytest.raises(ScenarioError, match=re.escape(message)):
        load_scenario(**kw)
    assert load_scenario(preset="quick", years=np.int64(300)).run.years == 300  # NumPy's whole numbers are whole


def test_a_key_set_inside_a_distribution_the_scenario_leaves_out_is_a_key_of_the_default_kind():
    """``--set sparks.unity.a=5`` on a scenario without ``sparks.unity`` was refused as
    ``sparks.unity.kind: missing``, which named no key the user gave: the table is the default's
    kind (Beta), so ``a`` is set on it; a key of another kind is named as not allowed there."""
    assert "unity" not in tomllib.loads(preset_text("quick")).get("sparks", {})
    sc = load_scenario(preset="quick", overrides={"sparks.unity.a": "5"})
    assert (sc.sparks.unity.kind, sc.sparks.unity.a, sc.sparks.unity.b) == ("beta", 5.0, Scenario().sparks.unity.b)
    with pytest.raises(ScenarioError, match=r"sparks.unity.low: unknown key; allowed here: kind, a, b"):
        load_scenario(preset="quick", overrides={"sparks.unity.low": "0.2"})
    sc = load_scenario(preset="quick", overrides={"sparks.unity.low": "0.2", "sparks.unity.kind": "uniform"})
    assert (sc.sparks.unity.kind, sc.sparks.unity.low) == ("uniform", 0.2)
    assert apply_overrides({}, {"light.alpha": "1"}) == {"light": {"alpha": 1}}  # a section of one kind: no kind


def test_a_sections_table_is_merged_key_by_key_and_a_key_given_twice_is_refused():
    """``--set 'light={beta=0.5}'`` changes beta and keeps the section's other keys, as a sweep's
    ``set`` does (it replaced the section: the preset's alpha fell back to the default); a table
    for a distribution replaces it (another kind's keys are not its own); a key given twice, in
    two --set or dotted and in a table, is refused (one silently won)."""
    raw = {"light": {"alpha": 0.069, "beta": 1.0}, "sparks": {"unity": {"kind": "beta", "a": 8.0, "b": 2.0}}}
    out = apply_overrides(raw, {"light": "{beta = 0.5}", "sparks.unity": '{kind = "uniform", low = 0.1, high = 0.2}'})
    assert out["light"] == {"alpha": 0.069, "beta": 0.5}
    assert out["sparks"]["unity"] == {"kind": "uniform", "low": 0.1, "high": 0.2}
    assert apply_overrides(raw, {"sparks": {"unity": {"kind": "constant", "value": 1.0}}})["sparks"]["unity"] == \
        {"kind": "constant", "value": 1.0}
    sc = load_scenario(preset="quick", overrides={"light": {"beta": 0.5}})
    assert (sc.light.alpha, sc.light.beta) == (load_scenario(preset="quick").light.alpha, 0.5)
    with pytest.raises(ScenarioError, match="--set light.alpha: given twice"):
        apply_overrides(raw, {"light.alpha": "0.1", "light": "{alpha = 0.2}"})
    with pytest.raises(ScenarioError, match=r"--set light.alpha: given twice \('0.1' and '0.2'\)"):
        parse_set_options(["light.alpha=0.1", "light.alpha = 0.2"])
    with pytest.raises(ScenarioError, match="a dotted path"):
        apply_overrides(raw, {1: 2})


def test_a_quoted_dotted_key_is_told_as_one_name_and_a_byte_order_mark_is_read(tmp_path):
    """``"light.alpha" = 0.1`` is one key named with a dot (TOML), which the scenario has not: the
    message says so and how to write the path (it said: unknown, did you mean 'light'); --set with a
    quoted key asks for it without quotes; a file saved with a byte-order mark reads as without."""
    quoted = tmp_path / "q.toml"
    quoted.write_text('"light.alpha" = 0.1\n')
    with pytest.raises(ScenarioError, match=r'"light.alpha": unknown key: a key in quotes is one name with a dot in it; '
                                            r"write the path light.alpha without quotes"):
        load_scenario(quoted)
    with pytest.raises(ScenarioError, match=r"give the key without quotes, e.g. light.alpha=0.1"):
        parse_set_options(['"light.alpha"=0.1'])
    bom = tmp_path / "bom.toml"
    bom.write_bytes("\ufeff[light]\nalpha = 0.25\n".encode("utf-8"))
    assert load_scenario(bom).light.alpha == 0.25


def test_a_sweep_file_run_as_a_scenario_is_named_so(tmp_path):
    """A sweep file given where a scenario goes: one line naming it and the command that runs it
    (it listed each of its keys as unknown); no key of a sweep file's is a scenario's."""
    from tikkun.scenario.loading import SWEEP_KEYS

    assert not set(SWEEP_KEYS) & set(Scenario.model_fields)
    f = tmp_path / "betas.toml"
    f.write_text('base = "quick"\nseeds = [20, 21]\n[grid]\n"light.beta" = [0.0, 1.0]\n')
    with pytest.raises(ScenarioError, match=r"betas.toml: a sweep file \(base, seeds, grid\), not a scenario: "
                                            r"tikkun sweep \S*betas.toml runs it$"):
        load_scenario(f)


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


def _accepted(raw):
    return build_scenario({"souls": {"count": 10}, "network": {"k": 2}, "run": {"years": 100}, **raw})


def _refused(raw, needle):
    with pytest.raises(ScenarioError) as info:
        _accepted(raw)
    assert needle in str(info.value)


def test_a_scenario_cannot_be_changed_once_built():
    """A run reads its scenario for all its years: every section is frozen."""
    sc = _accepted({})
    for section, key, value in (("light", "alpha", 2.0), ("souls", "count", 5), ("run", "seed", 1)):
        with pytest.raises(Exception, match="frozen"):
            setattr(getattr(sc, section), key, value)
    with pytest.raises(Exception, match="frozen"):
        sc.name = "other"


def test_the_edges_of_each_cross_check():
    """Each check between keys at its edge: equal bounds are fine where the text allows them,
    one step past them is refused with the key named."""
    _accepted({"sparks": {"unity": {"kind": "uniform", "low": 0.4, "high": 0.4}}})  # every spark 0.4
    _refused({"sparks": {"unity": {"kind": "uniform", "low": 0.4, "high": 0.3}}}, "high (0.3) must be >= low (0.4)")
    _accepted({"generations": {"torah_from": 300, "messiah_from": 300}})  # no era of Torah alone
    _refused({"generations": {"torah_from": 300, "messiah_from": 299}}, "must not come before torah_from")
    _refused({"impurity": {"start_year": 10}}, "impurity.start_year no longer exists")
    _refused({"events": [{"kind": "set", "year": 5, "until": 4, "key": "light.light", "value": 1}]},
             "until (4) must be after year (5)")
    _accepted({"events": [{"kind": "set", "year": 99, "until": 100, "key": "light.light", "value": 1}]})
    _refused({"events": [{"kind": "set", "year": 100, "key": "light.light", "value": 1}]}, "past the horizon")
    _refused({"events": [{"kind": "set", "year": 9, "until": 101, "key": "light.light", "value": 1}]},
             "events[0].until = 101 is past the horizon")
    # a scale event's factor is checked by its own range, never by the key's (1.9 > kappa0's top,
    # 1); what it makes of the key, by the key's (0.5 x 1.9 = 0.95; test below)
    _accepted({"events": [{"kind": "scale", "year": 1, "key": "light.kappa0", "factor": 1.9}]})
    # groups: exactly one selector; a range of souls must end inside the population
    _accepted({"events": [{"kind": "reset", "year": 1, "group": {"first": 5, "count": 5}}]})
    _refused({"events": [{"kind": "reset", "year": 1, "group": {"first": 5, "count": 6}}]},
             "events[0].group names soul 10 but souls.count = 10")
    _refused({"events": [{"kind": "reset", "year": 1, "group": {"first": 0, "count": 11}}]}, "names soul 10")
    _accepted({"events": [{"kind": "reset", "year": 1, "group": {"lowest": "hbd", "count": 10}}]})
    _refused({"events": [{"kind": "reset", "year": 1, "group": {"lowest": "hbd", "count": 11}}]},
             "events[0].group.count = 11 exceeds souls.count = 10")
    _accepted({"events": [{"kind": "reset", "year": 1, "group": {"souls": [0, 9]}}]})
    _refused({"events": [{"kind": "reset", "year": 1, "group": {"souls": [0, 10]}}]}, "names soul 10")
    for group in ({"souls": [1], "share": 0.5}, {"first": 0, "count": 2, "lowest": "hbd"}, {}):
        _refused({"events": [{"kind": "reset", "year": 1, "group": group}]}, "give exactly one of")
    _refused({"events": [{"kind": "reset", "year": 1, "group": {"share": 0.5, "count": 2}}]}, "count does not go with share")
    _refused({"events": [{"kind": "reset", "year": 1, "group": {"highest": "warmth"}}]}, "highest needs count")
    _accepted({"network": {"k": 9}})
    _refused({"network": {"k": 10}}, "network.k = 10: each soul listens to k others, so k is 1 to souls.count - 1 = 9")
    _refused({"network": {"k": 8}, "souls": {"count": 1}},
             "souls.count = 1 leaves the soul no one to listen to; set network.enabled = false")
    _accepted({"network": {"enabled": False, "k": 10}})  # no graph, no need
    _accepted({"network": {"enabled": False}, "souls": {"count": 1}})


def test_a_scenario_file_is_read_by_keyword_or_refused_by_name(tmp_path, monkeypatch):
    good = tmp_path / "s.toml"
    good.write_text('[souls]\ncount = 50\n[network]\nk = 4\n')
    assert load_scenario(source=good).souls.count == 50 and load_scenario(good).network.k == 4
    with pytest.raises(ScenarioError, match="a scenario file or a preset, not both"):
        load_scenario(good, preset="quick")
    latin = tmp_path / "latin.toml"
    latin.write_bytes('name = "Tikkún"\n'.encode("latin-1"))
    with pytest.raises(ScenarioError, match="latin.toml: cannot be read as UTF-8 text"):
        load_scenario(latin)
    with pytest.raises(ScenarioError, match="is a folder, not a scenario file"):
        load_scenario(tmp_path)

    def failing_read(self, *args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(type(good), "read_text", failing_read)
    with pytest.raises(ScenarioError, match="s.toml: cannot be read as UTF-8 text: .*Input/output error"):
        load_scenario(good)


def test_nan_and_infinity_are_named_wherever_they_are():
    """TOML allows nan and inf; a scenario refuses them with the key's full path, in a list too."""
    for raw, needle in (({"events": [{"kind": "set", "year": 1, "key": "light.light", "value": float("nan")}]},
                         "events[0].value: nan is not allowed"),
                        ({"genesis": {"stages": [{"kind": "separate"}, {"kind": "strike", "light": float("inf")}]}},
                         "genesis.stages[1].light: inf is not allowed"),
                        ({"events": [{"kind": "reset", "year": 1, "group": {"souls": [1]}, "hbd": float("-inf")}]},
                         "events[0].hbd: -inf is not allowed")):
        with pytest.raises(ScenarioError) as info:
            build_scenario(raw)
        assert needle in str(info.value)


def test_years_override_leaves_malformed_events_to_validation():
    """A horizon override never trips on an event it cannot read: the validation names it. An
    event of year 5.0 (valid: a whole number) is kept with those after it, an event at the new
    horizon dropped."""
    ev = {"kind": "set", "key": "light.light", "value": 2.0}
    raw = {"run": {"years": 100}, "events": [{**ev, "year": 5.0}, {**ev, "year": 20}, {**ev, "year": 7}]}
    assert [e.year for e in build_scenario(_with_horizon(raw, 20)).events] == [5, 7]
    for bad, needle in ((5, "events[0]: Input should be a valid dictionary"), ({**ev, "year": "x"}, "events[0].year")):
        with pytest.raises(ScenarioError) as info:
            build_scenario(_with_horizon({"events": [bad, {**ev, "year": 50}]}, 20))
        assert needle in str(info.value)


def test_every_problem_is_reported_not_only_the_first():
    with pytest.raises(ScenarioError) as info:
        build_scenario({"souls": {"cuont": 5, "count": -1}, "light": {"alpah": 1.0}})
    assert str(info.value).splitlines()[1:] == [
        "souls.count: Input should be greater than 0 (got -1)",
        ("souls.cuont: unknown key (did you mean 'count'?); allowed here: count, sparks_extra_mean, effort_shape, "
         "effort_scale, warmth_a, warmth_b, attachment_a, attachment_b, hbd_sigma, special_share, steadiness, regain"),
        ("light.alpah: unknown key (did you mean 'alpha'?); allowed here: alpha, light, practice, conductance, beta, "
         "eps, phi_s, kappa0, omega")]


def test_ranges_hold_their_edges():
    """A range's ends are allowed, a step past them refused: a set event at the top of its key's
    range, a uniform unity of any width, and the largest factor or effort (1e6) an event may
    give; a graph of more neighbours than souls is refused as one of as many."""
    _accepted({"events": [{"kind": "set", "year": 1, "key": "light.kappa0", "value": 1.0},
                          {"kind": "set", "year": 1, "key": "light.eps", "value": 1e3}]})
    _refused({"events": [{"kind": "set", "year": 1, "key": "light.kappa0", "value": 1.0000001}]},
             "value 1.0000001 for light.kappa0 is outside [0, 1]")
    _accepted({"sparks": {"unity": {"kind": "uniform", "low": 0.4, "high": 0.5}}})
    _accepted({"events": [{"kind": "scale", "year": 1, "key": "light.light", "factor": 1e6},
                          {"kind": "policy", "year": 1, "group": {"souls": [1]}, "effort": 1e6}]})
    _refused({"events": [{"kind": "scale", "year": 1, "key": "light.light", "factor": 1e6 + 0.5}]},
             "events[0].factor: Input should be less than or equal to 1000000")
    _refused({"events": [{"kind": "policy", "year": 1, "group": {"souls": [1]}, "effort": 1e6 + 0.5}]},
             "events[0].effort: Input should be less than or equal to 1000000")
    _refused({"network": {"k": 11}}, "network.k = 11: each soul listens to k others, so k is 1 to souls.count - 1")


def test_what_a_scale_makes_of_its_parameter_is_in_range():
    """A factor in range may still make its parameter leave its own: kappa0 0.5 x 3 would make
    holiness 1.5. The value of every year is checked, after the events before it in order (a
    set in the same span first, a second scale compounding), and the message names the event."""
    _refused({"events": [{"kind": "scale", "year": 10, "key": "light.kappa0", "factor": 3.0}]},
             "events[0] (scale light.kappa0 by 3) makes light.kappa0 1.5 in year 10, outside [0, 1]")
    _accepted({"events": [{"kind": "scale", "year": 10, "key": "light.kappa0", "factor": 2.0}]})
    _refused({"events": [{"kind": "scale", "year": 10, "until": 20, "key": "light.kappa0", "factor": 1.5},
                         {"kind": "scale", "year": 15, "key": "light.kappa0", "factor": 1.5}]},
             "events[1] (scale light.kappa0 by 1.5) makes light.kappa0 1.125 in year 15, outside [0, 1]")
    _accepted({"events": [{"kind": "set", "year": 5, "key": "light.conductance", "value": 0.1},
                          {"kind": "scale", "year": 5, "until": 9, "key": "light.conductance", "factor": 10.0}]})
    _refused({"events": [{"kind": "set", "year": 5, "key": "light.conductance", "value": 0.1},
                         {"kind": "scale", "year": 3, "key": "light.conductance", "factor": 10.0}]},
             "events[1] (scale light.conductance by 10) makes light.conductance 10 in year 3, outside [0, 1]")



@pytest.mark.parametrize("years, needle", [("40", "years: a whole number (got '40')"),
                                           (2.5, "years: a whole number (got 2.5)"), (0, "run.years"),
                                           (-3, "run.years")])
def test_a_horizon_that_is_not_a_positive_whole_number_is_named(years, needle):
    """``years`` from Python (a form, a notebook) that is not a positive int: nothing is trimmed,
    and the validation says what is wrong, never a TypeError."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(preset="history", years=years)
    assert needle in str(info.value)


def test_an_option_and_a_set_that_give_the_same_value_agree():
    """--souls 50 with --set souls.count=50 is one value given twice (--set's is text)."""
    from tikkun import api

    sc = api.resolve_scenario(preset="quick", souls=50, seed=3, years=7,
                              overrides={"souls.count": "50", "run.seed": "3", "run.years": "7"})
    assert (sc.souls.count, sc.run.seed, sc.run.years) == (50, 3, 7)
    for option, value in (("run.seed", "4"), ("run.seed", "true"), ("run.seed", "three")):
        with pytest.raises(ScenarioError, match=f"--seed 3 and --set {option}={value} disagree"):
            api.resolve_scenario(preset="quick", seed=3, overrides={option: value})


def test_an_empty_preset_name_is_refused_not_taken_for_the_default():
    with pytest.raises(ScenarioError, match="preset: unknown preset ''; allowed: history, quick"):
        load_scenario(preset="")


def test_an_event_option_is_one_inline_table_and_nothing_after_it():
    with pytest.raises(ScenarioError, match="not a TOML inline table"):
        parse_event_options(['{kind = "reset", year = 5, group = {first = 0, count = 1}}\nname = "x"'])


def test_the_added_events_are_named_by_their_index_after_the_horizon_cut():
    """--years 100 drops the quick preset's event at year 200: the event added is events[0]."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(preset="quick", years=100, events=[{"kind": "bogus", "year": 5}])
    assert "the event added to it (events[0])" in str(info.value) and "events[0].kind" in str(info.value)
    with pytest.raises(ScenarioError) as info:
        load_scenario(preset="quick", events=[{"kind": "bogus", "year": 5}])
    assert "the event added to it (events[1])" in str(info.value) and "events[1].kind" in str(info.value)


@pytest.mark.parametrize("kw", [{"souls": True}, {"seed": "3"}, {"years": "5"}, {"seed": 2.5}, {"souls": 2.0}])
def test_the_api_takes_its_numbers_as_given(kw):
    """seed, souls and years given by name are whole numbers: not read as --set's text ("3"
    would run seed 3), nor a float or a boolean taken for one; NumPy's integers pass."""
    import tikkun

    (name, value), = kw.items()
    with pytest.raises(ScenarioError, match=f"^{name}: a whole number \\(got {re.escape(repr(value))}\\)$"):
        tikkun.run(preset="quick", years=2, **kw) if name != "years" else tikkun.run(preset="quick", **kw)
    assert tikkun.run(preset="quick", souls=np.int64(50), seed=np.int32(3), years=np.int64(2)).summary["souls"] == 50


def test_toml_nested_hundreds_deep_is_refused_by_name(tmp_path):
    """The TOML parser recurses at every level of nesting: a file, a --set value or an --event
    hundreds of levels deep is one ScenarioError naming it (it was Python's RecursionError)."""
    from tikkun.scenario.loading import dotted_overrides, parse_event_options

    deep = "[" * 600 + "]" * 600
    path = tmp_path / "deep.toml"
    path.write_text(f"x = {deep}\n")
    with pytest.raises(ScenarioError, match=r"deep.toml: arrays or tables nested too deeply"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match=r"--set light.beta=\[+\.\.\.: arrays or tables nested too deeply"):
        dotted_overrides({"light.beta": deep})
    with pytest.raises(ScenarioError, match=r"--event '\{a=\{a=.*: arrays or tables nested too deeply"):
        parse_event_options(["{a=" * 400 + "1" + "}" * 400])
    # a few levels are TOML like any other: refused for what they are, not for their depth
    (tmp_path / "shallow.toml").write_text("[light]\nbeta = [[[1]]]\n")
    with pytest.raises(ScenarioError, match="light.beta") as info:
        load_scenario(tmp_path / "shallow.toml")
    assert "nested too deeply" not in str(info.value)


def test_scenario_toml_says_what_it_reproduces():
    """A run folder's scenario.toml names what running it gives back: the results, not the files
    of --souls-at or --save-network; a run on one's own graph names the graph.npy it reads."""
    own = scenario_to_toml(load_scenario(preset="quick"))
    given = scenario_to_toml(load_scenario(preset="quick", overrides={"network.kind": "given"}))
    for text in (own, given):
        head = [ln for ln in text.splitlines() if ln.startswith("#")]
        assert "reproduces this run's results" in head[0] and "--souls-at and --save-network" in head[1]
    assert "graph.npy" not in own and "graph.npy beside this file" in given


def test_an_event_past_a_horizon_set_by_hand_points_to_the_years_option():
    """``--set run.years=100`` on quick keeps its shepherds event of year 200 and is refused; the
    message says that the horizon given as ``--years`` leaves such events out, and it does."""
    with pytest.raises(ScenarioError, match=re.escape("events[0].year = 200 is past the horizon (run.years = 100); "
                                                      "for a shorter run give --years 100")):
        load_scenario(preset="quick", overrides={"run.years": "100"})
    assert list(load_scenario(preset="quick", years=100).events) == []
