"""Intrinsics from synthetic images with known K and distortion."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from _synth import render_view, varied_poses
from conftest import TRUE_DIST, TRUE_K

from calibration.board import parse_board_spec
from calibration.detect import BoardDetector
from calibration.frames import FrameSelector
from calibration.intrinsics import detect_images, run_intrinsics
from calibration.solve import SolveOptions
from rigidpose.geometry import Camera


def _max_distortion_gap(a: Camera, b: Camera) -> float:
    """Largest pixel difference between two lens models over a grid of the central 80 %."""
    u, v = np.meshgrid(np.linspace(64, 576, 17), np.linspace(48, 432, 13))
    rays = a.rays(np.stack([u.ravel(), v.ravel()], axis=1))
    return float(np.max(np.linalg.norm(a.project(rays) - b.project(rays), axis=1)))


def test_recovers_k_and_distortion_with_honest_std(chess_views, true_camera):
    folder, _ = chess_views
    spec = parse_board_spec("chessboard:9x6:0.03")
    run = detect_images(str(folder / "*.png"), spec)
    assert len(run.views) == 12 and not run.missed
    cal, cov = run_intrinsics(run, spec, SolveOptions())
    cam, std = cal.camera, cal.solution.std
    truth = {"fx": TRUE_K[0, 0], "fy": TRUE_K[1, 1], "cx": TRUE_K[0, 2], "cy": TRUE_K[1, 2]}
    for name, true in truth.items():
        est = getattr(cam, name)
        assert abs(est - true) < 0.005 * true, (name, est, true)
        # the reported std brackets the true error (3 sigma), and is not absurdly loose
        assert abs(est - true) < 3 * std[name], (name, est - true, std[name])
        assert std[name] < 0.003 * true
    assert abs(cam.dist[0] - TRUE_DIST[0]) < 0.01
    est_on_true_K = Camera(true_camera.K, 640, 480, "plumb_bob", cam.dist)
    assert _max_distortion_gap(true_camera, est_on_true_K) < 0.5
    assert cal.solution.rms < 0.15
    assert cal.cv is not None and cal.cv.k == 5 and cal.cv.heldout_rms < 2 * cal.solution.rms + 0.05
    assert cov.fraction > 0.3


def test_fix_aspect_and_zero_tangent_hold(chess_views):
    folder, _ = chess_views
    spec = parse_board_spec("chessboard:9x6:0.03")
    run = detect_images(str(folder / "*.png"), spec)
    cal, _ = run_intrinsics(run, spec, SolveOptions(fix_aspect=True, zero_tangent=True), folds=0)
    assert cal.camera.fx == pytest.approx(cal.camera.fy)
    assert cal.camera.dist[2] == 0.0 and cal.camera.dist[3] == 0.0
    assert "p1" not in cal.solution.std and cal.cv is None


def test_outlier_view_is_rejected(chess_views):
    folder, _ = chess_views
    spec = parse_board_spec("chessboard:9x6:0.03")
    run = detect_images(str(folder / "*.png"), spec)
    bad = run.views[3]
    rng = np.random.default_rng(0)
    bad.image_points = bad.image_points + rng.normal(0, 3.0, bad.image_points.shape)
    cal, _ = run_intrinsics(run, spec, SolveOptions(), folds=0)
    assert [name for name, _ in cal.rejected] == [bad.name]
    assert cal.camera.fx == pytest.approx(TRUE_K[0, 0], rel=0.005)


def test_cli_outputs_load_back(cli, chess_views, tmp_path):
    folder, _ = chess_views
    out = tmp_path / "camera.yaml"
    code, stdout, err = cli("calibrate", "intrinsics", "--images", folder / "*.png", "--board",
                            "chessboard:9x6:0.03", "--out", out, "--bop", tmp_path / "camera.json",
                            "--coverage", tmp_path / "cov.png", "--preview", tmp_path / "prev.jpg",
                            "--camera-name", "cell_cam", "--no-progress")
    assert code == 0, err
    for words in ("RMS reprojection error", "5-fold cross-validation", "coverage:", "fx =", "±"):
        assert words in stdout
    cam = Camera.from_ros_yaml(out)
    assert cam.fx == pytest.approx(TRUE_K[0, 0], rel=0.005) and cam.distortion_model == "plumb_bob"
    assert "camera_name: cell_cam" in out.read_text()
    bop = json.loads((tmp_path / "camera.json").read_text())
    assert bop["fx"] == pytest.approx(cam.fx) and (bop["width"], bop["height"]) == (640, 480)
    assert cv2.imread(str(tmp_path / "cov.png")) is not None
    prev = cv2.imread(str(tmp_path / "prev.jpg"))
    assert prev.shape[0] == 480 and prev.shape[1] > 1280


def test_video_keeps_frames_that_add_coverage(cli, true_camera, tmp_path):
    """A video that dwells on 5 poses (6 frames each) keeps about one frame per pose."""
    spec = parse_board_spec("chessboard:9x6:0.03")
    rng = np.random.default_rng(3)
    poses = varied_poses(spec, true_camera, 5, rng)
    path = tmp_path / "calib.avi"
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    assert vw.isOpened()
    for T in poses:
        frame = cv2.cvtColor(render_view(spec, true_camera, T, rng), cv2.COLOR_GRAY2BGR)
        for _ in range(6):
            vw.write(frame)
    vw.release()
    code, out, err = cli("calibrate", "intrinsics", "--video", path, "--every", "2", "--board",
                         "chessboard:9x6:0.03", "--out", tmp_path / "c.yaml", "--no-progress")
    assert code == 0, err
    assert "5 used" in out and "10 video frames skipped as near-duplicates" in out


def test_frame_selector_rejects_duplicates(true_camera):
    spec = parse_board_spec("chessboard:9x6:0.03")
    rng = np.random.default_rng(5)
    T = varied_poses(spec, true_camera, 1, rng)[0]
    det = BoardDetector(spec).detect(render_view(spec, true_camera, T, rng))
    sel = FrameSelector((640, 480))
    assert sel.offer(det) and not sel.offer(det)


@pytest.mark.slow
def test_fisheye_model_recovers_k(tmp_path):
    cam = Camera(np.array([[420.0, 0, 318.0], [0, 421.0, 243.0], [0, 0, 1]]), 640, 480, "equidistant",
                 [0.05, -0.02, 0.01, -0.004])
    spec = parse_board_spec("chessboard:9x6:0.03")
    rng = np.random.default_rng(11)
    det = BoardDetector(spec)
    views = []
    for i, T in enumerate(varied_poses(spec, cam, 10, rng, distance=(0.35, 0.6))):
        views.append(det.detect(render_view(spec, cam, T, rng), f"v{i}"))
    from calibration.solve import calibrate

    cal = calibrate([v for v in views if v is not None], (640, 480), SolveOptions("fisheye"), folds=0)
    est = cal.camera
    assert est.distortion_model == "equidistant"
    for name in ("fx", "fy", "cx", "cy"):
        assert getattr(est, name) == pytest.approx(getattr(cam, name), rel=0.005)
        assert abs(getattr(est, name) - getattr(cam, name)) < 3 * cal.solution.std[name]
