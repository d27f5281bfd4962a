"""Where the targets are lost: each target's outcome from the estimates' errors and boxes."""

from __future__ import annotations

import numpy as np
import pytest

from rigidpose.eval.misses import OUTCOMES, MissBreakdown, classify

FOUND, RANKED_OUT, WRONG_POSE, NO_BOX = range(4)
GT_BOXES = [(0, 0, 10, 10), (100, 100, 10, 10), (200, 0, 10, 10), (300, 0, 10, 10)]


def test_outcomes_are_checked_in_order():
    assert OUTCOMES == ("found", "ranked out", "wrong pose", "no box")
    # 4 instances: 0, 1 and 2 are targets, 3 is not (too hidden). Threshold 0.01 m.
    errors = np.array([
        [0.005, 0.5, 0.5, 0.001],   # best score, right for target 0: found
        [0.5, 0.5, 0.5, 0.5],       # a wrong pose in target 1's box
        [0.5, 0.008, 0.5, 0.5],     # right for target 1, but scored below the n = 3 best
        [0.5, 0.5, 0.5, 0.5],       # another wrong pose
    ])
    scores = [0.9, 0.8, 0.1, 0.7]
    boxes = [(1, 1, 10, 10), (101, 100, 10, 10), None, (300, 0, 10, 10)]
    valid = np.array([True, True, True, False])
    out = classify(scores, errors, boxes, GT_BOXES, valid, 0.01)
    # Target 2 has no box at IoU >= 0.5 (the last estimate is on the non-target's box).
    assert out == [FOUND, RANKED_OUT, NO_BOX, None]


def test_wrong_pose_in_the_box_and_ranked_out_by_another_target():
    # One estimate right for both targets (they are close): the greedy match gives it to the
    # target with the smaller error; the other target had a right pose ranked to another.
    errors = np.array([[0.004, 0.006], [0.5, 0.5]])
    boxes = [(0, 0, 10, 10), (100, 100, 11, 10)]
    out = classify([0.9, 0.8], errors, boxes, GT_BOXES[:2], np.array([True, True]), 0.01)
    assert out == [FOUND, RANKED_OUT]
    errors = np.array([[0.004, 0.5], [0.5, 0.5]])
    out = classify([0.9, 0.8], errors, boxes, GT_BOXES[:2], np.array([True, True]), 0.01)
    assert out == [FOUND, WRONG_POSE]  # IoU of (100, 100, 11, 10) with (100, 100, 10, 10) is 10/11


def test_no_estimates_means_no_box():
    out = classify([], np.zeros((0, 2)), [], GT_BOXES[:2], np.array([True, False]), 0.01)
    assert out == [NO_BOX, None]


def test_breakdown_counts_by_visibility():
    b = MissBreakdown()
    for v, o in ((1.0, FOUND), (0.95, NO_BOX), (0.5, WRONG_POSE), (0.2, WRONG_POSE), (0.05, FOUND)):
        b.add(v, o)  # 0.05 is below the first bin: not a target
    assert b.counts.sum() == 4
    shares, n = b.shares()
    assert n == 4 and shares.tolist() == pytest.approx([0.25, 0.0, 0.5, 0.25])
    shares, n = b.shares(0.9)
    assert n == 2 and shares.tolist() == pytest.approx([0.5, 0.0, 0.0, 0.5])
    assert b.to_json()["counts"] == b.counts.tolist()
