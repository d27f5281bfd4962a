"""BOP greedy matching and recall arithmetic on tiny hand-made sets."""

from __future__ import annotations

import numpy as np
import pytest

from rigidpose.eval import RecallCounts, average_recall, count_matches, match_poses, mspd_thresholds
from rigidpose.eval.recall import VisibilityRecall, thresholds


def test_highest_score_matches_first_and_each_gt_once():
    scores = [0.2, 0.9, 0.5]
    # est 1 (best score) takes GT 0 (its lowest error); est 2 would prefer GT 0 too but
    # it is taken, so it gets GT 1; est 0 has nothing left.
    errors = [[0.01, 0.02], [0.03, 0.05], [0.02, 0.04]]
    assert match_poses(scores, errors, threshold=0.1) == [(1, 0), (2, 1)]
    # est 2's remaining GT is too far at a tighter threshold: a miss, GT 1 stays free for est 0
    assert match_poses(scores, errors, threshold=0.035) == [(1, 0), (0, 1)]


def test_invalid_gt_is_never_matched_and_max_ests():
    scores = [0.9, 0.8]
    errors = [[0.0, 0.5], [0.3, 0.01]]
    # GT 0 is not a target (visib_fract < 0.1): est 0 must take GT 1 and fails the threshold.
    assert match_poses(scores, errors, 0.1, gt_valid=[False, True]) == [(1, 1)]
    # BOP19 keeps only n_targets = 1 best estimates: est 1 is never considered.
    assert match_poses(scores, errors, 0.1, gt_valid=[False, True], max_ests=1) == []
    np.testing.assert_array_equal(count_matches(scores, errors, [0.005, 0.02, 0.4, 0.6]), [1, 2, 2, 2])


def test_no_estimates_or_no_gt():
    assert match_poses([], np.zeros((0, 2)), 1.0) == []
    assert match_poses([0.5], np.zeros((1, 0)), 1.0) == []


def test_recall_counts_per_object_and_overall():
    rc = RecallCounts.empty(2)
    rc.add_targets(1, 4)
    rc.add_targets(2, 1)
    rc.add_matches(1, np.array([1, 3]))
    rc.add_matches(2, np.array([0, 1]))
    np.testing.assert_allclose(rc.recalls(1), [0.25, 0.75])
    assert rc.average_recall(1) == pytest.approx(0.5)
    assert rc.average_recall(2) == pytest.approx(0.5)
    np.testing.assert_allclose(rc.recalls(), [0.2, 0.8])  # over all 5 targets
    assert rc.average_recall(3) == 0.0


def test_thresholds_and_ar():
    np.testing.assert_allclose(mspd_thresholds(640), np.arange(5, 51, 5))
    np.testing.assert_allclose(mspd_thresholds(320), np.arange(10, 101, 10))
    np.testing.assert_allclose(thresholds("mssd", 0.2, 640), np.arange(1, 11) * 0.01)
    np.testing.assert_allclose(thresholds("add", 0.2, 640), [0.02])
    assert average_recall({"vsd": 0.3, "mssd": 0.6, "mspd": 0.9, "add": 0.0}) == pytest.approx(0.6)
    assert average_recall({"mssd": 0.6, "mspd": 0.8}) == pytest.approx(0.7)
    assert average_recall({"add": 1.0}) is None
    with pytest.raises(ValueError):
        thresholds("xyz", 1.0, 640)


def test_visibility_recall_bins_targets_and_matches():
    vis = VisibilityRecall()  # bins 10-30, 30-50, 50-70, 70-90, 90-100 %
    np.testing.assert_array_equal(vis.bins([0.05, 0.1, 0.299, 0.3, 0.9, 1.0]), [-1, 0, 0, 1, 4, 4])
    # one image-object: GT 0 hidden (not a target), GTs 1-3 targets, GTs 1 and 3 matched
    vis.add([0.05, 0.2, 0.95, 1.0], [False, True, True, True], [1, 3])
    vis.add([0.6], [True], [])
    np.testing.assert_array_equal(vis.targets, [1, 0, 1, 0, 2])
    np.testing.assert_array_equal(vis.matched, [1, 0, 0, 0, 1])
    np.testing.assert_allclose(vis.recalls(), [1.0, np.nan, 0.0, np.nan, 0.5])
    assert vis.labels() == ["10-30 %", "30-50 %", "50-70 %", "70-90 %", "90-100 %"]
    with pytest.raises(ValueError, match="must increase"):
        VisibilityRecall(edges=(0.1, 0.5, 0.5))
