"""The live run's figures (Bokeh): yearly metrics with the eras and events marked, the
distribution of cleansing across the souls, a sample of souls coloured by stage.

Every figure reads one :class:`bokeh.models.ColumnDataSource`; the page streams the new
yearly rows into it (``source.stream``), so only the new years travel to the browser.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

import numpy as np
from bokeh.models import (BasicTicker, BoxAnnotation, CDSView, ColumnDataSource, FixedTicker, GroupFilter, Label,
                          LabelSet, Legend, LegendItem, Node, NumeralTickFormatter, Range1d)
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from tikkun.records import METRIC_COLUMNS
from tikkun.report.figures import ERA_COLOURS, era_bounds, shepherds_until
from tikkun.rules.stages import STAGES
from tikkun.scenario import Scenario

#: (title, y-axis label, y range: fixed (low, high), "zero" (counts from 0: to the souls' number,
#: or for shocks to their largest count so far), "up"
#: (from 0 to a margin above the data), "log" (a logarithmic axis over the data's decades) or None
#: (the data's), [(metric column, legend label)])
SERIES: tuple[tuple[str, str, tuple[float, float] | str | None, tuple[tuple[str, str], ...]], ...] = (
    ("Correction", "share of the whole (0 to 1)", (0.0, 1.0),
     (("cleansing_mean", "C, mean cleansing"), ("weakest_link", "G, weakest link"))),
    # G is a few ten-thousandths for millennia: flat at 0 on the linear axis above (the report's log panel)
    ("Weakest link G (log scale)", "G, the weakest link", "log", (("weakest_link", "G, weakest link"),)),
    ("Stages of the souls (002)", "souls", "zero",
     (("stage_spark", "spark"), ("stage_particular", "particular"), ("stage_common", "common"))),
    ("Journeys (002)", "souls", "zero",
     (("journey_moses", "Moses, c < 1/3"), ("journey_joshua", "Joshua, c < 2/3"),
      ("journey_solomon", "Solomon, c < 1"), ("journey_david", "David, complete"))),
    ("Aim (000)", "souls", "zero",
     (("holding_aim", "holding the aim"), ("lost_aim", "lost it this year"))),
    ("The four worlds (000)", "unity, conductance (0 to 1)", None,
     (("u_atzilut", "Atzilut"), ("u_beria", "Beria"), ("u_yetzira", "Yetzira"), ("u_assiya", "Assiya"),
      ("conductance", "conductance W"))),
    ("Shocks of impurity (004)", "shocks in the year", "zero", (("shocks", "shocks"),)),
    # in units of the Upper Light, not a share: above 1 in a year whose light is (the Temple's)
    ("Light and illumination (002)", "light units", "up",
     (("light", "lam, the Upper Light"), ("illumination_mean", "mean illumination"))),
)

CORRECTION, G_LOG, WORLDS, SHOCKS, LIGHT = 0, 1, 5, 6, 7  # indices in SERIES
#: a line's colour where it is not the figure's j-th of Category10: G as in the correction's figure
COLOUR_OF = {"weakest_link": Category10_10[1]}
#: The metric columns the figures read (numbers only), with the year.
COLUMNS: tuple[str, ...] = ("year",) + tuple(dict.fromkeys(c for *_, lines in SERIES for c, _ in lines))
# The stages and the journeys as the report's green ramps, darker the further along (its lightest,
# a fill, is too faint for a line or a dot on white): spark, particular, common; Moses to David.
STAGE_COLOURS = ("#74c476", "#238b45", "#00441b")
JOURNEY_COLOURS = ("#a1d99b", "#74c476", "#238b45", "#00441b")
ERA_ALPHA = 0.12  # the eras' shade over a figure (the report's, a little stronger on a screen)
SPAN_BAR = (1.006, 1.024)  # an event's bar in the correction's band of names: just above 1 (y units)
SPAN_GAP = 0.004  # of the horizon: the room between two bars that meet
YEAR_LABEL = "year from creation"
HEIGHT = 250
# Every yearly figure keeps the same room left of its frame (the y axis) and right of it (the
# legend), so their frames, and their time axes, line up from one figure to the next; room for
# the widest axis, 600,000 souls with its label.
AXIS_ROOM = 80
LEGEND_ROOM = 140
# The correction's frame runs above 1 to LABEL_TOP, a band over every curve (all are shares, at
# most 1) where the eras and the events are named: no name lies on a curve.
LABEL_TOP = 1.45
CORRECTION_HEIGHT = 330
TICKS = 5  # about this many years named on a time axis: apart on a figure a few hundred px wide
#: Lines the run before keeps, dashed under the run's own (the correction's and G's figures):
#: moving a knob and running again shows what the knob did.
PREVIOUS: dict[str, str] = {"cleansing_mean": "C, the run before", "weakest_link": "G, the run before"}
NOTE_BEFORE = "no run yet: press Run or Step"
NOTE_WAITING = "waiting for the run's year 0"
NOTE_NO_SHOCKS = "no shocks so far"
NOTE_NONE_CAME = "no shocks came"  # the run has ended without one


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
    two keys over one span under one name; a ``shepherds`` event before the Messiah era spans its
    generation (the report's :func:`tikkun.report.figures.shepherds_until`)."""
    seen: dict[tuple, Marker] = {}
    g = scenario.generations
    for ev in scenario.events:
        until = getattr(ev, "until", None)
        if ev.kind in ("set", "scale") and until is None:
            until = scenario.run.years
        elif ev.kind == "shepherds" and until is None:
            until = shepherds_until(ev.year, g.length, g.messiah_from)
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


