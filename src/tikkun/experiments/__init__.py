"""The claims of MODEL.md as experiments (``tikkun experiment NAME`` / ``--all``).

Each module holds one claim: its arms (overrides and events that differ in one thing), the
measure, the verdict rule, the default population and horizon and why, and the passage it
tests (:class:`tikkun.experiments.core.Experiment`). The runs go through the sweep layer
(:mod:`tikkun.sweep`): arms x seeds as Dask tasks, on this machine or a cluster by address.
"""

from __future__ import annotations

from . import (all_equal, good_and_pure, here_and_now, judges, latecomer, light_maintains_unity, missing_spark,
               mixing_is_not_unity, no_unity_no_correction, one_for_all, warmth_and_coldness)
from .core import Arm, Experiment, RunData, Verdict, run

#: MODEL.md's table, in its order.
EXPERIMENTS: dict[str, Experiment] = {m.EXPERIMENT.name: m.EXPERIMENT for m in (
    here_and_now, mixing_is_not_unity, light_maintains_unity, no_unity_no_correction, missing_spark, one_for_all,
    judges, latecomer, warmth_and_coldness, good_and_pure, all_equal)}

__all__ = ["Arm", "EXPERIMENTS", "Experiment", "RunData", "Verdict", "run"]
