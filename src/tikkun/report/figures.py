"""The report's figures, drawn with matplotlib from a :class:`~tikkun.report.folder.RunFolder`.

Every figure is a ``matplotlib.figure.Figure`` made without pyplot (no global state, no
display), laid out by hand (constrained layout is slower to draw) and returned as PNG
bytes. The yearly figures share one time axis, years from creation, with a strip on top that
marks the eras (from the scenario's ``generations.torah_from`` and ``messiah_from``), the
scenario's events (label, year, until) and the end of correction; the same eras shade every
panel and every event's first year is a dotted line.
"""

from __future__ import annotations

import dataclasses
import functools
import io
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, Locator, LogLocator, MaxNLocator, NullLocator

DPI = 100
WIDTH = 10.0  # inches
LEFT, RIGHT = 1.15, 2.35  # inches: two-line axis names left, the legends right of the panels
ERA_COLOURS = {"chaos": "#9a9a9a", "torah": "#d9a400", "messiah": "#2f7fd0"}
ERA_NAMES = {"chaos": "chaos", "torah": "Torah", "messiah": "Messiah"}
END_COLOUR = "#b2182b"
# Colours for up to seven lines of a panel (Okabe-Ito, readable by colour-blind readers).
LINE_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
# Line style and width for the lines of a panel, so lines lying on each other stay visible.
LINE_STYLES = (("-", 2.2), ("--", 1.7), ("-.", 1.5), (":", 1.6), ("-", 0.9), ("--", 0.9), ("-", 0.7))
RC = {
    "font.size": 9.5, "axes.titlesize": 10.5, "axes.labelsize": 10, "legend.fontsize": 9,
    "xtick.labelsize": 9, "ytick.labelsize": 9, "axes.spines.top": False, "axes.spines.right": False,
    "path.simplify_threshold": 0.5,
    # a folder's name or an event's label is text, never TeX: "$" in it would be parsed as maths
    "text.parse_math": False,
}


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes (no metadata: the file names no software or address)."""
    buf = io.BytesIO()
    # A fast zlib level: the figures are flat colours, which compress well at any level.
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None}, pil_kwargs={"compress_level": 3})
    return buf.getvalue()


# ------------------------------------------------------------------ the time axis
@dataclass(frozen=True)
class Mark:
    """An event on the time axis: ``[year, until)``, or the one year ``year`` when until is None."""

    label: str
    year: int
    until: int | None = None


@dataclass(frozen=True)
class Timeline:
    """The years run (``0 .. horizon``), the eras ``(name, first, end)``, the events, the end;
    the years the time axes show, ``first`` to ``last`` (default all: ``tikkun report --from
    --to``), their y axes scaled to the values in them."""

    horizon: int
    eras: tuple[tuple[str, int, int], ...]
    marks: tuple[Mark, ...]
    end_year: int | None
    first: int = 0
    last: int | None = None

    @property
    def windowed(self) -> bool:
        """Whether the axes show only some of the years."""
        return self.first > 0 or (self.last is not None and self.last < self.horizon - 1)

    @property
    def left(self) -> float:
        """The time axes' left end."""
        return float(self.first)

    @property
    def right(self) -> float:
        """The time axes' right end: ``last``; without one (or one at the run's last year or past
        it), a hundredth of the years shown past the horizon where the run ended, so that the
        end's line, in its last year, stands clear of the frame."""
        if self.last is not None and self.last < self.horizon - 1:
            return float(self.last)
        return self.horizon if self.end_year is None else self.horizon + max(1.0, 0.01 * (self.horizon - self.first))

    @property
    def shown_marks(self) -> tuple[Mark, ...]:
        """The events in the years shown (a span ``[year, until)`` begun before them and lasting
        into them too)."""
        return tuple(m for m in self.marks
                     if m.year <= self.right and max(m.until or 0, m.year + 1) > self.left)

    @property
    def shown_end(self) -> int | None:
        """The end of correction, where it is in the years shown."""
        end = self.end_year
        return end if end is not None and self.left <= end <= self.right else None

    def shown(self, v: np.ndarray) -> np.ndarray:
        """The values of ``v`` (one a year from 0) in the years the axes show."""
        return v[max(self.first, 0):int(np.ceil(self.right)) + 1]


def event_label(ev: dict) -> str:
    """The event's ``label``; without one, what it does (``light.light x 1.5``, ``shepherds``)."""
    if ev.get("label"):
        return str(ev["label"])
    kind = ev.get("kind", "event")
    if kind == "scale":
        return f"{ev.get('key')} x {ev.get('factor'):g}"
    if kind == "set":
        return f"{ev.get('key')} = {ev.get('value'):g}"
    return str(kind)


def era_bounds(torah_from: int, messiah_from: int, horizon: int) -> list[tuple[str, int, int]]:
    """``(era, first year, last year + 1)`` of MODEL.md's eras (chaos, Torah, Messiah) from the
    scenario's ``generations.torah_from`` and ``messiah_from``, cut to ``horizon`` (an era wholly
    after it left out)."""
    bounds = (("chaos", 0, torah_from), ("torah", torah_from, messiah_from), ("messiah", messiah_from, horizon))
    return [(n, max(a, 0), min(b, horizon)) for n, a, b in bounds if min(b, horizon) > max(a, 0)]