def marker_data(scenario: Scenario) -> dict[str, dict[str, list]]:
    """The eras and events of a scenario as the data of the figures' marks, as the report draws
    them: ``shades`` (the eras' spans: left, right, colour), ``lines`` (each event's first year:
    x), ``spans`` (the years an event of more than one year lasts: left, right; drawn as bars in
    the correction's band of names), ``eras`` (the Torah and Messiah eras' first years: x, text)
    and ``labels`` (the events' names: x, text)."""
    shades = {"left": [], "right": [], "colour": []}
    g = scenario.generations
    for name, a, b in era_bounds(g.torah_from, g.messiah_from, scenario.run.years):  # as the report shades them
        shades["left"].append(a)
        shades["right"].append(b)
        shades["colour"].append(ERA_COLOURS.get(name, "#cccccc"))
    lines, spans = {"x": []}, {"left": [], "right": []}
    ms = markers(scenario)
    starts = {m.year for m in ms}
    gap = SPAN_GAP * scenario.run.years
    for m in ms:
        if m.year not in lines["x"]:
            lines["x"].append(m.year)
        if m.until is not None and m.until > m.year + 1:
            spans["left"].append(m.year)
            # a span that another begins where it ends stops short: the two bars read as two
            spans["right"].append(m.until - min(gap, (m.until - m.year) / 2) if m.until in starts else m.until)
    era = eras(scenario)
    groups = label_groups(scenario)
    return {"shades": shades, "lines": lines, "spans": spans,
            "eras": {"x": [y for _, y in era], "text": [n for n, _ in era]},
            "labels": {"x": [y for y, _ in groups], "text": [t for _, t in groups]}}


def _log_end(count: float) -> float:
    """The end of a log axis of souls whose tallest bar is ``count``: room above it, 10 at least
    (not the decade above: 1,000,000 for 600,000 souls would widen the axis' labels past the
    room the page keeps for them, and the columns' years would no longer line up)."""
    return max(10.0, 1.5 * count)


def _souls_end(n_souls: int) -> float:
    return max(1.0, n_souls * 1.03)


def empty_note(fig, text: str) -> Label:
    """A line of grey text in the middle of ``fig``'s frame: why the figure is empty (the page's
    other tabs use it too, so every empty figure says why in the same way)."""
    centre = Node(target="frame", symbol="center")
    note = Label(x=centre, y=centre, text=text, text_align="center", text_baseline="middle", text_font_size="10pt",
                 text_color="#666666", text_font_style="italic", background_fill_color="white",
                 background_fill_alpha=0.85)
    fig.add_layout(note)
    return note


def count_axis(fig) -> None:
    """``fig``'s y axis as counts: ticks on whole numbers only (on an axis of 0 to 1 the default
    ticker puts ticks at 0.2, 0.4, ... which a whole-number format shows as 0, 0, 0, 1, 1, 1) and
    written 600,000, not Bokeh's 6.000e+5. No minor ticks: between 0 and 1 they stood for
    fractions of a soul."""
    fig.yaxis.ticker = BasicTicker(min_interval=1, num_minor_ticks=0)
    fig.yaxis.formatter = NumeralTickFormatter(format="0,0")


def log_count_axis(fig, end: float) -> None:
    """``fig``'s log y axis as counts up to ``end``: the whole decades from 1 to it named as whole
    numbers (10,000, not 1e+4), no minor ticks."""
    fig.yaxis.ticker = FixedTicker(ticks=log_ticks(1.0, end), minor_ticks=[])
    fig.yaxis.formatter = NumeralTickFormatter(format="0,0")


