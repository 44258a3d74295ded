"""The scenario: every number of MODEL.md's phase 2 as a key with its default, range and meaning.

A scenario is a TOML file parsed into these frozen pydantic models. Unknown keys are errors
(``extra="forbid"``); NaN and infinity are refused everywhere (``allow_inf_nan=False``).
The one-line ``description`` of every field is the text ``tikkun explain`` shows.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .genesis import GenesisConfig


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def _f(default, description: str, **kw):
    return Field(default, description=description, **kw)


class RunConfig(_Section):
    """The clock: seed, horizon, and when to stop (002, "the 6,000 years")."""

    seed: int = _f(20, "seed of the counter-based generator; every draw is a function of it", ge=0, le=2**62)
    years: int = _f(6000, "horizon in years; one step is one year", gt=0, le=1_000_000)
    stop_at_end: bool = _f(True, "stop at the end of correction (G = 1) instead of running on to the horizon")


class SoulsConfig(_Section):
    """The souls and their initial qualities (MODEL.md, phase 2, "State")."""

    count: int = _f(600_000, "number of souls (002, '600,000 souls')", gt=0, le=50_000_000)
    sparks_extra_mean: float = _f(3.0, "sparks per soul are 1 + Poisson(this) (002, 'each soul divides into several sparks')", ge=0, le=60)
    effort_shape: float = _f(2.0, "baseline effort e0 ~ Gamma(shape, scale): engagement in Torah and Mitzva (002)", gt=0, le=1e3)
    effort_scale: float = _f(0.5, "scale of the Gamma baseline effort", gt=0, le=1e3)
    warmth_a: float = _f(2.0, "warmth ~ Beta(a, b): how warmly a soul relates to others (004)", gt=0, le=1e3)
    warmth_b: float = _f(5.0, "second Beta parameter of warmth (a cold world)", gt=0, le=1e3)
    attachment_a: float = _f(1.0, "attachment ~ Beta(a, b): holy coldness, cleaving to the source (004)", gt=0, le=1e3)
    attachment_b: float = _f(4.0, "second Beta parameter of attachment", gt=0, le=1e3)
    hbd_sigma: float = _f(0.3, "hbd ~ LogNormal(0, sigma): measure of mind, speed and never end state (002)", ge=0, le=5)
    special_share: float = _f(0.01, "share of souls, highest in hbd, that are special: wise disciples, prophets, priests (002)", ge=0, le=1)
    steadiness: float = _f(0.7, "chance to keep aim when a greater desire comes (000)", ge=0, le=1)
    regain: float = _f(0.3, "chance a year to catch the goal again once lost; 1 is 'here and now' (000)", ge=0, le=1)


class BetaDist(_Section):
    kind: Literal["beta"] = "beta"
    a: float = _f(8.0, "first Beta parameter", gt=0, le=1e4)
    b: float = _f(2.0, "second Beta parameter", gt=0, le=1e4)


class UniformDist(_Section):
    kind: Literal["uniform"]
    low: float = _f(0.0, "lower bound", ge=0, le=1)
    high: float = _f(1.0, "upper bound", ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self):
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self


class ConstantDist(_Section):
    kind: Literal["constant"]
    value: float = _f(1.0, "the unity of every spark", ge=0, le=1)


UnityDist = Annotated[Union[BetaDist, UniformDist, ConstantDist], Field(discriminator="kind")]


class SparksConfig(_Section):
    """The sparks: sizes, unity and degrees (MODEL.md, "Shatter" and "Derived each year")."""

    size_sigma: float = _f(1.0, "spark size D ~ LogNormal(0, sigma): shards of every size, many tiny ones (002, 'a tiny part of a tiny spark')", ge=0, le=5)
    degrees: int = _f(10, "degrees L of a spark; crossing one brings 'a greater desire' (000)", ge=1, le=10_000)
    unity: UnityDist = _f(BetaDist(), "unity iota of a spark when genesis is off: what it kept from the breaking (000)")
    inclusion: bool = _f(True, "a spark corrects by u = iota + (1 - iota) C(t-1): its own unity and its inclusion in the whole as the whole corrects (002, 'the whole is found within each item'); off: u = iota")


class LightConfig(_Section):
    """The corrective light ``ell_i`` and the illumination ``I_i`` (MODEL.md, "Light and correction")."""

    alpha: float = _f(0.468273, "light a year, the one rate of the model: calibrated with the practice before the Torah so that the history, seed 20, ends in years 5,500-6,000 (docs/calibration.md; other seeds end sooner)", gt=0, le=1e6)
    light: float = _f(1.0, "the Upper Light lam this year (000, 'the Upper Light maintains it')", ge=0, le=1e6)
    practice: float = _f(1.0, "P, the practice of Torah and Mitzva this year: a soul's own light is P e_i (eps + c_i) (002, 'by the force of the Torah and the Mitzva [commandment], the body is cleansed')", ge=0, le=1e6)
    conductance: float = _f(1.0, "conductance W of the four worlds when worlds.enabled is false", ge=0, le=1)
    beta: float = _f(1.0, "what earlier correction prepared: light grows by (1 + beta C) (002, 'buy his world in one hour')", ge=0, le=1e6)
    eps: float = _f(0.01, "the first spark of light: a soul with no cleansing still gets eps (002)", ge=0, le=1e3)
    phi_s: float = _f(0.5, "light each soul gets once a shepherd exists (002, 'Moses is equal to 600,000')", ge=0, le=1e6)
    kappa0: float = _f(0.5, "holiness of a time with an uncleansed judge: J = kappa0 + (1 - kappa0) c_judge (002)", ge=0, le=1)
    omega: float = _f(0.5, "share of illumination set by the weakest link G (002, 'deficient in every soul')", ge=0, le=1)


class NetworkConfig(_Section):
    """The warm network and the move toward the good and pure (004; MODEL.md, "The social network")."""

    enabled: bool = _f(True, "effort spreads through warm connections (Friedkin-Johnsen)")
    kind: Literal["small-world", "ring", "random", "given"] = _f("small-world", "graph: ring lattice with a share rewired, plain ring, random, or given (one's own: `tikkun run --graph FILE.npy`, `tikkun.run(graph=...)`; k is its columns)")
    k: int = _f(8, "each soul listens to k others (fixed out-degree)", ge=1, le=256)
    rewired_share: float = _f(0.1, "share of a small world's ring edges rewired to random souls", ge=0, le=1)
    theta_max: float = _f(0.8, "susceptibility of the warmest soul: theta_i = theta_max * w_i", ge=0, le=1)
    good_and_pure: bool = _f(True, "souls replace their least cleansed neighbour by one drawn in proportion to cleansing (004)")
    rewire_every: int = _f(10, "R: years between rewirings toward the good and pure", ge=1, le=1_000_000)
    p_rewire: float = _f(0.2, "chance a soul rewires at each rewiring", ge=0, le=1)


class ImpurityConfig(_Section):
    """Shocks of impurity, the kelipa, in the last era the media (004). The rate is a scheduled
    global like any other: none unless the scenario or its events set it."""

    rate: float = _f(0.0, "shocks a year (Poisson rate); events set it by era, e.g. the exiles (004, 'the kelipa ... physically manifest')", ge=0, le=1000)
    shock_size: float = _f(0.05, "K: a shock takes K (1 - a_i) of each screen of an incomplete soul i (004)", ge=0, le=1)

    @model_validator(mode="before")
    @classmethod
    def _no_start_year(cls, data):
        if isinstance(data, dict) and "start_year" in data:
            raise ValueError("impurity.start_year no longer exists (model revision 2): the shock rate is an "
                             "ordinary scheduled global; give impurity.rate for all years, or a set event "
                             "on impurity.rate from the first year with shocks")
        return data


class GenerationsConfig(_Section):
    """Generations, judges, eras and shepherds (002; MODEL.md, "Generations, judges, eras, shepherds")."""

    length: int = _f(40, "years of a generation ('each generation behaves according to its judge')", ge=1, le=1_000_000)
    judge: Literal["highest", "lowest", "random"] = _f("highest", "which eligible soul judges: highest or lowest cleansing, or random")
    torah_from: int = _f(2000, "first year of the era of Torah (chaos before it)", ge=0)
    messiah_from: int = _f(4000, "first year of the era of the Messiah: any soul may judge, complete souls become shepherds", ge=0)
    shepherds: Literal["auto", "events"] = _f("auto", "auto: in the Messiah era a complete soul becomes a shepherd (002, 'the Messiah is ready for each and every generation'); events: only souls that shepherds events name")

    @model_validator(mode="after")
    def _ordered(self):
        if self.messiah_from < self.torah_from:
            raise ValueError(f"messiah_from ({self.messiah_from}) must not come before torah_from ({self.torah_from})")
        return self


class WorldsConfig(_Section):
    """The four worlds that carry light to the souls (000, last paragraph; MODEL.md, "The four worlds")."""

    enabled: bool = _f(True, "the conductance W comes from the worlds; off: W is light.conductance")
    rho: float = _f(0.1, "each year u_w moves this share of the way to iota_eq(lam_w)", ge=0, le=1)
    initial_unity: float = _f(1.0, "unity of every world at creation when there is no genesis (with genesis: the vessel's final unity)", ge=0, le=1)


# ---------------------------------------------------------------- events
_EVENT_SECTIONS = {"light": LightConfig, "impurity": ImpurityConfig, "network": NetworkConfig}


def field_bounds(field) -> tuple[float | None, float | None, bool, bool]:
    """``(lo, hi, lo_open, hi_open)`` from a field's ge/gt/le/lt constraints (``None``: no bound)."""
    import annotated_types as at

    lo = hi = None
    lo_open = hi_open = False
    for m in field.metadata:
        if isinstance(m, at.Ge):
            lo, lo_open = m.ge, False
        elif isinstance(m, at.Gt):
            lo, lo_open = m.gt, True
        elif isinstance(m, at.Le):
            hi, hi_open = m.le, False
        elif isinstance(m, at.Lt):
            hi, hi_open = m.lt, True
    return lo, hi, lo_open, hi_open


