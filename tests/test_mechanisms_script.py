"""scripts/mechanisms.py's variants: each switches off what its row says, and only that (the
runs themselves are docs/mechanisms.md's business: 75 runs of the whole history)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
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
    "breaking": {"genesis", "sparks.unity", "worlds.initial_unity"}, "inclusion": {"sparks.inclusion"}, "worlds": {"worlds.enabled"},
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


def test_without_the_breaking_the_sparks_keep_their_unity_and_the_worlds_start_broken():
    """MODEL.md's variant is "sparks' unity 1" alone: the worlds start at the unity the history's
    own genesis leaves them (what the engine is handed with the genesis, for this seed)."""
    from tikkun.api import vessel_inputs

    raw = mechanisms.scenario_raw("breaking", 21, 1000)
    _, world_unity = vessel_inputs(build_scenario(mechanisms.scenario_raw("default", 21, 1000)))
    assert 0.0 < world_unity < 1.0
    assert raw["worlds"]["initial_unity"] == world_unity
    assert raw["sparks"]["unity"] == {"kind": "constant", "value": 1.0} and "genesis" not in raw


def test_without_the_torah_the_practice_before_it_lasts_to_the_horizon():
    raw = mechanisms.scenario_raw("torah", 20, 1000)
    before = [e for e in raw["events"] if e.get("label") == "before the Torah"]
    assert len(before) == 1 and "until" not in before[0] and before[0]["key"] == "light.practice"
    practice = parameter_schedule(build_scenario(raw))["light.practice"]
    assert practice.shape == (6000,) and (practice == before[0]["value"]).all()
    default = parameter_schedule(build_scenario(mechanisms.scenario_raw("default", 20, 1000)))["light.practice"]
    assert (default[:2448] == before[0]["value"]).all() and (default[2448:] == 1.0).all()


def test_what_the_history_shows_is_read_from_the_curves_as_its_table_says():
    """history_shows on made-up curves whose answers are known: C reaches 1/2 in a chosen year,
    falls by a chosen amount in each exile (and by more outside them, which must not count),
    and G at the Messiah era's start and 500 years on is read from each arm."""
    from tikkun.scenario import load_scenario

    sc = load_scenario(preset="history")
    horizon = sc.run.years
    exiles = mechanisms._exiles(sc)
    assert [e[0] for e in exiles] == ["first exile", "long exile"]
    (_, a1, b1), (_, a2, b2) = exiles
    assert (a1, b1, a2, b2) == (3338, 3408, 3830, 5700)  # the preset's events
    years = np.arange(horizon)
    c = np.where(years >= 2460, 0.9, 0.2)
    c[1000:1010] = 0.1  # a fall before the Torah: in no exile
    c[a1 + 5: a1 + 9] = 0.9 - 3e-6
    c[a2 + 100] = 0.9 - 7e-5
    c[a2 + 101] = 0.9 - 2e-5
    g = np.linspace(0.0, 0.99, horizon)
    g_off = g / 2
    results = {("default", 20): {"C": c, "G": g, "end_year": np.int64(5883)},
               ("shepherds", 20): {"C": c, "G": g_off, "end_year": np.int64(-1)}}
    (row,) = mechanisms.history_shows(results, [20], sc)
    assert row["half"] == 2460 and row["era"] == "torah"
    falls = {label: (f, c0) for label, f, c0 in row["falls"]}
    assert falls["first exile"][0] == pytest.approx(3e-6) and falls["first exile"][1] == 0.9
    assert falls["long exile"][0] == pytest.approx(7e-5)
    m0 = sc.generations.messiah_from
    assert row["years"] == (m0, m0 + 500)
    assert row["g"] == (g[m0], g[m0 + 500]) and row["g_off"] == (g_off[m0], g_off[m0 + 500])
    assert (row["end"], row["end_off"]) == (5883, -1)


def test_the_end_paired_by_seed_is_each_seeds_variant_less_its_default():
    """Made-up runs (end years, flat curves): the paired shift is taken seed by seed over the
    seeds that end in both, and said with how many move each way."""
    seeds = [20, 21, 22]
    ends = {"default": [4000, 5000, 4500], "shocks": [3900, 4700, -1], "attachment": [4010, 5000, 4495]}

    def run(end):
        n = (end if end >= 0 else 5999) + 1
        return {"year": np.arange(n), "C": np.ones(n), "G": np.ones(n), "end_year": np.int64(end)}

    results = {(v, s): run(ends.get(v, ends["default"])[k]) for v in ["default", *mechanisms.MECHANISMS]
               for k, s in enumerate(seeds)}
    rows = {r["variant"]: r for r in mechanisms.analyse(results, seeds, 6000)}
    np.testing.assert_array_equal(rows["shocks"]["paired"], [-100, -300])  # seed 22 ends in one of the two
    # the shift of the end is over the same seeds on both sides (not 4,300 against 4,500)
    assert rows["shocks"]["end_shift"] == -200 and rows["attachment"]["end_shift"] == pytest.approx(5 / 3)
    assert mechanisms._fmt_paired(rows["shocks"]["paired"]) == "-200 ± 141 (2 of 2 earlier)"
    assert mechanisms._fmt_paired(rows["attachment"]["paired"]) == "+2 ± 8 (1 later, 1 earlier, 1 unchanged)"
    assert mechanisms._fmt_paired(rows["judges"]["paired"]) == "+0 ± 0 (3 of 3 unchanged)"
    assert mechanisms._fmt_paired(np.array([], dtype=np.int64)) == ""


