"""File I/O of the calibration: images, video frames, camera files and previews.

Images come in as HxWx3 uint8 RGB (BGR is converted at this boundary).
"""

from __future__ import annotations

import glob as _glob
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import yaml
from numpy.typing import NDArray

from rigidpose.errors import DataError, RigidposeError
from rigidpose.geometry import Camera

U8 = NDArray[np.uint8]


def expand_glob(pattern: str) -> list[Path]:
    """Files matching ``pattern`` (``**`` allowed), sorted by name. Raises if none match."""
    paths = sorted(Path(p) for p in _glob.glob(str(Path(pattern).expanduser()), recursive=True))
    paths = [p for p in paths if p.is_file()]
    if not paths:
        raise DataError(f"no files match {pattern!r} (quote the glob so the shell does not expand it)")
    return paths


def read_image(path: str | Path) -> U8:
    """Read an image file as HxWx3 uint8 RGB. Raises ``DataError`` if unreadable."""
    import cv2

    p = Path(path)
    if not p.is_file():
        raise DataError(f"image not found: {p}")
    img = cv2.imread(str(p), cv2.IMREAD_COLOR)
    if img is None:
        raise DataError(f"cannot read image {p}: not an image or corrupt")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def iter_video(path: str | Path, every: int = 1) -> Iterator[tuple[int, U8]]:
    """Yield ``(frame index, HxWx3 RGB)`` for every ``every``-th frame of a video file."""
    import cv2

    if every < 1:
        raise RigidposeError(f"--every must be at least 1, got {every}")
    p = Path(path)
    if not p.is_file():
        raise DataError(f"video not found: {p}")
    cap = cv2.VideoCapture(str(p))
    if not cap.isOpened():
        raise DataError(f"cannot open video {p}")
    try:
        i = 0
        while True:
            ok = cap.grab()
            if not ok:
                break
            if i % every == 0:
                ok, frame = cap.retrieve()
                if ok:
                    yield i, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            i += 1
    finally:
        cap.release()
    if i == 0:
        raise DataError(f"video {p} has no readable frames")


def video_frame_count(path: str | Path) -> int:
    """Frame count from the container header (0 if unknown); for progress bars only."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
    cap.release()
    return max(n, 0)


def write_camera_yaml(camera: Camera, path: str | Path, camera_name: str = "camera",
                      comment: str = "") -> None:
    """ROS ``camera_info`` YAML (readable by ``Camera.from_ros_yaml`` and camera_info_manager).

    ``comment`` lines are written first as YAML comments.
    """
    text = "".join(f"# {line}\n" for line in comment.splitlines())
    text += yaml.safe_dump(camera.to_ros_dict(camera_name), sort_keys=False, default_flow_style=None)
    Path(path).write_text(text, encoding="utf-8")


def write_bop_camera_json(camera: Camera, path: str | Path, depth_scale: float = 1.0) -> None:
    """BOP ``camera.json``: fx fy cx cy width height depth_scale (BOP ignores distortion)."""
    d = {"cx": camera.cx, "cy": camera.cy, "depth_scale": depth_scale, "fx": camera.fx,
         "fy": camera.fy, "height": camera.height, "width": camera.width}
    Path(path).write_text(json.dumps(d, indent=2) + "\n", encoding="utf-8")


def undistort_image(camera: Camera, rgb: U8) -> U8:
    """The image as the ideal pinhole camera with the same K would have seen it."""
    import cv2

    if camera.distortion_model == "equidistant":
        return cv2.fisheye.undistortImage(rgb, camera.K, camera.dist, Knew=camera.K)
    return cv2.undistort(rgb, camera.K, camera.dist)


def write_undistorted_preview(camera: Camera, rgb: U8, path: str | Path) -> None:
    """Side-by-side PNG/JPG: the original (left) and the undistorted image (right)."""
    import cv2

    camera.check_image(rgb)
    und = undistort_image(camera, rgb)
    both = np.concatenate([rgb, np.full((rgb.shape[0], 8, 3), 255, np.uint8), und], axis=1)
    for x, label in ((10, "original"), (rgb.shape[1] + 18, "undistorted")):
        cv2.putText(both, label, (x, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 4, cv2.LINE_AA)
        cv2.putText(both, label, (x, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 0), 2, cv2.LINE_AA)
    if not cv2.imwrite(str(path), cv2.cvtColor(both, cv2.COLOR_RGB2BGR)):
        raise DataError(f"cannot write {path} (unknown extension or unwritable folder)")
