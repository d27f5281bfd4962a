"""What the depth search has found in the current frame, so that no detection searches it again.

A detector trained for minutes puts several boxes on one part (shifted, too large, or on the
thing beside it), and every box of a frame runs the depth search (:mod:`.depth_refine`). Two
kinds of work repeat across the boxes of a frame, and :class:`FrameMemo` keeps both:

- **Grid searches.** The things standing around a box (step 4) are cut by the depth, so
  neighbouring boxes cut nearly the same ones, and a box on one thing often has a mask much
  like the cluster another box cut there. A grid search of a mask that has IoU at least
  :data:`SAME_MASK_IOU` with one searched before with the same grid or a denser one takes its
  results, whatever they were. Their agreements were judged against the earlier search's
  mask, which at that overlap differs little from the new one's.
- **Explained pixels.** A result that ended a search (depth, mask and edges agree well) has
  explained the depth pixels its model covers (:func:`~rigidpose.estimate.global_reg.explained_pixels`).
  A later search of a mask of the same object whose depth pixels lie at least
  :data:`EXPLAINED_SHARE` inside one such result's takes that result: searching it again would
  fit the same part. On the bracket benchmark the boxes whose result ended as a right pose
  outnumbered the targets 3 to 1 (86 boxes on 27 targets in 20 images; docs/benchmarks.md,
  session 18).

Frames are told apart by a digest of the depth image's bytes, so a driver that reuses its
buffer is safe; two byte-identical depth frames (a simulator's static scene) share the memo.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from rigidpose.estimate.depth_masks import mask_iou
from rigidpose.geometry import Pose

#: A mask is searched once per frame: a later search (of the same object) of a mask that covers
#: nearly the same pixels (IoU at least this) takes the earlier results.
SAME_MASK_IOU = 0.9

#: A mask whose valid depth pixels lie at least this share inside the pixels one earlier
#: result of the frame explains is not searched again: it takes that result.
EXPLAINED_SHARE = 0.8


@dataclass(frozen=True, eq=False)
class Refined:
    """A depth-refined pose, its (6, 6) covariance and where it came from ("+icp" or "depth+icp" suffixes).

    ``agreement`` is :func:`~rigidpose.estimate.global_reg.depth_agreement` of an accepted
    ICP result, None when the input pose was kept; ``edge`` its edge check, None without one.
    """

    pose: Pose
    covariance: NDArray[np.float64]
    source: str
    agreement: float | None = None
    edge: float | None = None


@dataclass
class Search:
    """One grid search of a mask with a ``grid`` of rotations: its results, their scores, and
    whether one agreed well enough to end the search."""

    obj_id: int
    mask: NDArray[np.bool_]
    grid: int
    found: list[Refined] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    good: bool = False


@dataclass(frozen=True, eq=False)
class Explained:
    """A result that ended a search, its score, and the (H, W) bool pixels whose depth it explains."""

    obj_id: int
    result: Refined
    score: float
    pixels: NDArray[np.bool_]


class FrameMemo:
    """The grid searches and explaining results of the current depth frame (see the module's notes)."""

    def __init__(self) -> None:
        self._key: bytes | None = None
        self.searches: list[Search] = []
        self.explained: list[Explained] = []

    def start(self, depth: NDArray) -> None:
        """Forget everything when ``depth`` (H, W) is not the frame the memo holds."""
        key = hashlib.blake2b(np.ascontiguousarray(depth), digest_size=16).digest()
        if key != self._key:
            self._key, self.searches, self.explained = key, [], []

    def search(self, obj_id: int, mask: NDArray, grid: int) -> Search | None:
        """An earlier search for ``obj_id`` of a mask nearly the same as ``mask`` (H, W bool), with
        at least ``grid`` rotations, or None."""
        return next((s for s in self.searches
                     if s.obj_id == obj_id and s.grid >= grid and mask_iou(s.mask, mask) >= SAME_MASK_IOU), None)

    def explaining(self, obj_id: int, pixels: NDArray) -> Explained | None:
        """The best-scored earlier result of ``obj_id`` that explains at least :data:`EXPLAINED_SHARE`
        of ``pixels`` (H, W bool: a mask's valid depth pixels), or None."""
        n = np.count_nonzero(pixels)
        if n == 0:
            return None
        explaining = [e for e in self.explained
                      if e.obj_id == obj_id and np.count_nonzero(e.pixels & pixels) >= EXPLAINED_SHARE * n]
        return max(explaining, key=lambda e: e.score, default=None)