def wrap_label(text: str, width: int = 11) -> str:
    """An event's name in lines of about ``width`` characters: read upward above the frame, a
    name of two short lines is as wide as two letters, so names a few centuries apart stay apart."""
    return "\n".join(textwrap.wrap(text, width)) or text


class LiveFigures:
    """The live run's figures, made once per page and fed with data: a new run sets their
    ranges and marks (:meth:`start`), its years are streamed in (:meth:`add_rows`: only the new
    years travel to the browser) and the souls' picture replaced (:meth:`show_souls`). No figure
    or source is made after the page is drawn, so the browser never hears of one late. An empty
    figure says why it is empty (a note in its frame; its legend shows with the first data)."""

    def __init__(self):
        self.series = ColumnDataSource({c: [] for c in COLUMNS})
        self.previous = ColumnDataSource({c: [] for c in ("year", *PREVIOUS)})
        self.previous_lines: list[tuple] = []  # (renderer, legend item) of the run before, hidden without one
        self.hist = ColumnDataSource({"left": [], "right": [], "count": []})
        self.sample = ColumnDataSource({"hbd": [], "cleansing": [], "stage": []})
        self.marks = {k: ColumnDataSource(v) for k, v in
                      {"shades": {"left": [], "right": [], "colour": []}, "lines": {"x": []},
                       "spans": {"left": [], "right": []}, "eras": {"x": [], "text": []},
                       "labels": {"x": [], "text": []}}.items()}
        self.x_range = Range1d(0, 1)
        self.notes: dict[str, Label] = {}
        self.series_figures = [self._series_figure(i, *entry) for i, entry in enumerate(SERIES)]
        self.histogram = self._histogram()
        self.souls = self._sample()
        self.figures = self.series_figures + [self.histogram, self.souls]
        self._shock_max = 0
        self._worlds_low = np.inf
        self._g_low, self._g_high = np.inf, 0.0
        self._up_max: dict[int, float] = {}  # the largest value so far of each "up" figure

    def _series_figure(self, i, title, ylabel, yr, lines):
        names = i == CORRECTION
        fig = figure(title=title, height=CORRECTION_HEIGHT if names else HEIGHT, sizing_mode="stretch_width",
                     x_range=self.x_range,
                     y_range=Range1d(0, LABEL_TOP) if names else Range1d(*yr) if isinstance(yr, tuple)
                     else Range1d(1e-4, 1) if yr == "log" else Range1d(0, 1),
                     y_axis_type="log" if yr == "log" else "linear",
                     # the correction's y axis stays put: its band of names stays above the curves
                     # G's log axis names fixed decades: zoom moves its years only, or it would name none
                     tools="xpan,xwheel_zoom,xbox_zoom,reset,save" if names or yr == "log"
                     else "pan,xwheel_zoom,box_zoom,reset,save",
                     toolbar_location="above", name=f"series-{i}", min_border_left=AXIS_ROOM,
                     min_border_right=LEGEND_ROOM)
        fig.xaxis.axis_label = YEAR_LABEL
        fig.xaxis.ticker = BasicTicker(desired_num_ticks=TICKS)
        fig.yaxis.axis_label = ylabel
        if yr == "zero":
            count_axis(fig)
        if yr == "log":  # decades named down from the top, so that G = 1, the end, is named when reached
            fig.yaxis.ticker = FixedTicker(ticks=log_ticks(1e-4, 1.0), minor_ticks=decades(1e-4, 1.0))
        fig.title.text_font_size = "11pt"
        # as the report: the eras shaded in their colours, each event's first year dotted
        fig.vstrip(x0="left", x1="right", source=self.marks["shades"], fill_color="colour", fill_alpha=ERA_ALPHA,
                   line_alpha=0, level="underlay")
        fig.vspan(x="x", source=self.marks["lines"], line_color="#737373", line_dash="dotted", line_width=1.2)
        items = []
        # the stages and journeys in the report's ramps (the sample's dots in the same stages' colours)
        ramp = STAGE_COLOURS if all(c.startswith("stage_") for c, _ in lines) else \
            JOURNEY_COLOURS if all(c.startswith("journey_") for c, _ in lines) else None
        for j, (col, label) in enumerate(lines):
            colour = ramp[j] if ramp else COLOUR_OF.get(col, Category10_10[j])
            r = fig.line("year", col, source=self.series, line_width=2, color=colour)
            items.append(LegendItem(label=label, renderers=[r]))
        for j, (col, _) in enumerate(lines):
            if col in PREVIOUS and i in (CORRECTION, G_LOG):  # the same colour, dashed and fainter
                r = fig.line("year", col, source=self.previous, line_width=1.5, line_dash="dashed", line_alpha=0.75,
                             color=COLOUR_OF.get(col, Category10_10[j]), visible=False, name=f"previous-{i}-{col}")
                items.append(LegendItem(label=PREVIOUS[col], renderers=[r], visible=False))
                self.previous_lines.append((r, items[-1]))
        fig.add_layout(Legend(items=items, label_text_font_size="8pt", click_policy="hide", spacing=0, padding=2,
                              label_width=10, glyph_width=14, margin=4, visible=False),
                       "right")  # beside the frame: never over a curve
        if names:  # the band above 1: the eras along its foot, the events read upward above them
            fig.yaxis.ticker = FixedTicker(ticks=[0, 0.2, 0.4, 0.6, 0.8, 1.0])
            fig.add_layout(BoxAnnotation(bottom=1.0, fill_color="white", fill_alpha=0.6, line_color="#999999",
                                         line_alpha=0.6, level="underlay"))
            # the years an event lasts: a bar along the band's foot, as the report's strip draws it
            fig.quad(left="left", right="right", bottom=SPAN_BAR[0], top=SPAN_BAR[1], source=self.marks["spans"],
                     fill_color="#a6a6a6", line_alpha=0)
            # on a ground of their own: an event's dotted line in the era's first years would cross the name
            fig.add_layout(LabelSet(x="x", y=1.0, y_offset=7, x_offset=3, text="text", source=self.marks["eras"],
                                    text_font_size="8pt", text_color="#222222", text_font_style="bold",
                                    text_baseline="bottom", background_fill_color="white",
                                    background_fill_alpha=0.85))
            fig.add_layout(LabelSet(x="x", y=1.0, y_offset=22, x_offset=1, angle=math.pi / 2, text="text",
                                    source=self.marks["labels"], text_font_size="7.5pt", text_color="#444444",
                                    text_baseline="top", text_align="left", text_line_height=1.0))
        self.notes[fig.name] = empty_note(fig, NOTE_BEFORE)
        return fig

    def _histogram(self):
        # souls on a log axis, as the report's: the few souls not yet complete, which hold back the
        # end, show beside the many complete ones
        fig = figure(title="Cleansing across the souls", height=HEIGHT, sizing_mode="stretch_width",
                     x_range=Range1d(0, 1), y_range=Range1d(HIST_BOTTOM, 10), y_axis_type="log", tools="save",
                     toolbar_location="above", name="histogram", min_border_left=AXIS_ROOM)
        fig.quad(left="left", right="right", bottom=HIST_BOTTOM, top="count", source=self.hist, fill_color="#1f77b4",
                 line_color="white")
        fig.xaxis.axis_label = "cleansing c of a soul (0 to 1)"
        fig.yaxis.axis_label = "souls (log scale)"
        log_count_axis(fig, 10.0)
        fig.title.text_font_size = "11pt"
        self.notes[fig.name] = empty_note(fig, NOTE_BEFORE)
        return fig

    def _sample(self):
        fig = figure(title="A sample of souls by stage", height=HEIGHT, sizing_mode="stretch_width",
                     x_range=Range1d(0, 3), y_range=Range1d(-0.02, 1.02), tools="pan,wheel_zoom,reset,save",
                     toolbar_location="above", name="sample", min_border_left=AXIS_ROOM)
        for stage, colour in zip(STAGES, STAGE_COLOURS):  # one renderer a stage: the legend in the stages' order
            fig.scatter("hbd", "cleansing", source=self.sample, size=4, alpha=0.6, legend_label=stage, color=colour,
                        view=CDSView(filter=GroupFilter(column_name="stage", group=stage)))
        fig.xaxis.axis_label = "measure of mind, hbd (speed, never the end)"
        fig.yaxis.axis_label = "cleansing c of a soul (0 to 1)"
        legend = fig.legend[0]
        fig.center.remove(legend)  # beside the frame, as the yearly figures': never over a soul
        legend.update(label_text_font_size="8pt", spacing=0, padding=2, glyph_width=14, margin=4, visible=False)
        fig.add_layout(legend, "right")
        fig.title.text_font_size = "11pt"
        self.notes[fig.name] = empty_note(fig, NOTE_BEFORE)
        return fig

    def _empty(self, fig, note: str | None) -> None:
        """Show ``note`` in ``fig`` and hide its legend, or (None) the reverse."""
        self.notes[fig.name].update(text=note or "", visible=note is not None)
        for legend in fig.legend:
            legend.visible = note is None

    def start(self, scenario: Scenario, waiting: bool = True) -> None:
        """Empty the figures for a new run of ``scenario``: the years' axis to its horizon, the
        counts' axes to its souls, its eras and events marked; their notes wait for its year 0
        (``waiting``) or, the run dropped, invite the next."""
        # the run before is drawn whole: the years' axis reaches its last year too
        years = max(scenario.run.years, int(max(self.previous.data["year"], default=-1)) + 1)
        # the bounds first: the browser applies the changes in order and clamps each to the bounds it
        # has, so a longer horizon's end set before its bounds stayed at the shorter one's
        self.x_range.bounds = (0, years)
        self.x_range.update(start=0, end=years)
        self.series.data = {c: [] for c in COLUMNS}
        for k, v in marker_data(scenario).items():
            if k == "labels":
                v = {"x": v["x"], "text": [wrap_label(t) for t in v["text"]]}
            self.marks[k].data = v
        n = scenario.souls.count
        for fig, (_, _, yr, _) in zip(self.series_figures, SERIES):
            if yr == "zero":
                fig.y_range.update(start=0, end=_souls_end(n))
        self.series_figures[SHOCKS].y_range.update(start=0, end=1)  # shocks: grows with the run's
        self._shock_max = 0
        self._worlds_low = np.inf
        # G's logarithmic axis spans the run before's G too, and widens with this run's
        g = np.asarray(self.previous.data["weakest_link"], dtype=float)
        g = g[g > 0]
        self._g_low, self._g_high = (float(g.min()), float(g.max())) if g.size else (np.inf, 0.0)
        self._set_g_range(log_range(self._g_low, self._g_high) if g.size else {"start": 1e-4, "end": 1.0})
        self._up_max = {i: 0.0 for i, (_, _, yr, _) in enumerate(SERIES) if yr == "up"}
        for i in self._up_max:  # from 0 to 1 until a value passes it, then a margin above the largest
            self.series_figures[i].y_range.update(start=0, end=1)
        self.hist.data = {"left": [], "right": [], "count": []}
        self.sample.data = {"hbd": [], "cleansing": [], "stage": []}
        top = _log_end(n)
        self.histogram.y_range.update(start=HIST_BOTTOM, end=top)
        log_count_axis(self.histogram, top)
        for fig in self.figures:
            self._empty(fig, NOTE_WAITING if waiting else NOTE_BEFORE)

    def keep_as_previous(self) -> bool:
        """The run shown becomes the run before, drawn dashed under the next (call before
        :meth:`start`); a run without a year leaves the last one. Returns whether it was kept."""
        data = self.series.data
        if not len(data["year"]):
            return False
        self.previous.data = {c: list(data[c]) for c in self.previous.data}
        for r, item in self.previous_lines:
            r.visible = item.visible = True
        return True

    def add_rows(self, rows: list[dict]) -> None:
        cols = rows_to_columns(rows)
        first = not len(self.series.data["year"])
        self.series.stream(cols)
        if first:
            for fig in self.series_figures:
                self._empty(fig, None)
        top = max(cols["shocks"])
        if top > self._shock_max:
            self._shock_max = top
            self.series_figures[SHOCKS].y_range.end = top * 1.1
        shocks = self.series_figures[SHOCKS]
        self._empty(shocks, NOTE_NO_SHOCKS if self._shock_max == 0 else None)
        low = min(min(cols[c]) for c, _ in SERIES[WORLDS][3])
        if low < self._worlds_low:  # the worlds' axis follows their lowest unity so far, up to 1
            self._worlds_low = low
            self.series_figures[WORLDS].y_range.update(**worlds_range(low))
        g = np.asarray(cols["weakest_link"], dtype=float)
        g = g[g > 0]  # none on a logarithmic axis
        if len(g) and (g.min() < self._g_low or g.max() > self._g_high):
            self._g_low, self._g_high = min(self._g_low, float(g.min())), max(self._g_high, float(g.max()))
            self._set_g_range(log_range(self._g_low, self._g_high))
        for i, most in self._up_max.items():
            top = max(max(cols[c]) for c, _ in SERIES[i][3])
            if top > most:
                self._up_max[i] = top
                self.series_figures[i].y_range.end = max(1.0, top * 1.1)

    def finish(self) -> None:
        """The run has ended: a shocks figure still empty says none came, not "so far"."""
        note = self.notes[self.series_figures[SHOCKS].name]
        if self._shock_max == 0 and len(self.series.data["year"]) and note.text != NOTE_NONE_CAME:
            self._empty(self.series_figures[SHOCKS], NOTE_NONE_CAME)

    def _set_g_range(self, r: dict[str, float]) -> None:
        fig = self.series_figures[G_LOG]
        fig.y_range.update(**r)
        fig.yaxis.ticker.update(ticks=log_ticks(r["start"], r["end"]), minor_ticks=decades(r["start"], r["end"]))

    def show_souls(self, snap) -> None:
        self.hist.data = histogram_data(snap)
        top = _log_end(float(snap.counts.max()))
        self.histogram.y_range.end = top
        log_count_axis(self.histogram, top)
        self.sample.data = sample_data(snap)
        # a stage with no soul in the sample has no dot to draw in the legend: its name alone read as
        # a title; it says "none" instead
        present = set(self.sample.data["stage"])
        for item, stage in zip(self.souls.legend[0].items, STAGES):
            item.label = {"value": stage if stage in present else f"{stage} (none)"}
        if len(snap.hbd):
            lo, hi = float(snap.hbd.min()), float(snap.hbd.max())
            pad = 0.03 * (hi - lo) if hi > lo else 0.5
            self.souls.x_range.update(start=lo - pad, end=hi + pad)
        self.souls.title.text = f"A sample of {len(snap.hbd):,} souls by stage"
        self._empty(self.histogram, None)
        self._empty(self.souls, None)


