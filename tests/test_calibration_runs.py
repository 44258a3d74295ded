"""scripts/calibration_runs.py: each run of docs/calibration.md's tables is the history preset
with only what its row names changed (the runs themselves are the doc's: full runs at 600,000
souls)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import calibration_runs as cr  # noqa: E402  (a script beside the package, not in it)

from tikkun.scenario import load_scenario  # noqa: E402


def test_a_row_changes_alpha_the_practice_before_the_torah_and_the_shocks_rates_only():
    """At the preset's alpha only the rates differ; at another, alpha and the practice too, their
    product kept."""
    base = load_scenario(preset="history").model_dump(mode="json", exclude_none=True)
    assert base["light"]["alpha"] == 0.468273
    alpha0 = base["light"]["alpha"]
    got = cr.scenario(alpha0, cr.practice_for(alpha0), 0.03, 0.05, 20, 600_000).model_dump(mode="json", exclude_none=True)
    assert got["light"] == base["light"]
    assert {k: v for k, v in got.items() if k not in ("light", "events")} == \
        {k: v for k, v in base.items() if k not in ("light", "events")}
    changed = [(b["label"], b["key"], b["value"], g["value"]) for b, g in zip(base["events"], got["events"])
               if b != g]
    assert len(got["events"]) == len(base["events"])
    assert sorted(changed) == [("first exile", "impurity.rate", 0.05, 0.03), ("long exile", "impurity.rate", 0.05, 0.03),
                               ("the media", "impurity.rate", 0.1, 0.05)]  # the preset's own alpha and practice


def test_without_rates_the_preset_keeps_its_own_and_the_product_is_the_third_runs():
    got = cr.scenario(0.25, 0.004, None, None, 21, 1_000)
    rates = {(e.label, e.value) for e in got.events if e.key == "impurity.rate"}
    assert rates == {("first exile", 0.05), ("long exile", 0.05), ("the media", 0.1)}  # MODEL.md's starting values
    assert got.run.seed == 21 and got.souls.count == 1_000
    alpha0, practice0 = cr.preset_light()
    assert cr.practice_for(alpha0) == practice0  # the last run is the default history
    assert alpha0 * practice0 == pytest.approx(0.000924471, rel=1e-15)  # the preset keeps the product
    assert cr.practice_for(0.25) == pytest.approx(0.00369788, rel=1e-5)  # the product of run 3
    assert cr.practice_for(0.3125) == 0.0029583072  # the earlier runs' practice at 0.3125, to the bit
    other = cr.scenario(0.35, cr.practice_for(0.35), None, None, 20, 600_000)
    base = load_scenario(preset="history")
    (p_other,) = [e.value for e in other.events if e.label == "before the Torah"]
    assert other.light.alpha == 0.35 and p_other * 0.35 == pytest.approx(alpha0 * practice0, rel=1e-15)
    assert [e for e in other.events if e.label != "before the Torah"] == \
        [e for e in base.events if e.label != "before the Torah"]