def shepherds_until(year: int, length: int, messiah_from: int) -> int | None:
    """The year a ``shepherds`` event of ``year`` stops acting: before the Messiah era, the start
    of the next generation (its shepherds are shepherds to their generation's end, 002;
    :mod:`tikkun.rules.shepherds`); from that era on, None (for good)."""
    return (year // length + 1) * length if year < messiah_from else None


def timeline(run) -> Timeline:
    """The time axis of a :class:`RunFolder`: years run, eras from the scenario, its events."""
    years = np.asarray(run.metrics["year"])
    horizon = int(years.max()) + 1 if years.size else 1
    gen = run.scenario.get("generations", {})
    if "torah_from" in gen and "messiah_from" in gen:
        bounds = era_bounds(int(gen["torah_from"]), int(gen["messiah_from"]), horizon)
    elif "era" in run.metrics and years.size:
        # Without the keys: the eras the engine recorded, year by year.
        era = np.asarray(run.metrics["era"]).astype(str)
        cut = np.flatnonzero(era[1:] != era[:-1]) + 1
        starts, ends = np.r_[0, cut], np.r_[cut, era.size]
        bounds = [(era[a], int(years[a]), int(years[b - 1]) + 1) for a, b in zip(starts, ends)]
    else:
        bounds = []
    eras = tuple((n, max(a, 0), min(b, horizon)) for n, a, b in bounds if min(b, horizon) > max(a, 0))
    marks = []
    for ev in run.scenario.get("events", []):
        year = int(ev.get("year", 0))
        if year >= horizon:
            continue
        until = ev.get("until")
        if until is None and ev.get("kind") in ("set", "scale"):
            until = int(run.scenario.get("run", {}).get("years", horizon))
        elif until is None and ev.get("kind") == "shepherds" and "messiah_from" in gen and "length" in gen:
            until = shepherds_until(year, int(gen["length"]), int(gen["messiah_from"]))
        marks.append(Mark(event_label(ev), year, None if until is None else min(int(until), horizon)))
    # one mark for events that share label and span (an exile dims the light and brings shocks)
    marks = sorted(set(marks), key=lambda m: (m.year, m.until or m.year, m.label))
    end = run.summary.get("end_year")
    return Timeline(horizon, eras, tuple(marks), None if end is None else int(end))


def _lanes(tl: Timeline, axes_px: float) -> list[tuple[int, bool]]:
    """``(lane, label on the left)`` for each mark, so that no two labels overlap (greedy, in
    year order); a label that would run past the last year goes left of its tick."""
    per_px = (tl.right - tl.left) / max(axes_px, 1.0)
    ends: list[float] = []
    out = []
    for m in tl.shown_marks:
        width = (5.2 * len(m.label) + 24.0) * per_px  # ~5 px a character at 7.5 pt, and a margin
        x = max(m.year, tl.left)  # a span begun before the years shown is labelled where they start
        left_side = x + width > min(tl.horizon, tl.right)
        lo = x - width if left_side else x
        hi = max(m.until or m.year, x if left_side else x + width)
        for i, e in enumerate(ends):
            if e < lo:
                ends[i] = hi
                out.append((i, left_side))
                break
        else:
            ends.append(hi)
            out.append((len(ends) - 1, left_side))
    return out


def _draw_strip(ax, tl: Timeline, lanes: list[tuple[int, bool]]) -> None:
    """Eras along the bottom row, each event in its lane above (a bar over its span, a tick at
    its first year, its label), the end of correction on a row of its own at the top."""
    ax.set_xlim(tl.left, tl.right)
    n_lanes = max((lane for lane, _ in lanes), default=-1) + 1
    top = 1.15 + n_lanes + (0.8 if tl.shown_end is not None else 0.0)
    ax.set_ylim(0, top)
    ax.xaxis.set_major_locator(NullLocator())  # the panels below carry the years
    ax.yaxis.set_major_locator(NullLocator())
    for s in ("left", "top", "right", "bottom"):
        ax.spines[s].set_visible(False)
    span = tl.right - tl.left
    for name, a, b in tl.eras:
        a, b = max(a, tl.left), min(b, tl.right)  # the part of the era in the years shown
        if b <= a:
            continue
        ax.broken_barh([(a, b - a)], (0.05, 0.9), color=ERA_COLOURS.get(name, "0.8"), alpha=0.35, lw=0)
        if (b - a) / span > 0.06:
            ax.text((a + b) / 2, 0.5, f"era of {ERA_NAMES.get(name, name)}" if (b - a) / span > 0.15
                    else ERA_NAMES.get(name, name), ha="center", va="center", fontsize=8)
    for m, (lane, left_side) in zip(tl.shown_marks, lanes):
        y = 1.15 + lane
        if m.until is not None and m.until > m.year:
            ax.broken_barh([(m.year, m.until - m.year)], (y + 0.1, 0.7), color="0.8", lw=0)
        if m.year >= tl.left:
            ax.plot([m.year], [y + 0.45], marker="|", color="0.1", ms=9, mew=1.5)
        ax.text(max(m.year, tl.left), y + 0.45, m.label + "  " if left_side else "  " + m.label, fontsize=7.5,
                va="center", ha="right" if left_side else "left", color="0.1", clip_on=True)
    end = tl.shown_end
    if end is not None:
        ax.plot([end, end], [0, top], color=END_COLOUR, lw=1.4)
        near_left = end - tl.left < 0.25 * span  # its label would run past the strip's left end
        ax.text(end, top - 0.4, f"  end of correction, year {end:,}" if near_left else
                f"end of correction, year {end:,}  ", color=END_COLOUR, ha="left" if near_left else "right",
                va="center", fontsize=8)


ERA_SHADE = 0.07  # the eras' opacity over a panel of trajectories


def mark_panel(ax, tl: Timeline) -> None:
    """Eras shaded, events dotted, the end dashed: one collection each (x in years, y in
    axes units, so the marks span the panel and leave its y limits alone)."""
    ax.set_xlim(tl.left, tl.right)
    across = ax.get_xaxis_transform()
    if tl.eras:
        ax.add_collection(PolyCollection(
            [[(a, 0), (b, 0), (b, 1), (a, 1)] for _, a, b in tl.eras], transform=across, lw=0, zorder=0,
            facecolors=[to_rgba(ERA_COLOURS.get(n, "0.8"), ERA_SHADE) for n, _, _ in tl.eras]), autolim=False)
    if tl.shown_marks:
        ax.add_collection(LineCollection([[(m.year, 0), (m.year, 1)] for m in tl.shown_marks], transform=across,
                                         colors="0.45", lw=0.7, linestyles=[(0, (1.5, 3.0))]), autolim=False)  # dots, gaps: a pixel or more at DPI
    if tl.shown_end is not None:
        ax.add_collection(LineCollection([[(tl.end_year, 0), (tl.end_year, 1)]], transform=across,
                                         colors=END_COLOUR, lw=1.0, linestyles="--"), autolim=False)


@functools.lru_cache(maxsize=8)
def strip_image(tl: Timeline, width_px: int, height_px: int, rc: tuple) -> np.ndarray:
    """The time axis' strip drawn once, uint8 RGBA ``(height_px, width_px, 4)`` on a
    transparent ground: every yearly figure of a report shows the same strip, and its labels,
    bars and eras are a good part of a figure's drawing. ``rc``: the rcParams it is drawn
    under, as sorted items (part of the cache's key)."""
    with matplotlib.rc_context(dict(rc)):
        fig = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI)
        fig.patch.set_alpha(0.0)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.patch.set_alpha(0.0)
        _draw_strip(ax, tl, _lanes(tl, width_px))
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba()).copy()


