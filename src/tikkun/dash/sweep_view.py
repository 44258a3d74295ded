"""The sweep panel: follow a sweep's folder (``tikkun sweep --out DIR``) while it runs elsewhere.

It only reads what the sweep writes as its runs finish (each file written atomically):
``DIR/sweep.parquet``, one row per finished run (``run_id``, ``status`` done or failed,
``end_year``, ...); ``DIR/sweep-metrics.parquet/``, one Parquet file per finished run with its
yearly metrics; and ``DIR/sweep.toml``, the sweep itself, from which the planned runs are
counted when :mod:`tikkun.sweep` can be imported.
"""

from __future__ import annotations

import html
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import panel as pn
import pyarrow.parquet as pq
from bokeh.models import BasicTicker, ColumnDataSource, HoverTool, Range1d
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from .layout import FIGURE_MIN_WIDTH, grid
from .plots import count_axis, empty_note

TABLE = "sweep.parquet"
METRICS = "sweep-metrics.parquet"
SPEC = "sweep.toml"
# why a figure is empty, in its frame as the Run tab's say it
NOTE_BEFORE = "no sweep followed: give its folder above and press Follow"
NOTE_NOT_A_SWEEP = "no sweep here: see above"
NOTE_WAITING = "no finished run yet"
NOTE_NONE_DONE = "no run done yet (a failed run has no curve)"
NOTE_NONE_ENDED = "no run done has reached the end of correction"
NOTE_NO_CURVES = "no run's yearly metrics found yet"


@dataclass(frozen=True)
class SweepStatus:
    """What a sweep folder says now. ``planned`` None: not known (no sweep.toml, or it cannot be
    read here); ``left`` is then None too. ``end_years``: the end year of every finished run that
    reached the end of correction; ``never_ended``: finished runs that did not."""

    done: int
    failed: int
    planned: int | None
    end_years: np.ndarray
    never_ended: int
    failures: tuple[tuple[str, str], ...] = ()  # (run id, why) of the failed runs, in the table's order

    @property
    def left(self) -> int | None:
        return None if self.planned is None else max(self.planned - self.done - self.failed, 0)


def planned_runs(folder: Path) -> int | None:
    """The number of runs ``DIR/sweep.toml`` plans, or None if it is absent or cannot be read here.

    The folder's sweep.toml is the sweep's canonical table (:meth:`tikkun.sweep.SweepSpec.canonical`:
    the base scenario inlined), so it is read back into a ``SweepSpec`` and planned by
    :func:`tikkun.sweep.plan`, the sweep's own count."""
    path = folder / SPEC
    if not path.is_file():
        return None
    try:
        from tikkun.sweep.spec import Base, SweepSpec, Variant, plan
    except ImportError:
        return None
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
        base = raw["base"]
        spec = SweepSpec(
            base=Base(base["kind"], base["name"], base.get("scenario", {})),
            seeds=tuple(raw["seeds"]) if "seeds" in raw else None, set=raw.get("set", {}), grid=raw.get("grid", {}),
            variants=tuple(Variant(v["name"], v.get("set", {})) for v in raw.get("variants", [])),
            years=raw.get("years"), points=tuple(raw["points"]) if "points" in raw else None)
        return len(plan(spec))
    except Exception:  # written by another version: the counts of finished runs still stand
        return None


def read_status(folder: Path, planned: int | None = None) -> SweepStatus:
    """Read ``DIR/sweep.parquet`` (FileNotFoundError if the sweep has not written it yet)."""
    table = pq.read_table(folder / TABLE)
    cols = table.column_names
    status = np.asarray(table.column("status").to_pylist(), dtype=object) if "status" in cols else \
        np.full(table.num_rows, "done", dtype=object)
    done = int((status == "done").sum())
    failed = int((status == "failed").sum())
    if "end_year" in cols:
        ends = np.asarray([np.nan if v is None else float(v) for v in table.column("end_year").to_pylist()])
        ends = ends[status == "done"]
    else:
        ends = np.zeros(0)
    reached = ends[np.isfinite(ends)]
    failures: tuple[tuple[str, str], ...] = ()
    if failed and "run_id" in cols:
        ids = table.column("run_id").to_pylist()
        errors = table.column("error").to_pylist() if "error" in cols else [None] * table.num_rows
        failures = tuple((str(i), "; ".join(ln.strip() for ln in str(e or "no reason recorded").splitlines() if ln.strip()))
                         for i, e, st in zip(ids, errors, status) if st == "failed")
    return SweepStatus(done, failed, planned, reached, int(np.isnan(ends).sum()), failures)


