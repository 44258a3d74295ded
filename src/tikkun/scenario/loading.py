"""Reading, overriding, validating and writing scenarios.

Every way a scenario can be wrong ends in one :class:`ScenarioError` whose message names the
key path and what is allowed; the CLI turns it into exit code 2 before anything is written.
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
import types
import typing
from importlib import resources
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
from pydantic import BaseModel, ValidationError

from .schema import Scenario


class ScenarioError(ValueError):
    """A scenario (file, preset, override) that cannot be run; the message says why."""


def preset_names() -> list[str]:
    """Names of the scenarios shipped in the package."""
    folder = resources.files("tikkun.scenario") / "presets"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def preset_text(name: str) -> str:
    names = preset_names()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ScenarioError(f"preset: unknown preset {name!r}{hint}; allowed: {', '.join(names)}")
    return (resources.files("tikkun.scenario") / "presets" / f"{name}.toml").read_text("utf-8")


def _parse_toml(text: str, origin: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{origin}: not a valid TOML file: {exc}") from None
    except RecursionError:
        raise ScenarioError(f"{origin}: {TOO_DEEP}") from None


#: Why TOML nested hundreds of levels deep is refused (the parser recurses at every level).
TOO_DEEP = "arrays or tables nested too deeply (hundreds of levels, one within another)"


SWEEP_KEYS = ("base", "seeds", "grid", "variants")  # a sweep file's, none a scenario's (docs/sweeps.md)


def read_scenario_file(path: str | Path) -> dict[str, Any]:
    """The raw table of a scenario file (not yet validated)."""
    p = Path(path)
    if not p.exists():
        preset = (f" ({str(path)!r} is a preset: --preset {path} on the command line, preset={str(path)!r} in "
                  f"Python)" if str(path) in preset_names() else "")
        raise ScenarioError(f"{p}: no such scenario file{preset}")
    if p.is_dir():
        raise ScenarioError(f"{p}: is a folder, not a scenario file (a run folder holds scenario.toml)")
    try:
        text = p.read_text("utf-8-sig")  # a byte-order mark (Windows editors) is no TOML: dropped
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{p}: cannot be read as UTF-8 text: {exc}") from None
    raw = _parse_toml(text, str(p))
    sweep = [k for k in SWEEP_KEYS if k in raw]
    if sweep:  # keys no scenario has, every sweep file's: one line, not one per key
        raise ScenarioError(f"{p}: a sweep file ({', '.join(sweep)}), not a scenario: tikkun sweep {p} runs it")
    return raw


def _parse_value(text: str, key: str = "") -> Any:
    """A ``--set`` value: TOML syntax if it parses (numbers, booleans, arrays), else a string.
    ``key``: the key it is set to, for the message."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except RecursionError:
        raise ScenarioError(f"--set {key}={text[:20]}...: {TOO_DEEP}") from None


