"""scripts/mechanisms.py's variants: each switches off what its row says, and only that (the
runs themselves are docs/mechanisms.md's business: 75 runs of the whole history)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import mechanisms  # noqa: E402  (a script beside the package, not in it)

from tikkun.scenario.loading import build_scenario  # noqa: E402
from tikkun.scenario.schema import parameter_schedule  # noqa: E402


def _changed(a, b, path=""):
    """The dotted keys where two raw scenarios differ (events compared as a whole list)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += _changed(a.get(k), b.get(k), f"{path}.{k}" if path else k)
        return out
    return [] if a == b else [path]


EXPECTED = {
    "breaking": {"genesis", "sparks.unity"}, "inclusion": {"sparks.inclusion"}, "worlds": {"worlds.enabled"},
    "judges": {"light.kappa0"}, "preparation": {"light.beta"}, "aim": {"souls.steadiness", "souls.regain"},
    "warm-network": {"network.theta_max"}, "good-and-pure": {"network.good_and_pure"}, "shocks": {"events"},
    "attachment": {"events"}, "shepherds": {"generations.shepherds"}, "hbd-spread": {"souls.hbd_sigma"},
    "pulses": {"events"}, "torah": {"events"},
}


@pytest.mark.parametrize("variant", list(mechanisms.MECHANISMS))
def test_each_variant_changes_only_its_mechanism_and_is_a_valid_scenario(variant):
    base = mechanisms.scenario_raw("default", 20, 1000)
    raw = mechanisms.scenario_raw(variant, 20, 1000)
    changed = {k if not k.startswith("genesis") else "genesis" for k in _changed(base, raw)}
    changed = {k if not k.startswith("sparks.unity") else "sparks.unity" for k in changed}
    assert changed == EXPECTED[variant]
    build_scenario(raw)


def test_without_the_torah_the_practice_before_it_lasts_to_the_horizon():
    raw = mechanisms.scenario_raw("torah", 20, 1000)
    before = [e for e in raw["events"] if e.get("label") == "before the Torah"]
    assert len(before) == 1 and "until" not in before[0] and before[0]["key"] == "light.practice"
    practice = parameter_schedule(build_scenario(raw))["light.practice"]
    assert practice.shape == (6000,) and (practice == before[0]["value"]).all()
    default = parameter_schedule(build_scenario(mechanisms.scenario_raw("default", 20, 1000)))["light.practice"]
    assert (default[:2448] == before[0]["value"]).all() and (default[2448:] == 1.0).all()