def not_a_sweep(folder: Path) -> str:
    """Why ``folder``, which holds neither sweep.toml nor sweep.parquet, is not a sweep's folder
    (``tikkun sweep`` writes both as it starts), with the sweep folders near it, as one line."""
    why = f"{folder} is not a sweep's folder: it holds neither {SPEC} nor {TABLE} (tikkun sweep --out DIR writes them as it starts)"
    for up in (folder.parent, folder.parent.parent):  # DIR/runs/<run-id>/: a run of a sweep
        if (up / SPEC).is_file() and up != folder:
            return f"{why}; it is in the sweep {up}"
    try:
        inside = sorted(p.name for p in folder.iterdir() if (p / SPEC).is_file())
    except OSError:
        inside = []
    if inside:
        more = f" and {len(inside) - 5} more" if len(inside) > 5 else ""
        return f"{why}; the sweep folders in it: {', '.join(inside[:5])}{more}"
    if (folder / "summary.json").is_file():
        return f"{why}; it is a run's folder (tikkun run)"
    return why


class MetricsReader:
    """The yearly ``cleansing_mean`` of each finished run, read once per file."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def update(self) -> bool:
        """Read the files not read yet; True if any was new."""
        root = self.folder / METRICS
        if not root.is_dir():
            return False
        new = False
        for path in sorted(root.glob("*.parquet")):
            if path.stem in self.curves:
                continue
            try:
                t = pq.read_table(path, columns=["year", "cleansing_mean"])
            except (OSError, ValueError):  # written by another version, or not Parquet: skipped
                continue
            self.curves[path.stem] = (np.asarray(t.column("year").to_numpy(), float),
                                      np.asarray(t.column("cleansing_mean").to_numpy(), float))
            new = True
        return new


EMPTY_LINES = {"xs": [], "ys": [], "run": [], "group": [], "label": [], "color": []}
#: the legend names what a colour holds (:func:`run_group`): a grid point or a variant, its seeds one line each
LEGEND_TITLE = "point or variant\n(a line per seed;\nits run on hover)"
MAX_LEGEND = 10  # more groups than this: no legend (the runs' ids on hover)
_SEED = re.compile(r"(^|,)seed=[0-9]+$")


def run_group(run_id: str) -> str:
    """The runs that differ only by their seed share a group: the id without its ``seed=N``
    (:func:`tikkun.sweep.spec.plan` ends every id with it; a hashed long id is its own group)."""
    return _SEED.sub("", run_id) or "the base"


LEGEND_CHARS = 32  # a legend's label at most: the runs' ids (on hover) run to 70 characters and more


def legend_labels(groups: list[str]) -> dict[str, str]:
    """Each group's label in the legend: its id's ``key=value`` parts that not every group shares
    (what tells it from the others; a key by its last name where that is one key's), cut in the
    middle to :data:`LEGEND_CHARS` characters; where cut labels
    would be alike (the legend would merge them), each is numbered in the groups' order. A
    legend of whole ids took the figure's width, its frame and the histogram's beside it a few
    dozen pixels."""
    parts = {g: g.split(",") for g in groups}
    common = set.intersection(*(set(p) for p in parts.values())) if len(parts) > 1 else set()
    differing = {g: [x for x in ps if x not in common] for g, ps in parts.items()}
    # a key by its last name where that names one key only (light.alpha=0.1 as alpha=0.1)
    keys = {x.partition("=")[0] for ps in differing.values() for x in ps if "=" in x}
    last = {k: k.rpartition(".")[2] for k in keys}
    short = last if len(set(last.values())) == len(last) else {k: k for k in keys}

    def named(x: str) -> str:
        key, eq, value = x.partition("=")
        return f"{short[key]}={value}" if eq else x

    whole = {g: ", ".join(named(x) for x in ps) or g for g, ps in differing.items()}

    def cut(text: str, room: int) -> str:  # in the middle: a group's values are often at its id's end
        if len(text) <= room:
            return text
        head = (room - 1) // 2
        return text[:head] + "\u2026" + text[len(text) - (room - 1 - head):]

    out = {g: cut(t, LEGEND_CHARS) for g, t in whole.items()}
    if len(set(out.values())) < len(out):
        out = {g: cut(f"{k + 1}. {t}", LEGEND_CHARS) for k, (g, t) in enumerate(whole.items())}
    return out


def lines_data(curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, list]:
    """The curves figure's data: one line per run, coloured by its group (Category10, in turn),
    labelled in the legend by what tells its group apart (:func:`legend_labels`)."""
    ids = sorted(curves)
    groups = [run_group(r) for r in ids]
    order = list(dict.fromkeys(groups))
    colour = {g: Category10_10[i % len(Category10_10)] for i, g in enumerate(order)}
    label = legend_labels(order)
    return {"xs": [curves[r][0] for r in ids], "ys": [curves[r][1] for r in ids], "run": ids, "group": groups,
            "label": [label[g] for g in groups], "color": [colour[g] for g in groups]}


SHOWN_FAILURES = 3  # failed runs named with their reason; the others counted


def failures_html(failures: tuple[tuple[str, str], ...]) -> str:
    """The first failed runs with their reasons (sweep.parquet's ``error``), as a short list."""
    if not failures:
        return ""
    items = "".join(f"<li><code>{html.escape(rid)}</code>: {html.escape(why[:300], quote=False)}</li>"
                    for rid, why in failures[:SHOWN_FAILURES])
    more = (f"<li>and {len(failures) - SHOWN_FAILURES:,} more (sweep.parquet's error column)</li>"
            if len(failures) > SHOWN_FAILURES else "")
    return (f"<div id='tk-sweep-failures' style='color:#842029'>failed:<ul style='margin:2px 0'>"
            f"{items}{more}</ul></div>")


class SweepView:
    """A folder field and what the folder says, read again every few seconds."""

    def __init__(self):
        self.path = pn.widgets.TextInput(label="sweep folder (tikkun sweep --out DIR)", placeholder="sweeps/my-sweep",
                                         width=420, css_classes=["tk-sweep-path"])
        self.button = pn.widgets.Button(label="Follow", color="primary", width=100,
                                        css_classes=["tk-sweep-follow"])
        self.button.on_click(lambda _e: pn.state.execute(lambda: self.follow(self.path.value), schedule=True))
        self.counts = pn.pane.HTML("<p>Give a sweep's folder to follow it while it runs.</p>",
                                   sizing_mode="stretch_width")
        self.folder: Path | None = None
        self.reader: MetricsReader | None = None
        self.planned: int | None = None
        self.hist = ColumnDataSource({"left": [], "right": [], "count": []})
        self.lines = ColumnDataSource({k: [] for k in EMPTY_LINES})
        h = figure(title="End of correction across the finished runs", height=300, sizing_mode="stretch_width",
                   x_range=Range1d(0, 1), y_range=Range1d(0, 1), tools="save", toolbar_location="above", name="sweep-end-years")
        h.quad(left="left", right="right", bottom=0, top="count", source=self.hist, fill_color="#1f77b4",
               line_color="white")
        h.yaxis.axis_label = "runs"
        count_axis(h)
        h.xaxis.ticker = BasicTicker(min_interval=1, num_minor_ticks=0)  # years: one end year read 392.5 beside 392
        c = figure(title="C of the finished runs", height=300, sizing_mode="stretch_width",
                   x_range=Range1d(0, 1), y_range=Range1d(0, 1), tools="pan,xwheel_zoom,reset,save", toolbar_location="above",
                   name="sweep-curves")
        lines = c.multi_line("xs", "ys", source=self.lines, line_alpha=0.6, line_width=1.5, color="color",
                             legend_field="label")
        c.add_tools(HoverTool(renderers=[lines], tooltips=[("run", "@run")]))
        legend = c.legend[0]
        c.center.remove(legend)  # beside the frame, never over a curve
        legend.update(title=LEGEND_TITLE, label_text_font_size="8pt", title_text_font_size="8pt",
                      spacing=0, padding=2, glyph_width=14, margin=4, visible=False)  # shown with the first runs
        c.add_layout(legend, "right")
        self.legend = legend
        c.xaxis.axis_label = "year from creation"
        c.yaxis.axis_label = "C, mean cleansing (0 to 1)"
        h.xaxis.axis_label = "end year, from creation (G = 1)"
        self.hist_fig, self.curve_fig = h, c
        self.notes = {f.name: empty_note(f, NOTE_BEFORE) for f in (h, c)}
        self.view = pn.Column(pn.Row(self.path, self.button), self.counts,
                              grid(h, c, min_width=FIGURE_MIN_WIDTH),
                              sizing_mode="stretch_width")

    def follow(self, text: str) -> None:
        """Follow another folder: the figures of the one followed before are cleared first."""
        self.folder, self.reader, self.planned = None, None, None
        self.hist.data = {"left": [], "right": [], "count": []}
        self.lines.data = {k: [] for k in EMPTY_LINES}
        self.legend.visible = False
        self.hist_fig.x_range.update(start=0, end=1)
        self.hist_fig.y_range.update(start=0, end=1)
        self.curve_fig.x_range.update(start=0, end=1)
        folder = Path(text.strip()).expanduser()
        if not text.strip() or (folder.exists() and not folder.is_dir()):
            self._say(NOTE_NOT_A_SWEEP, NOTE_NOT_A_SWEEP)
            self.counts.object = (f"<p class='tk-error' style='color:#b00'>error: sweep folder: "
                                  f"{html.escape(text.strip() or '(empty)')} is not a folder</p>")
            return
        self.folder = folder  # one not there yet is waited for: a sweep just started makes it
        self.reader = MetricsReader(folder)
        self.planned = planned_runs(folder)
        self.poll()

    def poll(self) -> None:
        """Read the folder again (called on the server's loop every few seconds)."""
        if self.folder is None:
            return
        if not self.folder.is_dir():
            self._say(NOTE_WAITING, NOTE_WAITING)
            parent = self.folder.parent
            hint = ("" if parent.is_dir() else
                    f"; nor is the folder above it, {html.escape(str(parent))}: check the path")
            self.counts.object = (f"<p>{html.escape(str(self.folder))}: no such folder yet{hint}; waiting for it "
                                  "(tikkun sweep --out DIR makes it as it starts)</p>")
            return
        if self.planned is None:
            self.planned = planned_runs(self.folder)
        try:
            st = read_status(self.folder, self.planned)
        except FileNotFoundError:
            if (self.folder / SPEC).is_file():
                self._say(NOTE_WAITING, NOTE_WAITING)
                self.counts.object = (f"<p>{html.escape(str(self.folder))}: no finished run yet "
                                      f"(waiting for {TABLE})</p>")
            else:  # read again all the same: a sweep may be started there
                self._say(NOTE_NOT_A_SWEEP, NOTE_NOT_A_SWEEP)
                self.counts.object = (f"<p class='tk-error' style='color:#b00'>error: "
                                      f"{html.escape(not_a_sweep(self.folder), quote=False)}</p>")
            return
        except Exception as exc:  # caught mid-write by a foreign writer, or not a sweep folder
            self.counts.object = f"<p class='tk-error' style='color:#b00'>error: {html.escape(str(exc))}</p>"
            return
        left = "unknown (no sweep.toml here)" if st.left is None else f"{st.left:,}"
        self.counts.object = (
            f"<p id='tk-sweep-counts' data-done='{st.done}' data-failed='{st.failed}' "
            f"data-left='{'' if st.left is None else st.left}'>"
            f"<b>{st.done:,}</b> run{'' if st.done == 1 else 's'} done, <b>{st.failed:,}</b> failed, <b>{left}</b> left"
            f"{'' if st.planned is None else f' of {st.planned:,} planned'}; "
            f"{len(st.end_years):,} reached the end of correction, {st.never_ended:,} did not.</p>"
            + failures_html(st.failures))
        if len(st.end_years):
            lo, hi = float(st.end_years.min()), float(st.end_years.max())
            bins = max(1, min(30, len(st.end_years)))
            counts, edges = np.histogram(st.end_years, bins=bins, range=(lo - 0.5, hi + 0.5))
            self.hist.data = {"left": edges[:-1], "right": edges[1:], "count": counts}
            self.hist_fig.x_range.start, self.hist_fig.x_range.end = float(edges[0]) - 0.5, float(edges[-1]) + 0.5
            self.hist_fig.y_range.end = float(counts.max()) * 1.1
        if self.reader is not None and self.reader.update():
            self.lines.data = lines_data(self.reader.curves)
            self.legend.visible = len(set(self.lines.data["group"])) <= MAX_LEGEND
            curves = list(self.reader.curves.values())
            self.curve_fig.x_range.end = max(float(x[-1]) for x, _ in curves if len(x)) if any(
                len(x) for x, _ in curves) else 1.0
        self._say(None if len(st.end_years) else NOTE_NONE_DONE if not st.done else NOTE_NONE_ENDED,
                  None if len(self.lines.data["xs"]) else NOTE_NONE_DONE if not st.done else NOTE_NO_CURVES)

    def _say(self, hist: str | None, curves: str | None) -> None:
        """The figures' notes (None: the figure has data, no note)."""
        for fig, note in ((self.hist_fig, hist), (self.curve_fig, curves)):
            self.notes[fig.name].update(text=note or "", visible=note is not None)
