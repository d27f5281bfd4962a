"""Stable frames for symmetric objects: no flips between frames."""

from __future__ import annotations

import numpy as np

from rigidpose.estimate.symmetry import stable_pose
from rigidpose.geometry import Pose, axis_angle_to_matrix, random_rotation
from rigidpose.objects.symmetries import ContinuousSymmetry, Symmetries

FLIP_Z = np.diag([-1.0, -1.0, 1.0, 1.0])  # 180° about the object's z axis
BOX = Symmetries(discrete=np.array([FLIP_Z]))
CAN = Symmetries(discrete=np.array([np.diag([1.0, -1.0, -1.0, 1.0])]), continuous=(ContinuousSymmetry([0, 0, 1]),))


def test_asymmetric_objects_are_unchanged(rng):
    T = Pose(random_rotation(rng), [0, 0, 1.0])
    assert stable_pose(T, Symmetries()) is T


def test_discrete_flip_is_undone_against_the_previous_frame(rng):
    T_prev = Pose(random_rotation(rng), [0.0, 0.0, 0.8])
    small = Pose(axis_angle_to_matrix([0.02, -0.01, 0.03]), [0.001, 0, 0])
    T_now = small @ T_prev
    flipped = Pose.from_matrix(T_now.as_matrix() @ FLIP_Z)
    out = stable_pose(flipped, BOX, reference=T_prev)
    assert out.allclose(T_now, atol=1e-9)


def test_canonical_choice_is_independent_of_the_input_equivalent(rng):
    for _ in range(20):
        T = Pose(random_rotation(rng), [0.1, 0.0, 0.9])
        a = stable_pose(T, BOX)
        b = stable_pose(Pose.from_matrix(T.as_matrix() @ FLIP_Z), BOX)
        assert a.allclose(b, atol=1e-9)


def test_continuous_symmetry_is_resolved_exactly(rng):
    T = Pose(random_rotation(rng), [0.0, 0.05, 0.7])
    outs = []
    for phi in (0.0, 0.7, 2.9, -1.3):
        spun = Pose.from_matrix(T.as_matrix() @ CAN.continuous[0].transform(phi))
        outs.append(stable_pose(spun, CAN))
    for o in outs[1:]:
        assert o.allclose(outs[0], atol=1e-7)
    # The result is the equivalent closest to the identity: no other is closer.
    for phi in np.linspace(0, 2 * np.pi, 73):
        other = Pose.from_matrix(outs[0].as_matrix() @ CAN.continuous[0].transform(phi))
        assert np.trace(other.R) <= np.trace(outs[0].R) + 1e-9


def test_a_tracked_sequence_never_flips(rng):
    """A slowly rotating box, observed with random symmetric flips, comes out smooth."""
    T = Pose(random_rotation(rng), [0, 0, 0.8])
    prev = None
    step = Pose(axis_angle_to_matrix([0.0, 0.03, 0.02]), [0.0, 0.0, 0.0])
    for _ in range(100):
        T = step @ T
        observed = Pose.from_matrix(T.as_matrix() @ (FLIP_Z if rng.random() < 0.5 else np.eye(4)))
        out = stable_pose(observed, BOX, reference=prev)
        if prev is not None:
            assert np.degrees(out.angle_to(prev)) < 5.0
        prev = out


def test_the_fixed_point_is_where_no_symmetry_moves_the_object(rng):
    """A can whose axis (z) runs 6 cm from the model origin, with a 180° flip about an axis
    through its centre: the fixed point is the centre, and every equivalent pose puts it at
    the same camera point, while their origins lie up to 12 cm apart."""
    centre = np.array([0.06, 0.0, 0.04])
    flip = np.eye(4)
    flip[:3, :3] = np.diag([1.0, -1.0, -1.0])
    flip[:3, 3] = centre - flip[:3, :3] @ centre
    sym = Symmetries(flip[None], (ContinuousSymmetry([0, 0, 1.0], centre),))
    assert np.allclose(sym.fixed_point(), centre, atol=1e-9)
    assert np.allclose(Symmetries().fixed_point(), 0.0)
    T = Pose(random_rotation(rng), [0.1, -0.05, 0.6], "cam", "obj")
    images = [(T.as_matrix() @ S)[:3, :3] @ centre + (T.as_matrix() @ S)[:3, 3] for S in sym.transforms(0.3)]
    assert np.ptp(np.stack(images), axis=0).max() < 1e-9
    origins = np.stack([(T.as_matrix() @ S)[:3, 3] for S in sym.transforms(0.3)])
    assert np.linalg.norm(origins - origins[0], axis=1).max() > 0.1
