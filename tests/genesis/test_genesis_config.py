"""Configuration: defaults are valid; bad input fails with a ValidationError naming the field."""

import math

import pytest
from pydantic import ValidationError

from tikkun.genesis import DEFAULT_STAGES, GenesisConfig, Stage


def _locs(err: ValidationError):
    return [".".join(str(p) for p in e["loc"]) for e in err.errors()]


def test_defaults_are_valid_and_frozen():
    cfg = GenesisConfig()
    assert cfg.n == 256 and cfg.A == 1.0 and cfg.kappa == 1.0 and cfg.M == 1.0 and cfg.block == 8
    # revision 2: the breaking is the light leaving (MODEL.md), the history's own script
    assert [s.kind for s in cfg.stages] == ["separate", "approach", "strike", "withdraw", "shatter"]
    strike = cfg.stages[2]
    assert strike.light == 1.5 > cfg.A and strike.duration > 0
    with pytest.raises(ValidationError):
        cfg.n = 64  # frozen
    with pytest.raises(ValidationError):
        DEFAULT_STAGES[0].duration = 3.0


def test_every_field_has_a_description():
    for model in (GenesisConfig, Stage):
        for name, f in model.model_fields.items():
            assert f.description, f"{model.__name__}.{name} lacks a description"


def test_round_trip_from_plain_data():
    data = GenesisConfig().model_dump()
    assert GenesisConfig.model_validate(data) == GenesisConfig()


def test_grid_too_small_names_n():
    with pytest.raises(ValidationError) as e:
        GenesisConfig(n=8)
    assert "n" in _locs(e.value)


def test_negative_duration_names_duration():
    with pytest.raises(ValidationError) as e:
        Stage(kind="approach", duration=-1.0)
    assert "duration" in _locs(e.value)
    with pytest.raises(ValidationError) as e:
        GenesisConfig(stages=[{"kind": "separate"}, {"kind": "approach", "duration": -5}])
    assert any(loc.endswith("duration") for loc in _locs(e.value))


def test_unknown_stage_kind_names_kind():
    with pytest.raises(ValidationError) as e:
        Stage(kind="vibrate", duration=1.0)
    assert "kind" in _locs(e.value)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -0.5])
def test_bad_light_names_light(bad):
    with pytest.raises(ValidationError) as e:
        Stage(kind="maintain", duration=1.0, light=bad)
    assert "light" in _locs(e.value)


@pytest.mark.parametrize("field, value", [("A", 1e300), ("kappa", 2e6), ("M", 1e7), ("stabilization", 1e300),
                                          ("dt_min", 1e-300), ("dt_initial", 0.0), ("dt_max", 1e12)])
def test_every_number_of_the_vessel_is_bounded(field, value):
    """A = 1e300 overflowed in the solver and dt_min = 1e-300 divided by zero (exit 1): the
    vessel's numbers are bounded, as the scenario's other keys are."""
    with pytest.raises(ValidationError) as e:
        GenesisConfig(**{field: value})
    assert _locs(e.value) == [field]


@pytest.mark.parametrize("stage", [{"kind": "approach", "duration": 1e300},
                                   {"kind": "maintain", "duration": 1.0, "light": 2e6},
                                   {"kind": "stir", "duration": 1.0, "stir_amplitude": 1e7},
                                   {"kind": "stir", "duration": 1.0, "stir_period": 1e300}])
def test_every_number_of_a_stage_is_bounded(stage):
    """A stage of 1e300 time units never ends (and is no bad input to the solver, which would
    step until stopped): a stage's numbers are bounded too."""
    with pytest.raises(ValidationError) as e:
        Stage(**stage)
    assert len(_locs(e.value)) == 1 and _locs(e.value)[0] in stage


def test_nan_anywhere_is_rejected():
    with pytest.raises(ValidationError) as e:
        GenesisConfig(A=math.nan)
    assert "A" in _locs(e.value)
    with pytest.raises(ValidationError) as e:
        GenesisConfig(n=64, stages=[{"kind": "separate"}, {"kind": "approach", "duration": math.inf}])
    assert any(loc.endswith("duration") for loc in _locs(e.value))


def test_unknown_key_is_rejected():
    with pytest.raises(ValidationError) as e:
        GenesisConfig(grid=64)
    assert "grid" in _locs(e.value)
    with pytest.raises(ValidationError) as e:
        Stage(kind="stir", duration=1.0, speed=3.0)
    assert "speed" in _locs(e.value)


def test_stage_rules():
    with pytest.raises(ValidationError) as e:
        Stage(kind="separate", duration=3.0)
    assert "duration" in _locs(e.value)
    with pytest.raises(ValidationError) as e:
        Stage(kind="withdraw", duration=3.0, light=0.2)
    assert "light" in _locs(e.value)
    with pytest.raises(ValidationError) as e:
        GenesisConfig(n=64, stages=[{"kind": "approach", "duration": 1.0}])
    assert "stages" in _locs(e.value)
    with pytest.raises(ValidationError) as e:
        GenesisConfig(n=64, stages=[{"kind": "separate"}, {"kind": "shatter"}, {"kind": "approach", "duration": 1}])
    assert "stages" in _locs(e.value)
    with pytest.raises(ValidationError) as e:
        GenesisConfig(n=64, stages=[{"kind": "separate"}, {"kind": "strike", "duration": 1, "light": 0.5}])
    assert "stages.1.light" in str(e.value)
    with pytest.raises(ValidationError) as e:
        GenesisConfig(n=64, stages=[{"kind": "separate"}, {"kind": "stir", "duration": 1, "light": 1.0}])
    assert "stages.1.light" in str(e.value)


def test_block_must_divide_n():
    with pytest.raises(ValidationError) as e:
        GenesisConfig(n=100, block=8)
    assert "block" in _locs(e.value)
    with pytest.raises(ValidationError) as e:  # the block left at its default, 8: a scenario that changes n alone
        GenesisConfig(n=100)
    assert "block" in _locs(e.value)
    GenesisConfig(n=100, block=10)
