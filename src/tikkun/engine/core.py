"""The engine: it owns the clock and the order of the rules.

``build(scenario)`` returns ``(init_fn, step_fn)`` (JAX-MD's pattern):

* ``init_fn() -> State``: the population of year 0;
* ``step_fn(state) -> (state, row)``: one year, returning the next state and the year's
  metrics row (a dict of numbers, see :data:`tikkun.records.METRIC_COLUMNS`).

The order of a year (numbered as in docs/rules.md):

0. at a generation's start, the shepherds of the generation that ended step down (002);
1. events on souls of this year (shepherds, resets, policies, souls completed);
2. at a generation's start, its judge (002);
3. every ``R`` years, rewiring toward the good and pure (004);
4. the year's globals: this year's light, practice ``P`` and shocks from the schedule; the
   worlds stepped with this year's light, whose product is this year's conductance ``W``;
   from last year's state holiness ``J`` (the judge), ``C`` (what earlier correction
   prepared, and the sparks' inclusion) and whether any shepherd exists;
5a. the warm network (004): this year's effort from last year's
    (:func:`tikkun.rules.network.warm_network`);
5b-5g. the fused pass over souls (:mod:`tikkun.engine.year_kernel`): aim, shocks, light,
    screens, greater desire, shepherds (and each soul's stage and journey, reported);
6. the weakest link ``G``, the end of correction (002: the final purpose depends on the whole,
   "when a tiny part of a tiny spark is missing, the end will not be able to appear"); the year
   each newly complete soul completed;
7. the mean illumination, reported, from this year's ``G``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..rules import events as ev
from ..rules import generations, good_and_pure, impurity, network, shepherds, worlds
from ..rules.illumination import illumination_mean
from ..rules.inclusion import inclusion_level
from ..rules.light import holiness, light_gain
from ..rules.population import initial_state
from ..scenario.schema import Scenario
from ..state import State
from . import year_kernel as yk


class StopReason(enum.Enum):
    """Why a run ended."""

    END_OF_CORRECTION = "end_of_correction"
    HORIZON = "horizon"

    @property
    def message(self) -> str:
        return {
            StopReason.END_OF_CORRECTION: "the end of correction: every spark of every soul is corrected (G = 1)",
            StopReason.HORIZON: "the horizon was reached",
        }[self]


@dataclass(frozen=True)
class YearGlobals:
    """The numbers common to every soul in one year (all float unless noted)."""

    year: int
    era: int
    light: float
    practice: float
    inclusion: np.float32
    conductance: float
    holiness: float
    gain: float
    shepherd_light: float
    n_shocks: int
    shock_size: float
    theta_max: float
    messiah: bool


def build(scenario: Scenario, unity_fn: Callable | None = None, world_unity: float | None = None, graph=None):
    """Return ``(init_fn, step_fn)`` for a scenario. See the module docstring.

    ``unity_fn`` and ``world_unity`` come from genesis' shatter when the scenario has one
    (:func:`tikkun.api.vessel_inputs`); ``init_fn`` refuses a scenario with ``[genesis]`` and no
    ``unity_fn`` rather than silently drawing unity from the distribution the vessel replaces
    (``step_fn`` alone, as a resume uses it, needs neither). ``graph``: whom each soul listens to
    where ``network.kind = "given"`` (:func:`tikkun.rules.network.given_graph`).

    ``step_fn`` remembers, for speed only, which segments of souls it found settled last year
    and does not look at them again: it does so only for the state it returned (the same
    arrays, the next year), and not in a year with events on souls. A state's arrays change
    between years through the step and its events; to change them by hand, hand the step a
    copy (``state.replace(**{k: v.copy() for k, v in state.arrays().items()})``): new arrays
    are looked at everywhere.
    """
    schedule = ev.parameter_schedule(scenario)
    soul_events = ev.soul_events_by_year(scenario)
    seed = scenario.run.seed
    degrees = scenario.sparks.degrees
    gens = scenario.generations
    net = scenario.network
    threshold = scenario.genesis.A if scenario.genesis is not None else 1.0  # the light's threshold A

    def init_fn() -> State:
        # checked here, not in build: a resumed run steps a saved state and needs no vessel
        if scenario.genesis is not None and unity_fn is None:
            raise ValueError("the scenario has a [genesis] section: pass unity_fn and world_unity from "
                             "tikkun.api.vessel_inputs(scenario), or run it with tikkun.run")
        return initial_state(scenario, unity_fn=unity_fn, world_unity=world_unity, graph=graph)

    def year_globals(state: State) -> YearGlobals:
        t = state.year
        p = {k: float(v[t]) for k, v in schedule.items()}
        era = generations.era_of(t, gens.torah_from, gens.messiah_from)
        lam = p["light.light"]
        if scenario.worlds.enabled:
            # the worlds carry this year's light down; their new unity sets the conductance
            state.worlds[:] = worlds.step_worlds(state.worlds, lam, threshold, scenario.worlds.rho)
            w = worlds.conductance(state.worlds)
        else:
            w = p["light.conductance"]
        j = holiness(p["light.kappa0"], state.judge_cleansing)
        gain = light_gain(p["light.alpha"], lam, w, j, p["light.beta"], state.cleansing_mean)
        return YearGlobals(
            year=t, era=era, light=lam, practice=p["light.practice"],
            inclusion=inclusion_level(scenario.sparks.inclusion, state.cleansing_mean),
            conductance=w, holiness=j, gain=gain,
            shepherd_light=shepherds.shepherd_light(p["light.phi_s"], state.shepherds),
            n_shocks=impurity.shocks_this_year(seed, t, p["impurity.rate"]),
            shock_size=p["impurity.shock_size"], theta_max=p["network.theta_max"],
            messiah=era == 2 and gens.shepherds == "auto",
        )

    # kept between years for speed only (none changes any result): the kernel's spark ->
    # soul-in-block index, derived once per spark layout; last year's block sums, which say
    # where settled souls may be, and the segments found settled (a resumed run starts without
    # them and looks everywhere)
    kept = {}

    def spark_owners(state: State) -> np.ndarray:
        if kept.get("start") is not state.spark_start:
            kept["start"], kept["owner"] = state.spark_start, yk.spark_owners(state.spark_start)
        return kept["owner"]

    def step_fn(state: State) -> tuple[State, dict]:
        t = state.year
        # 0. a generation's redemption ends with it (002): its shepherds step down
        if generations.is_generation_start(t, gens.length) and state.shepherds > 0:
            if shepherds.end_generation(state.shepherd):
                state = state.replace(shepherds=int(np.count_nonzero(state.shepherd)))
        # 1. events on souls
        if t in soul_events:
            flag = shepherds.FOREVER if t >= gens.messiah_from else shepherds.THIS_GENERATION
            ev.apply_soul_events(state, soul_events[t], seed, t, shepherd_flag=flag)
            state = state.replace(shepherds=int(np.count_nonzero(state.shepherd)))
        # 2. a new generation chooses its judge (002)
        if generations.is_generation_start(t, gens.length):
            messiah = generations.era_of(t, gens.torah_from, gens.messiah_from) == 2
            judge = generations.choose_judge(gens.judge, state.cleansing, state.special, messiah, seed, t)
            state = state.replace(judge=judge,
                                  judge_cleansing=float(state.cleansing[judge]) if judge >= 0 else 0.0)
        # 3. toward the good and pure (004)
        rewired = 0
        if net.enabled and net.good_and_pure and t > 0 and t % net.rewire_every == 0:
            rewired = good_and_pure.rewire(seed, t, schedule["network.p_rewire"][t], state.neighbours,
                                           state.cleansing, state.edge_weight, state.warmth)
        # 4. the year's globals
        g = year_globals(state)
        n = state.n_souls
        # 5. the warm network (004): this year's effort from last year's, then swap the buffers
        if state.neighbours.shape[1] > 0:
            effort_sums = np.empty(yk.n_blocks(n), dtype=np.float64)
            network.warm_network(g.theta_max, state.neighbours, state.edge_weight, state.effort,
                                 state.effort_next, state.effort0, effort_sums, yk.BLOCK)
            state = state.replace(effort=state.effort_next, effort_next=state.effort)
        else:
            effort_sums = yk.block_sums(state.effort)
        # 6. the fused pass over souls and sparks
        look = yk.may_hold_settled(kept.get("partials"), n)
        last = kept.get("settled")  # (masks, the arrays they were found in, the year after)
        if (last is not None and last[1] is state.complete and last[2] is state.holding
                and last[3] is state.cleansing and last[4] == t and t not in soul_events):  # events may unsettle
            settled_before = last[0]
        else:
            settled_before = np.zeros(yk.n_blocks(n), dtype=np.uint64)
        settled_now = np.empty(yk.n_blocks(n), dtype=np.uint64)
        partials = np.empty((yk.n_blocks(n), yk.N_PARTIALS), dtype=np.float64)
        yk.year_pass(
            seed, t, g.gain, g.practice, g.inclusion, schedule["light.eps"][t], g.shepherd_light, degrees,
            g.n_shocks, g.shock_size, g.messiah,
            state.effort, state.attachment,
            state.hbd, state.steadiness, state.regain,
            state.holding, state.shepherd, state.complete, state.cleansing,
            state.size_total, state.spark_start, spark_owners(state),
            state.size, state.unity, state.screen,
            look, effort_sums, settled_before, settled_now, partials,
        )
        # the year of completion of the souls completed this year: looked for only in blocks
        # whose count of complete souls moved (everywhere after events, which may undo one)
        last_partials = kept.get("partials")
        if last_partials is None or t in soul_events:
            moved = np.ones(yk.n_blocks(n), dtype=np.uint8)
        else:
            moved = (partials[:, yk.P_COMPLETE] != last_partials[:, yk.P_COMPLETE]).astype(np.uint8)
        if moved.any():
            yk.mark_completed(state.complete, state.completed_year, t, moved)
        kept["partials"] = partials
        kept["settled"] = (settled_now, state.complete, state.holding, state.cleansing, t + 1)
        tot = yk.reduce_partials(partials)
        c_mean = tot[yk.P_CLEANSING] / n
        g_link = float(tot[yk.P_WEAKEST])
        omega = schedule["light.omega"][t]
        row = {
            "year": t,
            "era": generations.ERAS[g.era],
            "light": g.light,
            "practice": g.practice,
            "shock_rate": float(schedule["impurity.rate"][t]),
            "conductance": g.conductance,
            "u_atzilut": float(state.worlds[0]),
            "u_beria": float(state.worlds[1]),
            "u_yetzira": float(state.worlds[2]),
            "u_assiya": float(state.worlds[3]),
            "holiness": g.holiness,
            "judge": state.judge,
            "judge_cleansing": state.judge_cleansing,
            "cleansing_mean": c_mean,
            "weakest_link": g_link,
            "illumination_mean": illumination_mean(g.light, g.conductance, omega, c_mean, g_link),
            "effort_mean": tot[yk.P_EFFORT] / n,
            "complete": int(tot[yk.P_COMPLETE]),
            "shepherds": int(tot[yk.P_SHEPHERDS]),
            "holding_aim": int(tot[yk.P_HOLDING]),
            "greater_desire": int(tot[yk.P_GREATER]),
            "lost_aim": int(tot[yk.P_LOST_AIM]),
            "shocks": g.n_shocks,
            "screen_lost": tot[yk.P_LOST],
            "rewired": rewired,
            "stage_spark": int(tot[yk.P_STAGE_SPARK]),
            "stage_particular": int(tot[yk.P_STAGE_PARTICULAR]),
            "stage_common": int(tot[yk.P_STAGE_COMMON]),
            "journey_moses": int(tot[yk.P_MOSES]),
            "journey_joshua": int(tot[yk.P_JOSHUA]),
            "journey_solomon": int(tot[yk.P_SOLOMON]),
            "journey_david": int(tot[yk.P_DAVID]),
        }
        changes = dict(year=t + 1, cleansing_mean=c_mean, weakest_link=g_link, shepherds=int(tot[yk.P_SHEPHERDS]))
        return state.replace(**changes), row

    step_fn.schedule = schedule  # for reports: the global parameters by year
    step_fn.kept = kept  # what it remembers between years (for tests: nothing of it is a result)
    return init_fn, step_fn
