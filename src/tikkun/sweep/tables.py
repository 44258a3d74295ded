"""The sweep's tables: ``sweep.parquet`` (one row per run) and ``sweep-metrics.parquet/`` (the
yearly metrics of every run, one file per run, read together as one table).

Both are written atomically as runs finish (:mod:`tikkun.outputs.atomic`), so a crash loses
no finished run's row. Each file carries its provenance in its Parquet metadata: the tikkun
version, the digest of its code and the model's revision (:mod:`tikkun.outputs.provenance`),
and the resolved scenario and seed of its run(s) (keys ``tikkun.*``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from .. import __version__
from ..outputs.atomic import write_with
from ..outputs.provenance import MODEL_REVISION, code_digest, parquet_metadata

TABLE = "sweep.parquet"
METRICS = "sweep-metrics.parquet"
SUMMARY_COLUMNS = ("end_year", "stop_reason", "years_run", "wall_seconds", "tikkun_version", "tikkun_code")


def final_row(metrics: pa.Table) -> dict[str, Any]:
    """The last year's metrics as plain Python values (None where the file has a null)."""
    if metrics.num_rows == 0:
        return {}
    last = metrics.slice(metrics.num_rows - 1, 1).to_pylist()[0]
    return dict(last)


def read_run_metrics(folder: Path) -> pa.Table:
    """A run folder's metrics.parquet as it is (its own types and nulls)."""
    return pq.read_table(Path(folder) / "metrics.parquet").replace_schema_metadata(None)


def write_parquet(path: Path, table: pa.Table, metadata: dict[str, str]) -> None:
    """Atomically write ``table`` with ``metadata`` (str -> str) added to its schema."""
    meta = dict(table.schema.metadata or {})
    meta.update({k.encode(): v.encode("utf-8") for k, v in metadata.items()})
    table = table.replace_schema_metadata(meta)
    write_with(path, lambda tmp: pq.write_table(table, tmp))


def write_metrics_part(root: Path, run_id: str, metrics: pa.Table, *, scenario_text: str, seed: int) -> None:
    """``DIR/sweep-metrics.parquet/<run-id>.parquet``: the run's metrics.parquet with its id in front."""
    table = metrics.add_column(0, "run_id", pa.array([run_id] * metrics.num_rows, pa.string()))
    write_parquet(Path(root) / METRICS / f"{run_id}.parquet", table, {
        **parquet_metadata(scenario_text, seed), "tikkun.run_id": run_id})


def has_metrics_part(root: Path, run_id: str) -> bool:
    return (Path(root) / METRICS / f"{run_id}.parquet").is_file()


def read_metrics(root: Path) -> pa.Table | None:
    """Every run's metrics as one table (None if no run has finished)."""
    folder = Path(root) / METRICS
    parts = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    if not parts:
        return None
    tables = [pq.read_table(p) for p in parts]
    return pa.concat_tables([t.replace_schema_metadata(None) for t in tables], promote_options="default")


def _column(values: list) -> pa.Array:
    """A column of Python values; a column of mixed kinds becomes text."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        from .spec import format_value

        return pa.array([None if v is None else format_value(v) for v in values], pa.string())


def sweep_table(rows: Iterable[dict], override_keys: list[str], with_variant: bool) -> pa.Table:
    """One row per finished run. ``rows``: dicts with run_id, variant, seed, overrides (key ->
    value in the run's resolved scenario) and the record of :func:`tikkun.sweep.task.execute`."""
    rows = list(rows)
    cols: dict[str, list] = {"run_id": [r["run_id"] for r in rows]}
    if with_variant:
        cols["variant"] = [r["variant"] for r in rows]
    for key in override_keys:
        cols[key] = [r["overrides"].get(key) for r in rows]
    cols["seed"] = [r["seed"] for r in rows]
    cols["status"] = [r["record"]["status"] for r in rows]
    cols["error"] = [r["record"]["error"] for r in rows]
    cols["reused"] = [bool(r["record"]["reused"]) for r in rows]
    cols["resumed_from"] = [r["record"]["resumed_from"] for r in rows]
    for key in SUMMARY_COLUMNS:
        cols[key] = [(r["record"]["summary"] or {}).get(key) for r in rows]
    finals: list[str] = []
    for r in rows:
        for k in (r["record"]["final"] or {}):
            if k not in finals:
                finals.append(k)
    for k in finals:
        cols[f"final_{k}"] = [(r["record"]["final"] or {}).get(k) for r in rows]
    types = {"run_id": pa.string(), "variant": pa.string(), "seed": pa.int64(), "status": pa.string(),
             "error": pa.string(), "reused": pa.bool_(), "resumed_from": pa.int64(), "end_year": pa.int64(),
             "stop_reason": pa.string(), "years_run": pa.int64(), "wall_seconds": pa.float64(),
             "tikkun_version": pa.string(), "tikkun_code": pa.string()}
    arrays = {k: (pa.array(v, types[k]) if k in types else _column(v)) for k, v in cols.items()}
    return pa.table(arrays)


def write_sweep_table(root: Path, table: pa.Table, *, sweep_toml: str, scenarios: dict[str, str]) -> None:
    """``DIR/sweep.parquet`` with the sweep and every listed run's resolved scenario in its metadata."""
    write_parquet(Path(root) / TABLE, table, {
        "tikkun.version": __version__, "tikkun.code": code_digest(),
        "tikkun.model_revision": str(MODEL_REVISION), "tikkun.sweep": sweep_toml,
        "tikkun.scenarios": json.dumps(scenarios, sort_keys=True)})


def png_text(path: Path) -> dict[str, str]:
    """The text chunks of a PNG file (Pillow, which matplotlib needs); empty if it is none. How a
    figure tikkun wrote (its ``Source`` chunk) is told from a user's file under the same name."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return {str(k): str(v) for k, v in getattr(im, "text", {}).items()}
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError):
        return {}
