"""The scenario's `[genesis]` table: the vessel's grid, its free energy and its script.

MODEL.md, "Phase 1: genesis". The script is a list of stages taken from the second essay
of seed 000 ("Unity That Cannot Be Broken"): two qualities that do not overlap
(``separate``), drawn to a common boundary (``approach``), forced together by vibration or
fusion (``stir``, ``fuse``), struck by the most powerful Light (``strike``), kept or left by
that Light (``maintain``, ``withdraw``), and broken (``shatter``).

Both models are frozen pydantic v2 models that reject unknown keys, NaN and infinities, so
a scenario file that misspells a key or a number fails loudly, naming the field. Every number
is bounded, as the scenario's other keys are (at most 1e6; time steps at least 1e-12): beyond,
the solver overflows or never ends.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

StageKind = Literal["separate", "approach", "stir", "fuse", "strike", "maintain", "withdraw", "shatter"]

#: Stages that set the field at once and take no time.
INSTANT_KINDS = frozenset({"separate", "shatter"})
#: Stages whose light is zero by definition (MODEL.md: "relax at lam = 0", "set it to 0").
DARK_KINDS = frozenset({"separate", "approach", "fuse", "withdraw", "shatter"})
#: Stages that may open a script (they set the whole field).
OPENING_KINDS = frozenset({"separate", "fuse"})


class Stage(BaseModel):
    """One step of the genesis script.

    ``light`` is the Upper Light ``lam`` held during the stage. It is free only for ``stir``
    (must stay below ``A``: vibration is not unity), ``strike`` (must exceed ``A``: "the most
    powerful Light ... a blow") and ``maintain`` (any value: "only when the Upper Light
    maintains it"); the other kinds are dark by definition.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    kind: StageKind = Field(..., description="What the stage does: separate, approach, stir, fuse, strike, maintain, withdraw or shatter.")
    duration: float = Field(0.0, ge=0.0, le=1e6, description="Simulated time the stage lasts (0 for the instantaneous separate and shatter).")
    light: float = Field(0.0, ge=0.0, le=1e6, description="Upper Light lam held during the stage (0 for separate, approach, fuse, withdraw, shatter).")
    stir_amplitude: float = Field(1.0, ge=0.0, le=1e6, description="stir: peak speed U of the sine shear flow, grid cells per unit time.")
    stir_period: float = Field(8.0, gt=0.0, le=1e6, description="stir: time each shear lasts before the flow turns to the other axis with a new random phase.")
    noise: float = Field(0.05, ge=0.0, le=1.0, description="fuse: amplitude of the uniform noise the melted vessel starts from; maintain/withdraw: amplitude of the small kick that tests whether the unity holds.")

    @field_validator("duration")
    @classmethod
    def _instant_kinds_take_no_time(cls, v: float, info: ValidationInfo) -> float:
        kind = info.data.get("kind")
        if kind in INSTANT_KINDS and v != 0.0:
            raise ValueError(f"a {kind!r} stage is instantaneous; its duration must be 0")
        return v

    @field_validator("light")
    @classmethod
    def _dark_kinds_have_no_light(cls, v: float, info: ValidationInfo) -> float:
        kind = info.data.get("kind")
        if kind in DARK_KINDS and v != 0.0:
            raise ValueError(f"a {kind!r} stage relaxes without light; its light must be 0")
        return v


#: The breaking of revision 2 (MODEL.md, "the breaking is the light leaving"), the history's
#: genesis and the default of every scenario whose ``[genesis]`` gives no stages: two
#: qualities side by side, drawn to a common boundary, struck by a light 1.5 times the
#: threshold long enough for the unity to reach iota_eq (= 1 here), then the light withdraws
#: and the struck mixture decomposes; the sparks keep the unity their place still had.
#: Durations are tuned for the default grid (n = 256, A = kappa = M = 1): the slowest mode of
#: the struck vessel decays as exp(-M k^2 (lam - A) t), k = 2 pi / n, so 12,000 time units
#: bring the unity to about 0.999; a withdraw of 80 leaves the sparks a mean unity of about
#: one half (docs/genesis.md), as MODEL.md asks.
DEFAULT_STAGES: tuple[Stage, ...] = (
    Stage(kind="separate"),
    Stage(kind="approach", duration=100.0),
    Stage(kind="strike", duration=12_000.0, light=1.5),
    Stage(kind="withdraw", duration=80.0),
    Stage(kind="shatter"),
)


class GenesisConfig(BaseModel):
    """The vessel (grid and free energy), the solver's time-step control and the script.

    Free energy (MODEL.md): ``F = sum[A (phi^2-1)^2/4 + lam phi^2/2 + kappa/2 |grad phi|^2]``,
    ``d phi/dt = M lap(mu) - u . grad(phi)``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    n: int = Field(256, ge=16, le=4096, description="Grid side: the vessel is an n x n periodic grid of spacing 1.")
    A: float = Field(1.0, gt=0.0, le=1e6, description="Height of the double well: the repulsion of the two qualities; light above A melts it.")
    kappa: float = Field(1.0, gt=0.0, le=1e6, description="Gradient energy coefficient: the cost of a boundary between the qualities.")
    M: float = Field(1.0, gt=0.0, le=1e6, description="Mobility of the Cahn-Hilliard dynamics.")
    block: int = Field(8, ge=1, validate_default=True, description="Side w of the w x w blocks averaged by the coarse mixing measure; must divide n.")
    dt_initial: float = Field(0.01, ge=1e-12, le=1e6, description="First time step of every stage (the controller adapts it).")
    dt_min: float = Field(1e-6, ge=1e-12, le=1e6, description="Smallest time step; a step this small is accepted whatever its error.")
    dt_max: float = Field(500.0, ge=1e-12, le=1e6, description="Largest time step.")
    tolerance: float = Field(1e-3, gt=0.0, le=0.1, description="Local error allowed per step (RMS of phi): the SBDF step's own estimate when relaxing, the first-order step's (step doubling) while starting or stirring.")
    stabilization: float = Field(2.0, ge=0.0, le=1e6, description="Stabilising constant S in units of A (S >= A keeps the one-step scheme energy-stable; S = 2A keeps the SBDF steps stable at large h).")
    record_every: int = Field(10, ge=1, description="Record the measures every this many accepted steps (and at every stage start and end).")
    stages: tuple[Stage, ...] = Field(DEFAULT_STAGES, min_length=1, description="The genesis script, run in order; must open with separate or fuse.")

    @field_validator("block")  # the default too: n alone may be what a scenario changes
    @classmethod
    def _block_divides_n(cls, v: int, info: ValidationInfo) -> int:
        n = info.data.get("n")
        if n is not None and n % v != 0:
            raise ValueError(f"block {v} must divide the grid side n = {n}")
        return v

    @field_validator("dt_max")
    @classmethod
    def _dt_range(cls, v: float, info: ValidationInfo) -> float:
        lo = info.data.get("dt_min")
        if lo is not None and v < lo:
            raise ValueError(f"dt_max {v} is below dt_min {lo}")
        return v

    @field_validator("stages")
    @classmethod
    def _script_order(cls, v: tuple[Stage, ...]) -> tuple[Stage, ...]:
        if v[0].kind not in OPENING_KINDS:
            raise ValueError(f"the first stage must be 'separate' or 'fuse' (it sets the field), not {v[0].kind!r}")
        for i, st in enumerate(v):
            if st.kind == "shatter" and i != len(v) - 1:
                raise ValueError(f"stage {i} 'shatter' must be the last stage: nothing follows the breaking")
        return v

    @model_validator(mode="after")
    def _light_against_threshold(self) -> "GenesisConfig":
        # Needs A, so it lives here and names the stage in the message.
        for i, st in enumerate(self.stages):
            if st.kind == "stir" and st.light >= self.A:
                raise ValueError(f"stages.{i}.light: a stir stage must stay below the threshold A = {self.A} (got {st.light})")
            if st.kind == "strike" and st.light <= self.A:
                raise ValueError(f"stages.{i}.light: a strike must exceed the threshold A = {self.A} (got {st.light})")
        return self
