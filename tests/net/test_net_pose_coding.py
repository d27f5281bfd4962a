"""Direct-pose codes: exact round trips and crop invariance."""

from __future__ import annotations

import numpy as np
import pytest

from rigidpose.geometry import Camera, Pose, random_rotation
from rigidpose.net.pose_coding import decode_pose, encode_pose, view_rotation

CAM = Camera(np.array([[600.0, 0, 319.5], [0, 610.0, 239.5], [0, 0, 1]]), 640, 480)
CAM_DIST = Camera(CAM.K, 640, 480, "plumb_bob", [0.05, -0.02, 0.001, -0.0005, 0.0])
DIAMETER = 0.12


def random_pose(rng) -> Pose:
    t = np.array([rng.uniform(-0.15, 0.15), rng.uniform(-0.1, 0.1), rng.uniform(0.4, 1.2)])
    return Pose(random_rotation(rng), t, "cam", "obj")


def crop_around(cam: Camera, pose: Pose, rng, size: int = 128) -> Camera:
    u, v = cam.project(pose.t[None])[0]
    side = 1.5 * cam.fx * DIAMETER / pose.t[2] * rng.uniform(0.8, 1.25)
    x0 = u - side / 2 + rng.uniform(-0.15, 0.15) * side
    y0 = v - side / 2 + rng.uniform(-0.15, 0.15) * side
    return cam.cropped([x0, y0, side, side], (size, size))


@pytest.mark.parametrize("allocentric", [True, False])
@pytest.mark.parametrize("cam", [CAM, CAM_DIST], ids=["pinhole", "distorted"])
def test_round_trip_is_exact(rng, allocentric, cam):
    centre = np.array([0.01, -0.02, 0.03])
    tol = 1e-9 if not cam.has_distortion else 1e-7
    for _ in range(25):
        T = random_pose(rng)
        crop = crop_around(cam, T, rng)
        code = encode_pose(T, crop, DIAMETER, centre_obj=centre, allocentric=allocentric)
        back = decode_pose(code.rot6d, code.trans, crop, DIAMETER, centre_obj=centre, allocentric=allocentric)
        np.testing.assert_allclose(back.R, T.R, atol=1e-9)
        np.testing.assert_allclose(back.t, T.t, atol=tol)
        assert back.parent == "cam" and back.child == "obj"