def time_figure(tl: Timeline, title: str, n_panels: int, panel_h: float = 1.75):
    """A figure with the strip on top and ``n_panels`` panels sharing the time axis.

    Returns ``(fig, [panel axes])``; the bottom panel carries the year labels."""
    lanes = _lanes(tl, round((WIDTH - LEFT - RIGHT) * DPI))  # as strip_image will find them
    strip_h = 0.3 + 0.2 * (max((lane for lane, _ in lanes), default=-1) + 1) + (0.16 if tl.shown_end is not None else 0.0)
    gap, top, bottom = 0.22, 0.42, 0.5
    heights = [strip_h] + [panel_h] * n_panels
    total = top + bottom + sum(heights) + gap * n_panels
    fig = Figure(figsize=(WIDTH, total), dpi=DPI)
    gs = fig.add_gridspec(n_panels + 1, 1, height_ratios=heights, left=LEFT / WIDTH, right=1 - RIGHT / WIDTH,
                          top=1 - top / total, bottom=bottom / total, hspace=gap / np.mean(heights))
    # The strip, as pixels, where its axes would be (figimage places them unscaled).
    box = gs[0].get_position(fig)
    w_px, h_px = WIDTH * DPI, total * DPI
    x0, y0 = int(round(box.x0 * w_px)), int(round(box.y0 * h_px))
    rgba = strip_image(tl, int(round(box.x1 * w_px)) - x0, int(round(box.y1 * h_px)) - y0,
                       tuple(sorted((k, matplotlib.rcParams[k]) for k in RC)))
    fig.figimage(rgba, xo=x0, yo=y0, origin="upper")
    axes = []
    for i in range(n_panels):
        ax = fig.add_subplot(gs[i + 1])
        mark_panel(ax, tl)
        ax.yaxis.set_major_locator(MaxNLocator(5))
        if i < n_panels - 1:
            ax.xaxis.set_major_locator(NullLocator())  # the bottom panel carries the years
        axes.append(ax)
    axes[-1].set_xlabel("year from creation")
    fig.suptitle(title, x=LEFT / WIDTH, ha="left", y=1 - 0.12 / total, va="top", fontsize=11, fontweight="bold")
    return fig, axes


def log_tick(v: float) -> str:
    """A logarithmic axis' tick in one style from 1e-15 to millions: whole numbers with
    separators (1,000,000), plain decimals down to 0.001, then a power of ten without its
    plus sign and leading zero (1e-6); a tick between the decades keeps its digits (19,992.5,
    2.5e-5)."""
    if v >= 1:
        return f"{v:,.0f}" if v == round(v) else f"{v:,.6g}"
    if v >= 1e-3:
        return format(v, ".6g")
    mantissa, exponent = format(v, ".5e").split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


class LogTicks(Locator):
    """A logarithmic axis' ticks that always name two values or more: the decades where the axis
    spans two decades or more; under two, 1, 2 and 5 of each decade; where even those give fewer
    than two ticks (the souls not complete from 19,991 to 20,000), evenly spaced ones."""

    def __call__(self):
        return self.tick_values(*self.axis.get_view_interval())

    def tick_values(self, vmin, vmax):
        vmin, vmax = sorted((vmin, vmax))
        if vmin <= 0 or vmax >= 100 * vmin:
            decades = LogLocator(base=10)
            decades.set_axis(self.axis)
            return decades.tick_values(vmin, vmax)
        # by hand: matplotlib's LogLocator with subs turns linear below two ticks, with up to ten
        powers = 10.0 ** np.arange(np.floor(np.log10(vmin)), np.ceil(np.log10(vmax)) + 1)
        ticks = np.outer(powers, (1.0, 2.0, 5.0)).ravel()
        ticks = ticks[(ticks >= vmin) & (ticks <= vmax)]
        if ticks.size >= 2:
            return ticks
        # whole numbers where the axis spans a few (counts of souls: not 19,992.5)
        return MaxNLocator(4, steps=[1, 2, 2.5, 5, 10], integer=vmin >= 1 and vmax - vmin >= 4).tick_values(vmin, vmax)


