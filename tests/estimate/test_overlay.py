"""Overlay drawing of estimates."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from rigidpose.estimate.overlay import PALETTE, OverlayDrawer, box_corners
from rigidpose.geometry import Camera, Pose, PoseEstimate
from rigidpose.objects.parts import bracket
from rigidpose.objects.raycast import MeshRaycaster

CAM = Camera(np.array([[600.0, 0, 320], [0, 600.0, 240], [0, 0, 1]]), 640, 480)


def _model():
    mesh = bracket()
    return SimpleNamespace(mesh=mesh, bbox_min=mesh.bounds[0], extents=mesh.extents,
                           diameter=float(np.linalg.norm(mesh.extents)), name="bracket")


def test_box_corners_span_the_box():
    c = box_corners(np.zeros(3), np.array([1.0, 2.0, 3.0]))
    assert c.shape == (8, 3) and np.allclose(c.min(0), 0) and np.allclose(c.max(0), [1, 2, 3])


def test_overlay_draws_the_contour_on_a_copy(tmp_path):
    model = _model()
    pose = Pose.from_rvec_tvec([2.0, 0.3, 0.2], [0.0, 0.0, 0.4], "cam", "obj")
    rgb = np.full((480, 640, 3), 40, np.uint8)
    est = PoseEstimate(obj_id=1, pose=pose, score=0.87, name="bracket")
    out = OverlayDrawer({1: model}).draw(rgb, CAM, [est])
    assert np.all(rgb == 40), "the input image must not be modified"
    colour = np.array(PALETTE[0])
    drawn = np.all(out == colour, axis=2)
    # The contour lies on the silhouette's boundary.
    sil = MeshRaycaster(model.mesh.vertices, model.mesh.faces).render(pose, CAM)
    x, y, w, h = sil.roi
    full = np.zeros((480, 640), bool)
    full[y : y + h, x : x + w] = sil.hit
    import cv2

    border = cv2.dilate(full.astype(np.uint8), np.ones((5, 5))) - cv2.erode(full.astype(np.uint8), np.ones((5, 5)))
    on_border = drawn & (border > 0)
    assert on_border.sum() > 200
    assert drawn[border == 0].sum() < 0.5 * drawn.sum() + 1  # the rest is the 3D box and the label
    cv2.imwrite(str(tmp_path / "overlay.png"), out[:, :, ::-1])


def test_unknown_objects_and_poses_behind_the_camera_are_skipped():
    model = _model()
    rgb = np.zeros((480, 640, 3), np.uint8)
    behind = PoseEstimate(obj_id=1, pose=Pose(np.eye(3), [0, 0, -1.0]), score=0.5)
    unknown = PoseEstimate(obj_id=9, pose=Pose(np.eye(3), [0, 0, 1.0]), score=0.5)
    out = OverlayDrawer({1: model}).draw(rgb, CAM, [behind, unknown])
    assert out.shape == rgb.shape
