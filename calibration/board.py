"""Calibration boards: spec strings, 3D corner positions and printable renderings.

Spec strings (all lengths in metres):

- ``chessboard:COLSxROWS:SQUARE_M``: a chessboard with COLS x ROWS **inner corners**
  (OpenCV's ``patternSize``), so (COLS+1) x (ROWS+1) squares. Example ``chessboard:9x6:0.025``.
- ``charuco:COLSxROWS:SQUARE_M:MARKER_M:DICT[:legacy]``: a ChArUco board with COLS x ROWS
  **squares** (OpenCV's ``CharucoBoard`` size), markers of side MARKER_M from the ArUco
  dictionary DICT (e.g. ``DICT_6X6_250``). ``legacy`` selects the pattern that OpenCV
  used before 4.6 (it differs only for an even number of rows).

Board frame: origin at the first inner corner (chessboard) or at the outer top-left
corner (ChArUco), x along the columns, y along the rows (down on the printout), z into the
board. The top-left square of a printed chessboard is black.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from rigidpose.errors import RigidposeError

F64 = NDArray[np.float64]
M_PER_INCH = 0.0254

_SPEC_HELP = (
    "expected 'chessboard:COLSxROWS:SQUARE_M' or "
    "'charuco:COLSxROWS:SQUARE_M:MARKER_M:DICT[:legacy]', e.g. 'chessboard:9x6:0.025'"
)


@dataclass(frozen=True)
class BoardSpec:
    """A parsed board spec.

    Attributes:
        kind: ``chessboard`` or ``charuco``.
        cols, rows: inner corners (chessboard) or squares (ChArUco).
        square: square side in metres.
        marker: marker side in metres (ChArUco only, else 0).
        dictionary: ArUco dictionary name, e.g. ``DICT_6X6_250`` (ChArUco only).
        legacy: use OpenCV's pre-4.6 ChArUco pattern.
    """

    kind: str
    cols: int
    rows: int
    square: float
    marker: float = 0.0
    dictionary: str = ""
    legacy: bool = False

    @property
    def squares(self) -> tuple[int, int]:
        """Number of squares (cols, rows) on the printed board."""
        if self.kind == "chessboard":
            return self.cols + 1, self.rows + 1
        return self.cols, self.rows

    @property
    def size_m(self) -> tuple[float, float]:
        """Printed board size (width, height) in metres, without margins."""
        sc, sr = self.squares
        return sc * self.square, sr * self.square

    @property
    def n_corners(self) -> int:
        """Number of corners a complete detection has."""
        if self.kind == "chessboard":
            return self.cols * self.rows
        return (self.cols - 1) * (self.rows - 1)

    @property
    def symmetric(self) -> bool:
        """True if a 180-degree rotation maps the board onto itself (its pose is ambiguous)."""
        return self.kind == "chessboard" and (self.cols + self.rows) % 2 == 0

    def __str__(self) -> str:
        base = f"{self.kind}:{self.cols}x{self.rows}:{self.square:g}"
        if self.kind == "chessboard":
            return base
        return f"{base}:{self.marker:g}:{self.dictionary}" + (":legacy" if self.legacy else "")

    def object_points(self) -> F64:
        """(N, 3) corner positions in the board frame, metres, in OpenCV's corner order."""
        if self.kind == "chessboard":
            g = np.mgrid[0 : self.cols, 0 : self.rows].T.reshape(-1, 2)
            return np.hstack([g * self.square, np.zeros((len(g), 1))])
        return np.asarray(self.cv_board().getChessboardCorners(), dtype=np.float64).reshape(-1, 3)

    def cv_board(self):
        """The ``cv2.aruco.CharucoBoard`` of a ChArUco spec."""
        import cv2

        if self.kind != "charuco":
            raise RigidposeError(f"{self} is not a ChArUco board")
        d = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))
        board = cv2.aruco.CharucoBoard((self.cols, self.rows), self.square, self.marker, d)
        board.setLegacyPattern(self.legacy)
        return board