def test_the_net_area_counts_the_variant_above_the_default_plus_and_below_minus():
    """Made-up curves over 10 years: a variant 0.1 above the default for 4 years and 0.1 below
    for 2 has an area of 0.6 and a net area of +0.2 C-years; G the same way, in its own column."""
    seeds = [20, 21]
    base = np.full(10, 0.5)
    var = base.copy()
    var[:4] += 0.1
    var[6:8] -= 0.1

    def run(c):
        return {"year": np.arange(10), "C": c, "G": c / 2, "end_year": np.int64(-1)}

    results = {(v, s): run(var if v == "worlds" else base) for v in ["default", *mechanisms.MECHANISMS] for s in seeds}
    rows = {r["variant"]: r for r in mechanisms.analyse(results, seeds, 10)}
    assert rows["worlds"]["area"] == pytest.approx(0.6) and rows["worlds"]["net"] == pytest.approx(0.2)
    assert rows["worlds"]["area_G"] == pytest.approx(0.3) and rows["worlds"]["net_G"] == pytest.approx(0.1)
    assert rows["judges"]["area"] == 0 and rows["judges"]["net"] == 0

def test_a_kept_run_is_named_by_its_scenario(tmp_path):
    """A run kept from another definition of a variant (or another seed or size) is never taken
    for this one: the file's name follows the scenario."""
    base = mechanisms.scenario_raw("default", 20, 1000)
    path = mechanisms.kept_path(tmp_path, "default", 20, base)
    assert path.parent == tmp_path and path.name.startswith("default-20-")
    assert mechanisms.kept_path(tmp_path, "default", 20, mechanisms.scenario_raw("default", 20, 1000)) == path
    for other in (mechanisms.scenario_raw("default", 20, 2000), mechanisms.scenario_raw("judges", 20, 1000)):
        assert mechanisms.kept_path(tmp_path, "default", 20, other) != path


def test_a_small_area_is_not_written_as_none():
    assert [mechanisms._area(x) for x in (0.0, 0.0023, 128.24, 1911.3)] == ["0", "2.3e-03", "128.2", "1,911.3"]
    assert [mechanisms._area(x, "+") for x in (-0.0004, 0.0, -38.94, 203.7)] == ["-4.0e-04", "0", "-38.9", "+203.7"]


def test_the_doc_and_its_json_give_every_runs_end_and_areas_seed_by_seed(tmp_path):
    """Made-up runs over 10 years: the variant `worlds` lies 0.1 above the default's C for 4
    years in seed 20 only and never ends in seed 21. The page's seed-by-seed table and
    mechanisms.json give each run's end and its own areas (not the mean over seeds)."""
    import json

    seeds = [20, 21]
    base = np.full(10, 0.5)
    up = base.copy()
    up[:4] += 0.1

    def run(c, end):
        return {"year": np.arange(10), "C": c, "G": c, "end_year": np.int64(end)}

    results = {(v, s): run(up if (v, s) == ("worlds", 20) else base, -1 if (v, s) == ("worlds", 21) else 7 + s - 20)
               for v in ["default", *mechanisms.MECHANISMS] for s in seeds}
    rows = mechanisms.analyse(results, seeds, 10)
    doc = tmp_path / "mechanisms.md"
    mechanisms.write_doc(rows, seeds, 1000, 1.5, 2, doc)
    text = doc.read_text()
    assert "| mechanism | seed 20 | seed 21 |" in text
    assert "| default | 7 | 8 |" in text
    assert "| worlds | 7 (0.4, 0.4) | never (0, 0) |" in text
    data = json.loads((tmp_path / "mechanisms.json").read_text())
    assert data["seeds"] == seeds and data["souls"] == 1000
    w = data["variants"]["worlds"]
    assert w["end_year"] == {"20": 7, "21": None}
    assert w["area_C"] == {"20": pytest.approx(0.4), "21": 0.0}
    assert w["acts"] == "yes" and w["by"] == ["end", "C", "G"]  # a seed that never ends; areas above the spread 0
    assert data["variants"]["default"]["end_year"] == {"20": 7, "21": 8} and "acts" not in data["variants"]["default"]
    assert data["spread"]["end_years"] == 1.0 and not list(tmp_path.glob("*.tmp"))
