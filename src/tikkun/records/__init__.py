"""What a run records: one row of metrics per year, the souls at the end, and what a :class:`SaveAt` asks.

Diffrax's ``SaveAt`` idea: the engine never decides what is kept; it hands each year's figures
to a :class:`Recorder`, which owns the columns. Columns are preallocated for the horizon and
cut to the years actually run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# name -> (dtype, meaning). The order is the order of the columns in metrics.parquet.
METRIC_COLUMNS: dict[str, tuple[str, str]] = {
    "year": ("int32", "the year from creation"),
    "era": ("U8", "chaos, torah or messiah"),
    "light": ("float64", "the Upper Light lam this year, after events"),
    "practice": ("float64", "P, the practice of Torah and Mitzva this year, after events"),
    "shock_rate": ("float64", "the shocks' Poisson rate this year, after events"),
    "conductance": ("float64", "W, the conductance of the four worlds"),
    "u_atzilut": ("float64", "unity of the world of Atzilut"),
    "u_beria": ("float64", "unity of the world of Beria"),
    "u_yetzira": ("float64", "unity of the world of Yetzira"),
    "u_assiya": ("float64", "unity of the world of Assiya"),
    "holiness": ("float64", "J = kappa0 + (1 - kappa0) c_judge, the holiness of the time"),
    "judge": ("int64", "the soul judging this generation (-1: none eligible)"),
    "judge_cleansing": ("float64", "the judge's cleansing, frozen at the generation's start"),
    "cleansing_mean": ("float64", "C, mean cleansing of the souls at the end of the year"),
    "weakest_link": ("float64", "G, the least corrected share of any spark"),
    "illumination_mean": ("float64", "mean illumination lam W ((1 - omega) C + omega G)"),
    "effort_mean": ("float64", "mean effort of the souls this year"),
    "complete": ("int64", "souls with every spark corrected"),
    "shepherds": ("int64", "shepherds at the end of the year"),
    "holding_aim": ("int64", "souls holding the aim at the end of the year (after its losses)"),
    "greater_desire": ("int64", "souls that received a greater desire this year"),
    "lost_aim": ("int64", "losses of the aim this year, to shocks or a greater desire (those caught again at the year's start included)"),
    "shocks": ("int64", "shocks of impurity this year"),
    "screen_lost": ("float64", "screen taken by the shocks this year, summed over sparks"),
    "rewired": ("int64", "souls that rewired toward the good and pure this year"),
    "stage_spark": ("int64", "souls below one degree of cleansing"),
    "stage_particular": ("int64", "souls from one degree until complete"),
    "stage_common": ("int64", "complete souls"),
    "journey_moses": ("int64", "souls below 1/3 cleansing: exodus and Torah"),
    "journey_joshua": ("int64", "souls below 2/3: the conquest"),
    "journey_solomon": ("int64", "souls below 1, not complete: the Temple"),
    "journey_david": ("int64", "complete souls, called King David"),
}

# name -> (dtype, meaning) of souls.parquet: one row per soul at the end of the run
# (:func:`tikkun.outputs.run_folder.souls_table`). The order is the order of its columns.
SOUL_COLUMNS: dict[str, tuple[str, str]] = {
    "soul": ("int32", "the soul's index, 0 to souls.count - 1 (as events' groups name souls)"),
    "cleansing": ("float32", "c_i = sum_j s_j / sum_j D_j over its sparks, in [0, 1]"),
    "complete": ("bool", "every spark of the soul corrected"),
    "completed_year": ("int32", "the year it became complete; null in souls.parquet (-1 in RunResult.souls) if not complete"),
    "stage": ("str", "spark (below one degree), particular (from one degree until complete) or common (complete)"),
    "hbd": ("float32", "h_i, the measure of mind: a speed, never the end state"),
    "effort": ("float32", "effort e_i in the last year run"),
    "warmth": ("float32", "warmth w_i in [0, 1]"),
    "attachment": ("float32", "attachment a_i in [0, 1]"),
    "illumination": ("float64", "I_i = lam W ((1 - omega) c_i + omega G) with the last year's lam, W, omega and G"),
    "sparks": ("int32", "the soul's number of sparks (1 + Poisson)"),
    "unity_mean": ("float64", "mean unity iota_j of its sparks, from the breaking"),
    "special": ("bool", "among the top special_share by hbd at creation (wise disciples, prophets, priests)"),
    "journey": ("str", "moses (below 1/3), joshua (below 2/3), solomon (below 1) or david (complete)"),
    "neighbours_mean_cleansing": ("float64", "mean cleansing of the souls it listens to (NaN without a network)"),
}


class Recorder:
    """Per-year metrics, preallocated for ``years`` rows.

    ``columns``: dict name -> (dtype, meaning), default :data:`METRIC_COLUMNS`.
    """

    def __init__(self, years: int, columns: dict[str, tuple[str, str]] | None = None):
        self.columns = dict(columns or METRIC_COLUMNS)
        self._data = {k: np.zeros(years, dtype=dt) for k, (dt, _) in self.columns.items()}
        self.rows = 0

    def record(self, row: dict[str, float]) -> None:
        i = self.rows
        for k, arr in self._data.items():
            arr[i] = row[k]
        self.rows = i + 1

    def table(self) -> dict[str, np.ndarray]:
        """The recorded rows, name -> array ``(rows,)``."""
        return {k: v[: self.rows].copy() for k, v in self._data.items()}

    def restore(self, table: dict[str, np.ndarray]) -> None:
        """Refill from a checkpoint's table."""
        rows = len(next(iter(table.values()))) if table else 0
        for k, arr in self._data.items():
            arr[:rows] = table[k]
        self.rows = rows