def number_text(v) -> str:
    """A bound as a reader writes it: ``1e6``, ``0.01``, ``1_000_000`` for a large int, ``2^62``."""
    if isinstance(v, int) and not isinstance(v, bool):
        if v >= 2**20 and v & (v - 1) == 0:
            return f"2^{v.bit_length() - 1}"
        return f"{v:_}" if abs(v) >= 100_000 else str(v)
    return f"{v:g}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")


def interval_text(lo, hi, lo_open: bool, hi_open: bool) -> str:
    """Bounds in interval notation (``(0, 1e6]``), or ``>= 0`` where only one is given."""
    if hi is None:
        return f"{'>' if lo_open else '>='} {number_text(lo)}"
    if lo is None:
        return f"{'<' if hi_open else '<='} {number_text(hi)}"
    return f"{'(' if lo_open else '['}{number_text(lo)}, {number_text(hi)}{')' if hi_open else ']'}"


def _field_range(key: str) -> tuple[float, float, bool, bool]:
    """``(lo, hi, lo_open, hi_open)``: the bounds the key's own field in its section declares."""
    section, name = key.split(".")
    lo, hi, lo_open, hi_open = field_bounds(_EVENT_SECTIONS[section].model_fields[name])
    return float(lo), float(hi), lo_open, hi_open


