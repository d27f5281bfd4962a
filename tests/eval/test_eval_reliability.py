"""Precision and recall of the estimates above a score threshold (rigidpose.eval.reliability)."""

from __future__ import annotations

import numpy as np
import pytest

from rigidpose.eval.reliability import IGNORED, RIGHT, WRONG, ScoreReliability, format_reliability, judge

TH = 0.01  # ADD(-S) threshold, metres


def test_each_estimate_takes_the_nearest_free_instance_in_score_order():
    # Two targets; three estimates. The best-scored one is right about instance 1, the second
    # would be right about instance 1 too but it is taken, and the third is right about instance 0.
    errors = np.array([[0.05, 0.001],
                       [0.05, 0.002],
                       [0.003, 0.2]])
    out = judge([0.9, 0.8, 0.1], errors, TH, [True, True])
    assert out.tolist() == [RIGHT, WRONG, RIGHT]


def test_a_right_pose_of_an_instance_that_is_not_a_target_is_ignored():
    errors = np.array([[0.2, 0.001], [0.002, 0.3]])
    assert judge([0.95, 0.5], errors, TH, [True, False]).tolist() == [IGNORED, RIGHT]


def test_poses_of_an_object_that_is_not_in_the_image_are_wrong():
    assert judge([0.7, 0.2], np.zeros((2, 0)), TH, []).tolist() == [WRONG, WRONG]
    assert judge([], np.zeros((0, 2)), TH, [True, True]).tolist() == []


def test_precision_and_recall_by_threshold():
    rel = ScoreReliability()
    rel.add([0.9, 0.8, 0.1], np.array([[0.05, 0.001], [0.05, 0.002], [0.003, 0.2]]), TH, [True, True])
    rel.add([0.95, 0.5], np.array([[0.2, 0.001], [0.002, 0.3]]), TH, [True, False])
    rel.add([0.7], np.zeros((1, 0)), TH, [])
    rel.add([], np.zeros((0, 1)), TH, [True])  # a target without any estimate
    assert rel.n_targets == 4
    t = rel.at([0.0, 0.5, 0.85, 0.99])
    # Judged: 0.9 R, 0.8 W, 0.1 R | 0.95 ignored, 0.5 R | 0.7 W.
    assert t["kept"].tolist() == [5, 4, 1, 0]
    assert t["right"].tolist() == [3, 2, 1, 0]
    np.testing.assert_allclose(t["precision"][:3], [3 / 5, 2 / 4, 1.0])
    assert np.isnan(t["precision"][3])  # nothing kept: no precision, not 0
    np.testing.assert_allclose(t["recall"], [3 / 4, 2 / 4, 1 / 4, 0.0])
    j = rel.to_json([0.0, 0.99])
    assert j["precision"] == [pytest.approx(0.6), None] and j["ignored"] == 1 and j["n_targets"] == 4
    lines = format_reliability(rel, [0.0, 0.99])
    assert lines[0].split() == ["score", ">=", "0.00", "0.99"]
    assert lines[2].split() == ["precision", "60.0", "-"]
    assert lines[3].split() == ["recall", "75.0", "0.0"]


def test_no_targets_give_zero_recall_not_an_error():
    rel = ScoreReliability()
    rel.add([0.4], np.zeros((1, 0)), TH, [])
    t = rel.at([0.0])
    assert t["recall"].tolist() == [0.0] and t["precision"].tolist() == [0.0]


def test_a_score_that_is_not_finite_is_refused_not_dropped():
    rel = ScoreReliability()
    with pytest.raises(ValueError, match="scores must be finite"):
        rel.add([0.5, float("nan")], np.zeros((2, 1)), TH, [True])
    assert rel.scores == [] and rel.n_targets == 0  # nothing half-added
