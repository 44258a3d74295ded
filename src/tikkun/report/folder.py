"""Reading a run folder for the report: the scenario as written, the summary, the tables.

The report reads only files (never the engine's objects), so it describes any finished run
folder, including one written by another process or copied from another machine. The scenario
is read as the TOML it was written as, not re-validated: a report still opens for a folder
whose scenario an older or newer tikkun wrote.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from ..records import METRIC_COLUMNS

#: Columns of souls.parquet the report reads (the others stay on disk).
SOUL_COLUMNS = ("cleansing", "complete", "hbd", "completed_year")
#: Those of them the report cannot do without (an older souls.parquet has no completed_year).
REQUIRED_SOUL_COLUMNS = ("cleansing", "complete", "hbd")
_GENESIS_PNG = re.compile(r"genesis_(\d+)_([a-z]+)\.png$")
#: What every run's summary.json holds and the report shows.
SUMMARY_KEYS = ("end_year", "years_run", "stop_reason", "seed", "souls", "complete", "cleansing_mean",
                "weakest_link")
#: Columns of metrics.parquet the report cannot do without (its headline's).
REQUIRED_METRIC_COLUMNS = ("year", "cleansing_mean", "complete")
#: Columns of a souls_<year>.parquet the report reads.
KEPT_COLUMNS = ("cleansing", "complete")


class ReportError(ValueError):
    """A folder the report cannot describe; the message names the file and what is missing."""


@dataclass(frozen=True)
class RunFolder:
    """What the report shows of one run folder.

    folder: the run folder; scenario_text: scenario.toml as written; scenario: it parsed (dict);
    summary: summary.json; metrics: column -> array ``(years run,)``; souls: the
    :data:`SOUL_COLUMNS` present, column -> array ``(souls,)``; genesis: genesis.parquet's
    columns (None without genesis); vessel_pngs: ``(stage index, stage kind, PNG bytes)`` in
    script order; kept: ``(year, the :data:`KEPT_COLUMNS` of souls_<year>.parquet)`` for each
    year whose souls the run kept (``--souls-at``), in year order.
    """

    folder: Path
    scenario_text: str
    scenario: dict
    summary: dict
    metrics: dict[str, np.ndarray]
    souls: dict[str, np.ndarray]
    genesis: dict[str, np.ndarray] | None
    vessel_pngs: tuple[tuple[int, str, bytes], ...]
    kept: tuple[tuple[int, dict[str, np.ndarray]], ...] = ()

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


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: cannot be read as UTF-8 text ({exc})") from None


def _check_read_values(folder: Path, scenario: dict, summary) -> None:
    """The values of scenario.toml and summary.json the report computes with have their kinds
    (the files are not validated otherwise: an older or newer tikkun may have written them)."""
    if not isinstance(summary, dict):
        raise ReportError(f"{folder / 'summary.json'}: not a JSON object of the run's results")
    whole = (int, type(None))
    number = (int, float, type(None))
    checks = [(summary.get("end_year"), whole, "summary.json", "end_year", "a whole number or null"),
              (summary.get("souls"), whole, "summary.json", "souls", "a whole number")]
    checks += [(summary.get(k), whole, "summary.json", k, "a whole number") for k in ("years_run", "complete")]
    checks += [(summary.get(k), number, "summary.json", k, "a number")
               for k in ("cleansing_mean", "weakest_link", "wall_seconds")]
    checks.append((summary.get("graph", {}), dict, "summary.json", "graph", "a table"))
    for name in ("run", "souls", "generations", "genesis"):
        checks.append((scenario.get(name, {}), dict, "scenario.toml", name, "a table"))
    checks.append((scenario.get("description", ""), str, "scenario.toml", "description", "text"))
    checks.append((scenario.get("events", []), list, "scenario.toml", "events", "a list of tables"))
    for value, kinds, file, key, what in checks:
        if not isinstance(value, kinds) or isinstance(value, bool):
            raise ReportError(f"{folder / file}: {key} is not {what} (got {value!r})")
    missed = summary.get("events_not_reached") or []
    if not isinstance(missed, list) or not all(isinstance(e, dict) and isinstance(e.get("year"), int) for e in missed):
        raise ReportError(f"{folder / 'summary.json'}: events_not_reached is not a list of events with their years")
    sections = {n: scenario.get(n, {}) for n in ("run", "souls", "generations", "genesis")}
    numbers = [("run.years", sections["run"].get("years", 1)), ("souls.count", sections["souls"].get("count", 1)),
               ("generations.torah_from", sections["generations"].get("torah_from", 0)),
               ("generations.messiah_from", sections["generations"].get("messiah_from", 0)),
               ("genesis.A", sections["genesis"].get("A", 1.0))]
    for i, ev in enumerate(scenario.get("events", [])):
        if not isinstance(ev, dict):
            raise ReportError(f"{folder / 'scenario.toml'}: events[{i}] is not a table (got {ev!r})")
        numbers += [(f"events[{i}].{k}", ev[k]) for k in ("year", "until", "value", "factor") if k in ev]
    for key, value in numbers:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ReportError(f"{folder / 'scenario.toml'}: {key} is not a number (got {value!r})")
    absent = [k for k in SUMMARY_KEYS if k not in summary]
    if absent:
        raise ReportError(f"{folder / 'summary.json'}: has no {', '.join(absent)} (every run's summary has them)")


def _check_numbers(path: Path, table: dict[str, np.ndarray], required, known) -> None:
    """``table`` has the ``required`` columns, and each of the ``known`` columns it has (but the
    era, which is text) holds numbers or booleans, as a run writes them: the report computes with
    them (a column of text stopped it with Python's ValueError)."""
    missing = [c for c in required if c not in table]
    if missing:
        raise ReportError(f"{path}: has no {', '.join(repr(c) for c in missing)} "
                          f"column{'' if len(missing) == 1 else 's'} (every run's has them)")
    for name, values in table.items():
        if name in known and name != "era" and values.dtype.kind not in "biuf":
            raise ReportError(f"{path}: its column {name!r} does not hold numbers (it holds {values.dtype})")


def read_run_folder(folder, kept: bool = True) -> RunFolder:
    """Read ``folder`` (a finished run: scenario.toml, summary.json, metrics.parquet,
    souls.parquet; genesis.parquet and the genesis_<i>_<stage>.png there are when it had a
    genesis (:func:`tikkun.report.html.write_report` draws those its genesis_stages.npz gives); with
    ``kept``, the souls_<year>.parquet of the years summary.json's ``saved`` names)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ReportError(f"{folder}: {'a file, not a run folder' if folder.exists() else 'no such run folder'}")
    missing = [n for n in ("scenario.toml", "summary.json", "metrics.parquet", "souls.parquet")
               if not (folder / n).is_file()]
    if missing:
        cut = (f"; it holds a checkpoint: `tikkun run --resume {folder}` finishes it"
               if (folder / "checkpoint.npz").is_file() else "; a run writes these when it ends")
        raise ReportError(f"{folder}: not a finished run folder (no {', '.join(missing)}){cut}")
    text = _text(folder / "scenario.toml")
    try:
        scenario = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ReportError(f"{folder / 'scenario.toml'}: not valid TOML ({exc})") from None
    try:
        summary = json.loads(_text(folder / "summary.json"))
    except json.JSONDecodeError as exc:
        raise ReportError(f"{folder / 'summary.json'}: not valid JSON ({exc})") from None
    _check_read_values(folder, scenario, summary)
    metrics = _table(folder / "metrics.parquet")
    year = metrics.get("year")
    if year is None or not np.issubdtype(year.dtype, np.integer) or not year.size:
        raise ReportError(f"{folder / 'metrics.parquet'}: has no 'year' column of whole numbers with a row a year")
    _check_numbers(folder / "metrics.parquet", metrics, REQUIRED_METRIC_COLUMNS, METRIC_COLUMNS)
    souls = _table(folder / "souls.parquet", SOUL_COLUMNS)
    _check_numbers(folder / "souls.parquet", souls, REQUIRED_SOUL_COLUMNS, SOUL_COLUMNS)
    genesis = _table(folder / "genesis.parquet") if (folder / "genesis.parquet").is_file() else None
    pngs = []
    for p in folder.iterdir():
        m = _GENESIS_PNG.match(p.name)
        if m and p.is_file():  # a folder of that name is no figure
            pngs.append((int(m.group(1)), m.group(2), p.read_bytes()))
    run = RunFolder(folder, text, scenario, summary, metrics, souls, genesis, tuple(sorted(pngs)))
    rows = len(next(iter(souls.values())))
    if rows != run.n_souls:  # an emptied or cut file drew an IndexError deep in a figure
        raise ReportError(f"{folder / 'souls.parquet'}: has {rows:,} rows, not one for each of the run's "
                          f"{run.n_souls:,} souls")
    return dataclasses.replace(run, kept=_kept_souls(run)) if kept else run


def _kept_souls(run: RunFolder) -> tuple[tuple[int, dict[str, np.ndarray]], ...]:
    """The souls of each year summary.json's ``saved`` names (the run's own files, not any file
    of that shape someone put beside them), each with a row a soul."""
    saved = run.summary.get("saved") or {}
    years = saved.get("souls", []) if isinstance(saved, dict) else None
    if not isinstance(years, list) or not all(isinstance(y, int) and not isinstance(y, bool) for y in years):
        raise ReportError(f"{run.folder / 'summary.json'}: saved.souls is not a list of years (got {years!r})")
    out = []
    for year in sorted(set(years)):
        path = run.folder / f"souls_{year}.parquet"
        if not path.is_file():
            raise ReportError(f"{path}: missing, though summary.json says the run kept the souls of year {year:,}")
        table = _table(path, KEPT_COLUMNS)
        missing = [c for c in KEPT_COLUMNS if c not in table]
        if missing:
            raise ReportError(f"{path}: has no {' or '.join(repr(c) for c in missing)} column")
        _check_numbers(path, table, (), KEPT_COLUMNS)
        rows = len(table["cleansing"])
        if rows != run.n_souls:
            raise ReportError(f"{path}: has {rows:,} rows, not one for each of the run's {run.n_souls:,} souls")
        out.append((year, table))
    return tuple(out)


def check_shown_years(first: int | None, last: int | None) -> None:
    """``--from`` and ``--to`` of a page's time figures: years from creation, the first before
    the last; raises :class:`ReportError` naming the option."""
    for option, y in (("--from", first), ("--to", last)):
        if y is not None and int(y) < 0:
            raise ReportError(f"{option}: a year from creation, 0 or more (got {y})")
    if last is not None and int(first or 0) >= int(last):  # without --from the figures start at 0
        given = f"--from {first} --to {last}" if first is not None else f"--to {last}"
        raise ReportError(f"{given}: the first year shown ({first or 0}) must come before the last")
