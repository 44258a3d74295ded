"""Sweep files: what to run. A base scenario, shared overrides, a grid and/or named variants, seeds.

A sweep file is TOML::

    base = "quick"                        # a preset, or a scenario file (relative to this file)
    seeds = [20, 21, 22]                  # or { start = 20, count = 100 }; default: the base's seed
    years = 100                           # optional: the horizon, as `tikkun run --years`
    checkpoint_every = 10                 # optional: years between checkpoints (default: a tenth of the horizon)
    set = { "souls.count" = 2000 }        # overrides shared by every run
    [grid]                                # every combination of these values
    "light.beta" = [0.0, 0.5, 1.0]
    "network.good_and_pure" = [true, false]
    [[variants]]                          # named variants, each with its own overrides
    name = "no-network"
    set = { "network.enabled" = false }
    [[variants]]                          # ... and events appended to the base's (as `tikkun run --event`)
    name = "a-shepherd"
    events = [{ kind = "shepherds", year = 50, group = { first = 0, count = 1 } }]

The runs are variants x grid points x seeds. Each run's scenario is the base with the shared
overrides, then the variant's, then the grid point's, then ``run.seed``, applied exactly as
``tikkun run --set KEY=VALUE --seed SEED --years YEARS`` applies them, so a run of a sweep and
the same ``tikkun run`` give the same bits. Everything here is checked before any run starts:
an unknown key, an empty grid or two runs with one id is a :class:`SweepError` naming the key.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from ..scenario import Scenario, ScenarioError, add_events, apply_overrides, build_scenario, preset_names, read_scenario_file
from ..scenario.keys import is_section, scenario_key_problem
from ..scenario.loading import _check_finite, _check_scalar_types, _parse_toml, _with_horizon, preset_text

# More runs than this in one file is a mistake (a seed count's extra zeros), not a plan: the
# plan alone would take minutes and the sweep's tables gigabytes.
MAX_RUNS = 1_000_000
TOP_KEYS = ("base", "description", "seeds", "years", "checkpoint_every", "set", "grid", "variants", "sensitivity")
VARIANT_KEYS = ("name", "set", "events")
EVENTS = "events+"  # the overrides' entry that carries a variant's events (appended, not set)
ID_MAX = 96  # longer run ids are cut and end in a hash of the whole id
_ID_CHARS = re.compile(r"[^A-Za-z0-9._=,+-]")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


class SweepError(ValueError):
    """A sweep file (or sweep folder) that cannot be run; the message names the key and what is allowed."""


@dataclass(frozen=True)
class Base:
    """The scenario every run starts from: ``kind`` "preset" or "file", its ``name`` (preset name
    or the file's path), and its ``raw`` table (small: a few kilobytes, sent to the workers)."""

    kind: str
    name: str
    raw: dict = field(compare=False, repr=False)

    @property
    def origin(self) -> str:
        return f"preset {self.name}" if self.kind == "preset" else self.name


@dataclass(frozen=True)
class Variant:
    name: str
    set: dict
    events: tuple = ()  # event tables appended to the base's


@dataclass(frozen=True)
class SweepSpec:
    """A parsed, checked sweep file.

    ``points``: explicit override tables, one per run (before seeds), used by
    :func:`tikkun.sweep.sensitivity` in place of a grid.
    """

    base: Base
    seeds: tuple[int, ...] | None = None
    set: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    variants: tuple[Variant, ...] = ()
    years: int | None = None
    checkpoint_every: int | None = None
    sensitivity: dict | None = None
    points: tuple[dict, ...] | None = None
    origin: str = "sweep"
    stem: str = "sweep"

    def canonical(self) -> dict:
        """What decides the runs, as a plain table: two sweeps with the same canonical table
        make the same runs (the ``[sensitivity]`` analysis settings are not part of it)."""
        out: dict[str, Any] = {"base": {"kind": self.base.kind, "name": self.base.name, "scenario": self.base.raw}}
        if self.seeds is not None:
            out["seeds"] = list(self.seeds)
        if self.years is not None:
            out["years"] = self.years
        if self.checkpoint_every is not None:
            out["checkpoint_every"] = self.checkpoint_every
        if self.set:
            out["set"] = dict(self.set)
        if self.grid:
            out["grid"] = {k: list(v) for k, v in self.grid.items()}
        if self.variants:
            out["variants"] = [{"name": v.name, "set": dict(v.set), **({"events": list(v.events)} if v.events else {})}
                               for v in self.variants]
        if self.points is not None:
            out["points"] = [dict(p) for p in self.points]
        return out

    def canonical_toml(self) -> str:
        return "# The sweep these runs belong to, as tikkun read it.\n" + tomli_w.dumps(self.canonical())


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: its id, the overrides in the order they apply, its seed.

    ``varying``: the overrides that tell this run from the others (they make its id).
    """

    run_id: str
    overrides: tuple[tuple[str, Any], ...]
    varying: tuple[tuple[str, Any], ...]
    seed: int
    variant: str | None = None


# ---------------------------------------------------------------- reading
def load_sweep(path: str | Path) -> SweepSpec:
    """Read and check a sweep file. Raises :class:`SweepError`."""
    p = Path(path)
    if p.is_dir():
        raise SweepError(f"{p}: a folder, not a sweep file; give the sweep's TOML file (docs/sweeps.md)")
    if not p.is_file():
        raise SweepError(f"{p}: no such sweep file")
    try:
        text = p.read_text("utf-8-sig")  # a byte-order mark (Windows editors) is no TOML: dropped
    except (OSError, UnicodeDecodeError) as exc:
        raise SweepError(f"{p}: cannot be read as UTF-8 text: {exc}") from None
    try:
        raw = _parse_toml(text, str(p))
    except ScenarioError as exc:
        raise SweepError(str(exc)) from None
    scenario_keys = set(Scenario.model_fields) - {"description"}
    if "base" not in raw and raw.keys() & scenario_keys:  # e.g. a run folder's scenario.toml
        keys = sorted(raw.keys() & scenario_keys)
        shown = ", ".join(keys[:3]) + (", ..." if len(keys) > 3 else "")
        raise SweepError(f"{p}: a scenario file ({shown}), not a sweep file: `tikkun run {p}` runs it; a sweep "
                         f"file names it as its base (base = \"{p.name}\")")
    return parse_sweep(raw, origin=str(p), folder=p.parent, stem=p.stem)


def parse_sweep(raw: dict, *, origin: str = "sweep", folder: str | Path = ".", stem: str = "sweep") -> SweepSpec:
    """Check a sweep table (as read from TOML) into a :class:`SweepSpec`. Raises :class:`SweepError`."""

    def bad(key: str, msg: str) -> SweepError:
        return SweepError(f"{origin}: {key}: {msg}")

    for key in raw:
        if key not in TOP_KEYS:
            close = difflib.get_close_matches(key, TOP_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise bad(key, f"unknown key{hint}; allowed: {', '.join(TOP_KEYS)}")
    if "base" not in raw:
        raise bad("base", f"missing; give a preset ({', '.join(preset_names())}) or a scenario file")
    base = _read_base(raw["base"], Path(folder), bad)

    seeds = raw.get("seeds")
    if seeds is not None:
        seeds = _read_seeds(seeds, bad)
    years = _positive_int(raw, "years", bad)
    checkpoint_every = _positive_int(raw, "checkpoint_every", bad)
    if "description" in raw and not isinstance(raw["description"], str):
        raise bad("description", "must be a string")

    shared = _read_overrides(raw.get("set", {}), "set", bad)
    grid = raw.get("grid")
    if grid is not None:
        if not isinstance(grid, dict):
            raise bad("grid", "must be a table of KEY = [values]")
        if not grid:
            raise bad("grid", "empty; give at least one KEY = [values], or leave [grid] out")
        for key, values in grid.items():
            _check_override_key(key, f"grid.{key}", bad)
            if isinstance(values, dict) and values:  # [grid.light] beta = [...]: the key's path is written dotted
                sub, first = next(iter(values.items()))
                raise bad(f"grid.{key}", f"must be a list of values (got a table); write the key dotted under "
                                         f"[grid]: \"{key}.{sub}\" = {_toml_text(first)}")
            if not isinstance(values, list):
                raise bad(f"grid.{key}", f"must be a list of values (got {values!r})")
            if not values:
                raise bad(f"grid.{key}", "empty list; give at least one value")
            if key in shared:
                raise bad(f"grid.{key}", "also in set; give each key in one place")
            for x in values:  # a value of the wrong kind (text for a number, nan) is the file's fault, not a run's
                problems: list[str] = []
                one = _nested(key, x)
                _check_finite(one, "", problems)
                _check_scalar_types(one, Scenario, "", problems)
                if problems:
                    raise bad(f"grid.{key}", problems[0].split(": ", 1)[1])
            for i, x in enumerate(values):  # 1 and 1.0: two ids, one run twice
                same = next((y for y in values[:i] if _same_number(x, y)), None)
                if same is not None:
                    raise bad(f"grid.{key}", f"the value {format_value(same)} is given twice ({same!r} and {x!r}); "
                                             "give each value once")
    grid = dict(grid or {})

    variants = raw.get("variants", [])
    if not isinstance(variants, list) or not all(isinstance(v, dict) for v in variants):
        raise bad("variants", "must be a list of tables ([[variants]] with name and set)")
    if "variants" in raw and not variants:
        raise bad("variants", "empty; give at least one [[variants]], or leave it out")
    parsed_variants = []
    for i, v in enumerate(variants):
        where = f"variants[{i}]"
        for key in v:
            if key not in VARIANT_KEYS:
                raise bad(f"{where}.{key}", f"unknown key; allowed: {', '.join(VARIANT_KEYS)}")
        name = v.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise bad(f"{where}.name", "a name of letters, digits and . _ + - (not starting with one of the last four) "
                                       f"is required (got {name!r})")
        sets = _read_overrides(v.get("set", {}), f"{where}.set", bad)
        for key in sets:
            if key in grid:
                raise bad(f"{where}.set.{key}", "also in grid; give each key in one place")
        events = v.get("events", [])
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            raise bad(f"{where}.events", "must be a list of event tables, as in a scenario file")
        parsed_variants.append(Variant(name, sets, tuple(events)))
    names = [v.name for v in parsed_variants]
    for name in names:
        if names.count(name) > 1:
            raise bad("variants", f"two variants are named {name!r}; names must be unique")

    n_runs = max(1, len(parsed_variants)) * math.prod(len(v) for v in grid.values()) * len(seeds or [0])
    if n_runs > MAX_RUNS:
        raise bad("grid" if grid else "seeds", f"{n_runs:,} runs (variants x grid points x seeds); a sweep file "
                                               f"makes at most {MAX_RUNS:,}")

    sensitivity = raw.get("sensitivity")
    if sensitivity is not None and not isinstance(sensitivity, dict):
        raise bad("sensitivity", "must be a table")
    return SweepSpec(base=base, seeds=seeds, set=shared, grid=grid, variants=tuple(parsed_variants), years=years,
                     checkpoint_every=checkpoint_every, sensitivity=sensitivity, origin=origin, stem=stem)


def problems_only(message: str) -> str:
    """A scenario's message without its first line ("preset quick: invalid scenario"): its
    problems, joined by "; "."""
    lines = message.strip().splitlines()
    return "; ".join(lines[1:]) if len(lines) > 1 else lines[0]


def _read_base(value, folder: Path, bad) -> Base:
    if isinstance(value, dict) and set(value) == {"kind", "name", "scenario"} and value["kind"] in ("preset", "file") \
            and isinstance(value["name"], str) and isinstance(value["scenario"], dict):
        # as a sweep folder's sweep.toml keeps it (SweepSpec.canonical): the scenario as the sweep read it, so
        # that running that file again goes on with the same runs, whatever became of the preset or file since
        return Base(value["kind"], value["name"], value["scenario"])
    if not isinstance(value, str) or not value:
        raise bad("base", f"must be a preset name or a scenario file (got {value!r})")
    looks_like_file = value.endswith(".toml") or "/" in value or "\\" in value
    if not looks_like_file:
        try:
            text = preset_text(value)
        except ScenarioError as exc:
            raise bad("base", str(exc).removeprefix("preset: ") + "; or give a scenario file (NAME.toml)") from None
        return Base("preset", value, _parse_toml(text, f"preset {value}"))
    path = Path(value)
    if not path.is_absolute():
        path = (folder / path)
    try:
        raw = read_scenario_file(path)
    except ScenarioError as exc:
        raise bad("base", str(exc)) from None
    return Base("file", str(path.resolve()), raw)


def _read_seeds(seeds, bad) -> tuple[int, ...]:
    if isinstance(seeds, dict):
        extra = set(seeds) - {"start", "count"}
        if extra or not {"start", "count"} <= set(seeds):
            raise bad("seeds", "a table of seeds is { start = FIRST, count = HOW_MANY }")
        start, count = seeds["start"], seeds["count"]
        if not (_is_int(start) and start >= 0 and _is_int(count) and count > 0):
            raise bad("seeds", f"start must be an integer >= 0 and count > 0 (got start = {start!r}, count = {count!r})")
        if count > MAX_RUNS:
            raise bad("seeds", f"count = {count:,}: a sweep file makes at most {MAX_RUNS:,} runs")
        seeds = list(range(start, start + count))
    if not isinstance(seeds, list) or not seeds:
        raise bad("seeds", "must be a non-empty list of integers, or { start = FIRST, count = HOW_MANY }")
    for s in seeds:
        if not _is_int(s) or not 0 <= s <= 2**62:
            raise bad("seeds", f"every seed is an integer in [0, 2**62] (got {s!r})")
    seen = set()
    for s in seeds:
        if s in seen:
            raise bad("seeds", f"seed {s} is given twice; two runs would have one id")
        seen.add(s)
    return tuple(seeds)


def _positive_int(raw: dict, key: str, bad) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if not _is_int(value) or value <= 0:
        raise bad(key, f"must be a positive integer (got {value!r})")
    return value


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _read_overrides(table, where: str, bad) -> dict:
    if not isinstance(table, dict):
        raise bad(where, 'must be a table of "KEY" = VALUE, e.g. { "souls.count" = 2000 }')
    out = {}
    try:
        flat = _flatten(table)
    except KeyError as exc:
        raise bad(f"{where}.{exc.args[0]}", "given twice (as a dotted key and in a table); give it once") from None
    for key, value in flat.items():
        _check_override_key(key, f"{where}.{key}", bad)
        out[key] = value
    return out


def _flatten(table: dict, prefix: str = "") -> dict:
    """``{"light": {"beta": 1}}`` and ``{"light.beta": 1}`` both give ``{"light.beta": 1}``;
    KeyError naming a key given both ways (one would silently win)."""
    out = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        inner = _flatten(v, key + ".") if isinstance(v, dict) and is_section(key) else {key: v}
        for name, value in inner.items():
            if name in out:
                raise KeyError(name)
            out[name] = value
    return out


def _check_override_key(key: str, where: str, bad) -> None:
    if key == "run.seed":
        raise bad(where, "the seed is given by seeds = [...], not as an override")
    problem = scenario_key_problem(key)
    if problem not in (None, "section"):
        raise bad(where, problem)


def _toml_text(value) -> str:
    """A value as a TOML file writes it on one line (a message's hint): ``[0.0, true, "ring"]``."""
    if isinstance(value, list):
        return "[" + ", ".join(_toml_text(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)
    return format_value(value)


# ---------------------------------------------------------------- runs
def format_value(value) -> str:
    """A value as it appears in a run id: TOML's spelling for booleans, the shortest exact
    decimal for floats."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (int, str)):
        return str(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def make_run_id(parts: list[str]) -> str:
    """Join ``parts`` with commas; characters other than letters, digits and ``._=,+-`` become
    ``_``; an id longer than ``ID_MAX`` keeps its start and ends in ``~`` and a hash of the whole."""
    full = ",".join(parts)
    rid = _ID_CHARS.sub("_", full)
    if rid.startswith("."):
        rid = "_" + rid[1:]
    if len(rid) > ID_MAX:
        digest = hashlib.sha256(full.encode("utf-8")).hexdigest()[:12]
        rid = rid[: ID_MAX - 13] + "~" + digest
    return rid


def plan(spec: SweepSpec) -> list[RunSpec]:
    """Every run of the sweep, in order: variants x grid points (or points) x seeds.

    A run id is its variant's name, then its grid keys sorted by name as ``key=value``, then
    ``seed=N``: e.g. ``light.beta=0.5,network.good_and_pure=false,seed=20``. Raises
    :class:`SweepError` if two runs get the same id.
    """
    seeds = spec.seeds
    if seeds is None:
        seeds = (base_seed(spec),)
    if spec.points is not None:
        points = [tuple(sorted(p.items())) for p in spec.points]
    else:
        keys = list(spec.grid)
        points = [tuple(sorted(zip(keys, combo))) for combo in itertools.product(*(spec.grid[k] for k in keys))]
    variants = spec.variants or (None,)
    runs: list[RunSpec] = []
    seen: dict[str, RunSpec] = {}
    for variant in variants:
        for point in points:
            for seed in seeds:
                parts = ([variant.name] if variant else []) + [f"{k}={format_value(v)}" for k, v in point] + [f"seed={seed}"]
                rid = make_run_id(parts)
                overrides = dict(spec.set)
                if variant:
                    overrides.update(variant.set)
                overrides.update(dict(point))
                if variant and variant.events:
                    overrides[EVENTS] = variant.events
                run = RunSpec(rid, tuple(overrides.items()), point, seed, variant.name if variant else None)
                if rid in seen:
                    twice = _value_twice(spec)
                    raise SweepError(f"{spec.origin}: {twice}" if twice else
                                     f"{spec.origin}: two runs have the id {rid!r}: {_describe(seen[rid])} and "
                                     f"{_describe(run)}; give each run distinct values")
                seen[rid] = run
                runs.append(run)
    return runs


def _nested(key: str, value) -> dict:
    """``"light.beta", 1`` -> ``{"light": {"beta": 1}}``: a dotted key as a scenario's table."""
    out: dict = value
    for part in reversed(key.split(".")):
        out = {part: out}
    return out


def _same_number(a, b) -> bool:
    """Two numbers of one value written differently (1 and 1.0); booleans are not numbers here."""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
    return numbers and type(a) is not type(b) and a == b


def _describe(run: RunSpec) -> str:
    items = ([f"variant {run.variant}"] if run.variant else []) + [f"{k} = {v!r}" for k, v in run.varying]
    return "(" + ", ".join(items + [f"seed {run.seed}"]) + ")"


def _value_twice(spec: SweepSpec) -> str | None:
    """A grid value given twice, as run ids spell it (``0.5`` and ``0.50``), if one is."""
    for key, values in spec.grid.items():
        spelled = [format_value(v) for v in values]
        for i, text in enumerate(spelled):
            j = spelled.index(text)
            if j != i:
                both = f" ({values[j]!r} and {values[i]!r})" if repr(values[j]) != repr(values[i]) else ""
                return f"grid.{key}: the value {text} is given twice{both}; give each value once"
    return None


def base_seed(spec: SweepSpec) -> int:
    """The seed of the base scenario (the runs' seed when the sweep gives none)."""
    seed = spec.base.raw.get("run", {}).get("seed") if isinstance(spec.base.raw.get("run"), dict) else None
    if seed is None:
        return Scenario.model_fields["run"].default.seed
    # the base as written, before any run is made of it: a seed of 1.5 or true is not seed 1
    from ..scenario.schema import RunConfig, field_bounds

    low, high = field_bounds(RunConfig.model_fields["seed"])[:2]
    if not isinstance(seed, int) or isinstance(seed, bool) or not low <= seed <= high:
        raise SweepError(f"{spec.base.origin}: run.seed: must be a whole number from {low} to {high:,} "
                         f"(got {json.dumps(seed, default=str)}); the runs take the base's seed where the sweep "
                         "gives no seeds")
    return seed


def resolve_run(base: Base, overrides, seed: int, years: int | None) -> Scenario:
    """The scenario of one run: the base, the overrides in order, the seed, the horizon; the
    same steps as ``load_scenario(..., overrides=..., years=...)`` for ``tikkun run``."""
    sets = dict(overrides)
    events = sets.pop(EVENTS, ())
    sets["run.seed"] = seed
    raw = apply_overrides(base.raw, sets)
    if events:
        raw = add_events(raw, list(events))
    if years is not None:
        raw = _with_horizon(raw, years)
    sc = build_scenario(raw, base.origin)
    if sc.network.enabled and sc.network.kind == "given":
        raise ScenarioError('network.kind = "given": a sweep has no graph to give its runs; run each with '
                            'tikkun run --graph FILE.npy, or tikkun.run(graph=...) in a loop')
    return sc


def checkpoint_every(spec: SweepSpec, scenario: Scenario) -> int:
    """Years between a run's checkpoints: the sweep's ``checkpoint_every``, else a tenth of the
    horizon (so a run killed at any moment loses at most a tenth of its years)."""
    if spec.checkpoint_every is not None:
        return spec.checkpoint_every
    return max(1, math.ceil(scenario.run.years / 10))


def value_at(raw: dict, dotted: str):
    """The value at a dotted key of a scenario's table, or None."""
    node: Any = raw
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
