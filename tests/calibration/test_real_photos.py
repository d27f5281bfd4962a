"""The reference calibrations of OpenCV's sample photos (../shared/data/calibration)."""

from __future__ import annotations

import pytest

from rigidpose.geometry import Camera


def test_opencv_left_chessboard(cli, shared_data, tmp_path):
    d = shared_data / "calibration" / "opencv_chessboard"
    out = tmp_path / "left.yaml"
    code, stdout, err = cli("calibrate", "intrinsics", "--images", d / "left*.jpg", "--board",
                            "chessboard:9x6:0.025", "--fix-aspect", "--out", out, "--no-progress")
    assert code == 0, err
    cam = Camera.from_ros_yaml(out)
    rms = float(stdout.split("RMS reprojection error: ")[1].split()[0])
    assert cam.fx == pytest.approx(535.92, rel=0.005) and cam.fy == cam.fx
    assert rms <= 0.42
    assert "13 used" in stdout  # every view is good once the corners are refined properly


def test_opencv_charuco(cli, shared_data, tmp_path):
    d = shared_data / "calibration" / "opencv_charuco"
    out = tmp_path / "charuco.yaml"
    code, stdout, err = cli("calibrate", "intrinsics", "--images", d / "img_0*.jpg", "--board",
                            "charuco:5x7:0.04:0.02:DICT_6X6_250:legacy", "--out", out, "--no-progress")
    assert code == 0, err
    cam = Camera.from_ros_yaml(out)
    rms = float(stdout.split("RMS reprojection error: ")[1].split()[0])
    assert rms <= 0.25
    assert cam.fx == pytest.approx(452.5, rel=0.02)
    assert "4-fold cross-validation" in stdout
