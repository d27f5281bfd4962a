"""Board specs, printable PNG/PDF at exact size, and detection of what we print."""

from __future__ import annotations

import re

import cv2
import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from calibration.board import board_figure, parse_board_spec
from calibration.detect import BoardDetector
from rigidpose.errors import RigidposeError


@pytest.mark.parametrize("text", ["chessboard:9x6:0.025", "charuco:5x7:0.04:0.02:DICT_6X6_250",
                                  "charuco:6x8:0.03:0.022:DICT_5X5_100:legacy"])
def test_spec_round_trips(text):
    spec = parse_board_spec(text)
    assert str(spec) == text
    assert parse_board_spec(str(spec)) == spec


def test_spec_fields():
    s = parse_board_spec("chessboard:9x6:0.025")
    assert (s.cols, s.rows, s.squares, s.n_corners) == (9, 6, (10, 7), 54)
    assert s.size_m == pytest.approx((0.25, 0.175))
    assert not s.symmetric and parse_board_spec("chessboard:8x6:0.02").symmetric
    c = parse_board_spec("charuco:5x7:0.04:0.02:DICT_6X6_250")
    assert (c.squares, c.n_corners, c.object_points().shape) == ((5, 7), 24, (24, 3))


@pytest.mark.parametrize("text, words", [
    ("chess:9x6:0.025", "unknown board type"),
    ("chessboard:9by6:0.025", "not COLSxROWS"),
    ("chessboard:9x6", "fields"),
    ("chessboard:9x6:25", "metres"),
    ("chessboard:9x6:abc", "not a number"),
    ("charuco:5x7:0.04:0.05:DICT_6X6_250", "smaller than the square"),
    ("charuco:5x7:0.04:0.02:DICT_NOPE", "unknown ArUco dictionary"),
    ("charuco:5x7:0.04:0.02:DICT_6X6_250:old", "must be 'legacy'"),
    ("charuco:20x20:0.04:0.02:DICT_4X4_50", "markers"),
])
def test_bad_specs_say_why(text, words):
    with pytest.raises(RigidposeError, match=words) as e:
        parse_board_spec(text)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("text", ["chessboard:9x6:0.025", "charuco:5x7:0.04:0.02:DICT_6X6_250",
                                  "charuco:6x8:0.03:0.022:DICT_5X5_100:legacy"])
def test_printed_figure_is_detected_at_true_scale(text, tmp_path):
    """Rasterise the PDF's figure at 100 dpi: every corner is found, spaced by the square size."""
    spec = parse_board_spec(text)
    fig = board_figure(spec, margin_m=0.01)
    fig.savefig(tmp_path / "b.png", dpi=100)
    plt.close(fig)
    det = BoardDetector(spec).detect(cv2.imread(str(tmp_path / "b.png"), cv2.IMREAD_GRAYSCALE))
    assert det is not None and len(det) == spec.n_corners
    px_per_m = 100 / 0.0254
    # the board-frame → pixel map is a pure scale + offset
    A, *_ = np.linalg.lstsq(np.c_[det.object_points[:, :2], np.ones(len(det))], det.image_points, rcond=None)
    assert A[0, 0] == pytest.approx(px_per_m, rel=0.01) and A[1, 1] == pytest.approx(px_per_m, rel=0.01)
    assert abs(A[0, 1]) < 0.01 * px_per_m and abs(A[1, 0]) < 0.01 * px_per_m


def test_board_command_writes_exact_size(cli, tmp_path):
    png, pdf = tmp_path / "b.png", tmp_path / "b.pdf"
    code, out, err = cli("calibrate", "board", "--board", "chessboard:9x6:0.025", "--png", png,
                         "--pdf", pdf, "--dpi", "200", "--margin-mm", "10")
    assert code == 0, err
    assert "spec: chessboard:9x6:0.025" in out
    im = Image.open(png)
    assert im.info["dpi"] == pytest.approx((200, 200), abs=0.01)
    # 250 x 175 mm board + 2 x 10 mm margins at 200 dpi
    assert im.size == (round(0.27 / 0.0254 * 200), round(0.195 / 0.0254 * 200))
    box = re.search(rb"/MediaBox \[ *0 0 ([\d.]+) ([\d.]+) *\]", pdf.read_bytes())
    w_mm, h_mm = (float(v) / 72 * 25.4 for v in box.groups())
    assert w_mm == pytest.approx(270.0, abs=0.01) and h_mm == pytest.approx(203.0, abs=0.01)


def test_board_command_needs_an_output(cli):
    code, _, err = cli("calibrate", "board", "--board", "chessboard:9x6:0.025")
    assert code == 1 and "--png" in err and err.count("\n") == 1