def log_range(low: float, high: float) -> dict[str, float]:
    """A logarithmic axis over whole decades holding ``low`` to ``high`` (both > 0), at least
    one decade wide and no higher than 1 (G is a share)."""
    top = min(10.0 ** math.ceil(math.log10(high) + 1e-9), 1.0)
    bottom = min(10.0 ** math.floor(math.log10(low) - 1e-9), top / 10.0)
    return {"start": bottom, "end": top}


def log_ticks(start: float, end: float, most: int = 8) -> list[float]:
    """Whole decades from ``end`` (itself a decade) down to ``start``, every one or every few so
    that at most ``most`` are named: counted from the top, the axis names its top (G = 1, the end
    of correction, once G reaches it), whatever the number of decades."""
    top, bottom = math.floor(math.log10(end) + 1e-9), math.ceil(math.log10(start) - 1e-9)
    step = max(1, math.ceil((top - bottom + 1) / most))
    return [10.0 ** k for k in range(top, bottom - 1, -step)][::-1]


def decades(start: float, end: float) -> list[float]:
    """Every whole decade from ``start`` to ``end``: the log axis's minor ticks."""
    return log_ticks(start, end, most=10_000)


WORLDS_MIN_SPAN = 0.01  # the four worlds' y axis spans at least this much below 1


