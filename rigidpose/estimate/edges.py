"""How well a pose's edges lie on the image's edges: an oriented chamfer score.

A textureless part shows little in its colours and much in its edges: the outline, the
creases between faces and the rims of holes. Two poses with nearly the same silhouette (a
part seen from the front or from the back) differ in their inner edges, which the mask
cannot tell apart and the image can.

The score follows LINE-2D's response maps (Hinterstoisser et al., PAMI 2012). The image's
gradient orientations are quantised into :data:`BINS` bins over 180° (an edge's polarity
depends on the light, so it is ignored), each bin's strong pixels are spread over a
``spread_px`` neighbourhood, and each bin gets a response map: at every pixel, the best
``|cos|`` of the angle between that bin and an image orientation spread there. A pose's
edges are read off the ray-cast model: pixels where the silhouette ends or the surface
normal turns by more than ``crease_deg``, with the orientation of that change. The score is
the mean response over those pixels, in [0, 1]: 1 when every model edge has an image edge
of the same orientation within ``spread_px``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np
from numpy.typing import NDArray

from rigidpose.geometry import Camera, Pose

#: Orientation bins over [0, π).
BINS = 8

#: Fewer strong image pixels than this in a region: its edges are not used (:attr:`ImageEdges.informative`).
MIN_EDGE_PIXELS = 50

#: Sobel (3×3) response to a unit step: 4 (1 + 2 + 1 across the step).
_SOBEL_STEP = 4.0


def _response_table() -> NDArray[np.float32]:
    """(BINS, 256): the response of a model edge of bin b at a pixel whose spread image
    orientations are the bits of p: the best ``|cos|`` of the angle between b and one of them."""
    bins = np.arange(BINS)
    sim = np.abs(np.cos((bins[:, None] - bins[None, :]) * np.pi / BINS)).astype(np.float32)  # (b, o)
    present = (np.arange(256)[:, None] >> bins[None, :]) & 1  # (p, o)
    return np.max(sim[:, None, :] * present[None, :, :], axis=2).astype(np.float32)


_RESPONSE = _response_table()


@dataclass(frozen=True)
class EdgeConfig:
    """Settings of the edge score.

    Attributes:
        spread_px: an image edge counts within this many pixels of a model edge (image pixels).
        min_gradient: image gradients weaker than this (Sobel of 8-bit levels after a σ = 1
            blur; a step of ``min_gradient / 4`` levels) are not edges.
        crease_deg: the surface normal must turn by more than this for an inner model edge.
        max_points: model edge pixels scored at most (evenly subsampled).
    """

    spread_px: int = 2
    min_gradient: float = 40.0
    crease_deg: float = 30.0
    max_points: int = 2000

    def __post_init__(self) -> None:
        if self.spread_px < 0 or not self.min_gradient > 0 or not 0 < self.crease_deg < 180 or self.max_points < 1:
            raise ValueError(f"invalid edge settings {self}")


def orientation_bins(gx: NDArray, gy: NDArray) -> NDArray[np.intp]:
    """Orientation bin in [0, BINS) of gradients (gx, gy), polarity ignored."""
    angle = np.mod(np.arctan2(gy, gx), np.pi)
    return np.minimum((angle * (BINS / np.pi)).astype(np.intp), BINS - 1)


class ImageEdges:
    """Response maps of one region of an image.

    Args:
        rgb: (H, W, 3) uint8 image.
        box: (4,) x, y, w, h, the region to prepare (clipped to the image), pixels.
        config: the score's settings.
    """

    def __init__(self, rgb: NDArray[np.uint8], box, config: EdgeConfig = EdgeConfig()) -> None:
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"image must be HxWx3 uint8 RGB, got shape {rgb.shape} {rgb.dtype}")
        H, W = rgb.shape[:2]
        x, y, w, h = (float(v) for v in np.reshape(box, 4))
        self.x0, self.y0 = max(int(np.floor(x)), 0), max(int(np.floor(y)), 0)
        x1, y1 = min(int(np.ceil(x + w)), W), min(int(np.ceil(y + h)), H)
        self.config = config
        shape = (max(y1 - self.y0, 0), max(x1 - self.x0, 0))
        #: per pixel, a bit per orientation bin spread there (LINE-2D's packed orientations)
        self.spread = np.zeros(shape, np.uint8)
        self.edge_pixels = 0
        self._strong_sum = np.zeros((shape[0] + 1, shape[1] + 1), np.int32)  # integral image of the strong pixels
        if min(shape) < 3:
            return
        crop = cv2.GaussianBlur(rgb[self.y0 : y1, self.x0 : x1].astype(np.float32), (0, 0), 1.0)
        gx, gy = cv2.Sobel(crop, cv2.CV_32F, 1, 0), cv2.Sobel(crop, cv2.CV_32F, 0, 1)
        mag = gx**2 + gy**2
        best = np.argmax(mag, axis=2)[..., None]  # the colour channel with the strongest gradient (LINE-2D)
        gx, gy = np.take_along_axis(gx, best, 2)[..., 0], np.take_along_axis(gy, best, 2)[..., 0]
        strong = np.take_along_axis(mag, best, 2)[..., 0] > config.min_gradient**2
        self.edge_pixels = int(np.count_nonzero(strong))
        self._strong_sum = cv2.integral(strong.astype(np.uint8))
        bits = np.where(strong, np.left_shift(1, orientation_bins(gx, gy)), 0).astype(np.uint8)
        kernel = np.ones((2 * config.spread_px + 1,) * 2, np.uint8)
        for o in range(BINS):
            self.spread |= cv2.dilate(bits & np.uint8(1 << o), kernel)

    @property
    def informative(self) -> bool:
        """The region has edges to compare with (at least :data:`MIN_EDGE_PIXELS` strong pixels):
        a flat or black region says nothing about a pose, and every pose would score 0 there."""
        return self.edge_pixels >= MIN_EDGE_PIXELS

    def informative_in(self, box) -> bool:
        """:attr:`informative` for the part of this region inside ``box`` (4,) x, y, w, h image
        pixels: one image's edges, prepared once, serve every pose's own region."""
        x, y, w, h = (float(v) for v in np.reshape(box, 4))
        H, W = self.spread.shape
        c0, r0 = min(max(int(np.floor(x)) - self.x0, 0), W), min(max(int(np.floor(y)) - self.y0, 0), H)
        c1, r1 = min(max(int(np.ceil(x + w)) - self.x0, c0), W), min(max(int(np.ceil(y + h)) - self.y0, r0), H)
        s = self._strong_sum
        return int(s[r1, c1] - s[r0, c1] - s[r1, c0] + s[r0, c0]) >= MIN_EDGE_PIXELS

    def at(self, uv: NDArray, bins: NDArray) -> NDArray[np.float32]:
        """The responses (...) at pixels ``uv`` (..., 2) x, y image pixels of orientation
        ``bins`` (...); 0 outside the region."""
        q = np.rint(np.asarray(uv, np.float64)).astype(np.intp) - [self.x0, self.y0]
        h, w = self.spread.shape
        inside = (q[..., 0] >= 0) & (q[..., 1] >= 0) & (q[..., 0] < w) & (q[..., 1] < h)
        out = np.zeros(inside.shape, np.float32)
        out[inside] = _RESPONSE[np.broadcast_to(bins, inside.shape)[inside], self.spread[q[..., 1][inside], q[..., 0][inside]]]
        return out

    def score(self, uv: NDArray, bins: NDArray) -> float:
        """Mean response at model edge pixels ``uv`` (N, 2) x, y image pixels with orientation
        ``bins`` (N,); pixels outside the region score 0; 0.0 for no pixels."""
        return float(self.at(uv, bins).mean()) if len(uv) else 0.0


def edge_pixels(hit: NDArray[np.bool_], normals: NDArray, config: EdgeConfig = EdgeConfig()
                ) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """Edge pixels of a ray-cast image: rows ``v``, columns ``u`` and gradient orientations (rad).

    An edge is where the silhouette ``hit`` (h, w) ends or the normals (h, w, 3) turn by more
    than ``crease_deg``; its orientation is the dominant one of that change (the structure
    tensor of the silhouette and the three normal components).
    """
    feats = np.concatenate([hit[..., None].astype(np.float32), np.asarray(normals, np.float32)], axis=2)
    gx, gy = cv2.Sobel(feats, cv2.CV_32F, 1, 0), cv2.Sobel(feats, cv2.CV_32F, 0, 1)
    jxx, jyy, jxy = (gx * gx).sum(2), (gy * gy).sum(2), (gx * gy).sum(2)
    crease = (_SOBEL_STEP * 2.0 * np.sin(np.radians(config.crease_deg) / 2.0)) ** 2
    v, u = np.nonzero((jxx + jyy) > crease)
    # dominant gradient orientation: θ = atan2(2 Jxy, Jxx − Jyy) / 2
    return v, u, 0.5 * np.arctan2(2.0 * jxy[v, u], jxx[v, u] - jyy[v, u])


class ModelEdges(NamedTuple):
    """A pose's model edge pixels (:func:`model_edges`).

    Attributes:
        uv: (N, 2) x, y image pixels.
        bins: (N,) orientation bins in [0, :data:`BINS`).
        depth: (N,) the model's nearest depth within 2 pixels, metres (an outline pixel just
            outside the silhouette takes its neighbour's): what a depth image must not lie in
            front of for the edge to be seen (:func:`visible_edges`).
    """

    uv: NDArray[np.float64]
    bins: NDArray[np.intp]
    depth: NDArray[np.float64]


def model_edges(caster, pose: Pose, camera: Camera, roi: tuple[int, int, int, int],
                config: EdgeConfig = EdgeConfig(), scale: float = 1.0) -> ModelEdges:
    """The model's edge pixels at ``pose`` (``T_cam_obj``), from a ray-cast of ``roi``
    (x, y, w, h) with normals (:func:`edge_pixels`).

    ``camera`` and ``roi`` may be those of the image scaled by ``scale`` (a cheaper ray-cast);
    ``uv`` is in the full image's pixels all the same.
    """
    return rendered_edges(caster.render(pose, camera, roi, normals=True), config, scale)


def rendered_edges(img, config: EdgeConfig = EdgeConfig(), scale: float = 1.0) -> ModelEdges:
    """The model's edge pixels in a ray-cast image with normals (:class:`~rigidpose.objects.raycast.RaycastImage`),
    as :func:`model_edges`: ``uv`` in the full image's pixels when the image was cast at ``scale``."""
    rows, cols = np.nonzero(img.hit.any(axis=1))[0], np.nonzero(img.hit.any(axis=0))[0]
    if len(rows) == 0:
        return ModelEdges(np.zeros((0, 2)), np.zeros(0, np.intp), np.zeros(0))
    r0, c0 = max(rows[0] - 2, 0), max(cols[0] - 2, 0)  # the silhouette's box and a margin for the outline
    r1, c1 = rows[-1] + 3, cols[-1] + 3
    hit = img.hit[r0:r1, c0:c1]
    v, u, theta = edge_pixels(hit, img.normals[r0:r1, c0:c1], config)
    if len(u) > config.max_points:
        keep = np.linspace(0, len(u) - 1, config.max_points).astype(np.intp)
        v, u, theta = v[keep], u[keep], theta[keep]
    near = cv2.erode(np.where(hit, img.depth[r0:r1, c0:c1], np.inf).astype(np.float32), np.ones((5, 5), np.uint8))
    x0, y0 = img.roi[0] + c0, img.roi[1] + r0
    uv = np.stack([u + x0, v + y0], 1).astype(np.float64)
    if scale != 1.0:  # pixels of the scaled camera → the full image's (pixel-centre convention)
        uv = (uv + 0.5) / scale - 0.5
    return ModelEdges(uv, orientation_bins(np.cos(theta), np.sin(theta)), near[v, u].astype(np.float64))


def visible_edges(edges: ModelEdges, depth: NDArray, tolerance: float) -> NDArray[np.bool_]:
    """(N,) which model ``edges`` a depth image shows: False where the observed ``depth``
    (H, W, metres, 0 = invalid) lies more than ``tolerance`` metres in front of the model's,
    that is where something hides the edge (an invalid or outside pixel hides nothing)."""
    d = np.asarray(depth)
    q = np.rint(edges.uv).astype(np.intp)
    inside = (q[:, 0] >= 0) & (q[:, 1] >= 0) & (q[:, 0] < d.shape[1]) & (q[:, 1] < d.shape[0])
    observed = np.zeros(len(q))
    observed[inside] = d[q[inside, 1], q[inside, 0]]
    hidden = np.isfinite(observed) & (observed > 0) & (observed < edges.depth - tolerance)
    return ~hidden
