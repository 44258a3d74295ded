"""The engine: the clock and the order of the rules (core), the fused yearly pass (year_kernel),
the run loop (run). The processor-specific machinery its kernels and the rules' use is beside
the model, in :mod:`tikkun.native`.

Its names are imported on first use, so that the kernels' cache is set up
(:mod:`tikkun.native.kernel_cache`) before any kernel is compiled.
"""

from importlib import import_module

_WHERE = {"StopReason": "core", "YearGlobals": "core", "build": "core", "Simulation": "run", "simulate": "run"}

__all__ = ["StopReason", "YearGlobals", "build", "Simulation", "simulate"]


def __getattr__(name):
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
