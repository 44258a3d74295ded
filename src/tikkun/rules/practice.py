"""The practice of Torah and Mitzva, ``P`` (MODEL.md, "Light and correction", (r2)).

"by the force of the Torah and the Mitzva [commandment], the body is cleansed" (002): a soul's own light is
``P * e_i * (eps + c_i)``, where ``e_i`` is how much the soul engages and ``P`` what there is to
engage in this year. ``P`` is a scheduled global (``light.practice``, default 1): the history
sets it low before the Torah is given at the exodus (year 2,448), for the few who practised
before it, and 1 from then on. The shepherds' light does not pass through it.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, inline="always")
def own_light(practice, effort, cleansing, eps):
    """``P e_i (eps + c_i)``: the light a holding soul draws by its own practice (float64)."""
    return practice * (effort * (eps + cleansing))
