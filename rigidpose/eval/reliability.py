"""How far an estimate's score can be trusted: the precision and the recall of the estimates
that score at least ``s``, for a range of ``s``.

A robot acts on the poses above a score threshold. The BOP recall says how many targets the
best-scored ``n`` estimates find (``n`` the targets of the object in the image); it does not say
how many of the poses a robot would act on are wrong. This table does:

- Every estimate is judged, not only the best ``n``. In decreasing score order each one takes
  the still-free ground-truth instance of its object in the image with the lowest ADD(-S)
  error (:func:`~rigidpose.eval.matching.match_poses` over all instances). It is **right**
  when that error is below 0.1 d, **wrong** otherwise.
- An estimate that is right about an instance less than 10 % visible (not a target) is
  **ignored**: neither right nor wrong, as COCO ignores its crowd regions.
- An estimate of an object that is not in the image at all is wrong.
- At a threshold ``s``: precision = right / (right + wrong) among the estimates scoring ≥ ``s``;
  recall = right / targets. The matching is greedy in score order, so the estimates above
  ``s`` are matched as if the others did not exist: one pass gives every threshold.

The recall here counts every estimate above ``s``, so it can exceed the BOP recall of the
same results (which keeps only the best ``n``) when a lower-scored estimate is the right one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rigidpose.eval.matching import match_poses

#: The score thresholds of the report table (the estimator's default is 0.3 in the CLI).
SCORE_LEVELS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
#: An estimate's outcome.
RIGHT, WRONG, IGNORED = 1, 0, -1


def judge(scores: ArrayLike, errors: ArrayLike, threshold: float, valid: ArrayLike) -> NDArray[np.int64]:
    """The outcome of each estimate of one object in one image (module doc).

    Args:
        scores: (E,) the estimates' scores.
        errors: (E, G) ADD(-S) of every estimate against every GT instance of the object, metres;
            G may be 0 (the object is not in the image).
        threshold: ADD(-S) threshold, metres.
        valid: (G,) bool, which instances are targets (``visib_fract`` ≥ 0.1).

    Returns:
        (E,) :data:`RIGHT`, :data:`WRONG` or :data:`IGNORED`.
    """
    s = np.atleast_1d(np.asarray(scores, np.float64))
    valid = np.asarray(valid, bool).reshape(-1)
    out = np.full(len(s), WRONG, np.int64)
    if len(s) and len(valid):
        for e, g in match_poses(s, np.asarray(errors, np.float64).reshape(len(s), len(valid)), threshold):
            out[e] = RIGHT if valid[g] else IGNORED
    return out


@dataclass
class ScoreReliability:
    """Judged estimates (their scores and outcomes) and the number of targets, over a dataset."""

    scores: list[float] = field(default_factory=list)
    outcomes: list[int] = field(default_factory=list)
    n_targets: int = 0

    def add(self, scores: ArrayLike, errors: ArrayLike, threshold: float, valid: ArrayLike) -> None:
        """Judge one image-object's estimates (:func:`judge`) and count its targets. A score that
        is not finite is refused: no threshold would keep it, and it would vanish from the table."""
        s = np.atleast_1d(np.asarray(scores, np.float64))
        if not np.all(np.isfinite(s)):
            raise ValueError(f"estimate scores must be finite, got {s[~np.isfinite(s)][:3].tolist()}")
        self.scores += s.tolist()
        self.outcomes += judge(s, errors, threshold, valid).tolist()
        self.n_targets += int(np.count_nonzero(valid))

    def at(self, levels: ArrayLike = SCORE_LEVELS) -> dict[str, NDArray]:
        """Per level (L,): ``kept`` estimates scoring ≥ level (ignored ones excluded), ``right``,
        ``precision`` (NaN where none is kept) and ``recall``."""
        lv = np.asarray(levels, np.float64).reshape(-1)
        s, o = np.asarray(self.scores, np.float64), np.asarray(self.outcomes, np.int64)
        above = s[None, :] >= lv[:, None]
        right = (above & (o == RIGHT)).sum(axis=1)
        kept = (above & (o != IGNORED)).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(kept > 0, right / np.maximum(kept, 1), np.nan)
        recall = right / self.n_targets if self.n_targets else np.zeros(len(lv))
        return {"levels": lv, "kept": kept, "right": right, "precision": precision, "recall": recall}

    def to_json(self, levels: ArrayLike = SCORE_LEVELS) -> dict:
        t = self.at(levels)
        return {"levels": t["levels"].tolist(), "kept": t["kept"].tolist(), "right": t["right"].tolist(),
                "precision": [None if np.isnan(p) else float(p) for p in t["precision"]],
                "recall": t["recall"].tolist(), "n_targets": self.n_targets,
                "ignored": int(np.count_nonzero(np.asarray(self.outcomes) == IGNORED))}


def format_reliability(rel: ScoreReliability, levels: ArrayLike = SCORE_LEVELS) -> list[str]:
    """Lines of a text table: per score threshold, the estimates kept, precision and recall (%)."""
    t = rel.at(levels)

    def pct(v: float) -> str:
        return "-" if np.isnan(v) else f"{100.0 * v:.1f}"
    return [f"{'score >=':>9} " + " ".join(f"{v:>6.2f}" for v in t["levels"]),
            f"{'kept':>9} " + " ".join(f"{int(v):>6}" for v in t["kept"]),
            f"{'precision':>9} " + " ".join(f"{pct(v):>6}" for v in t["precision"]),
            f"{'recall':>9} " + " ".join(f"{pct(v):>6}" for v in t["recall"]),
            f"(precision: % of the estimates scoring at least the threshold that are within ADD(-S) 0.1 d "
            f"of an instance; recall: % of the {rel.n_targets} targets they find)"]
