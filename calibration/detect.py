"""Board corner detection in images.

Chessboards: OpenCV's classic detector refined by ``cornerSubPix`` (half-window 11, the
choice that reproduces OpenCV's reference calibrations, smaller for small squares), or ``findChessboardCornersSB``;
each one falls back to the other when it finds nothing. Detected chessboard corners are
put in a canonical order (the square outside the first corner is black), so that board
poses are consistent across views, as hand-eye calibration needs.

ChArUco: ``cv2.aruco.CharucoDetector`` plus ``CharucoBoard.matchImagePoints`` (OpenCV 4.7+).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from calibration.board import BoardSpec
from rigidpose.errors import RigidposeError

F64 = NDArray[np.float64]
CHESSBOARD_DETECTORS = ("classic", "sb")
#: Fewest corners a ChArUco view needs to be kept (a homography plus some redundancy).
MIN_CHARUCO_CORNERS = 6


@dataclass
class Detection:
    """The corners found in one image.

    Attributes:
        name: where the view came from (file name or ``video.mp4#frame``).
        image_points: (N, 2) float64 pixel positions (pixel-centre convention).
        object_points: (N, 3) float64 matching board-frame positions in metres.
        ids: (N,) int corner ids (index into ``BoardSpec.object_points()``).
    """

    name: str
    image_points: F64
    object_points: F64
    ids: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.image_points)


def to_gray(image: NDArray) -> NDArray[np.uint8]:
    """HxW or HxWx3 (RGB) uint8 → HxW uint8."""
    import cv2

    if image.ndim == 3:
        return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return image


class BoardDetector:
    """Detects one board in grayscale images. Build once, call :meth:`detect` per image."""

    def __init__(self, spec: BoardSpec, chessboard_detector: str = "classic") -> None:
        import cv2

        if chessboard_detector not in CHESSBOARD_DETECTORS:
            raise RigidposeError(
                f"unknown chessboard detector {chessboard_detector!r}; use one of {CHESSBOARD_DETECTORS}"
            )
        self.spec = spec
        self.chessboard_detector = chessboard_detector
        self._obj = spec.object_points()
        if spec.kind == "charuco":
            self._board = spec.cv_board()
            self._charuco = cv2.aruco.CharucoDetector(self._board)

    def detect(self, gray: NDArray[np.uint8], name: str = "") -> Detection | None:
        """Corners of the board in a (H, W) uint8 image, or ``None`` when not found."""
        if self.spec.kind == "chessboard":
            return self._detect_chessboard(to_gray(gray), name)
        return self._detect_charuco(to_gray(gray), name)

    # --- chessboard ---------------------------------------------------------------
    def _classic(self, gray: NDArray[np.uint8]) -> NDArray | None:
        import cv2

        size = (self.spec.cols, self.spec.rows)
        flags = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE
        ok, c = cv2.findChessboardCorners(gray, size, flags=flags)
        if not ok:
            return None
        crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 30, 0.01)
        return cv2.cornerSubPix(gray, c, (self._subpix_half_window(c),) * 2, (-1, -1), crit)

    def _subpix_half_window(self, corners: NDArray) -> int:
        """11 (OpenCV's usual 23x23 window) unless corners are closer than ~28 px: a window
        reaching a neighbouring corner pulls the refinement off, so cap it at 0.4 x spacing."""
        g = corners.reshape(self.spec.rows, self.spec.cols, 2)
        spacing = min(np.linalg.norm(np.diff(g, axis=0), axis=2).min(),
                      np.linalg.norm(np.diff(g, axis=1), axis=2).min())
        return int(np.clip(0.4 * spacing, 2, 11))

    def _sb(self, gray: NDArray[np.uint8]) -> NDArray | None:
        import cv2

        size = (self.spec.cols, self.spec.rows)
        flags = cv2.CALIB_CB_EXHAUSTIVE | cv2.CALIB_CB_ACCURACY
        ok, c = cv2.findChessboardCornersSB(gray, size, flags=flags)
        return c if ok else None

    def _detect_chessboard(self, gray: NDArray[np.uint8], name: str) -> Detection | None:
        first, second = (self._classic, self._sb)
        if self.chessboard_detector == "sb":
            first, second = second, first
        c = first(gray)
        if c is None:
            c = second(gray)
        if c is None:
            return None
        uv = canonical_chessboard_order(gray, c.reshape(-1, 2).astype(np.float64), self.spec)
        return Detection(name, uv, self._obj.copy(), np.arange(len(uv)))

    # --- ChArUco ------------------------------------------------------------------
    def _detect_charuco(self, gray: NDArray[np.uint8], name: str) -> Detection | None:
        corners, ids, _, _ = self._charuco.detectBoard(gray)
        if ids is None or len(ids) < MIN_CHARUCO_CORNERS:
            return None
        obj, img = self._board.matchImagePoints(corners, ids)
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        return Detection(name, np.asarray(img, np.float64).reshape(-1, 2),
                         np.asarray(obj, np.float64).reshape(-1, 3), ids)

    def count_markers(self, gray: NDArray[np.uint8]) -> int:
        """Number of ArUco markers seen (ChArUco only), to explain a failed detection."""
        if self.spec.kind != "charuco":
            return 0
        _, _, _, marker_ids = self._charuco.detectBoard(to_gray(gray))
        return 0 if marker_ids is None else len(marker_ids)


def canonical_chessboard_order(gray: NDArray[np.uint8], uv: F64, spec: BoardSpec) -> F64:
    """Reorder (N, 2) chessboard corners so the square outside corner 0 is black.

    OpenCV's detectors may start at either end of the grid (a 180-degree ambiguity).
    For boards with ``cols + rows`` odd this fixes one labelling; for symmetric boards
    the order is left as detected.
    """
    if spec.symmetric:
        return uv
    g = uv.reshape(spec.rows, spec.cols, 2)

    def outside_intensity(grid: F64) -> float:
        c0, cx, cy = grid[0, 0], grid[0, 1], grid[1, 0]
        p = c0 + 0.5 * ((c0 - cx) + (c0 - cy))
        x, y = int(round(p[0])), int(round(p[1]))
        h, w = gray.shape
        patch = gray[max(0, y - 1) : min(h, y + 2), max(0, x - 1) : min(w, x + 2)]
        return float(patch.mean()) if patch.size else np.nan

    flipped = g[::-1, ::-1]
    a, b = outside_intensity(g), outside_intensity(flipped)
    if np.isfinite(a) and np.isfinite(b) and b < a:
        return flipped.reshape(-1, 2).copy()
    return uv


def legacy_hint(spec: BoardSpec) -> str:
    """A suggestion to print when a ChArUco board is never found."""
    if spec.kind == "charuco" and spec.rows % 2 == 0 and not spec.legacy:
        return (f"; the board has an even number of rows ({spec.rows}): if it was printed with "
                f"OpenCV < 4.6, try the legacy pattern '{spec}:legacy'")
    return ""