def test_code_is_crop_invariant(rng):
    """A crop centred on the object gives dx = dy = 0; z_n grows with the crop side (the object
    looks smaller) and does not depend on the output resolution."""
    T = random_pose(rng)
    u, v = CAM.project(T.t[None])[0]
    codes = []
    for side in (60.0, 90.0, 200.0):
        bbox = [u - (side - 1) / 2, v - (side - 1) / 2, side, side]  # pixel-centre convention
        codes.append(encode_pose(T, CAM.cropped(bbox, (128, 128)), DIAMETER).trans)
    codes = np.array(codes)
    np.testing.assert_allclose(codes[:, :2], 0.0, atol=1e-9)
    side = np.array([60.0, 90.0, 200.0])
    np.testing.assert_allclose(codes[:, 2] / side, codes[0, 2] / side[0], rtol=1e-9)
    bbox = [u - 50, v - 40, 100, 100]
    by_res = [encode_pose(T, CAM.cropped(bbox, (n, n)), DIAMETER) for n in (96, 128, 256)]
    for c in by_res[1:]:
        np.testing.assert_allclose(c.trans, by_res[0].trans, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(c.rot6d, by_res[0].rot6d, atol=1e-12)


def test_z_n_is_crop_size_over_apparent_diameter(rng):
    T = random_pose(rng)
    crop = crop_around(CAM, T, rng, size=128)
    code = encode_pose(T, crop, DIAMETER)
    apparent = np.sqrt(crop.fx * crop.fy) * DIAMETER / T.t[2]
    assert code.trans[2] == pytest.approx(128 / apparent, rel=1e-12)


def test_allocentric_rotation_is_unchanged_by_sideways_motion(rng):
    """Same appearance (object rotated with its viewing ray) → same allocentric code."""
    R_allo = random_rotation(rng)
    codes = []
    for t in ([0.0, 0.0, 0.8], [0.2, -0.1, 0.7], [-0.15, 0.12, 0.9]):
        T = Pose(view_rotation(t) @ R_allo, t)
        codes.append(encode_pose(T, crop_around(CAM, T, rng), DIAMETER).rot6d)
    np.testing.assert_allclose(codes[1], codes[0], atol=1e-12)
    np.testing.assert_allclose(codes[2], codes[0], atol=1e-12)


def test_view_rotation(rng):
    for _ in range(10):
        t = rng.normal(size=3)
        t[2] = abs(t[2]) + 0.1
        Rv = view_rotation(t)
        np.testing.assert_allclose(Rv @ [0, 0, 1], t / np.linalg.norm(t), atol=1e-12)
        np.testing.assert_allclose(Rv.T @ Rv, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(view_rotation([0, 0, 2.0]), np.eye(3))


def test_bad_inputs():
    crop = CAM.cropped([300, 200, 64, 64], (128, 128))
    with pytest.raises(ValueError, match="behind"):
        encode_pose(Pose(np.eye(3), [0, 0, -1.0]), crop, DIAMETER)
    with pytest.raises(ValueError, match="depth"):
        decode_pose([1, 0, 0, 0, 1, 0], [0, 0, -0.5], crop, DIAMETER)
    with pytest.raises(ValueError, match="diameter"):
        encode_pose(Pose(np.eye(3), [0, 0, 1.0]), crop, 0.0)


def test_pose_centre_is_fixed_by_the_symmetries_and_gives_one_translation_target():
    """The coded point does not move under the symmetries, so T and T @ S share the translation
    code and the allocentric rotation up to S; the mesh origin (off the axis) would not."""
    from rigidpose.geometry import Camera, Pose
    from rigidpose.net.pose_coding import encode_pose, pose_centre, view_rotation
    from rigidpose.objects import ContinuousSymmetry, ModelInfo, Symmetries

    S = np.eye(4)
    S[:3, :3] = np.diag([-1.0, -1.0, 1.0])
    S[:3, 3] = [-0.03, -0.05, 0.0]  # 180° about the z axis through (-0.015, -0.025)
    info = ModelInfo(0.2, [-0.065, -0.06, -0.003], [0.1, 0.07, 0.19], Symmetries(S[None]))
    c = pose_centre(info)
    np.testing.assert_allclose(c, [-0.015, -0.025, 0.092], atol=1e-12)
    np.testing.assert_allclose(S[:3, :3] @ c + S[:3, 3], c, atol=1e-12)
    cam = Camera(np.array([[300.0, 0, 63.5], [0, 300.0, 63.5], [0, 0, 1]]), 128, 128)
    T = Pose(_rotation_about([0.3, -0.5, 0.8], 1.1), [0.05, -0.02, 0.6])
    T_S = T @ Pose.from_matrix(S)
    a, b = encode_pose(T, cam, 0.2, centre_obj=c), encode_pose(T_S, cam, 0.2, centre_obj=c)
    np.testing.assert_allclose(a.trans, b.trans, atol=1e-12)
    R_a = view_rotation(T.transform(c)).T @ T.R
    np.testing.assert_allclose(R_a @ S[:3, :3], view_rotation(T_S.transform(c)).T @ T_S.R, atol=1e-12)
    o, o_S = encode_pose(T, cam, 0.2), encode_pose(T_S, cam, 0.2)  # about the origin: two targets
    assert np.abs(o.trans - o_S.trans).max() > 0.05
    # a continuous symmetry: the centre lands on the axis
    cont = ModelInfo(0.1, [0.0, 0.0, 0.0], [0.06, 0.06, 0.1],
                     Symmetries(continuous=(ContinuousSymmetry([0, 0, 1.0], [0.01, 0.02, 0.0]),)))
    np.testing.assert_allclose(pose_centre(cont)[:2], [0.01, 0.02], atol=1e-9)


def _rotation_about(axis, angle):
    import cv2

    v = np.asarray(axis, float)
    return cv2.Rodrigues(v / np.linalg.norm(v) * angle)[0]


def test_torch_decode_centre_matches_numpy_decode():
    import torch

    from rigidpose.geometry import Camera, Pose
    from rigidpose.net.pose_coding import encode_pose
    from rigidpose.net.train import decode_centre

    cam = Camera(np.array([[310.0, 0, 60.2], [0, 305.0, 66.9], [0, 0, 1]]), 128, 128)
    c = np.array([0.01, -0.02, 0.05])
    T = Pose(_rotation_about([1.0, 2.0, -0.5], 2.0), [0.04, 0.03, 0.7])
    code = encode_pose(T, cam, 0.15, centre_obj=c)
    got = decode_centre(torch.tensor(code.trans[None]), torch.tensor(cam.K[None]), 128, torch.tensor([0.15]))
    np.testing.assert_allclose(got[0].numpy(), T.transform(c), atol=1e-9)
