"""BOP-style greedy matching of pose estimates to ground-truth instances (one image, one object).

As bop_toolkit's ``pose_matching.match_poses``: estimates are taken in decreasing score
order (at most ``max_ests`` of them, BOP19 uses the number of targets); each takes the
still-unmatched valid GT instance with the lowest error, and counts as a correct match if
that error is below the threshold. Each GT instance is matched at most once. GT
instances that are not valid targets (``visib_fract < 0.1``) are never matched, and
unmatched targets count as misses.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def top_estimates(scores: ArrayLike, max_ests: int | None) -> NDArray[np.int64]:
    """Indices of the ``max_ests`` highest scores, best first (stable for ties; all if None)."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    return order if max_ests is None else order[: max(int(max_ests), 0)]


def match_poses(scores: ArrayLike, errors: ArrayLike, threshold: float,
                gt_valid: ArrayLike | None = None, max_ests: int | None = None) -> list[tuple[int, int]]:
    """Greedily match estimates to GT instances.

    Args:
        scores: (E,) estimate confidences.
        errors: (E, G) error of every estimate against every GT instance of the object.
        threshold: a match is correct when its error is strictly below this.
        gt_valid: (G,) bool, which GT instances are targets; all when None.
        max_ests: keep only this many best-scoring estimates (None: all).

    Returns:
        ``[(est_index, gt_index)]`` of the correct matches, in the order they were made.
    """
    err = np.asarray(errors, dtype=np.float64)
    n_est = len(np.atleast_1d(scores))
    err = err.reshape(n_est, -1) if err.size else np.zeros((n_est, 0))
    valid = np.ones(err.shape[1], bool) if gt_valid is None else np.asarray(gt_valid, bool).copy()
    if valid.shape != (err.shape[1],):
        raise ValueError(f"gt_valid must have {err.shape[1]} entries, got {valid.shape}")
    free = valid.copy()
    matches = []
    for e in top_estimates(scores, max_ests):
        if not free.any():
            break
        cand = np.where(free, err[e], np.inf)
        g = int(np.argmin(cand))
        if cand[g] < threshold:
            matches.append((int(e), g))
            free[g] = False
    return matches


def count_matches(scores: ArrayLike, errors: ArrayLike, thresholds: ArrayLike,
                  gt_valid: ArrayLike | None = None, max_ests: int | None = None) -> NDArray[np.int64]:
    """Number of correct matches at each threshold, (T,)."""
    return np.array(
        [len(match_poses(scores, errors, th, gt_valid, max_ests)) for th in np.atleast_1d(thresholds)],
        dtype=np.int64,
    )
