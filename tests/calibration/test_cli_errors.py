"""Bad input through the CLI: one clear line on stderr and exit code 1, never a traceback."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest
from _synth import render_view, varied_poses

from calibration.board import parse_board_spec


def _one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rigidpose calibrate: error:"), err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], (w, lines[0])


def _intrinsics(cli, images, board="chessboard:9x6:0.03", *extra):
    return cli("calibrate", "intrinsics", "--images", images, "--board", board, "--out", "/nonexistent/c.yaml",
               "--no-progress", *extra)


def test_empty_glob(cli, tmp_path):
    _one_line_error(*_intrinsics(cli, tmp_path / "*.jpg")[::2], "no files match")


def test_unreadable_image(cli, tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"this is not a JPEG")
    _one_line_error(*_intrinsics(cli, tmp_path / "*.jpg")[::2], "cannot read image", "broken.jpg")


def test_too_few_views_states_the_minimum(cli, chess_views, tmp_path):
    folder, _ = chess_views
    for name in ("view_00.png", "view_01.png"):
        shutil.copy(folder / name, tmp_path / name)
    cv2.imwrite(str(tmp_path / "blank.png"), np.full((480, 640), 200, np.uint8))
    _one_line_error(*_intrinsics(cli, tmp_path / "*.png")[::2], "found in 2 of 3 images", "at least 3")


def test_legacy_pattern_is_suggested(cli, true_camera, tmp_path):
    """A board with an even row count printed with the old pattern is found only with :legacy."""
    legacy = parse_board_spec("charuco:6x8:0.03:0.022:DICT_5X5_100:legacy")
    rng = np.random.default_rng(2)
    for i, T in enumerate(varied_poses(legacy, true_camera, 3, rng, distance=(0.5, 0.7), max_tilt=20)):
        cv2.imwrite(str(tmp_path / f"v{i}.png"), render_view(legacy, true_camera, T, rng))
    code, _, err = _intrinsics(cli, tmp_path / "*.png", "charuco:6x8:0.03:0.022:DICT_5X5_100")
    _one_line_error(code, err, "found in 0 of 3", "charuco:6x8:0.03:0.022:DICT_5X5_100:legacy")


@pytest.mark.parametrize("board", ["chessboard:9x6", "charuco:5x7:0.04:0.02:DICT_FOO", "checkers:9x6:0.02"])
def test_unparsable_board_spec(cli, tmp_path, board):
    _one_line_error(*_intrinsics(cli, tmp_path / "*.png", board)[::2], "board spec")


def test_fisheye_with_fix_aspect_is_refused(cli, chess_views):
    folder, _ = chess_views
    code, _, err = _intrinsics(cli, folder / "*.png", "chessboard:9x6:0.03", "--model", "fisheye", "--fix-aspect")
    _one_line_error(code, err, "fisheye")


def test_robot_pose_count_must_match_images(cli, chess_views, true_camera, tmp_path):
    folder, _ = chess_views
    true_camera.to_ros_yaml(tmp_path / "camera.yaml")
    (tmp_path / "poses.yaml").write_text("poses:\n" + "".join(
        f"  - {{xyz: [0.1, 0.0, {0.3 + i / 100}], quat: [0, 0, 0, 1]}}\n" for i in range(5)))
    code, _, err = cli("calibrate", "handeye", "--setup", "eye-in-hand", "--robot-poses", tmp_path / "poses.yaml",
                       "--images", folder / "*.png", "--camera", tmp_path / "camera.yaml",
                       "--board", "chessboard:9x6:0.03", "--out", tmp_path / "he.yaml", "--no-progress")
    _one_line_error(code, err, "5 robot poses", "12 images")


@pytest.mark.parametrize("text, words", [
    ("poses:\n  - {xyz: [0, 0, 0]}\n", "needs 'xyz' and 'quat'"),
    ("poses:\n  - {xyz: [0, 0, 0], quat: [0, 0, 0, 2]}\n", "not unit length"),
    ("poses:\n  - {xyz: [1000, 0, 0], quat: [0, 0, 0, 1]}\n", "not mm"),
    ("poses: [\n", "cannot parse"),
])
def test_bad_robot_poses(cli, chess_views, true_camera, tmp_path, text, words):
    folder, _ = chess_views
    true_camera.to_ros_yaml(tmp_path / "camera.yaml")
    (tmp_path / "poses.yaml").write_text(text)
    code, _, err = cli("calibrate", "handeye", "--setup", "eye-to-hand", "--robot-poses", tmp_path / "poses.yaml",
                       "--images", folder / "*.png", "--camera", tmp_path / "camera.yaml",
                       "--board", "chessboard:9x6:0.03", "--out", tmp_path / "he.yaml", "--no-progress")
    _one_line_error(code, err, words)
