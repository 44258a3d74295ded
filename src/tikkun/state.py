"""The state of the correction: souls and their sparks as a struct of arrays.

MODEL.md, phase 2, "State". Souls are rows ``i`` of arrays of length ``n``; the sparks of soul
``i`` are the contiguous rows ``spark_start[i]:spark_start[i+1]`` of arrays of length ``m``
(002, "each soul divides into several sparks"), so one soul's sparks share cache lines.

The :class:`State` object is frozen; the yearly kernels update the *contents* of its arrays in
place (copying them every year would cost more than the year itself) and the engine returns a
new :class:`State` with the new scalars. Everything a resume needs is in here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPARK_BITS = 16  # spark k of soul i is the entity (i << 16) | k in the counter-based generator
MAX_SPARKS = 1 << SPARK_BITS

SOUL_ARRAYS = (
    "effort", "effort_next", "neighbours", "edge_weight", "effort0", "warmth", "attachment", "hbd", "steadiness", "regain",
    "holding", "shepherd", "special", "complete", "completed_year", "cleansing", "size_total", "spark_start",
)
SPARK_ARRAYS = ("size", "unity", "screen")
GLOBAL_ARRAYS = ("worlds",)
# kept for speed, but a function of other arrays: not written into checkpoints, rebuilt on load
DERIVED_ARRAYS = ("edge_weight",)
#: Each array's dtype, as :class:`State` documents it (a checkpoint's arrays are checked against it).
ARRAY_DTYPES: dict[str, np.dtype] = {name: np.dtype(t) for name, t in (
    ("effort", np.float32), ("effort_next", np.float32), ("neighbours", np.int32), ("edge_weight", np.float32),
    ("effort0", np.float32), ("warmth", np.float32), ("attachment", np.float32), ("hbd", np.float32),
    ("steadiness", np.float32), ("regain", np.float32), ("holding", np.uint8), ("shepherd", np.uint8),
    ("special", np.uint8), ("complete", np.uint8), ("completed_year", np.int32), ("cleansing", np.float32),
    ("size_total", np.float64), ("spark_start", np.int64), ("size", np.float32), ("unity", np.float32),
    ("screen", np.float32), ("worlds", np.float64))}


@dataclass(frozen=True)
class State:
    """Souls, sparks and the few numbers carried from one year to the next.

    Souls, shape ``(n,)`` unless noted:
      effort, effort0: float32, current and baseline engagement (002, Torah and Mitzva)
      effort_next: float32, the buffer the warm network writes next year's effort into
      neighbours: int32 ``(n, k)``, whom each soul listens to (``k = 0`` without a network)
      edge_weight: float32 ``(n, k)``, each edge's warm weight ``w_i w_m / sum w_m``
        (:func:`tikkun.rules.network.edge_weights`), kept beside the graph for speed (rewiring
        and warmth policies keep it in step; derived, so checkpoints leave it out)
      warmth, attachment, hbd, steadiness, regain: float32 (004, 002, 000)
      holding: uint8, 1 while the soul holds the aim (000)
      shepherd: uint8, 0 none, 1 a shepherd for good, 2 a shepherd until its generation ends
        (002, "their faithful shepherd"; :mod:`tikkun.rules.shepherds`)
      special: uint8, 1 for the wise disciples, prophets and priests (top ``special_share`` by hbd)
      complete: uint8, 1 when every spark of the soul is corrected
      completed_year: int32, the year the soul became complete (-1: not complete)
      cleansing: float32, ``sum_j s_j / sum_j D_j`` (002, "to the extent of its cleansing")
      size_total: float64, ``sum_j D_j`` of the soul's sparks (constant)
      spark_start: int64 ``(n + 1,)``, the soul's sparks are ``spark_start[i]:spark_start[i+1]``
    Sparks, shape ``(m,)``:
      size: float32 ``D_j``; unity: float32 ``iota_j``; screen: float32 ``s_j in [0, D_j]``
    Worlds, shape ``(4,)`` float64: unity ``u_w`` of Atzilut, Beria, Yetzira, Assiya
    Scalars (after the last year run):
      year: the next year to run (0 at creation)
      cleansing_mean: ``C``; weakest_link: ``G``; shepherds: number of shepherds
      judge: index of this generation's judge (-1: none); judge_cleansing: its frozen ``c_judge``
    """

    year: int
    effort: np.ndarray
    effort_next: np.ndarray
    neighbours: np.ndarray
    edge_weight: np.ndarray
    effort0: np.ndarray
    warmth: np.ndarray
    attachment: np.ndarray
    hbd: np.ndarray
    steadiness: np.ndarray
    regain: np.ndarray
    holding: np.ndarray
    shepherd: np.ndarray
    special: np.ndarray
    complete: np.ndarray
    completed_year: np.ndarray
    cleansing: np.ndarray
    size_total: np.ndarray
    spark_start: np.ndarray
    size: np.ndarray
    unity: np.ndarray
    screen: np.ndarray
    worlds: np.ndarray
    cleansing_mean: float = 0.0
    weakest_link: float = 0.0
    shepherds: int = 0
    judge: int = -1
    judge_cleansing: float = 0.0

    @property
    def n_souls(self) -> int:
        return int(self.effort.shape[0])

    @property
    def n_sparks(self) -> int:
        return int(self.size.shape[0])

    @property
    def sparks_per_soul(self) -> np.ndarray:
        """int64 ``(n,)``: how many sparks each soul has."""
        return np.diff(self.spark_start)

    def read_only(self) -> "State":
        """The same state with every array a read-only view of its own: what a progress callback
        is given, so that one that writes fails instead of changing the run's results."""
        views = {}
        for name, value in self.__dict__.items():
            if isinstance(value, np.ndarray):
                views[name] = value.view()
                views[name].flags.writeable = False
        return self.replace(**views)

    def replace(self, **changes) -> "State":
        """A new state with ``changes`` (field -> value), sharing every other array.

        What ``dataclasses.replace`` gives (a frozen state without ``__post_init__``), without
        calling ``__init__`` over its 30-odd fields: the engine replaces twice a year, and
        ``__init__`` costs several times more."""
        unknown = changes.keys() - self.__dataclass_fields__.keys()
        if unknown:
            raise TypeError(f"State has no field {sorted(unknown)[0]!r}")
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array of the state by name."""
        return {name: getattr(self, name) for name in SOUL_ARRAYS + SPARK_ARRAYS + GLOBAL_ARRAYS}

    def saved_arrays(self) -> dict[str, np.ndarray]:
        """The arrays a checkpoint holds: all but :data:`DERIVED_ARRAYS`."""
        return {k: v for k, v in self.arrays().items() if k not in DERIVED_ARRAYS}

    @classmethod
    def from_saved(cls, arrays: dict[str, np.ndarray], scalars: dict, edge_weight: np.ndarray) -> "State":
        """The state of :meth:`saved_arrays` and :meth:`scalars` with its derived array
        ``edge_weight`` float32 ``(n, k)``, which the caller rebuilds from the saved graph and
        warmth (:func:`tikkun.rules.network.edge_weights`: the same bits as before saving, since
        rewiring and warmth policies compute each row's weights with the same function)."""
        saved = {k: v for k, v in arrays.items() if k not in DERIVED_ARRAYS}
        return cls(**saved, edge_weight=edge_weight, **scalars)

    def scalars(self) -> dict[str, float | int]:
        return {"year": self.year, "cleansing_mean": self.cleansing_mean,
                "weakest_link": self.weakest_link, "shepherds": self.shepherds,
                "judge": self.judge, "judge_cleansing": self.judge_cleansing}

    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.arrays().values())


