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
#: Edges of the visibility bins that ADD(-S) recall is broken down by: the fraction of the
#: object's silhouette in view (``visib_fract``), bins [a, b), the last one closed.
VISIBILITY_BINS = (0.1, 0.3, 0.5, 0.7, 0.9, 1.0)


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


@dataclass
class VisibilityRecall:
    """ADD(-S) correct matches and targets per visibility bin, over all objects.

    A pose that is right from the visible part alone gets harder as less of the object is
    in view, so a recall is only comparable between test sets of similar occlusion; this
    breakdown shows where the misses lie. ``edges`` (N+1,) bound N bins [a, b), the last
    one closed; ``matched`` and ``targets`` are (N,) counts.
    """

    edges: tuple[float, ...] = VISIBILITY_BINS
    matched: NDArray[np.int64] | None = None
    targets: NDArray[np.int64] | None = None

    def __post_init__(self) -> None:
        n = len(self.edges) - 1
        if n < 1 or np.any(np.diff(self.edges) <= 0):
            raise ValueError(f"visibility bin edges must increase, got {self.edges}")
        self.matched = np.zeros(n, np.int64) if self.matched is None else np.asarray(self.matched, np.int64)
        self.targets = np.zeros(n, np.int64) if self.targets is None else np.asarray(self.targets, np.int64)

    def bins(self, visib_fract) -> NDArray[np.int64]:
        """Bin index of each visible fraction (G,); values below the first edge get −1."""
        v = np.asarray(visib_fract, dtype=np.float64)
        b = np.searchsorted(np.asarray(self.edges), v, side="right") - 1
        b = np.minimum(b, len(self.edges) - 2)  # the last bin is closed: 1.0 falls in it
        return np.where(v < self.edges[0], -1, b)

    def add(self, visib_fract, valid, matched_gt) -> None:
        """Count one image-object's targets: ``visib_fract`` and ``valid`` (G,), ``matched_gt`` the
        indices of the GT instances that an estimate matched correctly."""
        b = self.bins(visib_fract)
        valid = np.asarray(valid, bool) & (b >= 0)
        np.add.at(self.targets, b[valid], 1)
        hit = np.zeros(len(b), bool)
        hit[list(matched_gt)] = True
        np.add.at(self.matched, b[valid & hit], 1)

    def recalls(self) -> NDArray[np.float64]:
        """Recall per bin (N,); NaN for a bin without targets."""
        return np.where(self.targets > 0, self.matched / np.maximum(self.targets, 1), np.nan)

    def labels(self) -> list[str]:
        """Bin names in percent, e.g. ``"10-30 %"``."""
        return [f"{100 * a:.0f}-{100 * b:.0f} %" for a, b in zip(self.edges[:-1], self.edges[1:])]