def log_axis(ax) -> None:
    """A logarithmic y axis with plain numbers (:func:`log_tick`) at :class:`LogTicks`: mathtext's
    powers of ten would load its parser for a few labels."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogTicks())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: log_tick(v)))
    ax.yaxis.set_minor_locator(NullLocator())


def down_to_a_decade(ax) -> None:
    """Lower a logarithmic axis' bottom to the decade at or under it where the axis names decades
    (it spans two or more): else its lowest values lie under its lowest named tick with no value
    to read them by (the practice before the Torah, 0.003, under a tick of 0.01)."""
    lo, hi = ax.get_ylim()
    if 0 < lo and hi >= 100 * lo:
        ax.set_ylim(10.0 ** np.floor(np.log10(lo)), hi)


def share_log_axis(ax, least: float) -> None:
    """:func:`log_axis` for shares of the souls: from half the least share drawn (``least``), or
    0.05 where that is higher (two decades' ticks show), to 1.5, so that the tick of 1 shows
    (matplotlib's limits around a lone bar at 1 went to 10)."""
    log_axis(ax)
    ax.set_ylim(min(least / 2, 0.05), 1.5)


def _legend(ax) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, borderaxespad=0.0)


# ------------------------------------------------------------------ the yearly trajectories
@dataclass(frozen=True)
class Series:
    """One line of a panel: a metrics column, its legend, and ``per_soul`` to show a share."""

    column: str
    label: str
    per_soul: bool = False
    others: bool = False  # the souls the column does not count (souls not complete, from "complete")


@dataclass(frozen=True)
class Panel:
    """A panel: its y label and lines; ``kind`` "line", "stack" (shares that add up), "steps"
    (a value held through its year: counts per year, a scheduled rate, the shepherds; a change
    shows at its own year, not a year before), "cumulative" (counts of rare events, as their sum so far) or "points"
    (values of some years only, the zeros left out); ``log`` True
    for a logarithmic y axis, "wide" for one only where the run's values span more than
    :data:`WIDE` (then the label says so): a narrow range on a log axis gets a single tick."""

    ylabel: str
    series: tuple[Series, ...]
    kind: str = "line"
    log: bool | str = False
    ylim: tuple[float, float] | None = None
    integer: bool = False  # counts: whole numbers on the y axis


@dataclass(frozen=True)
class Section:
    """A named section of the report: one figure of panels sharing the time axis."""

    id: str
    title: str
    caption: str
    panels: tuple[Panel, ...]


SECTIONS: tuple[Section, ...] = (
    Section("correction", "Correction", "The collective correction C (mean cleansing of the souls), "
            "the weakest link G (the least corrected share of any spark: the end of correction is G = 1), "
            "the mean illumination (in units of the Upper Light: never above the year's light times the worlds' conductance W, so above 1 only in a year whose light is) and the share of "
            "complete souls; below, G and the souls not yet complete on logarithmic scales (the last few souls, "
            "which hold back the end, show there).",
            (Panel("C, G, complete (0 to 1);\nillumination (light units)", (Series("cleansing_mean", "cleansing C"), Series("weakest_link", "weakest link G"),
                                      Series("illumination_mean", "illumination (mean)"),
                                      Series("complete", "complete souls", True))),
             Panel("weakest link G\n(log scale)", (Series("weakest_link", "weakest link G"),), log=True),
             Panel("souls not complete\n(log scale)", (Series("complete", "souls not complete", others=True),),
                   log=True))),
    Section("effort-and-aim", "Effort and aim", "The souls' mean effort e (how much a soul engages; "
            "its baseline e0 is drawn from a Gamma law) and the practice P of Torah and Mitzva this year (what "
            "there is to engage in); their aim: the share holding the goal, the losses of the aim this year (to "
            "shocks or a greater desire) and the souls that received a greater desire this year, per soul.",
            (Panel("effort e, practice P", (Series("effort_mean", "effort (mean)"), Series("practice", "practice P")),
                   log="wide"),
             Panel("share of souls", (Series("holding_aim", "holding the aim", True),
                                      Series("lost_aim", "losses of the aim this year", True),
                                      Series("greater_desire", "greater desire this year", True)), ylim=(0, 1.02)))),
    Section("stages-and-journeys", "Stages and journeys", "The share of souls in each stage "
            "(spark: below one degree; particular: from one degree until complete; common: complete) and in "
            "each journey (Moses below 1/3 cleansing, Joshua below 2/3, Solomon below 1, David complete).",
            (Panel("share of souls", (Series("stage_spark", "spark", True), Series("stage_particular", "particular", True),
                                      Series("stage_common", "common", True)), kind="stack", ylim=(0, 1)),
             Panel("share of souls", (Series("journey_moses", "Moses", True), Series("journey_joshua", "Joshua", True),
                                      Series("journey_solomon", "Solomon", True), Series("journey_david", "David", True)),
                   kind="stack", ylim=(0, 1)))),
    Section("judge-and-holiness", "Judge and holiness", "The cleansing of each generation's judge, "
            "frozen for the generation, and the holiness of the time it sets, "
            "J = \u03ba\u2080 + (1 - \u03ba\u2080) c_judge (\u03ba\u2080: light.kappa0).",
            (Panel("c_judge, J (0 to 1)", (Series("judge_cleansing", "judge's cleansing"), Series("holiness", "holiness J")),
                   ylim=(0, 1.02)),)),
    Section("worlds", "Light and the four worlds", "The Upper Light this year (after events), the "
            "unity of each world from the top down, and the conductance W, their product, that carries the "
            "light to the souls.",
            (Panel("light (relative:\n1 by default)", (Series("light", "the Upper Light"),)),
             Panel("unity (0 to 1)", (Series("u_atzilut", "Atzilut"), Series("u_beria", "Beria"), Series("u_yetzira", "Yetzira"),
                                      Series("u_assiya", "Assiya"), Series("conductance", "conductance W"))))),
    Section("shocks", "Shocks of impurity", "The shocks counted from year 0 (a step a shock: the "
            "steeper, the more shocks a year; the legend gives their number), the rate they were drawn with "
            "(their Poisson mean a year, set by the eras' events), and the screen they took each year, summed "
            "over the sparks (in units of spark size D).",
            (Panel("shocks so far", (Series("shocks", "shocks"),), kind="cumulative", integer=True),
             Panel("rate a year\n(Poisson mean)", (Series("shock_rate", "shock rate"),), kind="steps"),
             Panel("screen lost a year", (Series("screen_lost", "screen lost"),), kind="steps"))),
    Section("shepherds", "Shepherds and the network", "Shepherds (souls whose light reaches every soul: "
            "each soul receives the same shepherds' light, \u03c6_s (light.phi_s), from one shepherd as from all of "
            "them), "
            "complete souls, and the share of souls that rewired toward the good and pure in each year of a "
            "rewiring (a point a rewiring; none in the other years).",
            (Panel("shepherds", (Series("shepherds", "shepherds"),), integer=True, kind="steps"),
             Panel("complete souls", (Series("complete", "complete souls"),), integer=True),
             Panel("share of souls", (Series("rewired", "rewired in the year", True),), kind="points"))),
)

#: Columns drawn by no figure on purpose: labels, indices.
NOT_DRAWN = frozenset({"year", "era", "judge"})


def _values(run, s: Series) -> np.ndarray:
    v = np.asarray(run.metrics[s.column], dtype=np.float64)
    if s.others:
        v = run.n_souls - v
    return v / max(run.n_souls, 1) if s.per_soul else v


def section_figure(run, tl: Timeline, section: Section) -> Figure:
    """The section's figure; lines whose column the run did not record are left out."""
    year = np.asarray(run.metrics["year"], dtype=np.float64)
    fig, axes = time_figure(tl, section.title, len(section.panels))
    styles: dict[str, tuple] = {}  # a column drawn twice (G, then G on a log axis) looks the same both times
    for ax, panel in zip(axes, section.panels):
        present = [s for s in panel.series if s.column in run.metrics]
        log = panel.log is True or (panel.log == "wide" and _wide(run, present))
        colours = LINE_COLOURS if panel.kind != "stack" else ("#c7e9c0", "#74c476", "#238b45", "#00441b")
        if not present:
            ax.text(0.5, 0.5, "not recorded in this run", transform=ax.transAxes, ha="center", va="center", color="0.4")
        elif panel.kind == "stack":
            ax.stackplot(year, *[_values(run, s) for s in present], labels=[s.label for s in present],
                         colors=colours[: len(present)], lw=0)
        else:
            for s, c, (ls, lw) in zip(present, colours, LINE_STYLES):
                if s.others:  # the souls a column does not count: its colour, solid (dotted is faint on a log axis)
                    c, ls, lw = styles.get(s.column, (c, ls, lw))[0], "-", 1.4
                else:
                    c, ls, lw = styles.setdefault(s.column, (c, ls, lw))
                y = _values(run, s)
                if log:
                    y = np.where(y > 0, y, np.nan)
                if panel.kind == "cumulative":  # rare events: a step each, their count so far (a year's spikes run together)
                    total = np.cumsum(np.nan_to_num(y))
                    ax.plot(year, total, label=f"{s.label} ({_count(total[-1] if total.size else 0)} in all)", color=c,
                            lw=lw, drawstyle="steps-post")
                    continue
                if panel.kind == "points":  # a value in some years only: a line through the zeros between them would fill the panel
                    some = y != 0
                    ax.plot(year[some], y[some], ".", ms=2.5, label=s.label, color=c)
                    continue
                steps = panel.kind == "steps"  # a value a year: thin, or the years run together
                ax.plot(year, y, label=s.label, color=c, ls=ls, lw=min(lw, 1.0) if steps else lw,
                        drawstyle="steps-post" if steps else "default")
            if all(not np.any(_values(run, s)) for s in present):
                ax.text(0.5, 0.5, "zero throughout this run", transform=ax.transAxes, ha="center", va="center",
                        color="0.4")
        if log and present and np.isfinite(ax.dataLim.y0) and np.any(_values(run, present[0]) > 0):
            log_axis(ax)
            if panel.ylim is None and not tl.windowed:
                down_to_a_decade(ax)
        if panel.ylim is not None:
            ax.set_ylim(*panel.ylim)
        elif tl.windowed:  # scaled to the years shown (the autoscale saw every year)
            shown = [tl.shown(_drawn(run, s, panel.kind)) for s in present]
            if log:
                _log_limits(ax, shown)
            else:
                top = max((np.nanmax(v, initial=0.0) for v in shown), default=0.0)
                ax.set_ylim(0, 1.08 * top if top > 0 else 1.0)
        elif not log:
            # room above the highest line, so a plateau (the light at 1.5) is not drawn on the frame
            top = max((np.nanmax(_values(run, s)) for s in present), default=0.0)
            ax.set_ylim(0, max(ax.get_ylim()[1], 1.08 * top) if top > 0 else None)
        if panel.integer:
            ax.set_ylim(0, max(ax.get_ylim()[1], 1.0))  # a count that stays 0 still gets whole ticks
            ax.yaxis.set_major_locator(MaxNLocator(5, integer=True))
        if not log:
            thousands(ax)
        ax.set_ylabel(panel.ylabel + ("\n(log scale)" if log and panel.log == "wide" else ""))
        _legend(ax)
    return fig


def _drawn(run, s: Series, kind: str) -> np.ndarray:
    """The values a panel of ``kind`` draws of ``s``, one a year: the sum so far for "cumulative"."""
    v = _values(run, s)
    return np.cumsum(np.nan_to_num(v)) if kind == "cumulative" else v


def _log_limits(ax, shown: list[np.ndarray]) -> None:
    """A log axis' limits from the positive values in the years shown, with room on each side."""
    pos = [w[w > 0] for w in shown]
    pos = np.concatenate(pos) if pos else np.empty(0)
    if pos.size:
        lo, hi = float(pos.min()) / 1.5, float(pos.max()) * 1.5
        ax.set_ylim(lo, hi)


def thousands(ax) -> None:
    """Whole ticks with thousands' separators on a linear y axis that reaches 10,000 (600,000
    complete souls, not 600000 nor matplotlib's 6e5 with its offset); others as matplotlib gives."""
    if ax.get_ylim()[1] >= 10_000:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


def _count(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.4g}"


WIDE = 20.0  # the largest positive value over the smallest, from which a "wide" panel is logarithmic


def _wide(run, present) -> bool:
    """True if the positive values of these series span more than :data:`WIDE`."""
    pos = [v[v > 0] for v in (np.asarray(_values(run, s), dtype=np.float64) for s in present)]
    pos = np.concatenate(pos) if pos else np.empty(0)
    return pos.size > 0 and pos.max() > WIDE * pos.min()


def drawn_columns() -> set[str]:
    return {s.column for sec in SECTIONS for p in sec.panels for s in p.series} | NOT_DRAWN


def other_columns(run) -> list[str]:
    """Numeric metrics columns no section draws (a column a newer tikkun records)."""
    known = drawn_columns()
    return [c for c, v in run.metrics.items() if c not in known and np.asarray(v).dtype.kind in "biuf"]


def other_figure(run, tl: Timeline, columns: list[str]) -> Figure:
    """One panel a column, for the metrics no section draws."""
    year = np.asarray(run.metrics["year"], dtype=np.float64)
    fig, axes = time_figure(tl, "Other recorded columns", len(columns), panel_h=1.3)
    for ax, c in zip(axes, columns):
        v = np.asarray(run.metrics[c], dtype=np.float64)
        ax.plot(year, v, color=LINE_COLOURS[0], lw=1.3, label=c)
        w = tl.shown(v)
        if tl.windowed and np.isfinite(w).any():
            lo, hi = float(np.nanmin(w)), float(np.nanmax(w))
            pad = 0.05 * (hi - lo) if hi > lo else 0.05 * max(abs(hi), 1.0)
            ax.set_ylim(lo - pad, hi + pad)
        ax.set_ylabel(c)
        _legend(ax)
    return fig


# ------------------------------------------------------------------ the souls at the end
def _hbd_groups(hbd: np.ndarray, n: int = 20) -> tuple[np.ndarray, int]:
    """Each soul's group by hbd: ``n`` groups between the hbd quantiles ``k / n`` (souls of
    equal hbd share a group, so a group may be empty). Returns ``(group int64 (souls,), n)``."""
    edges = np.quantile(hbd, np.linspace(0.0, 1.0, n + 1)[1:-1])
    return np.searchsorted(edges, hbd, side="right"), n


def _group_quantiles(group: np.ndarray, n: int, values: np.ndarray, lo: float, hi: float, bins: int,
                     qs=(0.1, 0.5, 0.9)) -> np.ndarray:
    """float64 ``(n, len(qs))``: the quantiles of ``values`` within each group (the inverted
    CDF's: the smallest value with at least that share at or below it), read from a histogram
    of ``bins`` bins over ``[lo, hi]`` to half a bin's width; NaN for an empty group. One pass
    over the souls instead of a sort of them."""
    edges = np.linspace(lo, hi, bins + 1)
    # the bin of each value, as np.histogram counts them (the last bin closed on the right)
    b = np.clip(((np.asarray(values, dtype=np.float64) - lo) * (bins / (hi - lo))).astype(np.int64), 0, bins - 1)
    counts = np.bincount(np.asarray(group, dtype=np.int64) * bins + b, minlength=n * bins).reshape(n, bins)
    cum = np.cumsum(counts, axis=1)
    out = np.full((n, len(qs)), np.nan)
    for g in range(n):
        total = cum[g, -1]
        if total > 0:
            k = np.searchsorted(cum[g], np.asarray(qs) * total, side="left")
            out[g] = 0.5 * (edges[k] + edges[k + 1])
    return out


def bin_width(horizon: int) -> int:
    """Years a bar of the completion histogram: about 100 bars, a round number of years."""
    for w in (1, 2, 5, 10, 20, 40, 50, 100, 200, 500, 1000):
        if horizon / w <= 150:
            return w
    return int(np.ceil(horizon / 150))


def completion_bins(tl: Timeline) -> np.ndarray:
    """The completion histogram's edges, float64: every :func:`bin_width` years from 0 to past
    the horizon, split at each era's start and each event, so that no bar straddles a marked
    year (a bar of 2,440-2,460 seemed to begin before the Torah's line at 2,448). The bars'
    widths differ where split: they give souls a year."""
    width = bin_width(tl.horizon)
    regular = np.arange(0, tl.horizon + width, width, dtype=np.float64)
    marked = [a for _, a, _ in tl.eras] + [m.year for m in tl.marks]
    inside = [float(y) for y in marked if 0 < y < regular[-1]]
    return np.unique(np.r_[regular, inside])


BELOW = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.2), "ncol": 3, "frameon": False}  # under the x label:
# a legend inside a panel of bands lies on its data wherever it goes


