"""The corrective light ``ell_i`` a soul receives in a year (MODEL.md, "Light and correction").

    ell_i = alpha * lam * W * J * (1 + beta * C) * h_i * [hold_i * P * e_i * (eps + c_i) + phi_s * shepherd]

002: "by the force of the Torah and the Mitzva [commandment], the body is cleansed, and to the
extent of its cleansing, the common soul shines on him" (effort times ``eps + c_i``); "each generation behaves
according to its judge" (``J``); "he will buy his world in one hour due to the ability of that
generation" (``1 + beta C``); "Moses is equal to 600,000" (the shepherd term); division is
"only in their HBD" (``h_i``, a speed). 000: while aim is lost, own effort corrects nothing.
``P``, the practice of Torah and Mitzva this year, is its own rule (:mod:`.practice`).
"""

from __future__ import annotations

from numba import njit

from .practice import own_light


def holiness(kappa0: float, judge_cleansing: float) -> float:
    """``J = kappa0 + (1 - kappa0) * c_judge``: the holiness of the time, set by its judge (002)."""
    return kappa0 + (1.0 - kappa0) * judge_cleansing


def light_gain(alpha: float, lam: float, conductance: float, holiness_: float,
               beta: float, cleansing_mean: float) -> float:
    """The factor common to every soul this year: ``alpha lam W J (1 + beta C)`` (float)."""
    return alpha * lam * conductance * holiness_ * (1.0 + beta * cleansing_mean)


@njit(cache=True, inline="always")
def corrective_light(gain, hbd, holding, practice, effort, cleansing, eps, shepherd_light):
    """``ell_i`` of one soul (float64).

    gain: ``alpha lam W J (1 + beta C)``; hbd ``h_i``; holding 0/1; practice ``P``; effort
    ``e_i``; cleansing ``c_i``; shepherd_light: ``phi_s`` once any shepherd exists, else 0.
    """
    own = own_light(practice, effort, cleansing, eps) if holding else 0.0
    return gain * hbd * (own + shepherd_light)
