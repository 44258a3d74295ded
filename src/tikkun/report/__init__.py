"""The report of a run folder: ``report.html``, one self-contained file of figures and tables.

It reads the files a run wrote (scenario.toml, summary.json, metrics.parquet, souls.parquet and,
after a genesis, genesis.parquet and the vessel's stages, genesis_stages.npz, or its PNGs) and
never the engine's objects; the engine never imports it. Figures are drawn with matplotlib (Agg, no pyplot).

>>> from tikkun.report import write_report
>>> write_report("runs/history-20270101-120000")   # -> .../report.html

:func:`write_comparison` puts 2 to 7 finished runs in one such page (:mod:`tikkun.report.compare`).
"""

from .folder import ReportError, RunFolder, read_run_folder

# the pages' modules import matplotlib (most of a second): only a command that draws loads them,
# so that reading a folder, or naming bad input, does not wait for it (PEP 562)
_LAZY = {"COMPARISON_NAME": "compare", "write_comparison": "compare", "REPORT_NAME": "html", "render": "html",
         "write_report": "html"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["COMPARISON_NAME", "REPORT_NAME", "ReportError", "RunFolder", "read_run_folder", "render", "write_comparison",
           "write_report"]