def _bars(tl: Timeline) -> str:
    w = bin_width(tl.horizon)
    return f"bars of {w:,} year{'' if w == 1 else 's'}"


def souls_figure(run, tl: Timeline) -> Figure:
    """Four panels: cleansing at the end, completion years, and both by hbd (20 groups between
    hbd quantiles: the cleansing's median, its 10-90% range where the souls differ and the share
    complete; the completion years' median and 10-90% range)."""
    souls = run.souls
    c = np.asarray(souls["cleansing"], dtype=np.float64)
    hbd = np.asarray(souls["hbd"], dtype=np.float64)
    done = np.asarray(souls["complete"], dtype=bool)
    has_year = "completed_year" in souls
    if has_year:
        cy = np.asarray(souls["completed_year"], dtype=np.float64)
        done_y = np.isfinite(cy) & (cy >= 0)
    fig = Figure(figsize=(WIDTH, 7.0), dpi=DPI)
    gs = fig.add_gridspec(2, 2, left=0.1, right=0.98, top=0.91, bottom=0.15, hspace=0.5, wspace=0.3)
    ax = fig.add_subplot(gs[0, 0])
    counts, edges = np.histogram(c, bins=50, range=(0.0, 1.0))
    ax.stairs(np.where(counts > 0, counts, np.nan), edges, fill=True, color=LINE_COLOURS[0], baseline=0.5)
    log_axis(ax)
    ax.set_ylim(bottom=0.5)
    ax.set_xlabel("cleansing c at the end (share of the soul's desire corrected)")
    ax.set_ylabel("souls (log scale)")
    ax.set_title(f"Cleansing: {done.sum():,} of {c.size:,} souls complete", fontsize=9.5)

    ax = fig.add_subplot(gs[0, 1])
    mark_panel(ax, tl)
    bins = completion_bins(tl)
    per_year = np.diff(bins)
    if has_year:
        rate = np.histogram(cy[done_y], bins=bins)[0] / per_year
        # a log axis: the last few souls, which hold back the end, show beside the many
        least = float(rate[rate > 0].min()) if np.any(rate > 0) else 1.0
        ax.stairs(np.where(rate > 0, rate, np.nan), bins, fill=True, color=LINE_COLOURS[2], baseline=least / 2)
        if np.any(rate > 0):
            log_axis(ax)
            ax.set_ylim(bottom=least / 2)
        ax.set_ylabel(f"souls completed a year\n(log scale; mean over {_bars(tl)},\ncut at era and event lines)")
        ax.set_title("Year of completion", fontsize=9.5)
    else:
        # souls.parquet without completed_year: the net change of complete souls, from the metrics.
        year = np.asarray(run.metrics["year"])
        gained = np.diff(np.r_[0, np.asarray(run.metrics["complete"], dtype=np.float64)])
        ax.stairs(np.histogram(year, bins=bins, weights=gained)[0] / per_year, bins, fill=True,
                  color=LINE_COLOURS[2])
        ax.set_ylabel(f"net new complete souls a year\n(mean over {_bars(tl)},\ncut at era and event lines)")
        ax.set_title("Completions, from the yearly metrics\n(souls.parquet has no completed_year)", fontsize=9)
    ax.set_xlabel("year from creation")

    group, n = _hbd_groups(hbd)
    size = np.bincount(group, minlength=n)
    filled = size > 0
    x = (np.bincount(group, weights=hbd, minlength=n) / np.maximum(size, 1))[filled]  # mean hbd of a group
    ax = fig.add_subplot(gs[1, 0])
    q = _group_quantiles(group, n, c, 0.0, 1.0, 1000)[filled]
    spread = bool(np.any(q[:, 2] > q[:, 0]))  # most souls complete: the 10th and 90th percentiles both 1
    ax.fill_between(x, q[:, 0], q[:, 2], color=LINE_COLOURS[0], alpha=0.2, lw=0,
                    label="cleansing, 10-90% of souls" if spread else None)
    ax.plot(x, q[:, 1], color=LINE_COLOURS[0], marker="o", ms=3, lw=1.3, label="cleansing, median")
    share = np.bincount(group, weights=done, minlength=n)[filled] / size[filled]
    ax.plot(x, share, color=LINE_COLOURS[1], marker="s", ms=3, lw=1.3, label="share complete")
    # from the tenth below the lowest value: a spread near 1 (0.94-1.0) is not pressed onto the frame
    low = float(np.nanmin([q[:, 0].min(), share.min()])) if len(x) else 0.0
    bottom = max(0.0, np.floor((low - 0.02) * 10) / 10)
    ax.set_ylim(bottom - 0.01 * (1.0 - bottom), 1.0 + 0.01 * (1.0 - bottom))
    ax.set_xlabel(f"hbd (measure of mind; souls in {n} groups by hbd)")
    ax.set_ylabel("share of a group's souls; cleansing" if bottom > 0 else "share (0 to 1)")
    ax.set_title("By hbd: cleansing at the end", fontsize=9.5)
    ax.legend(**BELOW)
    if done.all():  # the band and both lines lie on 1: say why the panel looks empty
        ax.text(0.5, 0.55, "every soul complete:\ncleansing 1 in every group", transform=ax.transAxes,
                ha="center", va="center", color="0.4")

    ax = fig.add_subplot(gs[1, 1])
    ax.set_xlabel(f"hbd (measure of mind; souls in {n} groups by hbd)")
    ax.set_title("By hbd: year of completion", fontsize=9.5)
    if has_year and done_y.any():
        qy = _group_quantiles(group[done_y], n, cy[done_y], 0.0, float(tl.horizon), tl.horizon)[filled]
        ok = np.isfinite(qy[:, 1])
        ax.fill_between(x[ok], qy[ok, 0], qy[ok, 2], color=LINE_COLOURS[2], alpha=0.2, lw=0,
                        label="10-90% of complete souls")
        ax.plot(x[ok], qy[ok, 1], color=LINE_COLOURS[2], marker="o", ms=3, lw=1.3, label="median")
        ax.set_ylabel("year of completion")
        ax.legend(**BELOW)
    else:
        why = "no soul completed" if has_year else "souls.parquet has no completed_year column"
        ax.text(0.5, 0.5, why, transform=ax.transAxes, ha="center", va="center", color="0.4")
        ax.set_yticks([])
    fig.suptitle("The souls at the end of the run", x=0.1, ha="left", fontsize=11, fontweight="bold")
    return fig


