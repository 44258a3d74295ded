"""The engine: the clock, the order of the rules, the fused yearly pass."""

from .core import StopReason, YearGlobals, build
from .run import Simulation, simulate

__all__ = ["StopReason", "YearGlobals", "build", "Simulation", "simulate"]
