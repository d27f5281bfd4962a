"""Depth scenes for the depth-search tests: the bracket ray-cast at known poses, with a
table behind, a plate in front or a post beside it."""

from __future__ import annotations

import numpy as np

from rigidpose.geometry import Camera, Pose


def table_behind(camera: Camera, depth: np.ndarray, hit: np.ndarray, normal) -> np.ndarray:
    """``depth`` (H, W, metres) with a plane just behind the parts filling every other pixel.

    ``hit``: (H, W) bool, the parts' pixels; ``normal``: the plane's camera-frame normal,
    pointing away from the camera. The plane lies 2 mm behind the parts' farthest point
    along it."""
    n = np.asarray(normal, float) / np.linalg.norm(normal)
    v, u = np.nonzero(hit)
    pts = camera.backproject_pixels(np.stack([u, v], 1).astype(float), depth[v, u].astype(float))
    c = (pts @ n).max() + 0.002
    uu, vv = np.meshgrid(np.arange(camera.width, dtype=float), np.arange(camera.height, dtype=float))
    rays = np.linalg.inv(camera.K) @ np.stack([uu, vv, np.ones_like(uu)]).reshape(3, -1)  # z = 1: depth = ray length
    plane = (c / (n @ rays)).reshape(camera.height, camera.width)
    return np.where(hit, np.minimum(depth, plane), plane).astype(np.float32)


CAM = Camera(np.array([[600.0, 0, 320], [0, 600.0, 240], [0, 0, 1]]), 640, 480)
POSES = [Pose.from_rvec_tvec(r, t, "cam", "obj") for r, t in (
    ([2.2, 0.4, -0.3], [0.01, -0.02, 0.40]),
    ([0.3, -1.9, 0.8], [-0.03, 0.01, 0.45]),
    ([-1.2, 0.6, 2.4], [0.02, 0.03, 0.50]),
)]


class MeshArrays:
    """A mesh's vertices and faces, as the refiner takes them."""

    def __init__(self, m):
        self.vertices, self.faces = m.vertices, m.faces


def noisy_depth(caster, pose, rng, noise=0.0005):
    """The model's ray-cast depth (H, W, metres; 0 off it) at ``pose`` in :data:`CAM`, with
    Gaussian noise of ``noise`` metres on it, and its silhouette."""
    img = caster.render(pose, CAM)
    depth = img.depth.copy()
    depth[img.hit] += rng.normal(0, noise, int(img.hit.sum())).astype(np.float32)
    return depth, img.hit


def plate_in_front(caster, truth, diameter, rng, share=0.3):
    """Depth of the bracket at ``truth`` with a plate 0.3 d in front of the left ``share`` of its
    box (background 0 = invalid), and a mask that covers the bracket *and* the plate, as a
    crop net's mask covers an occluder; also the plate's and the visible bracket's masks."""
    depth, hit = noisy_depth(caster, truth, rng)
    rows, cols = np.nonzero(hit)
    plate = np.zeros_like(hit)
    plate[rows.min() : rows.max(), max(cols.min() - 40, 0) : int(cols.min() + share * (cols.max() - cols.min()))] = True
    depth = np.where(plate, truth.t[2] - 0.3 * diameter, np.where(hit, depth, 0.0)).astype(np.float32)
    return depth, hit | plate, plate, hit & ~plate


def post_beside(caster, truth, diameter, rng):
    """Depth of the bracket at ``truth`` and of a post beside it, 0.2 d nearer, both on a table;
    the post's mask, and a box shifted onto the post that holds a sliver of the bracket."""
    depth, hit = noisy_depth(caster, truth, rng)
    rows, cols = np.nonzero(hit)
    post = np.zeros_like(hit)
    post[rows.min() : rows.max(), cols.min() - 45 : cols.min() - 25] = True
    depth = np.where(post, depth[hit].min() - 0.2 * diameter, np.where(hit, depth, 0.0)).astype(np.float32)
    depth = table_behind(CAM, depth, hit | post, (0, 0.3, 1))
    box = np.array([cols.min() - 55, rows.min() - 5, 55 + 0.15 * (cols.max() - cols.min()), rows.max() - rows.min() + 10])
    return depth, post, box