# ------------------------------------------------------------------ the souls at the years kept
def kept_figure(run) -> Figure:
    """Cleansing across the souls at each year the run kept (``--souls-at``) and at its end: the
    share of the souls in each of 50 bins (log scale) and the share at or below each value (the
    distribution function), a line a year, from purple (early) to orange (late); the end in black,
    narrow, over them."""
    from matplotlib import colormaps

    end_year = int(np.max(run.metrics["year"]))
    lines = [(f"year {y:,}", np.asarray(t["cleansing"], dtype=np.float64)) for y, t in run.kept if y < end_year]
    lines.append((f"the end (year {end_year:,})", np.asarray(run.souls["cleansing"], dtype=np.float64)))
    shades = colormaps["plasma"](np.linspace(0.0, 0.75, max(len(lines) - 1, 1)))  # its yellow is lost on white
    colours = [shades[i] for i in range(len(lines) - 1)] + ["black"]
    fig = Figure(figsize=(WIDTH, 4.3), dpi=DPI)
    gs = fig.add_gridspec(1, 2, left=0.08, right=0.8, top=0.86, bottom=0.13, wspace=0.28)
    edges = np.linspace(0.0, 1.0, 51)
    ax1, ax2 = fig.add_subplot(gs[0]), fig.add_subplot(gs[1])
    least = 1.0
    for k, ((label, c), colour) in enumerate(zip(lines, colours)):
        # the end narrow over the years' wide lines: where a year's line meets the end's, both show
        lw = 0.9 if k == len(lines) - 1 else 2.2
        share = np.histogram(c, bins=edges)[0] / max(c.size, 1)
        ax1.stairs(np.where(share > 0, share, np.nan), edges, color=colour, lw=lw, label=label)
        least = min(least, float(share[share > 0].min(initial=1.0)))
        x = np.sort(c)
        ax2.plot(np.r_[0.0, x, 1.0], np.r_[0.0, np.arange(1, x.size + 1) / max(x.size, 1), 1.0], color=colour,
                 lw=lw, drawstyle="steps-post", label=label)
    share_log_axis(ax1, least)
    ax1.set_xlabel("cleansing c (share of a soul's desire corrected)")
    ax1.set_ylabel("share of the souls in the bin (log scale)")
    ax1.set_title("How many souls at each cleansing", fontsize=9.5)
    ax2.set_xlim(-0.02, 1.02)  # a year whose souls all stand at 0, or all at 1, has its line off the frame
    ax2.set_ylim(-0.02, 1.02)
    ax2.set_xlabel("cleansing c (share of a soul's desire corrected)")
    ax2.set_ylabel("share of the souls at or below c")
    ax2.set_title("Distribution function", fontsize=9.5)
    ax2.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, borderaxespad=0.0)
    fig.suptitle("The souls at the years kept", x=0.08, ha="left", fontsize=11, fontweight="bold")
    return fig


