"""BOP recall thresholds and the recall / average-recall arithmetic.

Thresholds relative to the object diameter ``d`` (metres inside):
ADD(-S) at 0.1·d; MSSD at 0.05…0.50·d; MSPD at 5…50 px × 640/width;
VSD with τ = 0.05…0.5 (× d, BOP19+) and correctness thresholds 0.05…0.5, δ = 15 mm.
AR = mean(AR_VSD, AR_MSSD, AR_MSPD).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: ADD(-S) is correct below this fraction of the diameter.
ADD_THRESHOLD = 0.1
#: ADD(-S) thresholds of the recall curve (0.02…0.50·d); the reported recall stays at 0.1·d.
ADD_CURVE_THRESHOLDS = np.round(np.arange(1, 26) * 0.02, 2)
#: MSSD correctness thresholds, fractions of the diameter.
MSSD_THRESHOLDS = np.round(np.arange(1, 11) * 0.05, 2)
#: MSPD correctness thresholds in pixels for a 640-pixel-wide image.
MSPD_THRESHOLDS_PX = np.arange(1, 11) * 5.0
#: VSD misalignment tolerances τ, fractions of the diameter (BOP19+).
VSD_TAUS = np.round(np.arange(1, 11) * 0.05, 2)
#: VSD correctness thresholds on the VSD error.
VSD_THRESHOLDS = np.round(np.arange(1, 11) * 0.05, 2)
#: VSD visibility tolerance δ in metres (15 mm).
VSD_DELTA = 0.015
#: Ground-truth instances less visible than this are not targets (BOP19).
MIN_VISIB_FRACT = 0.1
#: The metrics whose mean is the BOP average recall.
AR_METRICS = ("vsd", "mssd", "mspd")


def mspd_thresholds(image_width: int) -> NDArray[np.float64]:
    """MSPD thresholds in pixels for an image ``image_width`` pixels wide (5…50 × 640/width)."""
    return MSPD_THRESHOLDS_PX * (640.0 / float(image_width))


def thresholds(metric: str, diameter: float, image_width: int) -> NDArray[np.float64]:
    """Correctness thresholds of ``metric`` (m for add/mssd, px for mspd, unitless for vsd)."""
    if metric == "add":
        return np.array([ADD_THRESHOLD * diameter])
    if metric == "mssd":
        return MSSD_THRESHOLDS * diameter
    if metric == "mspd":
        return mspd_thresholds(image_width)
    if metric == "vsd":
        return VSD_THRESHOLDS.astype(np.float64)
    raise ValueError(f"unknown metric {metric!r}")


@dataclass
class RecallCounts:
    """Correct-match counts per object and threshold level of one metric.

    ``matched[obj_id]`` is an int array with one entry per level (for VSD, per (τ, threshold)
    pair); ``targets[obj_id]`` the number of ground-truth targets of that object.
    """

    n_levels: int
    matched: dict[int, NDArray[np.int64]]
    targets: dict[int, int]

    @classmethod
    def empty(cls, n_levels: int) -> RecallCounts:
        return cls(n_levels, {}, {})

    def add_targets(self, obj_id: int, n: int) -> None:
        self.targets[obj_id] = self.targets.get(obj_id, 0) + int(n)
        self.matched.setdefault(obj_id, np.zeros(self.n_levels, dtype=np.int64))

    def add_matches(self, obj_id: int, counts: NDArray[np.int64]) -> None:
        self.matched.setdefault(obj_id, np.zeros(self.n_levels, dtype=np.int64))
        self.matched[obj_id] += np.asarray(counts, dtype=np.int64)

    def recalls(self, obj_id: int | None = None) -> NDArray[np.float64]:
        """Recall per level for one object, or over all targets (``obj_id=None``)."""
        if obj_id is None:
            n = sum(self.targets.values())
            m = sum(self.matched.values(), np.zeros(self.n_levels, dtype=np.int64))
        else:
            n, m = self.targets.get(obj_id, 0), self.matched.get(obj_id, np.zeros(self.n_levels))
        return recall(m, n)

    def average_recall(self, obj_id: int | None = None) -> float:
        """Mean recall over the threshold levels."""
        return float(np.mean(self.recalls(obj_id)))


def recall(matched: NDArray | int, targets: int) -> NDArray[np.float64]:
    """``matched / targets`` (0 when there are no targets)."""
    m = np.asarray(matched, dtype=np.float64)
    return m / targets if targets > 0 else np.zeros_like(m)


def average_recall(per_metric: dict[str, float]) -> float | None:
    """BOP AR: mean of VSD, MSSD and MSPD average recalls, over those present (None if none)."""
    vals = [per_metric[m] for m in AR_METRICS if m in per_metric]
    return float(np.mean(vals)) if vals else None
