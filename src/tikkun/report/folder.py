"""Reading a run folder for the report: the scenario as written, the summary, the tables.

The report reads only files (never the engine's objects), so it describes any finished run
folder, including one written by another process or copied from another machine. The scenario
is read as the TOML it was written as, not re-validated: a report still opens for a folder
whose scenario an older or newer tikkun wrote.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

#: Columns of souls.parquet the report reads (the others stay on disk).
SOUL_COLUMNS = ("cleansing", "complete", "hbd", "completed_year")
_GENESIS_PNG = re.compile(r"genesis_(\d+)_([a-z]+)\.png$")


class ReportError(ValueError):
    """A folder the report cannot describe; the message names the file and what is missing."""


@dataclass(frozen=True)
class RunFolder:
    """What the report shows of one run folder.

    folder: the run folder; scenario_text: scenario.toml as written; scenario: it parsed (dict);
    summary: summary.json; metrics: column -> array ``(years run,)``; souls: the
    :data:`SOUL_COLUMNS` present, column -> array ``(souls,)``; genesis: genesis.parquet's
    columns (None without genesis); vessel_pngs: ``(stage index, stage kind, PNG bytes)`` in
    script order.
    """

    folder: Path
    scenario_text: str
    scenario: dict
    summary: dict
    metrics: dict[str, np.ndarray]
    souls: dict[str, np.ndarray]
    genesis: dict[str, np.ndarray] | None
    vessel_pngs: tuple[tuple[int, str, bytes], ...]

    @property
    def n_souls(self) -> int:
        n = self.summary.get("souls") or self.scenario.get("souls", {}).get("count")
        return int(n) if n else int(len(next(iter(self.souls.values()), [])))

    @property
    def name(self) -> str:
        return str(self.scenario.get("name", self.folder.name))


def _table(path: Path, columns=None) -> dict[str, np.ndarray]:
    try:
        if columns is not None:
            present = set(pq.read_schema(path).names)
            columns = [c for c in columns if c in present]
        table = pq.read_table(path, columns=columns)
    except Exception as exc:  # a truncated or foreign file
        raise ReportError(f"{path}: cannot be read as Parquet ({exc})") from None
    return {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}


def read_run_folder(folder) -> RunFolder:
    """Read ``folder`` (a finished run: scenario.toml, summary.json, metrics.parquet,
    souls.parquet; genesis.parquet and genesis_<i>_<stage>.png when it had a genesis)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ReportError(f"{folder}: {'a file, not a run folder' if folder.exists() else 'no such run folder'}")
    missing = [n for n in ("scenario.toml", "summary.json", "metrics.parquet", "souls.parquet")
               if not (folder / n).is_file()]
    if missing:
        raise ReportError(f"{folder}: not a finished run folder (no {', '.join(missing)}); "
                          "a run writes these when it ends")
    text = (folder / "scenario.toml").read_text(encoding="utf-8")
    try:
        scenario = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ReportError(f"{folder / 'scenario.toml'}: not valid TOML ({exc})") from None
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReportError(f"{folder / 'summary.json'}: not valid JSON ({exc})") from None
    metrics = _table(folder / "metrics.parquet")
    if "year" not in metrics:
        raise ReportError(f"{folder / 'metrics.parquet'}: has no 'year' column")
    souls = _table(folder / "souls.parquet", SOUL_COLUMNS)
    genesis = _table(folder / "genesis.parquet") if (folder / "genesis.parquet").is_file() else None
    pngs = []
    for p in folder.iterdir():
        m = _GENESIS_PNG.match(p.name)
        if m:
            pngs.append((int(m.group(1)), m.group(2), p.read_bytes()))
    return RunFolder(folder, text, scenario, summary, metrics, souls, genesis, tuple(sorted(pngs)))
