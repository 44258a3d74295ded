"""Scenarios: TOML files parsed into frozen pydantic models, and the presets shipped with tikkun."""

from .loading import (
    ScenarioError,
    add_events,
    apply_overrides,
    build_scenario,
    load_scenario,
    parse_event_options,
    parse_set_options,
    preset_names,
    read_scenario_file,
    scenario_to_toml,
)
from .schema import Scenario

__all__ = [
    "Scenario",
    "ScenarioError",
    "add_events",
    "apply_overrides",
    "build_scenario",
    "load_scenario",
    "parse_event_options",
    "parse_set_options",
    "preset_names",
    "read_scenario_file",
    "scenario_to_toml",
]
