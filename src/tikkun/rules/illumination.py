"""Illumination: what shines on a soul (MODEL.md; reported, never fed back).

    I_i = lam * W * [(1 - omega) * c_i + omega * G]

002: "while even a single soul is denied of complete purity, the extension of this Kedusha
[Holiness] will be deficient in every soul" (the ``omega G`` share: a complete soul shines short of full while
any spark anywhere is uncorrected); "from the minister ... to the one who sits behind the
grindstone, all are equal" (no ``hbd`` here: at the end every soul shines alike).
"""

from __future__ import annotations

import numpy as np


def illumination(lam: float, conductance: float, omega: float, cleansing: np.ndarray, weakest_link: float) -> np.ndarray:
    """Per soul ``I_i`` (float64 ``(n,)``) from cleansing ``c`` (``(n,)``) and ``G``."""
    return lam * conductance * ((1.0 - omega) * np.asarray(cleansing, dtype=np.float64) + omega * weakest_link)


def illumination_mean(lam: float, conductance: float, omega: float, cleansing_mean: float, weakest_link: float) -> float:
    """Mean of ``I_i`` over souls; linear in ``c_i``, so it needs only ``C`` and ``G``."""
    return lam * conductance * ((1.0 - omega) * cleansing_mean + omega * weakest_link)
