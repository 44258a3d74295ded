"""Generations, judges and eras (002).

"The changing times are considered generations. However, each generation behaves according to
its judge, by the mind that judges it, since it receives from the Kedusha of that time." A
generation lasts ``length`` years; at its start the judge is chosen among the eligible souls
(the highest cleansing by default; the lowest or a random one as alternatives) and its
cleansing ``c_judge`` is frozen for the generation: ``J = kappa0 + (1 - kappa0) c_judge``.

Eras: chaos, Torah, Messiah. "in all the previous generations, which were but a preparation
for Malchut, special Kelim [vessels] were required for anointment of their judges, such as the
souls of Moses and Samuel" -- before the Messiah era only ``special`` souls may judge. "His Kli is
within each and every soul from Israel" -- in it, any soul may. And "the Messiah is ready for
each and every generation": in it a complete soul becomes a shepherd and stays one.
"""

from __future__ import annotations

import numpy as np

from .. import random as rng

ERAS = ("chaos", "torah", "messiah")


def era_of(year: int, torah_from: int, messiah_from: int) -> int:
    """0 chaos, 1 Torah, 2 Messiah."""
    if year >= messiah_from:
        return 2
    return 1 if year >= torah_from else 0


def is_generation_start(year: int, length: int) -> bool:
    return year % length == 0


def choose_judge(rule: str, cleansing: np.ndarray, special: np.ndarray, messiah: bool,
                 seed: int, year: int) -> int:
    """Index of the judge, or -1 if no soul is eligible.

    cleansing float32 ``(n,)``; special uint8 ``(n,)``. Ties go to the lowest index.
    """
    eligible = np.arange(cleansing.shape[0]) if messiah else np.flatnonzero(special)
    if eligible.size == 0:
        return -1
    c = cleansing[eligible]
    if rule == "highest":
        return int(eligible[np.argmax(c)])
    if rule == "lowest":
        return int(eligible[np.argmin(c)])
    u = float(rng.uniforms(seed, year, np.zeros(1, dtype=np.int64), rng.PURPOSE_JUDGE)[0])
    return int(eligible[min(eligible.size - 1, int(u * eligible.size))])
