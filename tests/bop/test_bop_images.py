"""RGB / depth / mask round trips through OpenCV, and the errors for bad image files."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from rigidpose.bop import read_depth, read_mask, read_rgb, write_depth, write_mask, write_rgb
from rigidpose.errors import DataError
from rigidpose.geometry import Camera

CAM = Camera.from_fov(32, 24, 60.0)


def test_rgb_png_round_trip_is_rgb_not_bgr(tmp_path, rng):
    img = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    img[0, 0] = [255, 0, 0]  # pure red
    p = tmp_path / "000000.png"
    write_rgb(p, img)
    np.testing.assert_array_equal(read_rgb(p, CAM), img)
    assert tuple(cv2.imread(str(p))[0, 0]) == (0, 0, 255)  # BGR on disk


def test_rgb_jpg_round_trip_close(tmp_path):
    img = np.full((24, 32, 3), (200, 100, 50), np.uint8)
    p = tmp_path / "000000.jpg"
    write_rgb(p, img, quality=100)
    assert np.abs(read_rgb(p).astype(int) - img).max() <= 3


def test_depth_round_trip_metres_and_mm_on_disk(tmp_path, rng):
    depth = rng.uniform(0.3, 2.0, (24, 32)).astype(np.float32)
    depth[0, :5] = 0.0
    depth[1, 0] = np.inf  # a ray that hit nothing: written as invalid
    p = tmp_path / "d.png"
    write_depth(p, depth, 0.1)
    raw = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16
    assert raw[5, 5] == round(float(depth[5, 5]) * 1000 / 0.1)  # units of 0.1 mm
    back = read_depth(p, 0.1, CAM)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back[2:], depth[2:], atol=0.05e-3 + 1e-6)
    assert back[1, 0] == 0 and np.all(back[0, :5] == 0)


def test_depth_errors(tmp_path):
    p = tmp_path / "d.png"
    with pytest.raises(DataError, match="does not fit"):
        write_depth(p, np.full((4, 4), 10.0), 0.1)  # 100000 units > 65535
    with pytest.raises(DataError, match="negative"):
        write_depth(p, -np.ones((4, 4)), 1.0)
    assert not p.exists()


def test_mask_round_trip(tmp_path, rng):
    m = rng.random((24, 32)) > 0.5
    p = tmp_path / "m.png"
    write_mask(p, m)
    np.testing.assert_array_equal(read_mask(p, CAM), m)


def test_missing_corrupt_and_mismatched_images(tmp_path):
    with pytest.raises(DataError, match="image not found"):
        read_rgb(tmp_path / "none.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DataError, match="cannot decode"):
        read_rgb(bad)
    small = tmp_path / "small.png"
    write_depth(small, np.ones((10, 12)), 1.0)
    with pytest.raises(DataError, match="image is 12x10 but the camera is 32x24"):
        read_depth(small, 1.0, CAM)
    with pytest.raises(DataError, match=".png or .jpg"):
        write_rgb(tmp_path / "x.bmp", np.zeros((2, 2, 3), np.uint8))
