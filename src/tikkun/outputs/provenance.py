"""What made a run's files: the tikkun version, the model's revision and a digest of the code.

The version alone does not tell the code: a checkout between two releases, or one edited in
place, says the same version and can give other bits. The digest is sha256 over the sources a
run's files are made by (:data:`RESULT_SOURCES`: the model, the engine, the records, the
outputs and the API; not the command line, the report or the dashboard), the same that a
sweep's workers compare with their client's. ``tikkun version`` prints it, so before a run is
made again its folder's ``tikkun_code`` can be compared with the installed code's.
"""

from __future__ import annotations

import functools
from pathlib import Path

from .. import __version__
from ..native import kernel_cache

#: The revision of MODEL.md (the specification shipped beside the code) this code implements.
MODEL_REVISION = 2

#: What a run's files are made by, relative to the package's folder.
RESULT_SOURCES = (*kernel_cache.KERNEL_SOURCES, "records", "outputs", "api.py")


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """sha256 (hex) of the sources a run's files are made by (:data:`RESULT_SOURCES`), read
    once a process."""
    return kernel_cache.sources_hash(Path(__file__).resolve().parents[1], RESULT_SOURCES).hex()


def provenance() -> dict:
    """``tikkun_version``, ``tikkun_code`` (:func:`code_digest`) and ``model_revision``, as
    summary.json records them."""
    return {"tikkun_version": __version__, "tikkun_code": code_digest(), "model_revision": MODEL_REVISION}


def parquet_metadata(scenario_text: str, seed: int, graph_sha256: str | None = None) -> dict[str, str]:
    """The Parquet metadata (keys ``tikkun.*``) of a run's tables: the provenance above, the
    seed and the resolved scenario's TOML (what ``tikkun run scenario.toml`` takes); for a run
    on a given graph (``network.kind = "given"``), the graph's sha256 too, which the scenario's
    text cannot name."""
    meta = {"tikkun.version": __version__, "tikkun.code": code_digest(), "tikkun.model_revision": str(MODEL_REVISION),
            "tikkun.seed": str(seed), "tikkun.scenario": scenario_text}
    if graph_sha256 is not None:
        meta["tikkun.graph_sha256"] = graph_sha256
    return meta
