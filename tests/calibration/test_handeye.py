"""Hand-eye calibration: synthetic poses with noise, and the CLI on rendered images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import yaml
from _synth import render_view, varied_poses

from calibration.board import parse_board_spec
from calibration.handeye import HAND_EYE_METHODS, axxb_residuals, solve_handeye
from rigidpose.geometry import Camera, Pose, axis_angle_to_matrix, random_rotation


def _noisy(p: Pose, rng, rot_deg: float, trans_m: float) -> Pose:
    axis = rng.normal(size=3)
    R = axis_angle_to_matrix(axis / np.linalg.norm(axis) * np.radians(rng.normal(0, rot_deg)))
    return Pose(R @ p.R, p.t + rng.normal(0, trans_m, 3), p.parent, p.child)


def _scene(setup: str, rng, n: int = 15):
    """Ground truth X, robot poses T_base_gripper and board poses T_cam_board."""
    X = Pose(random_rotation(rng), rng.uniform(-0.1, 0.1, 3))  # T_gripper_cam or T_base_cam
    const = Pose(random_rotation(rng), rng.uniform(-0.5, 0.5, 3))  # T_base_board or T_gripper_board
    robot, boards = [], []
    for _ in range(n):
        G = Pose(random_rotation(rng), rng.uniform(-0.6, 0.6, 3))  # T_base_gripper
        Gx = G if setup == "eye-in-hand" else G.inv()
        robot.append(G)
        boards.append((Gx @ X).inv() @ const)  # C = X^-1 Gx^-1 const
    return X, robot, boards


@pytest.mark.parametrize("setup", ["eye-in-hand", "eye-to-hand"])
def test_recovers_X_with_noise(setup):
    rng = np.random.default_rng(42)
    X, robot, boards = _scene(setup, rng)
    robot = [_noisy(p, rng, 0.02, 0.0002) for p in robot]  # robot: 0.02 deg, 0.2 mm
    boards = [_noisy(p, rng, 0.05, 0.0005) for p in boards]  # PnP: 0.05 deg, 0.5 mm
    res = solve_handeye(robot, boards, setup)
    assert [m.name for m in res.methods][:5] == list(HAND_EYE_METHODS)
    assert len(res.methods) == 7 and res.best in res.methods
    err_mm = 1000 * res.best.X.distance_to(X)
    err_deg = np.degrees(res.best.X.angle_to(X))
    assert err_mm < 1.0 and err_deg < 0.1, (res.best.name, err_mm, err_deg)
    # the chosen method has the lowest (or tied) residuals, which reflect the noise level
    assert res.best.trans_mm <= min(m.trans_mm for m in res.methods) * 1.5
    assert 0.01 < res.best.rot_deg < 0.5
    # a wrong X is far less consistent
    wrong = Pose(X.R, X.t + 0.01)
    assert axxb_residuals([p if setup == "eye-in-hand" else p.inv() for p in robot], boards, wrong)[1] > 5


def test_exact_data_gives_zero_residuals():
    rng = np.random.default_rng(1)
    X, robot, boards = _scene("eye-in-hand", rng, n=6)
    res = solve_handeye(robot, boards, "eye-in-hand")
    assert res.best.rot_deg < 1e-6 and res.best.trans_mm < 1e-6
    assert res.best.X.allclose(X, atol=1e-7)


def _write_handeye_case(tmp_path, setup: str, camera: Camera, seed: int = 9, n: int = 10):
    """Render board images for a synthetic robot cell; write images, poses, camera YAML."""
    spec = parse_board_spec("charuco:5x7:0.04:0.03:DICT_5X5_100")
    rng = np.random.default_rng(seed)
    X = Pose(axis_angle_to_matrix([0.1, -0.2, 0.3]), [0.03, -0.05, 0.08])
    const = Pose(axis_angle_to_matrix([2.5, 0.3, -0.2]), [0.6, 0.1, 0.05])
    poses = []
    for i, C in enumerate(varied_poses(spec, camera, n, rng, distance=(0.5, 0.8))):
        Gx = const @ C.inv() @ X.inv()  # G X C = const
        G = Gx if setup == "eye-in-hand" else Gx.inv()
        cv2.imwrite(str(tmp_path / f"img_{i:02d}.png"), render_view(spec, camera, C, rng))
        poses.append({"xyz": G.t.tolist(), "quat": G.quat().tolist()})
    (tmp_path / "poses.yaml").write_text(yaml.safe_dump({"poses": poses}))
    camera.to_ros_yaml(tmp_path / "camera.yaml")
    return str(spec), X


@pytest.mark.slow
@pytest.mark.parametrize("setup", ["eye-in-hand", "eye-to-hand"])
def test_cli_on_rendered_images(cli, tmp_path, true_camera, setup):
    spec, X = _write_handeye_case(tmp_path, setup, true_camera)
    out = tmp_path / "handeye.yaml"
    code, stdout, err = cli("calibrate", "handeye", "--setup", setup, "--robot-poses", tmp_path / "poses.yaml",
                            "--images", tmp_path / "img_*.png", "--camera", tmp_path / "camera.yaml",
                            "--board", spec, "--out", out, "--no-progress")
    assert code == 0, err
    for words in ("tsai", "park", "horaud", "andreff", "daniilidis", "robot-world-shah", "robot-world-li",
                  "<- chosen", "static_transform_publisher", "ros__parameters"):
        assert words in stdout
    d = yaml.safe_load(out.read_text())
    est = Pose(np.array(d["matrix"])[:3, :3], np.array(d["matrix"])[:3, 3])
    assert 1000 * est.distance_to(X) < 2.0 and np.degrees(est.angle_to(X)) < 0.2
    assert d["transform"] == ("T_gripper_cam" if setup == "eye-in-hand" else "T_base_cam")
    assert d["method"] in d["residuals_axxb_rms"]
    q = Pose.from_quat(d["quaternion_xyzw"], d["translation"])
    assert q.allclose(est, atol=1e-6)
    name = "T_base_cam" if setup == "eye-to-hand" else "T_gripper_cam"
    params = yaml.safe_load(d["ros_parameters"])["rigidpose_node"]["ros__parameters"][name]
    assert np.allclose(np.reshape(params, (4, 4)), d["matrix"], atol=1e-6)