def written_zeros(n: int, dtype) -> np.ndarray:
    """An array of ``n`` zeros whose every page is written, unlike ``np.zeros``'s.

    ``np.zeros`` may get memory the system has not touched, and until a page is written, every
    page of it reads the system's one shared page of zeros. An array the passes only read
    would then stay hundreds of virtual pages over one physical page: ``shepherd`` is all
    zeros until the Messiah era, and the soul pass stores to it only where it changes, which
    slows the soul pass on AMD's Zen 4 (docs/performance.md). Writing the zeros gives each page
    its own memory."""
    return np.full(n, 0, dtype=dtype)


def spark_entities_of(spark_start: np.ndarray) -> np.ndarray:
    """int64 ``(m,)``: the generator entity of each spark, ``(soul << 16) | k``, from
    ``spark_start`` int64 ``(n + 1,)``."""
    counts = np.diff(spark_start)
    owner = np.repeat(np.arange(counts.shape[0], dtype=np.int64), counts)
    local = np.arange(int(spark_start[-1]), dtype=np.int64) - spark_start[owner]
    return (owner << SPARK_BITS) | local


def spark_entities(state: State) -> np.ndarray:
    """int64 ``(m,)``: the generator entity of each spark, ``(soul << 16) | k``."""
    return spark_entities_of(state.spark_start)
