"""The live run's figures (Bokeh): yearly metrics with the eras and events marked, the
distribution of cleansing across the souls, a sample of souls coloured by stage.

Every figure reads one :class:`bokeh.models.ColumnDataSource`; the page streams the new
yearly rows into it (``source.stream``), so only the new years travel to the browser.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from bokeh.models import BoxAnnotation, ColumnDataSource, Label, Legend, Range1d, Span
from bokeh.palettes import Category10_10
from bokeh.plotting import figure
from bokeh.transform import factor_cmap

from tikkun.records import METRIC_COLUMNS
from tikkun.rules.stages import STAGES
from tikkun.scenario import Scenario

#: (title, y-axis label, y range or None, [(metric column, legend label)])
SERIES: tuple[tuple[str, str, tuple[float, float] | None, tuple[tuple[str, str], ...]], ...] = (
    ("Correction", "share of the whole (0 to 1)", (0.0, 1.0),
     (("cleansing_mean", "C, mean cleansing"), ("weakest_link", "G, weakest link"),
      ("illumination_mean", "mean illumination"))),
    ("Stages of the souls (002)", "souls", None,
     (("stage_spark", "spark"), ("stage_particular", "particular"), ("stage_common", "common"))),
    ("Journeys (002)", "souls", None,
     (("journey_moses", "Moses, c < 1/3"), ("journey_joshua", "Joshua, c < 2/3"),
      ("journey_solomon", "Solomon, c < 1"), ("journey_david", "David, complete"))),
    ("Aim (000)", "souls", None,
     (("holding_aim", "holding the aim"), ("lost_aim", "losses of aim this year"))),
    ("The four worlds (000)", "unity, conductance (0 to 1)", None,
     (("u_atzilut", "Atzilut"), ("u_beria", "Beria"), ("u_yetzira", "Yetzira"), ("u_assiya", "Assiya"),
      ("conductance", "conductance W"))),
    ("Shocks of impurity (004)", "shocks in the year", None, (("shocks", "shocks"),)),
)

#: The metric columns the figures read (numbers only), with the year.
COLUMNS: tuple[str, ...] = ("year",) + tuple(dict.fromkeys(c for *_, lines in SERIES for c, _ in lines))
STAGE_COLOURS = ("#d62728", "#ff7f0e", "#2ca02c")  # spark, particular, common
YEAR_LABEL = "year from creation"
HEIGHT = 250


def _check_columns() -> None:
    missing = [c for c in COLUMNS if c not in METRIC_COLUMNS]
    if missing:  # a renamed metric must be renamed here too
        raise KeyError(f"metrics not recorded by tikkun.records: {missing}")


_check_columns()


def rows_to_columns(rows: list[dict]) -> dict[str, list]:
    """Yearly rows (dicts of :data:`tikkun.records.METRIC_COLUMNS`) as the figures' columns."""
    out = {}
    for c in COLUMNS:
        kind = METRIC_COLUMNS[c][0]
        cast = int if kind.startswith("int") else float
        out[c] = [cast(r[c]) for r in rows]
    return out


@dataclass(frozen=True)
class Marker:
    """A span of years (``until`` None: one year) named by the scenario's events."""

    label: str
    year: int
    until: int | None


def markers(scenario: Scenario) -> list[Marker]:
    """The scenario's events as markers, one per (label, year, until): the history's exiles set
    two keys over one span under one name."""
    seen: dict[tuple, Marker] = {}
    for ev in scenario.events:
        until = getattr(ev, "until", None)
        if ev.kind in ("set", "scale") and until is None:
            until = scenario.run.years
        label = ev.label or (f"{ev.kind} {ev.key}" if hasattr(ev, "key") else ev.kind)
        seen.setdefault((label, ev.year, until), Marker(label, ev.year, until))
    return list(seen.values())


def eras(scenario: Scenario) -> list[tuple[str, int]]:
    """(name, first year) of the eras that begin within the horizon after year 0."""
    g = scenario.generations
    return [(name, y) for name, y in (("Torah era", g.torah_from), ("Messiah era", g.messiah_from))
            if 0 < y < scenario.run.years]


def label_groups(scenario: Scenario, gap: float = 0.015) -> list[tuple[int, str]]:
    """(year, text) of the events' labels, those closer than ``gap`` of the horizon joined by
    " / " (the exodus and the conquest, 40 years apart, would print over each other)."""
    out: list[tuple[int, str]] = []
    for m in sorted(markers(scenario), key=lambda m: m.year):
        if out and m.year - out[-1][0] < gap * scenario.run.years:
            if m.label not in out[-1][1].split(" / "):
                out[-1] = (out[-1][0], f"{out[-1][1]} / {m.label}")
        else:
            out.append((m.year, m.label))
    return out


