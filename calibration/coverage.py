"""Where in the image the calibration has data: a corner-density map and named empty regions.

Lens distortion is only constrained where corners were seen; a calibration whose corners
all sit in the centre extrapolates blindly to the edges, whatever its RMS says.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
_ROWS = ("top", "middle", "bottom")
_COLS = ("left", "centre", "right")


def region_name(row: int, col: int) -> str:
    """Name of cell (row, col) of the 3x3 split of the image, e.g. ``top-left``, ``centre``."""
    if row == 1 and col == 1:
        return "centre"
    if row == 1:
        return f"middle-{_COLS[col]}"
    return f"{_ROWS[row]}-{_COLS[col]}" if col != 1 else _ROWS[row]


@dataclass
class Coverage:
    """Corner counts over the image.

    Attributes:
        counts: (gh, gw) corners in each cell of a fine grid over the image.
        regions: (3, 3) corners in each third of the image (rows top→bottom, cols left→right).
        image_size: (W, H) in pixels.
    """

    counts: NDArray[np.int64]
    regions: NDArray[np.int64]
    image_size: tuple[int, int]

    @property
    def fraction(self) -> float:
        """Fraction of fine-grid cells that hold at least one corner."""
        return float(np.mean(self.counts > 0))

    def empty_regions(self) -> list[str]:
        """Names of the 3x3 regions with no corner at all."""
        return [region_name(r, c) for r in range(3) for c in range(3) if self.regions[r, c] == 0]

    def sparse_regions(self, fraction: float = 0.1) -> list[str]:
        """Names of non-empty regions holding under ``fraction`` of the mean region count."""
        mean = self.regions.mean()
        return [region_name(r, c) for r in range(3) for c in range(3)
                if 0 < self.regions[r, c] < fraction * mean]

    def summary(self) -> str:
        """One line for the report."""
        empty = self.empty_regions()
        sparse = self.sparse_regions()
        text = f"{100 * self.fraction:.0f}% of a {self.counts.shape[1]}x{self.counts.shape[0]} grid has corners"
        text += f"; empty regions: {', '.join(empty)}" if empty else "; no empty region"
        if sparse:
            text += f"; sparse: {', '.join(sparse)}"
        return text


def compute_coverage(points_uv: F64, image_size: tuple[int, int], cell_px: int = 40) -> Coverage:
    """Count the (N, 2) corner pixels of all views in cells of about ``cell_px`` pixels."""
    W, H = image_size
    gw, gh = max(3, int(round(W / cell_px))), max(3, int(round(H / cell_px)))
    uv = np.asarray(points_uv, np.float64).reshape(-1, 2)
    inside = (uv[:, 0] >= -0.5) & (uv[:, 0] < W - 0.5) & (uv[:, 1] >= -0.5) & (uv[:, 1] < H - 0.5)
    uv = uv[inside] + 0.5
    counts, _, _ = np.histogram2d(uv[:, 1], uv[:, 0], bins=(gh, gw), range=((0, H), (0, W)))
    regions, _, _ = np.histogram2d(uv[:, 1], uv[:, 0], bins=(3, 3), range=((0, H), (0, W)))
    return Coverage(counts.astype(np.int64), regions.astype(np.int64), (W, H))


def write_coverage_png(cov: Coverage, points_uv: F64, path: str | Path,
                       background: NDArray[np.uint8] | None = None) -> None:
    """Write a heatmap of corner density with the corners dotted and empty regions hatched.

    ``background`` is an optional HxW or HxWx3 RGB image shown faded underneath.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    W, H = cov.image_size
    fig, ax = plt.subplots(figsize=(8, 8 * H / W + 0.6), dpi=100)
    if background is not None:
        ax.imshow(background, cmap="gray", extent=(-0.5, W - 0.5, H - 0.5, -0.5), alpha=0.35)
    im = ax.imshow(np.ma.masked_equal(cov.counts, 0), cmap="viridis", alpha=0.6,
                   extent=(-0.5, W - 0.5, H - 0.5, -0.5), interpolation="nearest")
    uv = np.asarray(points_uv).reshape(-1, 2)
    ax.plot(uv[:, 0], uv[:, 1], "o", color="white", markeredgecolor="black", markersize=2.5, markeredgewidth=0.4)
    for r in range(3):
        for c in range(3):
            x0, y0 = c * W / 3 - 0.5, r * H / 3 - 0.5
            ax.add_patch(Rectangle((x0, y0), W / 3, H / 3, fill=False, edgecolor="gray", lw=0.8))
            if cov.regions[r, c] == 0:
                ax.add_patch(Rectangle((x0, y0), W / 3, H / 3, fill=False, hatch="//",
                                       edgecolor="red", lw=1.2))
                ax.text(x0 + W / 6, y0 + H / 6, f"empty\n{region_name(r, c)}", color="red",
                        ha="center", va="center", fontsize=9)
    ax.set_xlim(-0.5, W - 0.5)
    ax.set_ylim(H - 0.5, -0.5)
    ax.set_title(f"corner coverage: {cov.summary()}", fontsize=8, wrap=True)
    fig.colorbar(im, ax=ax, fraction=0.035, pad=0.02, label="corners per cell")
    fig.tight_layout()
    fig.savefig(str(path))
    plt.close(fig)
