"""comparison.html: two to seven finished runs side by side, in one self-contained page.

A reader's question is often a difference ("what does one corrected soul do to 600,000?": a
run with the event and one without). The page names what differs between the runs'
scenarios, gives their headline numbers in columns, draws their yearly trajectories over one
time axis, each run in a colour and a line style of its own, with the difference from the
first run, and their souls at the end. Like the report it reads only the folders' files
(:func:`~tikkun.report.folder.read_run_folder`), and the page has no script and loads nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import os
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullLocator

from ..outputs.atomic import write_text
from . import figures as F
from .folder import ReportError, RunFolder, check_shown_years, read_run_folder
from .html import (_event_text, _flat, _fmt, _img, missed_events_text, near_number, near_share, page, written_by,
                   years_shown_text)

COMPARISON_NAME = "comparison.html"
GENERATOR = "tikkun compare"  # in the page's head: how a page tikkun wrote is told from a user's file
MAX_RUNS = len(F.LINE_COLOURS)  # a colour and a line style each


def _name(run: RunFolder) -> str:
    return run.folder.resolve().name  # "." has no name of its own


def _label(run: RunFolder, i: int) -> str:
    return f"{i + 1}: {_name(run)}"  # numbers: the letters C and G name the measures


def _short(text: str, n: int = 24) -> str:
    return text if len(text) <= n else text[: n - 1] + "\u2026"


# ------------------------------------------------------------------ what differs
def differences(runs: list[RunFolder]) -> list[tuple[str, list[str]]]:
    """``(what, [its value in each run])`` for every scenario key whose value is not the same in
    every run (dotted keys; a long value, such as genesis' stages, named ``as in run 1`` or ``(a
    value of its own)``; a table some runs lack whole, ``[genesis]``, one row of ``yes`` or
    ``none``, and its keys only where the runs that have it differ), then each event that some
    runs have and others do not (:func:`event_rows`), the order of the set and scale events where
    only it differs, and the graph where a run was given one. The description is left out: it is
    prose."""
    flats = [_flat(r.scenario) for r in runs]
    rows: list[tuple[str, list[str]]] = []
    # a table some runs lack whole (a run without a genesis): one row, not one a key
    tables = sorted({k.split(".")[0] for f in flats for k in f if "." in k})
    has = {t: [any(k.startswith(t + ".") for k in f) for f in flats] for t in tables}
    lacking = {t for t in tables if not all(has[t])}
    for t in sorted(lacking):
        rows.append((f"[{t}]", ["yes" if h else "none" for h in has[t]]))
    for key in sorted(set().union(*flats) - {"events", "description"}):
        values = [f.get(key) for f in flats]
        if all(v == values[0] for v in values):
            continue
        table = key.split(".")[0] if "." in key else None
        if table in lacking:  # the runs without the table are in its row: here, those that have it
            mine = [(v, key in f) for v, f, h in zip(values, flats, has[table]) if h]
            if all(m == mine[0] for m in mine):
                continue
        texts = [_fmt(v) if key in f else "(not set)" for v, f in zip(values, flats)]
        if max(len(t) for t in texts) > 40:  # a list of stages: which runs share it, not spelt out
            texts = [t if t == "(not set)" else f"as in run {values.index(v) + 1}" if values.index(v) < i
                     else "(a value of its own)" for i, (v, t) in enumerate(zip(values, texts))]
        rows.append((key, texts))
    events = event_rows(runs)
    for ev, cells in events:
        if len(set(cells)) > 1:
            label = f"{ev['label']}: " if ev.get("label") else ""
            rows.append((f"event: {label}{_event_text(ev)}", cells))
    order = order_row(runs, events)
    if order:
        rows.append(order)
    graphs = [(r.summary.get("graph") or {}).get("sha256") for r in runs]
    if any(graphs) and len(set(graphs)) > 1:
        rows.append(("the graph given (sha256)", [g[:12] if g else "none" for g in graphs]))
    return rows


SPANNED = ("set", "scale")  # events with a span [year, until), until the horizon where none is given


def _within(ev: dict, years: int) -> dict:
    """The event as the first ``years`` years see it: a span's end cut there, or made explicit
    there where the event gives none (it lasts to the horizon), as ``--years`` cuts it."""
    if not years or ev.get("kind") not in SPANNED:
        return ev
    until = ev.get("until")
    if until is None or (isinstance(until, (int, float)) and until > years):
        return {**ev, "until": years}
    return ev


def _horizon(run: RunFolder) -> int:
    return int(run.scenario.get("run", {}).get("years", 0) or 0)


AFTER_ITS_END = "after its end"
NOT_REACHED = "not reached"


def _years_run(run: RunFolder) -> int | None:
    """The years a run stepped (fewer than its horizon where the end of correction came first)."""
    ran = run.summary.get("years_run")
    return int(ran) if isinstance(ran, (int, float)) else None


def event_rows(runs: list[RunFolder]) -> list[tuple[dict, list[str]]]:
    """Every event of the runs, a row each in order of its year, with ``yes`` (``yes (x2)`` for
    an event a run gives twice), ``no`` or ``after its end`` for each run. A horizon
    (``--years``) drops the events from it on and cuts the spans at it, so an event is the same
    in two runs where it is the same in the years both ran: a row is the event as the longest run
    that has it gives it; a run has it where its own events hold it as the run's years see it;
    ``after its end`` where it starts at or after the run's horizon (the run says nothing of it);
    ``not reached`` where the run has it but ended in the end of correction before its year (it
    never acted: the run's summary lists it among the events never reached)."""
    horizons = [_horizon(r) for r in runs]
    ran = [_years_run(r) for r in runs]
    events = [list(r.scenario.get("events", [])) for r in runs]
    seen = [[_within(e, h) for e in evs] for evs, h in zip(events, horizons)]  # each run's, as its years see them
    rows: list[dict] = []
    for i in sorted(range(len(runs)), key=lambda k: -horizons[k]):  # the longest first; ties in the runs' order
        for e, cut in zip(events[i], seen[i]):
            if not any(_within(row, horizons[i]) == cut for row in rows):
                rows.append(e)
    rows.sort(key=lambda e: int(e.get("year", 0)))

    def cell(ev: dict, run: int) -> str:
        h = horizons[run]
        if h and int(ev.get("year", 0)) >= h:
            return AFTER_ITS_END
        n = seen[run].count(_within(ev, h))
        if n and ran[run] is not None and int(ev.get("year", 0)) >= ran[run]:
            return NOT_REACHED
        return "no" if n == 0 else "yes" if n == 1 else f"yes (x{n})"

    return [(ev, [cell(ev, i) for i in range(len(runs))]) for ev in rows]


def shared_events(runs: list[RunFolder]) -> list[str]:
    """The events every run has within its years (:func:`event_rows`: ``yes`` in every cell), as
    a reader names them (label, kind, year, span): the grey dotted lines that "What differs",
    which lists only what some runs lack, does not name."""
    out = []
    for ev, cells in event_rows(runs):
        if all(c.startswith("yes") for c in cells):
            out.append((f"{ev['label']}: " if ev.get("label") else "") + _event_text(ev))
    return out


def order_row(runs: list[RunFolder], rows: list[tuple[dict, list[str]]]) -> tuple[str, list[str]] | None:
    """Where the runs (``rows``: their :func:`event_rows`) have the same set and scale events but
    some give them in another order (a set and a scale event over the same years make another
    schedule in another order): a row saying which runs share run 1's order; None where the order
    is the same."""
    common = [row for row, cells in rows if row.get("kind") in SPANNED and all(c == "yes" for c in cells)]
    horizons = [_horizon(r) for r in runs]
    orders = []
    for r, h in zip(runs, horizons):
        mine = [_within(e, h) for e in r.scenario.get("events", [])]
        orders.append([k for e in mine for k, row in enumerate(common) if _within(row, h) == e])
    if all(o == orders[0] for o in orders):
        return None
    return ("the order of the set and scale events", ["as in run 1" if o == orders[0] else "another order"
                                                      for o in orders])


# ------------------------------------------------------------------ the numbers
def first_year(run: RunFolder, column: str, at_least: float, per_soul: bool = False) -> int | None:
    """The first recorded year whose ``column`` (a share of the souls with ``per_soul``) is at
    least ``at_least``; None if none is."""
    v = np.asarray(run.metrics[column], dtype=np.float64)
    if per_soul:
        v = v / max(run.n_souls, 1)
    hit = np.flatnonzero(v >= at_least)
    return int(run.metrics["year"][hit[0]]) if hit.size else None


def by_year(run: RunFolder, column: str, years: int, per_soul: bool = False) -> np.ndarray:
    """float64 ``(years,)``: ``column`` in each year ``0 .. years - 1``; after the run's last
    year, its last value where it ended in the end of correction (after the end nothing
    changes), else NaN (a run stopped at its horizon says nothing of later years)."""
    v = np.asarray(run.metrics[column], dtype=np.float64)
    if per_soul:
        v = v / max(run.n_souls, 1)
    out = np.full(years, np.nan)
    n = min(v.size, years)
    out[:n] = v[:n]  # a run's rows are its years 0, 1, ... in order
    if run.summary.get("end_year") is not None and n < years and v.size:
        out[n:] = v[-1]
    return out


def at_year(run: RunFolder, column: str, year: int) -> float | None:
    """``column`` in ``year``, as :func:`by_year` gives it (None where the run says nothing of it)."""
    v = by_year(run, column, year + 1)[year]
    return None if np.isnan(v) else float(v)


def last_year(run: RunFolder) -> int:
    return int(np.max(run.metrics["year"]))


def common_last_year(runs: list[RunFolder]) -> int:
    """The last year every run recorded."""
    return min(last_year(r) for r in runs)


def _year_text(y: int | None) -> str:
    return "not reached" if y is None else f"year {y:,}"


def _share_text(run: RunFolder, count: float | None) -> str:
    if count is None:
        return "not recorded"
    return f"{int(count):,} ({near_share(count / max(run.n_souls, 1))})"


def _number(v: float | None) -> str:
    return "not recorded" if v is None else near_number(v)


def headline_rows(runs: list[RunFolder], years: list[int]) -> list[tuple[str, list[str]]]:
    """The runs' headline numbers, a row a measure and a column a run: the end of correction,
    the years when half and 99% of the souls were complete, and ``C``, ``G`` and the complete
    souls in each of ``years`` and at the end."""
    rows = [
        ("scenario", [str(r.scenario.get("name", "")) for r in runs]),
        ("souls, seed", [f"{r.n_souls:,}, {_fmt(r.summary.get('seed'))}" for r in runs]),
        ("years run", [_fmt(r.summary.get("years_run")) for r in runs]),
        ("end of correction", [_year_text(r.summary.get("end_year")) for r in runs]),
        ("half the souls complete", [_year_text(first_year(r, "complete", 0.5, True)) for r in runs]),
        ("99% of the souls complete", [_year_text(first_year(r, "complete", 0.99, True)) for r in runs]),
    ]
    for y in years:
        after = [" (after its end)" if y > last_year(r) and at_year(r, "complete", y) is not None else "" for r in runs]
        rows += [(f"C in year {y:,}", [_number(at_year(r, "cleansing_mean", y)) + a for r, a in zip(runs, after)]),
                 (f"G in year {y:,}", [_number(at_year(r, "weakest_link", y)) + a for r, a in zip(runs, after)]),
                 (f"complete souls in year {y:,}",
                  [_share_text(r, at_year(r, "complete", y)) + a for r, a in zip(runs, after)])]
    rows += [("C at the end", [_number(r.summary.get("cleansing_mean")) for r in runs]),
             ("G at the end", [_number(r.summary.get("weakest_link")) for r in runs]),
             ("complete souls at the end", [_share_text(r, r.summary.get("complete")) for r in runs])]
    missed = [missed_events_text(r.summary.get("events_not_reached") or []) for r in runs]
    if any(missed):
        rows.append(("events never reached", [m or "none" for m in missed]))
    return rows


# ------------------------------------------------------------------ the figures
def _timeline(runs: list[RunFolder]) -> F.Timeline:
    """The shared time axis: to the longest run's last year; its eras where every run's agree
    (the same eras from the same years, as far as each run went: runs that end in different
    years have the same eras; else none are shaded); the events and ends are drawn per run, in
    its colour."""
    tls = [F.timeline(r) for r in runs]
    longest = max(tls, key=lambda t: t.horizon)
    horizon = longest.horizon
    starts = [tuple((n, a) for n, a, _ in t.eras) for t in tls]
    agree = all(s == starts[tls.index(longest)][:len(s)] for s in starts)
    eras = longest.eras if agree else ()
    ended = [t.end_year for t in tls if t.end_year is not None]
    return F.Timeline(horizon, eras, (), max(ended) if ended else None)


def shown_years(tl: F.Timeline, first: int | None = None, last: int | None = None) -> tuple[float, float]:
    """The time axes' ``(left, right)``: from ``first`` (default 0) to ``last`` (default the
    axis' end, :attr:`~tikkun.report.figures.Timeline.right`); a ``last`` at or past the longest
    run's last year is the axis' end."""
    window = dataclasses.replace(tl, first=int(first or 0), last=None if last is None else int(last))
    return window.left, window.right


def _within_shown(v: np.ndarray, shown: tuple[float, float]) -> np.ndarray:
    """The values of ``v`` (one a year from 0) in the years shown: the y axes scale to them."""
    a, b = int(np.floor(shown[0])), int(np.ceil(shown[1])) + 1
    return v[max(a, 0):max(b, 0)]


def _style(i: int) -> dict:
    ls, lw = F.LINE_STYLES[i]
    return {"color": F.LINE_COLOURS[i], "ls": ls, "lw": max(lw, 1.2)}


def run_marks(runs: list[RunFolder], tl: F.Timeline) -> tuple[list, list, list]:
    """``(lines, colours, styles)`` of the runs' marks across a panel (x in years, y from 0 to 1
    of its height): each run's end of correction, a dashed line in its colour; each event's first
    year a dotted line, in the colour of the one run that has it, grey where more runs have it."""
    lines, colours, styles = [], [], []
    drawn: set[tuple[int, int]] = set()
    for ev, cells in event_rows(runs):
        holders = [i for i, c in enumerate(cells) if c.startswith("yes")]
        y = int(ev.get("year", 0))
        key = (y, holders[0] if len(holders) == 1 else -1)
        if holders and y < tl.horizon and key not in drawn:
            drawn.add(key)
            lines.append([(y, 0), (y, 1)]), colours.append(F.LINE_COLOURS[key[1]] if key[1] >= 0 else "0.55")
            styles.append(":")
    for i, run in enumerate(runs):
        end = run.summary.get("end_year")
        if end is not None:
            lines.append([(end, 0), (end, 1)]), colours.append(F.LINE_COLOURS[i]), styles.append("--")
    return lines, colours, styles


RIGHT = 0.3  # inches: the runs' legend is above the panels, not beside them


def _time_axes(fig: Figure, n: int, tl: F.Timeline, runs: list[RunFolder], top: float, bottom: float,
               shown: tuple[float, float]):
    gs = fig.add_gridspec(n, 1, left=F.LEFT / F.WIDTH, right=1 - RIGHT / F.WIDTH, top=top, bottom=bottom,
                          hspace=0.18)
    axes = []
    lines, colours, styles = run_marks(runs, tl)
    for i in range(n):
        ax = fig.add_subplot(gs[i])
        F.mark_panel(ax, F.Timeline(tl.horizon, tl.eras, (), None))  # eras only: the runs' marks follow
        ax.set_xlim(*shown)
        if lines:
            ax.add_collection(LineCollection(lines, transform=ax.get_xaxis_transform(), colors=colours,
                                             linestyles=styles, lw=0.9), autolim=False)
        ax.yaxis.set_major_locator(MaxNLocator(5))
        if i < n - 1:
            ax.xaxis.set_major_locator(NullLocator())
        axes.append(ax)
    for name, a, b in tl.eras:  # named once, just above the first panel (inside, a curve at 1 ran through them)
        a, b = max(a, shown[0]), min(b, shown[1])
        if (b - a) / (shown[1] - shown[0]) > 0.08:
            axes[0].text((a + b) / 2, 1.02, f"era of {F.ERA_NAMES.get(name, name)}", transform=axes[0].get_xaxis_transform(),
                         ha="center", va="bottom", fontsize=8, color="0.35", clip_on=False,
                         bbox={"facecolor": _shaded(axes[0], name), "edgecolor": "none", "pad": 1.5})
    axes[-1].set_xlabel("year from creation")
    return axes


def _shaded(ax, era: str) -> tuple[float, float, float]:
    """The colour of ``ax`` where :func:`tikkun.report.figures.mark_panel` shades ``era``."""
    bg, top = np.asarray(to_rgba(ax.get_facecolor()))[:3], np.asarray(to_rgba(F.ERA_COLOURS.get(era, "0.8")))[:3]
    return tuple((1.0 - F.ERA_SHADE) * bg + F.ERA_SHADE * top)


LEGEND_COLUMNS = 3
TITLE_ROOM, LEGEND_ROW, ERA_ROW = 0.42, 0.24, 0.2  # inches: the title's line, a row of the runs' legend, the eras' names


def _legend_rows(runs: list[RunFolder]) -> int:
    return -(-len(runs) // LEGEND_COLUMNS)


def _run_legend(fig: Figure, runs: list[RunFolder], left: float) -> None:
    """One legend for the figure, under its title, above its panels: a run's number, folder and
    line, :data:`LEGEND_COLUMNS` a row, read across."""
    handles = [matplotlib.lines.Line2D([], [], **_style(i)) for i in range(len(runs))]
    labels = [_short(_label(r, i), 30) for i, r in enumerate(runs)]
    rows, cols = _legend_rows(runs), min(len(runs), LEGEND_COLUMNS)
    order = [r * cols + c for c in range(cols) for r in range(rows) if r * cols + c < len(runs)]  # fills by column
    height = fig.get_figheight()
    fig.legend([handles[k] for k in order], [labels[k] for k in order], loc="upper left", ncol=cols, frameon=False,
               fontsize=9, bbox_to_anchor=(left, 1 - TITLE_ROOM / height), borderaxespad=0.0, handlelength=2.6)


def _time_figure(runs: list[RunFolder], tl: F.Timeline, title: str, n: int, panel_h: float,
                 shown: tuple[float, float]):
    """A figure of ``n`` panels sharing the time axis, its title and the runs' legend above them."""
    head = TITLE_ROOM + LEGEND_ROW * _legend_rows(runs) + 0.15 + (ERA_ROW if tl.eras else 0.0)
    h = head + panel_h * n + 0.55
    fig = Figure(figsize=(F.WIDTH, h), dpi=F.DPI)
    axes = _time_axes(fig, n, tl, runs, top=1 - head / h, bottom=0.55 / h, shown=shown)
    _run_legend(fig, runs, F.LEFT / F.WIDTH)
    fig.suptitle(title, x=F.LEFT / F.WIDTH, ha="left", y=1 - 0.08 / h, va="top", fontsize=11, fontweight="bold")
    return fig, axes


PANELS = (
    # (column, per soul, y label, log)
    ("cleansing_mean", False, "collective correction C\n(0 to 1)", False),
    ("complete", True, "complete souls\n(share, 0 to 1)", False),
    ("weakest_link", False, "weakest link G\n(log scale)", True),
)
MORE_PANELS = (
    ("illumination_mean", False, "illumination, mean\n(light units)", False),
    ("effort_mean", False, "effort e, mean\n(units of baseline e0)", False),
    ("holding_aim", True, "holding the aim\n(share, 0 to 1)", False),
    ("shepherds", False, "shepherds\n(souls)", False),
)


def _mark_stop(ax, run: RunFolder, i: int, v: np.ndarray) -> None:
    """A bar in the run's colour at the last value of a run that stopped at its horizon before
    the axis' end (``v``: its values by year), which shows where it stops even where its line
    lies under another's."""
    last = last_year(run)
    if run.summary.get("end_year") is None and last < v.size - 1 and np.isfinite(v[last]):
        ax.plot([last], [v[last]], ls="none", marker="|", ms=11, mew=2.2, color=F.LINE_COLOURS[i])


def _panel(ax, runs, column, per_soul, ylabel, log, tl, shown=None) -> None:
    """One measure of every run over the shared years (:func:`by_year`: a run that ended carried on),
    its y axis scaled to the years ``shown`` (default all)."""
    shown = shown or shown_years(tl)
    years = np.arange(tl.horizon, dtype=np.float64)
    lines = [(i, by_year(r, column, tl.horizon, per_soul)) for i, r in enumerate(runs) if column in r.metrics]
    for i, v in lines:
        v = np.where(v > 0, v, np.nan) if log else v
        ax.plot(years, v, **_style(i))
        _mark_stop(ax, runs[i], i, v)
    if not lines:
        ax.text(0.5, 0.5, "not recorded in these runs", transform=ax.transAxes, ha="center", va="center", color="0.4")
    elif log and any(np.any(v > 0) for _, v in lines):
        F.log_axis(ax)
        low = [float(np.nanmin(w[w > 0])) for _, v in lines if np.any((w := _within_shown(v, shown)) > 0)]
        ax.set_ylim(bottom=min(low) / 2 if low else None, top=1.5)  # G is at most 1: the end, G = 1, has its tick
        F.down_to_a_decade(ax)
    elif not log:
        seen = [w for _, v in lines if np.any(np.isfinite(w := _within_shown(v, shown)))]
        top = max(float(np.nanmax(w)) for w in seen) if seen else 0.0
        ax.set_ylim(0, 1.08 * top if top > 0 else 1.0)
        if column == "shepherds":
            ax.yaxis.set_major_locator(MaxNLocator(5, integer=True))
        F.thousands(ax)
    ax.set_ylabel(ylabel)


def difference_panel(ax, runs: list[RunFolder], tl: F.Timeline, shown: tuple[float, float] | None = None) -> None:
    """``C`` of each run after the first minus the first's, year by year (:func:`by_year`: a
    run ended by the end of correction carried on at its end; none where either says nothing),
    its y axis scaled to the years ``shown`` (default all)."""
    shown = shown or shown_years(tl)
    years = np.arange(tl.horizon, dtype=np.float64)
    c0 = by_year(runs[0], "cleansing_mean", tl.horizon)
    drawn = []
    for i, r in enumerate(runs[1:], start=1):
        v = by_year(r, "cleansing_mean", tl.horizon) - c0
        ax.plot(years, v, **_style(i))
        _mark_stop(ax, r, i, v)
        drawn.append(_within_shown(v, shown))
    zero = np.where(np.isnan(c0), np.nan, 0.0)  # run 1's own line: as far as it ran
    ax.plot(years, zero, color=F.LINE_COLOURS[0], lw=0.8)
    _mark_stop(ax, runs[0], 0, zero)
    values = np.concatenate([np.zeros(1), *drawn])
    low, high = float(np.nanmin(values)), float(np.nanmax(values))  # 0 is among them: run 1's own line
    pad = 0.06 * (high - low) if high > low else 0.01
    ax.set_ylim(low - pad, high + pad)  # the years shown, not all the years run
    ax.set_ylabel("C minus run 1's C")


def correction_figure(runs: list[RunFolder], tl: F.Timeline, shown: tuple[float, float]) -> Figure:
    """``C``, the complete souls' share and ``G`` (log) of every run, and ``C`` less the first's."""
    fig, axes = _time_figure(runs, tl, "Correction", len(PANELS) + 1, 1.75, shown)
    for ax, (column, per_soul, ylabel, log) in zip(axes, PANELS):
        _panel(ax, runs, column, per_soul, ylabel, log, tl, shown)
    difference_panel(axes[-1], runs, tl, shown)
    return fig


def effort_figure(runs: list[RunFolder], tl: F.Timeline, shown: tuple[float, float]) -> Figure:
    """Illumination, effort, the share holding the aim and the shepherds of every run."""
    fig, axes = _time_figure(runs, tl, "Light, effort, aim and shepherds", len(MORE_PANELS), 1.6, shown)
    for ax, (column, per_soul, ylabel, log) in zip(axes, MORE_PANELS):
        _panel(ax, runs, column, per_soul, ylabel, log, tl, shown)
    return fig


def souls_figure(runs: list[RunFolder], tl: F.Timeline, shown: tuple[float, float]) -> Figure:
    """The souls at the end of each run: cleansing's distribution (share of the souls in each
    of 50 bins) and the souls completed a year (bars of :func:`figures.bin_width` years)."""
    head = TITLE_ROOM + LEGEND_ROW * _legend_rows(runs) + 0.35
    h = head + 3.0
    fig = Figure(figsize=(F.WIDTH, h), dpi=F.DPI)
    gs = fig.add_gridspec(1, 2, left=0.09, right=0.98, top=1 - head / h, bottom=0.6 / h, wspace=0.28)
    ax = fig.add_subplot(gs[0])
    edges = np.linspace(0.0, 1.0, 51)
    least = 1.0
    for i, r in enumerate(runs):
        counts = np.histogram(np.asarray(r.souls["cleansing"], dtype=np.float64), bins=edges)[0] / max(r.n_souls, 1)
        ax.stairs(np.where(counts > 0, counts, np.nan), edges, **_style(i))
        least = min(least, float(counts[counts > 0].min(initial=1.0)))
    F.share_log_axis(ax, least)
    ax.set_xlabel("cleansing c at the end (share of the soul's desire corrected)")
    ax.set_ylabel("share of the souls (log scale)")
    ax.set_title("Cleansing at the end", fontsize=9.5)
    ax = fig.add_subplot(gs[1])
    width = F.bin_width(int(np.ceil(shown[1] - shown[0])))  # bars for the years shown
    bins = np.arange(0, tl.horizon + width, width, dtype=np.float64)
    drawn, top = False, 0.0
    inside = (bins[1:] > shown[0]) & (bins[:-1] < shown[1])  # the bars in the years shown scale the y axis
    for i, r in enumerate(runs):
        if "completed_year" not in r.souls:
            continue
        cy = np.asarray(r.souls["completed_year"], dtype=np.float64)
        done = np.isfinite(cy) & (cy >= 0)
        share = np.histogram(cy[done], bins=bins)[0] / width / max(r.n_souls, 1)
        ax.stairs(share, bins, **_style(i))
        top = max(top, float(share[inside].max(initial=0.0)))
        drawn = True
    if not drawn:
        ax.text(0.5, 0.5, "no run's souls.parquet has completed_year", transform=ax.transAxes, ha="center",
                va="center", color="0.4")
    elif top > 0:
        ax.set_ylim(0, 1.08 * top)
    ax.set_xlim(*shown)
    ax.set_xlabel("year from creation")
    ax.set_ylabel(f"share of the souls completed a year\n(bars of {width:,} year{'' if width == 1 else 's'})")
    ax.set_title("Year of completion", fontsize=9.5)
    _run_legend(fig, runs, 0.09)
    fig.suptitle("The souls at the end", x=0.09, ha="left", y=1 - 0.08 / h, va="top", fontsize=11, fontweight="bold")
    return fig


def draw(runs: list[RunFolder], tl: F.Timeline, shown: tuple[float, float] | None = None) -> dict[str, bytes]:
    """The page's three figures as PNG bytes; ``shown``: the years of their time axes
    (:func:`shown_years`; default all)."""
    shown = shown or shown_years(tl)
    with matplotlib.rc_context(F.RC):
        return {"correction": F.png(correction_figure(runs, tl, shown)), "effort": F.png(effort_figure(runs, tl, shown)),
                "souls": F.png(souls_figure(runs, tl, shown))}


# ------------------------------------------------------------------ the page
def _table(header: list[str], rows: list[tuple[str, list[str]]]) -> str:
    head = "<tr><th></th>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"
    body = "".join("<tr><th>" + html.escape(k) + "</th>" + "".join(f"<td>{html.escape(v)}</td>" for v in vs)
                   + "</tr>" for k, vs in rows)
    return f"<table>{head}{body}</table>"


def render(runs: list[RunFolder], years: list[int] | None = None, first: int | None = None,
           last: int | None = None) -> str:
    """The HTML text comparing ``runs`` (the first is the one the differences are taken from);
    ``years``: the years whose ``C``, ``G`` and complete souls the table gives (default: the last
    year every run recorded); ``first``, ``last``: the years the figures show (default all)."""
    years = sorted(set(years)) if years else [common_last_year(runs)]
    tl = _timeline(runs)
    shown = shown_years(tl, first, last)
    pngs = draw(runs, tl, shown)
    header = [_short(_label(r, i)) for i, r in enumerate(runs)]
    diff = differences(runs)
    diff_html = (_table(header, diff) if diff else
                 "<p>The runs' scenarios are the same: any difference between them is the code's or the machine's "
                 "(a run is a pure function of its scenario).</p>")
    shared = shared_events(runs)
    if shared:
        diff_html += ("<p>Events every run has (grey dotted lines in the figures): "
                      + "; ".join(html.escape(t) for t in shared) + ".</p>")
    names = "; ".join(f"{i + 1}: {r.folder}" for i, r in enumerate(runs))
    eras = ("Eras shaded as the runs share them. " if tl.eras else "")
    if (first, last) != (None, None):  # the y axes are scaled to these years too
        eras = f"{years_shown_text(*shown, tl.horizon)} {eras}"
    marks = (f"{eras}A bar ends the line of a run that stopped at its horizon before the others; dashed lines: "
             "each run's end of correction, in its colour; dotted: events' first years, in the "
             "colour of the one run that has an event, grey where more runs have it (\"What differs\" names "
             "those some runs lack, and lists below it those every run has).")
    parts = [
        ("differences", "What differs", diff_html),
        ("numbers", "The numbers", _table(header, headline_rows(runs, years))),
        ("correction", "Correction",
         f"<figure>{_img(pngs['correction'], 'correction of every run')}<figcaption>The collective correction C, the "
         "share of complete souls and the weakest link G of each run; below, C of each run minus C of run 1, in the "
         "years both ran. A run that ended in the end of correction is drawn on at its last values (after the end "
         f"nothing changes). {marks}</figcaption></figure>"),
        ("effort", "Light, effort, aim and shepherds",
         f"<figure>{_img(pngs['effort'], 'effort and aim of every run')}<figcaption>The mean illumination, the mean "
         f"effort, the share of souls holding the aim and the number of shepherds of each run. {marks}"
         "</figcaption></figure>"),
        ("souls", "The souls at the end",
         f"<figure>{_img(pngs['souls'], 'souls at the end of every run')}<figcaption>From each run's souls.parquet: "
         "the distribution of cleansing at the end and the souls completed a year, each as a share of the run's "
         "souls, so that runs of different sizes compare.</figcaption></figure>"),
    ]
    title = "tikkun comparison: " + " | ".join(_short(_name(r), 30) for r in runs)
    lead = (f"<p class=\"lead\">{len(runs)} runs, each with its number: {html.escape(names)}. Differences are taken "
            "from run 1. C is the mean cleansing of the souls, G the least corrected share of any spark (the end of "
            "correction is G = 1).</p>")
    return page(GENERATOR, title, lead, parts, "the run folders' files")


def check_folders(folders) -> list[Path]:
    """The folders as paths, refused (:class:`ReportError`) unless there are 2 to
    :data:`MAX_RUNS` and no folder is named twice."""
    paths = [Path(f) for f in folders]
    if not 2 <= len(paths) <= MAX_RUNS:
        raise ReportError(f"RUN_DIR: give 2 to {MAX_RUNS} run folders to compare (got {len(paths)})")
    seen: dict[str, Path] = {}
    for p in paths:
        key = os.path.realpath(p)
        if key in seen:
            also = "" if str(seen[key]) == str(p) else f" (as {seen[key]} too)"
            raise ReportError(f"RUN_DIR: {p} is given twice{also}; give each run once")
        seen[key] = p
    return paths


def write_comparison(folders, out=None, years: list[int] | None = None, first: int | None = None,
                     last: int | None = None) -> Path:
    """Compare the finished run ``folders`` (2 to 7, the first the reference) in one page written
    atomically to ``out`` (default ``comparison.html`` in the current folder); returns its path.
    ``first``, ``last``: the years the figures show (``--from``, ``--to``; default all).
    Its missing folders are made; an earlier comparison there is replaced, any other file is not. Raises
    :class:`~tikkun.report.folder.ReportError` naming what is wrong, before anything is written."""
    if isinstance(folders, (str, os.PathLike)):
        folders = [folders]  # one folder: refused below, as one
    paths = check_folders(folders)
    if years is not None and any(int(y) < 0 for y in years):
        raise ReportError(f"--year: a year from creation, 0 or more (got {', '.join(str(y) for y in years)})")
    check_shown_years(first, last)
    target = Path(out) if out is not None else Path(COMPARISON_NAME)
    if target.is_dir():
        raise ReportError(f"--out {target}: is a folder; give a file's name, e.g. {target / COMPARISON_NAME}")
    above = next(p for p in target.absolute().parents if p.exists())
    if not above.is_dir():
        raise ReportError(f"--out {target}: {above} is a file, not a folder; give another file's name")
    if target.is_symlink():  # replaced by the page, the link would be lost (a link to nothing does not exist)
        raise ReportError(f"--out {target}: is a symbolic link; give a file's own path or a new name")
    if target.exists() and not written_by(target, GENERATOR):
        raise ReportError(f"--out {target}: exists and is not a comparison tikkun wrote; give a new file's name "
                          "(tikkun replaces only its own comparisons)")
    runs = [read_run_folder(p, kept=False) for p in paths]
    longest = max(last_year(r) for r in runs)
    beyond = [int(y) for y in years or () if int(y) > longest]
    if beyond:
        raise ReportError(f"--year {beyond[0]}: no run reached it; give a year from 0 to {longest:,} (the longest "
                          "run's last)")
    if first is not None and int(first) >= longest:
        raise ReportError(f"--from {first}: no run goes past it; give a year from 0 to {longest - 1:,} (the longest "
                          f"run's last is {longest:,})")
    text = render(runs, years, first, last)
    made = [p for p in target.absolute().parents if not p.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)  # as tikkun run makes its --out
    try:
        write_text(target, text)
    except BaseException as exc:
        for folder in made:  # the deepest first: nothing of a comparison not written stays
            with contextlib.suppress(OSError):
                folder.rmdir()
        if isinstance(exc, OSError):  # a folder one may not write into, a full disk
            raise ReportError(f"--out {target}: cannot be written ({exc.strerror or exc})") from None
        raise
    return target