_EVENT_KEYS = ("light.alpha", "light.light", "light.practice", "light.conductance", "light.beta", "light.eps",
               "light.phi_s", "light.kappa0", "light.omega", "impurity.rate", "impurity.shock_size",
               "network.theta_max", "network.p_rewire")
#: Global parameters an event may set or scale, as "section.key" -> ``(lo, hi)``: the bounds of
#: the key's own field, which a ``set`` value and every year's value after a ``scale`` must keep
#: (:data:`GLOBAL_OPEN` says which bound is open: ``light.alpha`` must stay above 0).
GLOBAL_KEYS: dict[str, tuple[float, float]] = {k: _field_range(k)[:2] for k in _EVENT_KEYS}
#: ``(lo_open, hi_open)`` of each of :data:`GLOBAL_KEYS`.
GLOBAL_OPEN: dict[str, tuple[bool, bool]] = {k: _field_range(k)[2:] for k in _EVENT_KEYS}


def in_global_range(key: str, value):
    """Whether ``value`` (a number or a NumPy array) lies in ``key``'s range, its open bounds open."""
    lo, hi = GLOBAL_KEYS[key]
    lo_open, hi_open = GLOBAL_OPEN[key]
    return ((value > lo) if lo_open else (value >= lo)) & ((value < hi) if hi_open else (value <= hi))


