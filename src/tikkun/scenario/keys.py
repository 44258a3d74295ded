"""The scenario's keys as dotted paths (``light.alpha``), read from its schema: which name a
value, which a section, and what is allowed where a key is unknown. ``--set``, a sweep's
``set`` and ``grid`` and the sensitivity's parameters name keys so."""

from __future__ import annotations

import difflib
import types
import typing

from pydantic import BaseModel

from .schema import Scenario

def _models(annotation) -> list[type[BaseModel]]:
    """The pydantic models an annotation can hold (several for a tagged union; none for a value)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(annotation) for m in _models(a)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return []


def scenario_key_problem(dotted: str) -> str | None:
    """None if ``dotted`` names a value of the scenario, "section" if it names a section, else
    a message naming the unknown part and what is allowed there. Read from the scenario's
    schema, so it follows the model as keys are added."""
    parts = dotted.split(".")
    if not all(parts):
        return "a key is a dotted path such as light.alpha"
    models = [Scenario]
    for i, part in enumerate(parts):
        if not models:
            return f"{'.'.join(parts[:i])} is a value, not a section"
        fields = {}
        for m in models:
            fields.update(m.model_fields)
        if part not in fields:
            close = difflib.get_close_matches(part, list(fields), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            where = ".".join(parts[:i]) or "the scenario"
            return f"unknown key {part!r}{hint}; allowed in {where}: {', '.join(fields)}"
        models = _models(fields[part].annotation)
    return "section" if models else None


def scenario_key_type(dotted: str):
    """The annotation of a scenario value key (e.g. ``float``), or None for a section."""
    models = [Scenario]
    annotation = None
    for part in dotted.split("."):
        fields = {}
        for m in models:
            fields.update(m.model_fields)
        annotation = fields[part].annotation
        models = _models(annotation)
    return None if models else annotation


def is_section(dotted: str) -> bool:
    """Whether ``dotted`` names a section of one kind (``light``, ``network``): a table given for
    it is merged into it key by key. A value that is a table of one of several kinds (a
    distribution such as ``souls.unity``, told apart by its ``kind``) is no section here: a
    table given for it replaces it, since another kind's keys are not its own."""
    return scenario_key_problem(dotted) == "section" and len(_key_models(dotted)) == 1


def default_kind(dotted: str) -> str | None:
    """The ``kind`` of the default of ``dotted`` where it names a table of one of several kinds
    (``sparks.unity``: ``"beta"``), else None. A key set inside such a table that the scenario
    leaves out (``--set sparks.unity.a=5``) is then a key of the default's kind, not a table
    without a kind."""
    if scenario_key_problem(dotted) != "section" or len(_key_models(dotted)) < 2:
        return None
    *above, last = dotted.split(".")
    model = Scenario
    for part in above:
        model = _models(model.model_fields[part].annotation)[0]  # sections above a tagged table are of one kind
    default = model.model_fields[last].default
    return getattr(default, "kind", None)


def _key_models(dotted: str) -> list[type[BaseModel]]:
    models = [Scenario]
    for part in dotted.split("."):
        fields = {}
        for m in models:
            fields.update(m.model_fields)
        models = _models(fields[part].annotation)
    return models
