"""Phase 1, genesis: the vessel of two qualities, its approach, stirring, strike and breaking.

MODEL.md, "Phase 1: genesis"; seed 000, second essay ("Unity That Cannot Be Broken").

Public API:

- :class:`GenesisConfig`, :class:`Stage`: frozen configuration of the vessel and its script;
- :func:`run_genesis` ``(config, seed, progress=None) -> GenesisResult``;
- :func:`shatter_unity` ``(field, spark_entities, seed) -> float32 (m,)``.

Its files in a folder (tables and figures) are written by :func:`tikkun.api.write_genesis_outputs`.
"""

from tikkun.scenario.genesis import DEFAULT_STAGES, GenesisConfig, Stage
from tikkun.genesis.measures import coarse, mass, mixing, unity
from tikkun.genesis.run import GenesisResult, run_genesis, shatter_unity, spark_positions
from tikkun.genesis.solver import CahnHilliard, Shear, SpectralState, free_energy, make_solver, relax

__all__ = [
    "DEFAULT_STAGES",
    "GenesisConfig",
    "Stage",
    "GenesisResult",
    "run_genesis",
    "shatter_unity",
    "spark_positions",
    "unity",
    "mixing",
    "coarse",
    "mass",
    "free_energy",
    "make_solver",
    "relax",
    "CahnHilliard",
    "Shear",
    "SpectralState",
]