def global_range_text(key: str) -> str:
    """``key``'s range as an interval, e.g. ``(0, 1e6]`` for ``light.alpha``."""
    section, name = key.split(".")
    return interval_text(*field_bounds(_EVENT_SECTIONS[section].model_fields[name]))


SOUL_FIELDS = ("regain", "steadiness", "effort", "warmth", "attachment", "hbd")


class Group(_Section):
    """Which souls an event touches: exactly one of the selectors."""

    souls: list[Annotated[int, Field(ge=0)]] | None = _f(None, "explicit soul indices (at least one)", min_length=1)
    first: int | None = _f(None, "first soul of a contiguous range", ge=0)
    count: int | None = _f(None, "number of souls (with first, or with lowest/highest)", gt=0)
    share: float | None = _f(None, "a random share of all souls, drawn from the counter-based generator", gt=0, le=1)
    lowest: Literal["hbd", "effort", "warmth", "attachment", "cleansing"] | None = _f(None, "the count souls lowest in this field")
    highest: Literal["hbd", "effort", "warmth", "attachment", "cleansing"] | None = _f(None, "the count souls highest in this field")

    @model_validator(mode="after")
    def _one_selector(self):
        chosen = [n for n in ("souls", "share", "lowest", "highest") if getattr(self, n) is not None]
        if self.first is not None:
            chosen.append("first")
        if len(chosen) != 1:
            raise ValueError("give exactly one of souls, first (with count), share, lowest, highest")
        if chosen[0] in ("first", "lowest", "highest") and self.count is None:
            raise ValueError(f"{chosen[0]} needs count")
        if chosen[0] in ("souls", "share") and self.count is not None:
            raise ValueError(f"count does not go with {chosen[0]}")
        return self


class SetEvent(_Section):
    """Set a global parameter to ``value`` for the years ``[year, until)``."""

    kind: Literal["set"]
    year: int = _f(..., "first year of the span", ge=0)
    until: int | None = _f(None, "first year after the span (default: the horizon)", gt=0)
    key: str = _f(..., "the global parameter, e.g. light.light")
    value: float = _f(..., "the value")
    label: str = _f("", "a name for the event in reports, e.g. 'long exile'")

    @model_validator(mode="after")
    def _check(self):
        _check_global(self.key, self.value, self.kind)
        _check_span(self)
        return self


class ScaleEvent(_Section):
    """Multiply a global parameter by ``factor`` for the years ``[year, until)`` (light pulses)."""

    kind: Literal["scale"]
    year: int = _f(..., "first year of the span", ge=0)
    until: int | None = _f(None, "first year after the span (default: the horizon)", gt=0)
    key: str = _f(..., "the global parameter, e.g. light.light")
    factor: float = _f(..., "the factor", ge=0, le=1e6)
    label: str = _f("", "a name for the event in reports, e.g. 'exodus'")

    @model_validator(mode="after")
    def _check(self):
        _check_global(self.key, 0.0, self.kind)
        _check_span(self)
        return self


class ShepherdsEvent(_Section):
    """Make a group complete shepherds at ``year`` (002, 'one man came ... in complete repentance').

    Before the Messiah era a redemption belongs to one generation (002, 'the giving of the
    Torah belonged specifically to the generation of the desert'): the souls stay complete, and
    are shepherds until the end of that generation. From the Messiah era on, for ever."""

    kind: Literal["shepherds"]
    year: int = _f(..., "the year", ge=0)
    group: Group = _f(..., "the souls")
    label: str = _f("", "a name for the event in reports")