# ------------------------------------------------------------------ the genesis
def genesis_figure(run) -> Figure:
    """Unity and mixing of the vessel, and the light, through the genesis script. Each stage
    gets an equal width of the x axis (the strike lasts thousands of time units, the approach a
    hundred); within it, time runs linearly; instantaneous stages are one point."""
    g = run.genesis
    t = np.asarray(g["time"], dtype=np.float64)
    stage = np.asarray(g["stage"]).astype(str)
    cut = np.flatnonzero(stage[1:] != stage[:-1]) + 1
    starts, ends = np.r_[0, cut], np.r_[cut, stage.size]
    x = np.empty_like(t)
    ticks, names = [], []
    for k, (a, b) in enumerate(zip(starts, ends)):
        t0, t1 = t[a], t[b - 1]
        x[a:b] = k + (0.5 if t1 <= t0 else 0.05 + 0.9 * (t[a:b] - t0) / (t1 - t0))
        ticks.append(k + 0.5)
        names.append(f"{stage[a]}\n{t1 - t0:,.0f}" if t1 > t0 else f"{stage[a]}\n(instant)")
    fig = Figure(figsize=(WIDTH, 5.0), dpi=DPI)
    gs = fig.add_gridspec(2, 1, height_ratios=(2.2, 1.0), left=LEFT / WIDTH, right=1 - RIGHT / WIDTH,
                          top=0.9, bottom=0.17, hspace=0.12)
    ax1 = fig.add_subplot(gs[0])
    ax2 = fig.add_subplot(gs[1], sharex=ax1)
    for ax in (ax1, ax2):
        for k in range(1, len(starts)):
            ax.axvline(k, color="0.75", lw=0.8)
    # unity wide and mixing dashed over it: where both are 1 (the strike), both show
    ax1.plot(x, g["unity"], color=LINE_COLOURS[0], lw=2.6, marker=".", ms=4, label="unity 1 - mean(\u03c6\u00b2)")
    ax1.plot(x, g["mixing"], color=LINE_COLOURS[1], lw=1.3, ls=(0, (4, 2)), label="mixing (coarse)")
    ax1.set_ylim(-0.02, 1.02)
    ax1.set_ylabel("unity, mixing (0 to 1)")
    ax1.tick_params(axis="x", labelbottom=False)
    _legend(ax1)
    # a stage holds one light: drawn over the stage's whole width, not from its first record on
    light = np.asarray(g["light"], dtype=np.float64)[starts]
    ax2.stairs(light, np.arange(len(starts) + 1), baseline=None, color=LINE_COLOURS[4], lw=1.4, label="light \u03bb")
    A = float(run.scenario.get("genesis", {}).get("A", 1.0))
    ax2.axhline(A, color="0.3", lw=0.8, ls="--", label=f"threshold A = {A:g}")
    ax2.set_ylabel("light")
    ax2.set_ylim(bottom=0)
    _legend(ax2)
    ax2.set_xlim(0, len(starts))
    ax2.set_xticks(ticks, names)
    ax2.set_xlabel("stage of the genesis script (its duration in time units below; each stage drawn the same width)")
    fig.suptitle("The vessel through the genesis", x=LEFT / WIDTH, ha="left", fontsize=11, fontweight="bold")
    return fig


