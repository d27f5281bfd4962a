"""Test doubles for the estimator: objects given in code, and a crop stage that answers
from the ground truth (with noise) instead of a network.

``GtCropStage`` stands in for PoseNet where the tiny test network is too weak to say
anything about the *logic* downstream (fusion, ICP, symmetric frames, tracking): it
returns what a perfect network with ``noise_px`` keypoint noise would, and for symmetric
objects it answers with a random symmetry-equivalent pose each time, like a network
trained with symmetry-aware losses.
"""

from __future__ import annotations

import cv2
import numpy as np
import trimesh

from rigidpose.estimate.crop_predict import CropOutput
from rigidpose.geometry import Camera, Pose, axis_angle_to_matrix
from rigidpose.net.card import CardObject
from rigidpose.net.crops import ZoomIn
from rigidpose.objects import ModelInfo, ObjectModel, Symmetries
from rigidpose.objects.parts import bracket
from rigidpose.objects.raycast import MeshRaycaster

CAM = Camera(np.array([[500.0, 0, 319.5], [0, 500.0, 239.5], [0, 0, 1]]), 640, 480)

#: The camera and three poses of the bracket that the silhouette and edge tests fit.
BRACKET_CAM = Camera(np.array([[600.0, 0, 320], [0, 600.0, 240], [0, 0, 1]]), 640, 480)
BRACKET_POSES = [Pose.from_rvec_tvec(r, t, "cam", "obj") for r, t in (
    ([2.2, 0.4, -0.3], [0.01, -0.02, 0.40]),
    ([0.3, -1.9, 0.8], [-0.03, 0.01, 0.45]),
    ([-1.2, 0.6, 2.4], [0.02, 0.03, 0.50]),
)]


def box_symmetries() -> Symmetries:
    """The three 180° turns of a box with three different side lengths."""
    T = [np.diag([1.0, -1, -1, 1]), np.diag([-1.0, 1, -1, 1]), np.diag([-1.0, -1, 1, 1])]
    return Symmetries(np.stack(T))


def make_objects() -> tuple[dict[int, CardObject], dict[int, ObjectModel]]:
    """Object 1: the asymmetric bracket; object 2: a 6 x 4 x 2 cm box (3 discrete symmetries)."""
    meshes = {1: ObjectModel(bracket(), obj_id=1, name="bracket", symmetries=Symmetries()),
              2: ObjectModel(trimesh.creation.box((0.06, 0.04, 0.02)), obj_id=2, name="box",
                             symmetries=box_symmetries())}
    cards = {}
    for o, m in meshes.items():
        info = ModelInfo(m.diameter, m.bbox_min, m.extents, m.symmetries)
        cards[o] = CardObject(o, m.name, m.keypoints(8), info)
    return cards, meshes


class GtCropStage:
    """Answers crop requests from the GT poses of the current frame (set ``self.gt``)."""

    def __init__(self, cards, meshes, rng: np.random.Generator, noise_px: float = 0.5, mask_size: int = 32,
                 turn: np.ndarray | None = None) -> None:
        """``turn``: an axis-angle (3,) rad applied to the answered pose (keypoints and direct head)
        but not to the mask: a network whose mask is right and whose orientation is wrong."""
        self.cards, self.rng, self.noise_px, self.s = cards, rng, noise_px, mask_size
        self.turn = None if turn is None else axis_angle_to_matrix(turn)
        self.casters = {o: MeshRaycaster(m.vertices, m.faces) for o, m in meshes.items()}
        self.gt: list[tuple[int, Pose]] = []
        self.calls = 0

    def _instance(self, req, camera) -> Pose | None:
        c = req.bbox[:2] + (req.bbox[2:] - 1) / 2
        best = [(np.linalg.norm(camera.project(T.t[None])[0] - c), T) for o, T in self.gt if o == req.obj_id]
        return min(best, key=lambda x: x[0])[1] if best else None

    def __call__(self, rgb, camera: Camera, requests):
        self.calls += 1
        out = []
        for r in requests:
            T = self._instance(r, camera)
            card = self.cards[r.obj_id]
            box = ZoomIn().box(r.bbox)
            if T is None:  # nothing of this object in the crop: flat heatmaps, no direct pose
                K = len(card.keypoints)
                out.append(CropOutput(r, np.zeros((K, 2)), np.zeros(K), None, np.full((self.s, self.s), -10.0), box))
                continue
            sym = card.info.symmetries.discrete
            if len(sym):  # a random equivalent, as a symmetric object's network answers
                S = [np.eye(4), *sym][self.rng.integers(len(sym) + 1)]
                T = Pose.from_matrix(T.as_matrix() @ S)
            img = self.casters[r.obj_id].render(T, camera, tuple(int(v) for v in box))
            if self.turn is not None:
                T = Pose(T.R @ self.turn, T.t, T.parent, T.child)
            uv = camera.project(T.transform(card.keypoints)) + self.rng.normal(0, self.noise_px, (len(card.keypoints), 2))
            full = np.zeros((camera.height, camera.width), np.float32)
            x, y, w, h = img.roi
            full[y : y + h, x : x + w] = img.hit
            crop = cv2.warpAffine(full, camera.crop_affine(box, (self.s, self.s)), (self.s, self.s))
            out.append(CropOutput(r, uv, np.full(len(uv), 0.9), T, np.where(crop > 0.5, 10.0, -10.0), box))
        return out


def render_depth(meshes, gt, camera: Camera = CAM) -> np.ndarray:
    """Depth (H, W) metres of the GT instances (nearest surface wins)."""
    depth = np.full((camera.height, camera.width), np.inf, np.float32)
    for o, T in gt:
        img = MeshRaycaster(meshes[o].vertices, meshes[o].faces).render(T, camera)
        d = np.where(img.hit, img.depth, np.inf)
        depth = np.minimum(depth, d)
    return np.where(np.isfinite(depth), depth, 0).astype(np.float32)


def gt_box(meshes, obj_id: int, T: Pose, camera: Camera = CAM) -> np.ndarray:
    uv = camera.project(T.transform(meshes[obj_id].vertices))
    lo, hi = uv.min(0), uv.max(0)
    return np.array([lo[0], lo[1], hi[0] - lo[0] + 1, hi[1] - lo[1] + 1])


def render_rgb(meshes, gt, rng: np.random.Generator, camera: Camera = CAM) -> np.ndarray:
    """(H, W, 3) uint8: the GT instances in orange, shaded by their normals, over a grey-blue
    gradient with darker rectangles (something for GrabCut to separate); nearest surface wins."""
    h, w = camera.height, camera.width
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([90 + 60 * xx / w, 100 + 40 * yy / h, 140 + 30 * xx / w], axis=-1)
    for _ in range(6):
        x0, y0 = rng.integers(0, w - 80), rng.integers(0, h - 80)
        rgb[y0 : y0 + rng.integers(30, 120), x0 : x0 + rng.integers(30, 120)] *= rng.uniform(0.5, 0.8)
    nearest = np.full((h, w), np.inf)
    for o, T in gt:
        img = MeshRaycaster(meshes[o].vertices, meshes[o].faces).render(T, camera)
        front = img.hit & (img.depth < nearest)
        shade = np.abs(img.normals[..., 2:3])
        rgb = np.where(front[..., None], np.array([230.0, 120.0, 30.0]) * (0.5 + 0.5 * shade), rgb)
        nearest = np.where(front, img.depth, nearest)
    return np.clip(rgb + rng.normal(0, 3, rgb.shape), 0, 255).astype(np.uint8)