def _positive(text: str, what: str, spec: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise RigidposeError(f"board spec {spec!r}: {what} {text!r} is not a number; {_SPEC_HELP}") from None
    if not np.isfinite(v) or v <= 0:
        raise RigidposeError(f"board spec {spec!r}: {what} must be positive, got {text}")
    if v > 1.0:
        raise RigidposeError(f"board spec {spec!r}: {what} {v:g} m is over 1 m; sizes are in metres (0.025 = 25 mm)")
    return v


def parse_board_spec(spec: str) -> BoardSpec:
    """Parse a board spec string (see the module docstring). Raises ``RigidposeError``."""
    parts = [p.strip() for p in str(spec).split(":")]
    kind = parts[0].lower()
    if kind not in ("chessboard", "charuco"):
        raise RigidposeError(f"board spec {spec!r}: unknown board type {parts[0]!r}; {_SPEC_HELP}")
    want = (3,) if kind == "chessboard" else (5, 6)
    if len(parts) not in want:
        raise RigidposeError(f"board spec {spec!r} has {len(parts)} fields; {_SPEC_HELP}")
    m = re.fullmatch(r"(\d+)[xX](\d+)", parts[1])
    if not m:
        raise RigidposeError(f"board spec {spec!r}: size {parts[1]!r} is not COLSxROWS; {_SPEC_HELP}")
    cols, rows = int(m.group(1)), int(m.group(2))
    least = 2 if kind == "chessboard" else 3
    if cols < least or rows < least:
        raise RigidposeError(f"board spec {spec!r}: need at least {least}x{least}, got {cols}x{rows}")
    square = _positive(parts[2], "square size", spec)
    if kind == "chessboard":
        return BoardSpec(kind, cols, rows, square)
    marker = _positive(parts[3], "marker size", spec)
    if marker >= square:
        raise RigidposeError(f"board spec {spec!r}: marker {marker:g} m must be smaller than the square {square:g} m")
    import cv2

    name = parts[4].upper()
    if not name.startswith("DICT_") or not hasattr(cv2.aruco, name):
        raise RigidposeError(f"board spec {spec!r}: unknown ArUco dictionary {parts[4]!r} (e.g. DICT_6X6_250)")
    legacy = False
    if len(parts) == 6:
        if parts[5].lower() != "legacy":
            raise RigidposeError(f"board spec {spec!r}: last field must be 'legacy', got {parts[5]!r}")
        legacy = True
    n_markers = (cols * rows) // 2
    dict_size = int(re.search(r"_(\d+)$", name).group(1)) if re.search(r"_(\d+)$", name) else 10**9
    if n_markers > dict_size:
        raise RigidposeError(f"board spec {spec!r}: needs {n_markers} markers but {name} has {dict_size}")
    return BoardSpec(kind, cols, rows, square, marker, name, legacy)


# --- rendering ----------------------------------------------------------------------
def render_board(spec: BoardSpec, px_per_m: float) -> NDArray[np.uint8]:
    """Render the board without margin: (H, W) uint8, 0 black, 255 white.

    ``px_per_m`` sets the scale; W = round(width_m * px_per_m). Chessboard squares are
    rasterised exactly by pixel centre; ChArUco goes through ``CharucoBoard.generateImage``.
    """
    w_m, h_m = spec.size_m
    W, H = int(round(w_m * px_per_m)), int(round(h_m * px_per_m))
    if W < 2 * spec.squares[0] or H < 2 * spec.squares[1]:
        raise RigidposeError(f"resolution too low to render {spec}: {W}x{H} px")
    if spec.kind == "charuco":
        return spec.cv_board().generateImage((W, H), marginSize=0, borderBits=1)
    x = (np.arange(W) + 0.5) / px_per_m // spec.square
    y = (np.arange(H) + 0.5) / px_per_m // spec.square
    white = (x[None, :] + y[:, None]) % 2 == 1
    return np.where(white, 255, 0).astype(np.uint8)


def write_png(spec: BoardSpec, path: str | Path, dpi: float, margin_m: float = 0.01) -> tuple[int, int]:
    """Write the board as a PNG at ``dpi`` with a white margin of ``margin_m`` metres.

    The DPI is stored in the file (pHYs), so printing at "actual size" gives the exact
    physical size. Returns the image size (W, H) in pixels.
    """
    from PIL import Image

    if not dpi > 0:
        raise RigidposeError(f"DPI must be positive, got {dpi}")
    px_per_m = dpi / M_PER_INCH
    img = render_board(spec, px_per_m)
    w_m, h_m = spec.size_m
    W, H = (int(round((v + 2 * margin_m) * px_per_m)) for v in (w_m, h_m))
    left, top = int(round(margin_m * px_per_m)), int(round(margin_m * px_per_m))
    pads = ((top, max(0, H - img.shape[0] - top)), (left, max(0, W - img.shape[1] - left)))
    img = np.pad(img, pads, constant_values=255)
    Image.fromarray(img).save(str(path), dpi=(dpi, dpi))
    return img.shape[1], img.shape[0]


def black_squares(spec: BoardSpec) -> list[tuple[int, int]]:
    """(col, row) of the black squares. On a ChArUco board these are the squares without a marker."""
    sc, sr = spec.squares
    if spec.kind == "chessboard":
        return [(i, j) for j in range(sr) for i in range(sc) if (i + j) % 2 == 0]
    centres = np.asarray(spec.cv_board().getObjPoints(), np.float64).mean(axis=1)[:, :2]
    with_marker = {tuple(v) for v in np.floor(centres / spec.square).astype(int).tolist()}
    return [(i, j) for j in range(sr) for i in range(sc) if (i, j) not in with_marker]


def board_figure(spec: BoardSpec, margin_m: float = 0.01):
    """A matplotlib figure whose page is the board plus margins, in inches at exact size.

    Squares are vector rectangles; each ArUco marker is its bit image (one pixel per bit)
    placed at its exact extent, so the output is sharp at any resolution. A caption under
    the board gives the spec and a reminder to print at 100 %.
    """
    import matplotlib

    matplotlib.use("Agg")
    import cv2
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    w_m, h_m = spec.size_m
    caption_m = 0.008
    page_w, page_h = w_m + 2 * margin_m, h_m + 2 * margin_m + caption_m
    fig = plt.figure(figsize=(page_w / M_PER_INCH, page_h / M_PER_INCH))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0.0, page_w)
    ax.set_ylim(page_h, 0.0)  # y down, like the board frame
    ax.set_axis_off()
    x0, y0 = margin_m, margin_m
    for i, j in black_squares(spec):
        ax.add_patch(Rectangle((x0 + i * spec.square, y0 + j * spec.square), spec.square, spec.square,
                               facecolor="black", edgecolor="none", antialiased=False))
    if spec.kind == "charuco":
        board = spec.cv_board()
        d = board.getDictionary()
        bits = d.markerSize + 2
        for mid, corners in zip(np.ravel(board.getIds()), board.getObjPoints()):
            (mx, my) = np.asarray(corners)[0, :2]
            img = cv2.aruco.generateImageMarker(d, int(mid), bits, borderBits=1)
            ax.imshow(img, cmap="gray", vmin=0, vmax=255, interpolation="nearest",
                      extent=(x0 + mx, x0 + mx + spec.marker, y0 + my + spec.marker, y0 + my))
    ax.set_xlim(0.0, page_w)
    ax.set_ylim(page_h, 0.0)
    ax.text(x0, y0 + h_m + 0.6 * caption_m,
            f"{spec}   board {w_m * 1000:.1f} x {h_m * 1000:.1f} mm, square {spec.square * 1000:g} mm"
            "   print at 100 % (actual size) and measure a square", fontsize=6, va="center")
    return fig


def write_pdf(spec: BoardSpec, path: str | Path, margin_m: float = 0.01) -> tuple[float, float]:
    """Write :func:`board_figure` as a one-page PDF at exact physical size.

    Returns the page size (width, height) in metres.
    """
    import matplotlib.pyplot as plt

    fig = board_figure(spec, margin_m)
    w_in, h_in = fig.get_size_inches()
    fig.savefig(str(path), format="pdf")
    plt.close(fig)
    return w_in * M_PER_INCH, h_in * M_PER_INCH