class CompleteEvent(_Section):
    """Make a group complete at ``year`` without making them shepherds (002, "when a single soul
    from Israel is purified from all its filth"): every screen at its size. ``spare = "smallest"``
    leaves the smallest spark of the group's sparks uncorrected (002, "when a tiny part of a tiny
    spark is missing"), so its soul stays incomplete."""

    kind: Literal["complete"]
    year: int = _f(..., "the year", ge=0)
    group: Group = _f(..., "the souls")
    spare: Literal["none", "smallest"] = _f("none", "none, or leave the group's smallest spark uncorrected (its screen 0)")
    label: str = _f("", "a name for the event in reports")


class ResetEvent(_Section):
    """Give a group a fresh start at ``year``: screens 0, aim held, effort at baseline (a newcomer)."""

    kind: Literal["reset"]
    year: int = _f(..., "the year", ge=0)
    group: Group = _f(..., "the souls")
    label: str = _f("", "a name for the event in reports, e.g. 'latecomer'")
    hbd: float | None = _f(None, "optionally the newcomers' hbd", gt=0, le=1e3)


class PolicyEvent(_Section):
    """From ``year`` on, a group adopts a policy: new regain, steadiness, effort, warmth, attachment or hbd."""

    kind: Literal["policy"]
    year: int = _f(..., "the year", ge=0)
    group: Group = _f(..., "the souls")
    label: str = _f("", "a name for the event in reports")
    regain: float | None = _f(None, "chance a year to catch aim again", ge=0, le=1)
    steadiness: float | None = _f(None, "chance to keep aim on a greater desire", ge=0, le=1)
    effort: float | None = _f(None, "baseline effort e0 (effort restarts there)", ge=0, le=1e6)
    warmth: float | None = _f(None, "warmth", ge=0, le=1)
    attachment: float | None = _f(None, "attachment", ge=0, le=1)
    hbd: float | None = _f(None, "measure of mind", gt=0, le=1e3)

    @model_validator(mode="after")
    def _some(self):
        if all(getattr(self, f) is None for f in SOUL_FIELDS):
            raise ValueError(f"a policy sets at least one of {', '.join(SOUL_FIELDS)}")
        return self


Event = Annotated[Union[SetEvent, ScaleEvent, ShepherdsEvent, CompleteEvent, ResetEvent, PolicyEvent],
                  Field(discriminator="kind")]