@dataclass(frozen=True)
class SaveAt:
    """What a run keeps besides its yearly metrics and its souls at the end (Diffrax's
    ``SaveAt``: an object, not code in the loop).

    souls: the years whose souls to keep as they are at the year's end (a table of
    :data:`SOUL_COLUMNS`, the run folder's ``souls_<year>.parquet``), each in ``0 .. years - 1``;
    one year or several, kept sorted, each once. network: keep the graph as it is at the end of the run
    (``network.npy``, int32 ``(souls, k)``: row ``i`` whom soul ``i`` listens to, after every
    rewiring; it can be given back with ``--graph``).
    """

    souls: tuple[int, ...] = ()
    network: bool = False

    def __post_init__(self):
        if isinstance(self.souls, (int, np.integer)) and not isinstance(self.souls, bool):
            object.__setattr__(self, "souls", (self.souls,))  # one year
        if not isinstance(self.souls, (tuple, list, set, frozenset, range, np.ndarray)):
            raise ValueError(f"souls: a year or a list of years (got {self.souls!r})")
        for y in self.souls:
            if isinstance(y, bool) or not isinstance(y, (int, np.integer)):
                raise ValueError(f"souls at year {y!r}: a year is a whole number")
        if not isinstance(self.network, bool):
            raise ValueError(f"network: true or false (got {self.network!r})")
        object.__setattr__(self, "souls", tuple(sorted({int(y) for y in self.souls})))

    def __bool__(self) -> bool:
        return bool(self.souls) or self.network

    def check(self, years: int) -> None:
        """ValueError naming the year unless every year of ``souls`` is one the run has."""
        outside = [y for y in self.souls if not 0 <= y < years]
        if outside:
            raise ValueError(f"souls at year {outside[0]}: give a year of the run, 0 to {years - 1} "
                             f"(its horizon, run.years, is {years})")

    def as_dict(self) -> dict:
        """For a checkpoint's record (:meth:`from_dict` reads it back)."""
        return {"souls": list(self.souls), "network": self.network}

    @classmethod
    def from_dict(cls, d: dict | None) -> "SaveAt":
        d = d or {}
        return cls(souls=d.get("souls", ()), network=d.get("network", False))
