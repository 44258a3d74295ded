"""Events by year (MODEL.md, "Events"): the history is nothing but a list of them.

What they express (002): redemptions before the Messiah belong to their generation ("the
giving of the Torah belonged specifically to the generation of the desert and to Moses"), so
the history's light pulses last one generation; one soul's complete repentance ("If even one
man came before his Master in complete repentance, the Messiah King would come at once") is a
``shepherds`` or ``complete`` event; the latecomer who "will buy his world in one hour due to
the ability of that generation" is a ``reset``.

Two kinds of effect:

* global parameters (``set`` and ``scale``) over a span ``[year, until)``: light pulses of the
  redemptions, shock rates. :func:`parameter_schedule` (made with the scenario, which checks
  every year's value) turns them into one value per year, so the yearly step only looks a
  number up.
* actions on groups of souls at one year (``shepherds``, ``complete``, ``reset``, ``policy``), applied by
  :func:`apply_soul_events` at the start of that year with NumPy fancy indexing.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from .. import random as rng
# the globals' values year by year are resolved with the scenario, whose validation checks them
from ..scenario.schema import Group, Scenario, parameter_schedule  # noqa: F401 (the engine reads it here)
from .network import edge_weights


def soul_events_by_year(scenario: Scenario) -> dict[int, list[tuple[int, object]]]:
    """``year -> [(event index, event), ...]`` for the actions on souls."""
    out: dict[int, list] = defaultdict(list)
    for i, ev in enumerate(scenario.events):
        if ev.kind in ("shepherds", "complete", "reset", "policy"):
            out[ev.year].append((i, ev))
    return dict(out)


def select_group(group: Group, state, seed: int, year: int, event_index: int) -> np.ndarray:
    """int64 indices of the souls a group names, at the moment the event acts."""
    n = state.n_souls
    if group.souls is not None:
        return np.unique(np.asarray(group.souls, dtype=np.int64))
    if group.first is not None:
        return np.arange(group.first, min(n, group.first + group.count), dtype=np.int64)
    if group.share is not None:
        u = rng.uniforms(seed, year, np.arange(n, dtype=np.int64), rng.PURPOSE_GROUP, event_index)
        return np.flatnonzero(u < group.share).astype(np.int64)
    field = group.lowest or group.highest
    values = getattr(state, "effort0" if field == "effort" else field).astype(np.float64)
    key = values if group.lowest else -values
    order = np.lexsort((np.arange(n), key))  # ties: lowest index first, deterministic
    return np.sort(order[: group.count]).astype(np.int64)


def _sparks_of(state, souls: np.ndarray) -> np.ndarray:
    starts = state.spark_start[souls]
    counts = state.spark_start[souls + 1] - starts
    if counts.sum() == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    return np.arange(counts.sum(), dtype=np.int64) + offsets


def apply_soul_events(state, events: list[tuple[int, object]], seed: int, year: int, shepherd_flag: int = 1) -> None:
    """Apply this year's actions on souls to the state's arrays, in place, in listed order.

    shepherds: the souls become complete and shepherds (002, "when a single soul ... is purified
      from all its filth ... through it, all the souls of its generation will be corrected"),
      with the flag ``shepherd_flag`` (:mod:`tikkun.rules.shepherds`: for good in the Messiah
      era, until the generation's end before it); souls not yet complete complete this year.
    complete: the souls become complete without becoming shepherds; with ``spare = "smallest"``
      the smallest of their sparks (the first in order among equals) is left at screen 0 and its
      soul incomplete.
    reset: a newcomer's fresh start: screens 0, aim held, effort back to baseline, not a shepherd,
      not complete.
    policy: the group adopts new values of regain, steadiness, effort (baseline and current),
      warmth, attachment or hbd.
    """
    for index, ev in events:
        souls = select_group(ev.group, state, seed, year, index)
        if souls.size == 0:
            continue
        sparks = _sparks_of(state, souls)
        if ev.kind == "shepherds":
            state.screen[sparks] = state.size[sparks]
            state.cleansing[souls] = 1.0
            state.completed_year[souls] = np.where(state.complete[souls] == 1, state.completed_year[souls], year)
            state.complete[souls] = 1
            # a shepherd for good stays one; otherwise the event's flag
            state.shepherd[souls] = np.where((state.shepherd[souls] == 1) | (shepherd_flag == 1), 1, shepherd_flag)
            state.holding[souls] = 1
        elif ev.kind == "complete":
            state.screen[sparks] = state.size[sparks]
            done = souls
            if ev.spare == "smallest" and sparks.size:
                spared = sparks[int(np.argmin(state.size[sparks]))]
                state.screen[spared] = 0.0
                owner = int(np.searchsorted(state.spark_start, spared, side="right") - 1)
                done = souls[souls != owner]
                state.complete[owner] = 0
                state.completed_year[owner] = -1
                lo, hi = state.spark_start[owner], state.spark_start[owner + 1]
                state.cleansing[owner] = np.float32(min(1.0, state.screen[lo:hi].astype(np.float64).sum()
                                                        / state.size_total[owner]))
            state.cleansing[done] = 1.0
            state.completed_year[done] = np.where(state.complete[done] == 1, state.completed_year[done], year)
            state.complete[done] = 1
            state.holding[done] = 1
        elif ev.kind == "reset":
            state.screen[sparks] = 0.0
            state.cleansing[souls] = 0.0
            state.complete[souls] = 0
            state.completed_year[souls] = -1
            state.shepherd[souls] = 0
            state.holding[souls] = 1
            state.effort[souls] = state.effort0[souls]
            if ev.hbd is not None:
                state.hbd[souls] = ev.hbd
        else:  # policy
            for name in ("regain", "steadiness", "warmth", "attachment", "hbd"):
                value = getattr(ev, name)
                if value is not None:
                    getattr(state, name)[souls] = value
            if ev.warmth is not None:  # the edges that hear these souls carry their new warmth
                state.edge_weight[...] = edge_weights(state.neighbours, state.warmth)
            if ev.effort is not None:
                state.effort0[souls] = ev.effort
                state.effort[souls] = ev.effort
