"""Sweeps, ensembles and sensitivity on Dask distributed (the optional extra ``tikkun[sweep]``).

>>> import tikkun
>>> result = tikkun.sweep("betas.toml", out="sweeps/betas")     # a local cluster, one worker per core
>>> result.runs            # sweep.parquet: one row per run
>>> result.metrics         # sweep-metrics.parquet: every run's yearly metrics with its run id
>>> tikkun.sweep.sensitivity("sens.toml", method="sobol")    # a sweep file with a [sensitivity] table

``tikkun.sweep(sweep, *, out=None, scheduler=None, workers=None, client=None, progress=None)`` is
:func:`run_sweep` (``help(tikkun.sweep.run_sweep)``: what each does). The modules:
:mod:`.spec` (sweep files, run ids), :mod:`.task` (one run as a Dask task), :mod:`.tables` (the
Parquet tables), :mod:`.driver` (the cluster and the filing of results), :mod:`.sensitivity`
(SALib). Dask and SALib are imported only when a sweep runs.
"""

from __future__ import annotations

import inspect
import sys
import types

from .driver import SweepInterrupted, SweepProgress, SweepResult, connect, local_cluster, run_sweep
from .sensitivity import SensitivityResult, analyse, design, sensitivity
from .spec import RunSpec, SweepError, SweepSpec, load_sweep, make_run_id, parse_sweep, plan

__all__ = [
    "RunSpec", "SensitivityResult", "SweepError", "SweepInterrupted", "SweepProgress", "SweepResult", "SweepSpec",
    "analyse", "connect", "design", "load_sweep", "local_cluster", "make_run_id", "parse_sweep", "plan",
    "run_sweep", "sensitivity",
]


class _CallableModule(types.ModuleType):
    """``tikkun.sweep`` is both this package and the function :func:`run_sweep` (Python sets a
    package's submodule as its attribute, so a plain function of that name would not stay)."""

    def __call__(self, *args, **kwargs):
        return run_sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
# what inspect.signature and an editor's hints show for tikkun.sweep(...): run_sweep's parameters
sys.modules[__name__].__signature__ = inspect.signature(run_sweep)