def dotted_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """``overrides`` as dotted keys, each value parsed (a text as ``--set`` gives it, TOML's
    spelling): a table given for a section (``light = {beta = 0.5}``) becomes its keys
    (``light.beta``), so that it changes those and keeps the section's others, as a sweep's ``set``
    does; a table for a value of several kinds (a distribution) stays whole and replaces it
    (:func:`tikkun.scenario.keys.is_section`). ScenarioError for a key given twice (once dotted,
    once in a table), where one would silently win."""
    from .keys import is_section, scenario_key_problem, scenario_key_type

    out: dict[str, Any] = {}

    def put(key: str, value: Any) -> None:
        if isinstance(value, dict) and value and is_section(key):
            for k, v in value.items():
                put(f"{key}.{k}", v)
            return
        if not isinstance(value, dict) and scenario_key_problem(key) == "section":
            # else the section's keys, set next, are told that it is no section: the wrong key named
            raise ScenarioError(f"--set {key}={value!r}: {key} is a section, not a value; set its keys, "
                                f"e.g. --set {key}.KEY=VALUE")
        if key in out:
            raise ScenarioError(f"--set {key}: given twice (once in a table); give it once")
        out[key] = value

    for dotted, value in overrides.items():
        if not isinstance(dotted, str):
            raise ScenarioError(f"--set {dotted!r}: a key is a dotted path such as light.alpha")
        if isinstance(value, str):
            parsed = _parse_value(value, dotted)
            if (not isinstance(parsed, str) and scenario_key_problem(dotted) is None
                    and scenario_key_type(dotted) is str):
                parsed = value  # a text key keeps the text as given: a name "2024" is no number
            put(dotted, parsed)
        else:
            put(dotted, _deepcopy(value))  # never the caller's
    return out


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``raw`` with dotted ``key.path = value`` overrides applied
    (:func:`dotted_overrides`: a section's table merged into it key by key)."""
    from .keys import default_kind

    out = _deepcopy(raw)
    for dotted, value in dotted_overrides(overrides).items():
        parts = dotted.split(".")
        if not all(parts):
            raise ScenarioError(f"--set {dotted}: a key is a dotted path such as light.alpha")
        node = out
        for i, part in enumerate(parts[:-1]):
            if part not in node:  # a table of one of several kinds, left out: the default's kind
                kind = default_kind(".".join(parts[: i + 1]))
                node[part] = {} if kind is None else {"kind": kind}
            child = node[part]
            if not isinstance(child, dict):
                raise ScenarioError(f"--set {dotted}: {part} is not a section")
            node = child
        node[parts[-1]] = value
    return out


def _names_a_key(dotted: str) -> bool:
    from .keys import scenario_key_problem

    return scenario_key_problem(dotted) in (None, "section")


def parse_set_options(items: list[str]) -> dict[str, Any]:
    """``["light.alpha=0.5", ...]`` -> ``{"light.alpha": "0.5"}``; ScenarioError for a key given
    twice (the last would silently win; a sweep refuses it too)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ScenarioError(f"--set {item!r}: expected KEY=VALUE, e.g. light.alpha=0.02")
        if key.strip()[:1] in ("'", '"'):  # as TOML would quote a name: here a key is always a path
            raise ScenarioError(f"--set {item!r}: give the key without quotes, e.g. "
                                f"{key.strip().strip(chr(34) + chr(39))}={value.strip()}")
        if key.strip() in out:
            raise ScenarioError(f"--set {key.strip()}: given twice ({out[key.strip()]!r} and {value.strip()!r}); "
                                "give it once")
        out[key.strip()] = value.strip()
    return out


def parse_event_options(items: list[str]) -> list[dict[str, Any]]:
    """``['{kind = "reset", year = 500, group = {first = 0, count = 1}}', ...]`` -> event tables
    (TOML inline tables, as an event is written in a scenario file)."""
    out = []
    for item in items:
        try:
            doc = tomllib.loads(f"e = {item}")
            if len(doc) != 1:  # more TOML after the table ('{...}\nx = 1'): not one event
                raise tomllib.TOMLDecodeError("text after the table")
            table = doc["e"]
        except RecursionError:
            raise ScenarioError(f"--event {item[:40]!r}...: {TOO_DEEP}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(f"--event {item!r}: not a TOML inline table ({exc}); e.g. "
                                "'{kind = \"scale\", year = 100, until = 140, key = \"light.light\", factor = 1.5}'") from None
        if not isinstance(table, dict):
            raise ScenarioError(f"--event {item!r}: expected an inline table {{kind = ..., year = ..., ...}}")
        out.append(table)
    return out


def add_events(raw: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """A copy of ``raw`` with ``events`` appended to its list of events (validated later). An
    ``events`` that is not a list is left as it is, for validation to name it."""
    out = _deepcopy(raw)
    own = out.get("events", [])
    if not isinstance(own, list):
        return out
    out["events"] = own + _deepcopy(list(events))
    return out


def _deepcopy(obj):
    if isinstance(obj, dict):
        return {k: _deepcopy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_deepcopy(v) for v in obj]
    return obj


def _check_finite(obj, path: str, problems: list[str]) -> None:
    # TOML allows nan/inf literals; refuse them with the key's name before pydantic does it
    # with a less direct message.
    if isinstance(obj, float) and not math.isfinite(obj):
        problems.append(f"{path or 'scenario'}: {obj} is not allowed; give a finite number")
    if isinstance(obj, dict):
        for k, v in obj.items():
            _check_finite(v, f"{path}.{k}" if path else str(k), problems)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _check_finite(v, f"{path}[{i}]", problems)


def _check_scalar_types(obj, model, path: str, problems: list[str]) -> None:
    # Pydantic's lax mode reads true as 1 where a number is expected (network.k = true would run
    # with k = 1), text as a number (alpha = "0.2") and 1, "yes" or "on" as true: a value of the
    # wrong kind is refused here, naming the key. NumPy's numbers and booleans (API users) pass.
    if isinstance(model, tuple) and model and model[0] == "list":
        if isinstance(obj, list):
            for i, v in enumerate(obj):
                _check_scalar_types(v, model[1], f"{path}[{i}]", problems)
        return
    if isinstance(model, dict):  # a tagged union (an event, a distribution): the model its kind names
        model = model.get(obj.get("kind")) if isinstance(obj, dict) and isinstance(obj.get("kind"), str) else None
    if isinstance(model, type) and issubclass(model, BaseModel):
        if isinstance(obj, dict):
            for k, v in obj.items():
                if k in model.model_fields:
                    _check_scalar_types(v, _field_type(model.model_fields[k].annotation), f"{path}.{k}" if path else k,
                                        problems)
        return
    if model in (int, float):
        what = "a whole number" if model is int else "a number"
        if isinstance(obj, (bool, np.bool_)):
            problems.append(f"{path}: Input should be {what}, not true or false (got {obj!r})")
        if isinstance(obj, str):
            quoted = _is_number_text(obj)  # a number in quotes in a file; else text where a number goes
            problems.append(f"{path}: Input should be {what}, not text (got {obj!r}"
                            + ("; write it without quotes)" if quoted else ")"))
    elif model is bool and not isinstance(obj, (bool, np.bool_, dict, list)):
        problems.append(f"{path}: Input should be true or false (got {obj!r})")


def _is_number_text(text: str) -> bool:
    """Whether ``text`` reads as a finite number (``"0.5"``, ``"1e3"``), as a number quoted by mistake
    does; ``"nan"`` and ``"inf"`` do not, since unquoted they are refused as not finite."""
    try:
        return math.isfinite(float(text.replace("_", "")))
    except ValueError:
        return False


def _walk(loc: tuple, model: type[BaseModel] | None):
    """A pydantic error location rendered as ``a.b[0].c``, the model that holds its last key,
    that key (None for a list index), and the type at the location (a dict tag -> model for a
    discriminated union such as an event)."""
    text = ""
    current: Any = model
    parent_model: type[BaseModel] | None = None
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
            current = _list_item_type(current)
            continue
        fields = getattr(current, "model_fields", None) if isinstance(current, type) else None
        if fields is None and isinstance(current, dict):
            # A discriminated union: pydantic puts the tag in the location; skip it.
            if part in current:
                current = current[part]
                continue
        if fields is not None and part not in fields:
            parent_model = current
            text += f".{part}" if text else part
            current = None
            continue
        parent_model = current if fields is not None else None
        text += f".{part}" if text else part
        current = _field_type(fields[part].annotation) if fields is not None else None
    return text, parent_model, loc[-1] if loc and isinstance(loc[-1], str) else None, current


def _field_type(annotation):
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _field_type(args[0])
    if origin in (list, tuple):  # list[X] or tuple[X, ...]: an index, then an X
        return ("list", _field_type(args[0]))
    if origin in (typing.Union, types.UnionType):  # Union[X, Y] or X | None
        members = [a for a in args if a is not type(None)]
        models = {}
        for m in members:
            m = _field_type(m)
            if isinstance(m, type) and issubclass(m, BaseModel):
                kind = m.model_fields.get("kind")
                if kind is None:
                    return m
                for tag in typing.get_args(kind.annotation):
                    models[tag] = m
            else:
                return m
        if len(models) == 1:
            return next(iter(models.values()))
        return models
    return annotation


def _list_item_type(current):
    if isinstance(current, tuple) and current and current[0] == "list":
        return current[1]
    return None


def format_validation_error(exc: ValidationError) -> str:
    """One line per problem: the key path, what was given, what is allowed."""
    lines = []
    errors = exc.errors()
    meant = set()  # required keys a misspelt key stands for: its "did you mean" says it, not a second line
    for err in errors:
        if err["type"] == "extra_forbidden":
            loc = tuple(err["loc"])
            _, parent, last, _ = _walk(loc, Scenario)
            if parent is not None and isinstance(last, str):
                meant.update(loc[:-1] + (m,) for m in difflib.get_close_matches(last, list(parent.model_fields), n=1))
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "missing" and loc in meant:
            continue
        path, parent, last, here = _walk(loc, Scenario)
        if err["type"] == "too_short" and any(len(e["loc"]) > len(loc) and tuple(e["loc"][:len(loc)]) == loc
                                              for e in errors):
            continue  # pydantic's echo of an item refused above: the list is not short, its item is bad
        if err["type"] in ("union_tag_not_found", "union_tag_invalid"):
            tag = err["ctx"].get("discriminator", "kind").strip("'")
            tags = list(here) if isinstance(here, dict) else []
            allowed = f"; allowed: {', '.join(tags)}" if tags else ""
            given = (err.get("ctx") or {}).get("tag")
            if given is None:
                lines.append(f"{path}.{tag}: missing{allowed}")
            else:
                close = difflib.get_close_matches(str(given), tags, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                lines.append(f"{path}.{tag}: unknown {tag} {given!r}{hint}{allowed}")
            continue
        if err["type"] == "extra_forbidden":
            hint = ""
            dotted = ".".join(str(x) for x in loc)
            if isinstance(last, str) and "." in last and _names_a_key(dotted):  # "light.alpha" = 1: one name
                lines.append(f'"{last}": unknown key: a key in quotes is one name with a dot in it; write the path '
                             f"{dotted} without quotes (or the key under its section's [table])")
                continue
            if parent is not None and last is not None:
                close = difflib.get_close_matches(last, list(parent.model_fields), n=1)
                if close:
                    hint = f" (did you mean {close[0]!r}?)"
                allowed = ", ".join(parent.model_fields)
                lines.append(f"{path}: unknown key{hint}; allowed here: {allowed}")
            else:
                lines.append(f"{path}: unknown key{hint}")
            continue
        given = err.get("input")
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if err["type"] == "model_type":  # pydantic names its class: the user wrote a value for a table
            msg = "Input should be a table of keys (a section)"
        where = path or "scenario"
        # a check across keys (told as "scenario") was given the whole table: its message names the keys
        if err["type"] in ("missing",) or not path or (isinstance(given, (dict, list))
                                                        and (not given or len(repr(given)) > 60)):
            lines.append(f"{where}: {msg}")
        else:
            lines.append(f"{where}: {msg} (got {given!r})")
    return "\n".join(lines)


def build_scenario(raw: dict[str, Any], origin: str = "scenario") -> Scenario:
    """Validate a raw table into a :class:`Scenario` or raise :class:`ScenarioError` naming
    every problem, one line each: the file (or preset) first, then each key and what it allows."""
    problems: list[str] = []
    _check_finite(raw, "", problems)
    _check_scalar_types(raw, Scenario, "", problems)
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        told = {line.split(": ", 1)[0] for line in problems}  # a key refused above is told once
        # and where a key was refused above, the checks across keys (told as "scenario") read the
        # value pydantic made of it (true as 1): their word would be about a value no one gave
        problems += [line for line in format_validation_error(exc).splitlines()
                     if line.split(": ", 1)[0] not in told and not (told and line.startswith("scenario: "))]
    if problems:
        raise ScenarioError(f"{origin}: invalid scenario\n" + "\n".join(problems))
    return scenario


def _kind_of(value) -> str:
    """How a message names what was given: its type, and a wrong key of a dict or member of a list."""
    if isinstance(value, dict):
        bad = next((k for k in value if not isinstance(k, str)), None)
        return f"a dict with the key {bad!r}" if bad is not None else "a dict"
    if isinstance(value, (list, tuple)):
        bad = next((e for e in value if not isinstance(e, dict)), None)
        return f"a {type(value).__name__} holding {type(bad).__name__} {bad!r}" if bad is not None else type(value).__name__
    return type(value).__name__


def check_kinds(*, source=None, preset=None, overrides=None, events=None, years=None) -> None:
    """ScenarioError naming an argument of :func:`load_scenario` (and of ``tikkun.run``) of the
    wrong kind, before anything is read (Python's TypeError or AttributeError from inside came of
    them: ``preset=5``, ``overrides="a=1"``)."""
    if source is not None and not isinstance(source, (str, os.PathLike)):
        raise ScenarioError(f"scenario: a scenario file's path (got {type(source).__name__})")
    if preset is not None and not isinstance(preset, str):
        raise ScenarioError(f"preset: a preset's name as text, e.g. \"quick\" (got {type(preset).__name__})")
    if overrides is not None and not (isinstance(overrides, dict) and all(isinstance(k, str) for k in overrides)):
        raise ScenarioError("overrides: a dict of dotted keys and values, e.g. {\"light.alpha\": 0.5} "
                            f"(got {_kind_of(overrides) if isinstance(overrides, dict) else type(overrides).__name__})")
    if events is not None and not (isinstance(events, (list, tuple)) and all(isinstance(e, dict) for e in events)):
        raise ScenarioError("events: a list of dicts, each an event's table as in a scenario file, e.g. "
                            f"[{{\"kind\": \"reset\", \"year\": 100}}] (got {_kind_of(events)})")
    if years is not None and (isinstance(years, (bool, np.bool_)) or not isinstance(years, Integral)):
        raise ScenarioError(f"years: a whole number (got {years!r})")


def load_scenario(
    source: str | Path | None = None,
    *,
    preset: str | None = None,
    overrides: dict[str, Any] | None = None,
    years: int | None = None,
    events: list[dict[str, Any]] | None = None,
) -> Scenario:
    """Load a scenario from a file, or a preset (default ``history``), with dotted overrides and
    ``events`` appended to its own (``--event``).

    ``years`` shortens (or lengthens) the horizon the way ``--years`` does: events that start
    at or after the new horizon are dropped and spans are cut at it, so a long history can be
    tried for a few hundred years. (Setting ``run.years`` as an override instead keeps the
    strict check that no event lies past the horizon.)

    >>> s = load_scenario(preset="quick", overrides={"run.seed": 3})
    """
    check_kinds(source=source, preset=preset, overrides=overrides, events=events, years=years)
    if source is not None and preset is not None:
        raise ScenarioError("give a scenario file or a preset, not both")
    if source is not None:
        raw, origin = read_scenario_file(source), str(source)
    else:
        name = "history" if preset is None else preset  # an empty name is refused, not the default
        raw, origin = _parse_toml(preset_text(name), f"preset {name}"), f"preset {name}"
    # a problem may lie in what was given on top of the file or preset: the message says so
    given = []
    if overrides:
        raw = apply_overrides(raw, overrides)
        given.append("the values set on it")
    if events:
        # the index the added events get, after --years has dropped the file's events past it
        own = (_with_horizon(raw, years) if years is not None else raw).get("events", []) if isinstance(raw, dict) else []
        first = len(own) if isinstance(own, list) else 0
        raw = add_events(raw, events)
        given.append(f"the events added to it (events[{first}] on)" if len(events) > 1 else
                     f"the event added to it (events[{first}])")
    if years is not None:
        raw = _with_horizon(raw, years)
        given.append(f"{years} years")
    if given:
        origin = f"{origin} with " + ", ".join(given)
    return build_scenario(raw, origin)


def _with_horizon(raw: dict[str, Any], years: int) -> dict[str, Any]:
    out = apply_overrides(raw, {"run.years": years})
    if not isinstance(years, int) or years <= 0:
        return out  # validation reports it
    if not isinstance(out.get("events", []), list):
        return out  # validation reports it
    kept = []
    for event in out.get("events", []):
        if not isinstance(event, dict) or not isinstance(event.get("year"), int):
            kept.append(event)  # validation reports it
            continue
        if event["year"] >= years:
            continue
        if isinstance(event.get("until"), int) and event["until"] > years:
            event = {**event, "until": years}
        kept.append(event)
    if "events" in out:
        out["events"] = kept
    return out


def _drop_none(obj):
    if isinstance(obj, dict):
        return {k: _drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_drop_none(v) for v in obj]
    return obj


def scenario_to_toml(scenario: Scenario) -> str:
    """The fully resolved scenario as TOML; loading it gives back an equal scenario."""
    data = _drop_none(scenario.model_dump(mode="json"))
    head = ("# Fully resolved tikkun scenario: `tikkun run scenario.toml` reproduces this run's results\n"
            "# (the souls of other years and the network, --souls-at and --save-network, with those options).\n")
    if scenario.network.kind == "given":
        head += "# Its network is one's own: the run reads it from graph.npy beside this file.\n"
    return head + tomli_w.dumps(data)