def _check_global(key: str, value: float, kind: str) -> None:
    if key not in GLOBAL_KEYS:
        import difflib

        close = difflib.get_close_matches(key, GLOBAL_KEYS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown global parameter {key!r}{hint}; allowed: {', '.join(GLOBAL_KEYS)}")
    if kind == "set" and not in_global_range(key, value):
        raise ValueError(f"value {value} for {key} is outside {global_range_text(key)}")


def _check_span(ev) -> None:
    if ev.until is not None and ev.until <= ev.year:
        raise ValueError(f"until ({ev.until}) must be after year ({ev.year})")


class Scenario(_Section):
    """A whole scenario: the sections of MODEL.md phase 2 plus the events of a history."""

    name: str = _f("custom", "a name for the scenario")
    description: str = _f("", "what the scenario is for")
    run: RunConfig = RunConfig()
    souls: SoulsConfig = SoulsConfig()
    sparks: SparksConfig = SparksConfig()
    light: LightConfig = LightConfig()
    network: NetworkConfig = NetworkConfig()
    impurity: ImpurityConfig = ImpurityConfig()
    generations: GenerationsConfig = GenerationsConfig()
    worlds: WorldsConfig = WorldsConfig()
    genesis: GenesisConfig | None = _f(None, "phase 1: the vessel, its stages and its breaking; absent: spark unity from sparks.unity")
    events: list[Event] = _f([], "events by year: set or scale a global parameter, shepherds, complete, resets, policies")

    @field_validator("name")
    @classmethod
    def _name_is_a_file_name(cls, v: str) -> str:
        # the name begins the default run folder's name (runs/NAME-TIMESTAMP): "../x" or "a/b"
        # would put a run outside runs/, "" would hide it as runs/-TIMESTAMP
        if not v.strip() or v in (".", "..") or any(c in v for c in "/\\") or not v.isprintable():
            raise ValueError("a name is a non-empty file name (it begins the run folder's name): "
                             "no '/' or '\\', no control characters, not '.' or '..'")
        return v

    @model_validator(mode="after")
    def _events_in_horizon(self):
        years = self.run.years
        if self.network.enabled and self.network.k >= self.souls.count:
            n = self.souls.count
            raise ValueError(f"network.k = {self.network.k}: each soul listens to k others, so k is 1 to souls.count - 1 "
                             f"= {n - 1}" if n > 1 else
                             f"network.k = {self.network.k}: souls.count = 1 leaves the soul no one to listen to; "
                             "set network.enabled = false")
        for i, ev in enumerate(self.events):
            # run.years set by hand keeps every event; the horizon given as years drops or cuts them
            shorter = f"; for a shorter run give --years {years} (the API's years={years}), which leaves out what comes after"
            if ev.year >= years:
                raise ValueError(f"events[{i}].year = {ev.year} is past the horizon (run.years = {years}){shorter}")
            until = getattr(ev, "until", None)
            if until is not None and until > years:
                raise ValueError(f"events[{i}].until = {until} is past the horizon (run.years = {years}){shorter}")
            group = getattr(ev, "group", None)
            if group is not None:
                idx = list(group.souls or [])
                if group.first is not None:
                    idx.append(group.first + group.count - 1)
                if group.count is not None and group.first is None and group.count > self.souls.count:
                    raise ValueError(f"events[{i}].group.count = {group.count} exceeds souls.count = {self.souls.count}")
                if idx and max(idx) >= self.souls.count:
                    raise ValueError(f"events[{i}].group names soul {max(idx)} but souls.count = {self.souls.count}")
        self._scaled_in_range()
        return self

    def _scaled_in_range(self) -> None:
        """A ``scale`` event's factor is checked alone; what it makes of the parameter (the
        value of the year, after every earlier event) must lie in the parameter's range too:
        ``light.kappa0`` scaled past 1 would make holiness above 1. A year out of range is
        told by the last ``scale`` over it (a ``set`` value is in range, and so is the base)."""
        import numpy as np

        scaled = {ev.key for ev in self.events if ev.kind == "scale"}
        if not scaled:
            return
        sched = parameter_schedule(self)
        for key in sorted(scaled):
            bad = np.flatnonzero(~in_global_range(key, sched[key]))
            if bad.size:
                y = int(bad[0])
                i = max(i for i, ev in enumerate(self.events) if ev.kind == "scale" and ev.key == key
                        and ev.year <= y < (ev.until if ev.until is not None else self.run.years))
                raise ValueError(f"events[{i}] (scale {key} by {self.events[i].factor:g}) makes {key} "
                                 f"{sched[key][y]:g} in year {y}, outside {global_range_text(key)}")


def base_parameters(scenario: Scenario) -> dict[str, float]:
    """The scenario's value of every global parameter an event may change."""
    out = {}
    for key in GLOBAL_KEYS:
        section, name = key.split(".")
        out[key] = float(getattr(getattr(scenario, section), name))
    return out


def parameter_schedule(scenario: Scenario) -> dict:
    """float64 ``(years,)`` per global key: its value in each year after the events (MODEL.md,
    "Events"; :mod:`tikkun.rules.events` is the rule, and the engine looks each year up).

    Events act in the order listed; ``set`` replaces, ``scale`` multiplies, each over its span.
    """
    import numpy as np

    years = scenario.run.years
    sched = {k: np.full(years, v, dtype=np.float64) for k, v in base_parameters(scenario).items()}
    for ev in scenario.events:
        if ev.kind not in ("set", "scale"):
            continue
        span = slice(ev.year, ev.until if ev.until is not None else years)
        if ev.kind == "set":
            sched[ev.key][span] = ev.value
        else:
            sched[ev.key][span] *= ev.factor
    return sched
