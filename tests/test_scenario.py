"""Scenarios: defaults, round trip, and every kind of bad input named by its key."""

import tomllib

import pytest

from tikkun.scenario import ScenarioError, build_scenario, load_scenario, preset_names, scenario_to_toml
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
