"""The pattern search that polishes a silhouette fit on its own score."""

from __future__ import annotations

import numpy as np
import pytest

from rigidpose.estimate.silhouette_polish import PolishConfig, moves, polish_pose
from rigidpose.geometry import Pose, axis_angle_to_matrix

CENTRE = np.array([0.01, -0.02, 0.03])  # object frame, metres
DIAMETER = 0.12
TRUTH = Pose(axis_angle_to_matrix([0.3, -1.1, 0.4]), [0.05, -0.03, 0.5], "cam", "obj")


def _offset(pose: Pose, deg: float, shift: float) -> Pose:
    """``pose`` turned by ``deg`` about a skew axis through its centre and shifted by ``shift`` m."""
    c = pose.transform(CENTRE[None])[0]
    R = axis_angle_to_matrix(np.radians(deg) * np.array([1.0, 2.0, -1.0]) / np.sqrt(6.0))
    M = np.eye(4)
    M[:3, :3], M[:3, 3] = R, c - R @ c + shift * np.array([0.6, -0.8, 0.0])
    return Pose.from_matrix(M @ pose.as_matrix(), "cam", "obj")


def _peak(pose: Pose) -> float:
    """A smooth score with its maximum 1 at TRUTH: falls off over 10° and 0.1 diameter."""
    dist = np.linalg.norm(pose.transform(CENTRE[None])[0] - TRUTH.transform(CENTRE[None])[0])
    return float(np.exp(-(np.degrees(pose.angle_to(TRUTH)) / 10.0) ** 2 - (dist / (0.1 * DIAMETER)) ** 2))


def test_the_moves_turn_about_the_centre_and_shift_by_the_step():
    cfg = PolishConfig(rotation_deg=8.0, translation=0.05)
    out = moves(TRUTH, CENTRE, DIAMETER, 0.5, cfg)
    assert len(out) == 12
    c = TRUTH.transform(CENTRE[None])[0]
    for p in out[:6]:  # turns: the centre stays, the angle is half the first step
        assert np.allclose(p.transform(CENTRE[None])[0], c, atol=1e-12)
        assert np.degrees(p.angle_to(TRUTH)) == pytest.approx(4.0)
    shifts = [p.t - TRUTH.t for p in out[6:]]
    for k, s in enumerate(shifts):  # shifts: x, y by 0.5 × 0.05 × d, z twice that; no turn
        axis, want = k // 2, 0.5 * 0.05 * DIAMETER * (2.0 if k // 2 == 2 else 1.0)
        assert s[axis] == pytest.approx(want if k % 2 else -want) and np.allclose(np.delete(s, axis), 0.0)
        assert out[6 + k].angle_to(TRUTH) < 1e-9
    assert all(p.parent == "cam" and p.child == "obj" for p in out)


def test_the_search_climbs_to_the_peak_and_counts_its_calls():
    """From 10° and 0.05 d off, within 1° and 0.01 d; never more calls than the bound."""
    calls = []

    def score(p: Pose) -> float:
        calls.append(p)
        return _peak(p)

    start = _offset(TRUTH, 10.0, 0.05 * DIAMETER)
    cfg = PolishConfig(rotation_deg=8.0, translation=0.06, levels=4, sweeps=6)
    pose, best = polish_pose(score, start, CENTRE, DIAMETER, cfg)
    assert best == pytest.approx(_peak(pose)) and best > _peak(start)
    assert np.degrees(pose.angle_to(TRUTH)) < 1.0
    assert np.linalg.norm(pose.transform(CENTRE[None])[0] - TRUTH.transform(CENTRE[None])[0]) < 0.01 * DIAMETER
    assert len(calls) <= cfg.levels * cfg.sweeps * 12 + 1


def test_a_pose_at_the_peak_stays_and_a_flat_score_moves_nothing():
    pose, best = polish_pose(_peak, TRUTH, CENTRE, DIAMETER)
    assert best == pytest.approx(1.0) and pose.angle_to(TRUTH) < 1e-9 and np.allclose(pose.t, TRUTH.t)
    start = _offset(TRUTH, 20.0, 0.0)
    pose, best = polish_pose(lambda p: 0.3, start, CENTRE, DIAMETER)
    assert best == 0.3 and np.allclose(pose.as_matrix(), start.as_matrix())


@pytest.mark.parametrize("bad", [dict(rotation_deg=0.0), dict(translation=-0.1), dict(levels=0), dict(sweeps=0)])
def test_invalid_settings_are_refused(bad):
    with pytest.raises(ValueError, match="invalid polish settings"):
        PolishConfig(**bad)

