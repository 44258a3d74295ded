"""The page's grids of figures: as many columns as fit, each at least a given width, so a
narrow window (1,000 px) gets one figure a row instead of a page wider than the window."""

from __future__ import annotations

import panel as pn

FIGURE_MIN_WIDTH = 430  # px: narrower, a yearly figure's frame is too short for its years; one a row then


def grid(*objects, min_width: int) -> pn.Column:
    """``objects`` (Bokeh figures or Panel objects) in a CSS grid of columns of at least
    ``min_width`` px, filling the width given; a figure stretches to its column."""
    panes = [pn.pane.Bokeh(o, sizing_mode="stretch_width", styles={"min-width": "0"})
             if not isinstance(o, pn.viewable.Viewable) else o for o in objects]
    return pn.Column(*panes, sizing_mode="stretch_width", styles={
        "display": "grid", "column-gap": "4px",
        "grid-template-columns": f"repeat(auto-fit, minmax(min({min_width}px, 100%), 1fr))"})