def _mark(fig, scenario: Scenario, labels: bool) -> None:
    for name, y in eras(scenario):
        fig.add_layout(Span(location=y, dimension="height", line_color="#444444", line_width=1.5))
        if labels:
            fig.add_layout(Label(x=y, y=8, y_units="screen", x_offset=3, text=name, text_font_size="8pt",
                                 text_color="#222222", text_font_style="bold", background_fill_color="white",
                                 background_fill_alpha=0.7, y_offset=0, text_baseline="bottom"))
    for m in markers(scenario):
        if m.until is not None and m.until > m.year + 1:
            fig.add_layout(BoxAnnotation(left=m.year, right=m.until, fill_color="#7f7f7f", fill_alpha=0.10,
                                         line_alpha=0))
        else:
            fig.add_layout(Span(location=m.year, dimension="height", line_color="#7f7f7f", line_dash="dashed"))
    if labels:  # read upward along the event's first year, from the foot of the frame, on its right
        for year, text in label_groups(scenario):
            fig.add_layout(Label(x=year, y=30, y_units="screen", x_offset=1, angle=math.pi / 2, text=text,
                                 text_font_size="7.5pt", text_color="#444444", text_baseline="top"))


def series_figures(scenario: Scenario, source: ColumnDataSource) -> list:
    """One figure per entry of :data:`SERIES`, sharing the years' axis (0 to the horizon)."""
    x_range = Range1d(0, scenario.run.years, bounds=(0, scenario.run.years))
    figs = []
    for i, (title, ylabel, yr, lines) in enumerate(SERIES):
        fig = figure(title=title, height=HEIGHT, sizing_mode="stretch_width", x_range=x_range,
                     tools="pan,xwheel_zoom,box_zoom,reset,save", toolbar_location="above", name=f"series-{i}",
                     **({"y_range": Range1d(*yr)} if yr else {}))
        fig.xaxis.axis_label = YEAR_LABEL
        fig.yaxis.axis_label = ylabel
        fig.title.text_font_size = "11pt"
        items = []
        for j, (col, label) in enumerate(lines):
            r = fig.line("year", col, source=source, line_width=2, color=Category10_10[j])
            items.append((label, [r]))
        legend = Legend(items=items, label_text_font_size="8pt", click_policy="hide", spacing=0, padding=2,
                        label_width=10, glyph_width=14, margin=4)
        fig.add_layout(legend, "right")  # beside the frame: never over a curve
        _mark(fig, scenario, labels=(i == 0))
        figs.append(fig)
    return figs


def histogram_figure(source: ColumnDataSource):
    """Souls per bin of cleansing; ``source`` has left, right, count."""
    fig = figure(title="Cleansing across the souls", height=HEIGHT, sizing_mode="stretch_width",
                 x_range=Range1d(0, 1), tools="save", toolbar_location="above", name="histogram")
    fig.quad(left="left", right="right", bottom=0, top="count", source=source, fill_color="#1f77b4",
             line_color="white")
    fig.xaxis.axis_label = "cleansing c of a soul (0 to 1)"
    fig.yaxis.axis_label = "souls"
    fig.title.text_font_size = "11pt"
    return fig


def sample_figure(source: ColumnDataSource, n: int):
    """A sample of souls: measure of mind against cleansing, coloured by stage."""
    fig = figure(title=f"A sample of {n:,} souls by stage", height=HEIGHT, sizing_mode="stretch_width",
                 y_range=Range1d(-0.02, 1.02), tools="pan,wheel_zoom,reset,save", toolbar_location="above",
                 name="sample")
    fig.scatter("hbd", "cleansing", source=source, size=4, alpha=0.6, legend_field="stage",
                color=factor_cmap("stage", STAGE_COLOURS, STAGES))
    fig.xaxis.axis_label = "measure of mind, hbd (speed, never the end)"
    fig.yaxis.axis_label = "cleansing c of a soul (0 to 1)"
    fig.legend.location = "top_left"
    fig.legend.label_text_font_size = "8pt"
    fig.legend.background_fill_alpha = 0.7
    fig.title.text_font_size = "11pt"
    return fig


def histogram_data(snap) -> dict[str, np.ndarray]:
    return {"left": snap.edges[:-1], "right": snap.edges[1:], "count": snap.counts}


def sample_data(snap) -> dict[str, np.ndarray]:
    return {"hbd": snap.hbd, "cleansing": snap.cleansing, "stage": np.asarray(snap.stage, dtype=str)}


class LiveFigures:
    """The live run's figures with their own sources, drawn from the first rows and picture of
    the souls, then fed (``add_rows``: streamed, only the new years travel; ``show_souls``)."""

    def __init__(self, scenario: Scenario, rows: list[dict], snap):
        self.series = ColumnDataSource(rows_to_columns(rows))
        self.hist = ColumnDataSource(histogram_data(snap))
        self.sample = ColumnDataSource(sample_data(snap))
        self.figures = series_figures(scenario, self.series) + [
            histogram_figure(self.hist), sample_figure(self.sample, len(snap.hbd))]

    def add_rows(self, rows: list[dict]) -> None:
        self.series.stream(rows_to_columns(rows))

    def show_souls(self, snap) -> None:
        self.hist.data = histogram_data(snap)
        self.sample.data = sample_data(snap)