def worlds_range(low: float) -> dict[str, float]:
    """The four worlds' y axis for a lowest value ``low`` so far: from 0 once ``low`` is below
    one half; above, a margin below it and above 1, never narrower than :data:`WORLDS_MIN_SPAN`
    (unity exactly 1 all along would give an axis of millionths)."""
    gap = max(1.0 - low, 0.0)
    end = 1.0 + 0.02 * max(gap, WORLDS_MIN_SPAN)
    if low < 0.5:  # most of 0 to 1 in use: the axis from 0, as the others of shares
        return {"start": 0.0, "end": end}
    return {"start": min(low - 0.05 * gap, end - WORLDS_MIN_SPAN), "end": end}


HIST_BOTTOM = 0.5  # souls: where the histogram's bars start on its log axis (an empty bin's bar has no height)


def histogram_data(snap) -> dict[str, np.ndarray]:
    """The histogram's bars: ``left``, ``right`` float64 and ``count`` float64 (a bin without a
    soul at :data:`HIST_BOTTOM`, so that the log axis draws it as no bar)."""
    counts = np.asarray(snap.counts, dtype=np.float64)
    return {"left": snap.edges[:-1], "right": snap.edges[1:], "count": np.where(counts > 0, counts, HIST_BOTTOM)}


def sample_data(snap) -> dict[str, np.ndarray]:
    return {"hbd": snap.hbd, "cleansing": snap.cleansing, "stage": np.asarray(snap.stage, dtype=str)}
