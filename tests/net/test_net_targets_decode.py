"""Heatmap targets ↔ decoding round trips, crop ↔ image mapping, detector decoding and NMS."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rigidpose.geometry import Camera, Pose, random_rotation
from rigidpose.net.decode import crop_to_image, decode_keypoints, image_to_crop
from rigidpose.geometry.boxes import box_iou
from rigidpose.net.detector import batched_nms, decode_detections, heatmap_peaks, nms
from rigidpose.net.targets import cell_to_pixel, detection_targets, gaussian_radius, keypoint_targets, pixel_to_cell

CAM = Camera(np.array([[600.0, 0, 319.5], [0, 600.0, 239.5], [0, 0, 1]]), 640, 480)


def logit(p: np.ndarray) -> torch.Tensor:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return torch.from_numpy(np.log(p / (1 - p))).float()


def fake_outputs(uv: np.ndarray, size: int, stride: int = 4):
    """Network outputs that match the targets exactly: logits of the Gaussians, offsets at the cells."""
    h = size // stride
    tg = keypoint_targets(uv, (h, h), stride)
    off = np.zeros((len(uv), 2, h * h), np.float32)
    off[np.arange(len(uv)), :, tg.index] = tg.offset
    return tg, logit(tg.heatmap)[None], torch.from_numpy(off.reshape(1, len(uv), 2, h, h))


def test_cell_pixel_maps_are_inverse(rng):
    uv = rng.uniform(-5, 200, size=(50, 2))
    np.testing.assert_allclose(cell_to_pixel(pixel_to_cell(uv, 4), 4), uv, atol=1e-12)
    # the centre of cell 0 at stride 4 is between input pixels 1 and 2
    assert pixel_to_cell([1.5, 1.5], 4).tolist() == [0.0, 0.0]


def test_keypoint_round_trip_subpixel(rng):
    uv = rng.uniform(0, 127, size=(9, 2))
    tg, hm, off = fake_outputs(uv, 128)
    assert tg.valid.all() and np.all(np.abs(tg.offset) <= 0.5)
    assert np.allclose(tg.heatmap.reshape(9, -1).max(1), 1.0)
    got, conf = decode_keypoints(hm, off, stride=4)
    assert np.abs(got[0].numpy() - uv).max() < 0.1
    assert np.abs(got[0].numpy() - uv).max() < 1e-4  # in fact exact to float32
    assert torch.all(conf > 0.99)


def test_keypoints_outside_the_crop_are_invalid():
    tg = keypoint_targets([[10.0, 10.0], [-20.0, 5.0], [5.0, 130.0], [np.nan, 3.0]], (32, 32), 4, visible=[1, 1, 1, 1])
    assert tg.valid.tolist() == [True, False, False, False]
    assert tg.heatmap[1:].max() == 0.0
    assert keypoint_targets([[10.0, 10.0]], (32, 32), visible=[False]).valid.tolist() == [False]


def test_image_crop_chain_round_trip(rng):
    """Project keypoints → crop pixels with crop_affine → targets → decode → image pixels (< 0.1 px)."""
    for _ in range(10):
        T = Pose(random_rotation(rng), [rng.uniform(-0.1, 0.1), rng.uniform(-0.1, 0.1), rng.uniform(0.5, 1.0)])
        kp_obj = rng.uniform(-0.05, 0.05, size=(9, 3))
        uv_img = CAM.project(T.transform(kp_obj))
        lo, hi = uv_img.min(0), uv_img.max(0)
        side = 1.4 * (hi - lo).max()
        bbox = [*(0.5 * (lo + hi) - side / 2), side, side]
        A = CAM.crop_affine(bbox, (128, 128))
        uv_crop = image_to_crop(uv_img, A)
        np.testing.assert_allclose(uv_crop, CAM.cropped(bbox, (128, 128)).project(T.transform(kp_obj)), atol=1e-9)
        _, hm, off = fake_outputs(uv_crop, 128)
        got, _ = decode_keypoints(hm, off)
        back = crop_to_image(got[0].numpy().astype(np.float64), A)
        assert np.abs(back - uv_img).max() < 0.1


def test_decode_keypoints_picks_the_argmax():
    hm = torch.full((1, 2, 8, 8), -10.0)
    hm[0, 0, 3, 5] = 4.0
    hm[0, 1, 7, 0] = 0.0
    off = torch.zeros(1, 2, 2, 8, 8)
    off[0, 0, :, 3, 5] = torch.tensor([0.25, -0.5])
    uv, conf = decode_keypoints(hm, off, stride=4)
    assert uv[0].tolist() == [[4 * 5.25 + 1.5, 4 * 2.5 + 1.5], [1.5, 4 * 7 + 1.5]]
    assert conf[0, 1].item() == pytest.approx(0.5)


def test_gaussian_radius_keeps_iou():
    for h, w in ((10.0, 20.0), (40.0, 40.0), (5.0, 60.0)):
        r = gaussian_radius(h, w, 0.7)
        assert r > 0
        # the three corner cases: shifted, shrunk, grown by r; each keeps IoU >= 0.7
        for other in ([r, r, w, h], [r, r, w - 2 * r, h - 2 * r], [-r, -r, w + 2 * r, h + 2 * r]):
            assert box_iou([0, 0, w, h], other)[0, 0] >= 0.7 - 1e-6
        # and one of them is tight
        tight = [box_iou([0, 0, w, h], o)[0, 0] for o in ([r, r, w, h], [r, r, w - 2 * r, h - 2 * r], [-r, -r, w + 2 * r, h + 2 * r])]
        assert min(tight) == pytest.approx(0.7, abs=1e-6)


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_detection_round_trip(scale):
    boxes_img = np.array([[100.0, 80.0, 120.0, 90.0], [400.0, 300.0, 60.0, 100.0], [110.0, 90.0, 100.0, 80.0]])
    classes = np.array([0, 2, 1])
    H, W = int(480 * scale), int(640 * scale)
    tg = detection_targets(boxes_img * scale, classes, 3, (H // 4, W // 4))
    assert tg.valid.sum() == 3
    size = np.zeros((2, H // 4 * W // 4), np.float32)
    off = np.zeros_like(size)
    size[:, tg.index[tg.valid]] = tg.size[tg.valid].T
    off[:, tg.index[tg.valid]] = tg.offset[tg.valid].T
    outputs = {
        "heatmap": logit(tg.heatmap)[None],
        "size": torch.from_numpy(size.reshape(1, 2, H // 4, W // 4)),
        "offset": torch.from_numpy(off.reshape(1, 2, H // 4, W // 4)),
    }
    dets = decode_detections(outputs, score_threshold=0.5, scale=scale)[0]
    assert sorted(d.class_index for d in dets) == [0, 1, 2]  # boxes 0 and 2 overlap but differ in class
    for d in dets:
        i = int(np.flatnonzero(classes == d.class_index)[0])
        np.testing.assert_allclose(d.bbox, boxes_img[i], atol=1e-3)
        assert d.score > 0.99


def test_heatmap_peaks_suppress_neighbours():
    heat = torch.zeros(1, 1, 6, 6)
    heat[0, 0, 2, 2], heat[0, 0, 2, 3], heat[0, 0, 5, 5] = 0.9, 0.8, 0.7
    scores, classes, cells = heatmap_peaks(heat, 3)
    assert scores[0].tolist()[:2] == pytest.approx([0.9, 0.7]) and scores[0, 2] == 0
    assert cells[0, :2].tolist() == [2 * 6 + 2, 5 * 6 + 5]


def test_nms_is_per_class():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10], [50, 50, 5, 5]], float)
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    assert nms(boxes, scores, 0.5).tolist() == [0, 3]
    assert batched_nms(boxes, scores, [0, 0, 1, 0], 0.5).tolist() == [0, 2, 3]
    assert batched_nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0), 0.5).tolist() == []