# ------------------------------------------------------------------ all the figures of a report
def figure_names(run) -> list[str]:
    """The figures a report of ``run`` holds, by name: each section's id, ``other`` (when a
    metrics column is drawn by no section), ``souls``, ``kept`` (when it kept the souls of some
    years), ``genesis`` (after a genesis)."""
    names = [s.id for s in SECTIONS]
    if other_columns(run):
        names.append("other")
    names.append("souls")
    if run.kept:
        names.append("kept")
    if run.genesis is not None:
        names.append("genesis")
    return names


def draw(run, tl: Timeline, name: str) -> bytes:
    """The PNG of one figure of :func:`figure_names`."""
    with matplotlib.rc_context(RC):
        if name == "souls":  # the souls at the end: their years of completion over the whole run
            fig = souls_figure(run, dataclasses.replace(tl, first=0, last=None))
        elif name == "genesis":
            fig = genesis_figure(run)
        elif name == "kept":
            fig = kept_figure(run)
        elif name == "other":
            fig = other_figure(run, tl, other_columns(run))
        else:
            fig = section_figure(run, tl, next(s for s in SECTIONS if s.id == name))
        return png(fig)


_INHERITED = None  # (run, timeline) for the forked workers of draw_all, which inherit it


def _draw_inherited(name: str) -> bytes:
    return draw(*_INHERITED, name)


def _worker_signals() -> None:
    """A drawing process ends quietly when its pool ends it (SIGTERM) and leaves Ctrl-C to
    the command that forked it, rather than inherit that command's handlers, which would
    print an interrupt's traceback from each worker as the pool closes."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def draw_all(run, tl: Timeline, names: list[str], workers: int | None = None) -> dict[str, bytes]:
    """The PNG of every figure in ``names``, drawn by ``workers`` processes (default: two where
    the machine has two cores, else one).

    Drawing is pure Python work under one lock, so two figures are drawn at once only in two
    processes. They are forked (they inherit the folder already read and matplotlib already
    imported, so they start at once) where the system forks; the figures are the same bytes
    either way. A worker that fails or hangs (120 s) leaves the drawing to this process."""
    import multiprocessing
    import os

    global _INHERITED
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    if workers > 1 and len(names) > 1 and "fork" in multiprocessing.get_all_start_methods():
        _INHERITED = (run, tl)
        try:
            with multiprocessing.get_context("fork").Pool(workers, initializer=_worker_signals) as pool:
                # the largest figure first, then one figure at a time: the two stay busy
                order = sorted(names, key=lambda n: n != "souls")
                pngs = pool.map_async(_draw_inherited, order, chunksize=1).get(timeout=120)
                return dict(zip(order, pngs))
        except Exception:  # noqa: BLE001 - any failure of the workers: draw here instead
            pass
        finally:
            _INHERITED = None
    return {name: draw(run, tl, name) for name in names}
