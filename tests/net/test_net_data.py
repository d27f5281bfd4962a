"""Crops, augmentation and training samples from a tiny BOP dataset."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rigidpose.bop.dataset import BopDataset
from rigidpose.errors import DataError
from rigidpose.geometry import Camera, matrix_to_6d
from rigidpose.net.augment import AugmentConfig, augment, swap_background
from rigidpose.net.crops import ZoomIn, downsample_mask, warp_crop
from rigidpose.net.data import CropConfig, PoseCropDataset
from rigidpose.net.decode import crop_to_image
from rigidpose.net.pose_coding import decode_pose
from net_tiny_bop import CAMERA, KEYPOINTS, KP_COLOURS, write_tiny_bop


@pytest.fixture(scope="module")
def bop(tmp_path_factory) -> BopDataset:
    return BopDataset(write_tiny_bop(tmp_path_factory.mktemp("tiny_bop")))


def make(bop, augment_config=None, seed=0, size=96) -> PoseCropDataset:
    return PoseCropDataset(bop, ["train"], [1, 2], {1: KEYPOINTS, 2: KEYPOINTS},
                           CropConfig(input_size=size), augment_config, seed)


def denormalise(x: torch.Tensor) -> np.ndarray:
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    return np.clip((x.numpy().transpose(1, 2, 0) * std + mean) * 255, 0, 255)


def test_zoom_in_box():
    z = ZoomIn(pad=1.5)
    np.testing.assert_allclose(z.box([10, 20, 40, 20]), [0.0, 0.0, 60, 60], atol=1e-12)
    rng = np.random.default_rng(0)
    boxes = np.array([z.box([10, 20, 40, 20], rng) for _ in range(200)])
    assert np.all(boxes[:, 2] == boxes[:, 3]) and 45 <= boxes[:, 2].min() and boxes[:, 2].max() <= 75
    centres = boxes[:, :2] + (boxes[:, 2:] - 1) / 2
    assert np.abs(centres - [29.5, 29.5]).max(axis=0).tolist() <= [10.0, 5.0]


def test_warp_crop_matches_the_crop_camera():
    img = np.zeros((240, 320), np.uint8)
    img[100, 200] = 255
    box = [180.0, 80.0, 48.0, 48.0]
    crop, cam, A = warp_crop(img, CAMERA, box, 96, nearest=True)
    assert isinstance(cam, Camera) and cam.size == (96, 96)
    v, u = np.argwhere(crop == 255).mean(axis=0)
    # pixel (200, 100) maps to (2·(200 − 180) + 0.5, 2·(100 − 80) + 0.5): the 2x2 block around it
    assert (u, v) == pytest.approx((40.5, 40.5))
    np.testing.assert_allclose(crop_to_image([[u, v]], A), [[200.0, 100.0]], atol=1e-9)
    assert downsample_mask(np.ones((8, 8)), 4).shape == (2, 2)


def test_sample_targets_are_consistent(bop):
    ds = make(bop)
    assert len(ds) == 8  # 4 images × 2 objects
    for i in range(len(ds)):
        s = ds[i]
        ref = ds.refs[i]
        assert s["image"].shape == (3, 96, 96) and s["heatmap"].shape == (4, 24, 24)
        assert s["obj_index"].item() == ds.obj_ids.index(ref.obj_id)
        # the crop shows each keypoint's colour where its target says (non-canonicalised object 2)
        if ref.obj_id == 2:
            rgb = denormalise(s["image"])
            for uv, c in zip(s["kp_uv"].numpy(), KP_COLOURS):
                u, v = np.round(uv).astype(int)
                assert np.abs(rgb[v, u] - c).max() < 40
        # the direct-pose code decodes back to the GT pose
        T = bop.gt("train", ref.scene_id)[ref.im_id][ref.inst].pose
        cam = Camera(s["K"].numpy().astype(np.float64), 96, 96)
        from rigidpose.geometry import matrix_to_6d

        back = decode_pose(matrix_to_6d(s["rot"].numpy().astype(np.float64)), s["trans"].numpy(), cam,
                           ds.infos[ref.obj_id].diameter)
        assert back.angle_to(T) < 1e-5 and back.distance_to(T) < 1e-5 * T.t[2] + 1e-6
        assert 0.05 < s["mask"].mean() < 0.9 and s["kp_valid"].all()
        assert s["sym_rots"].shape[1:] == (3, 3)


def test_symmetric_object_gets_canonical_keypoints(bop):
    ds = make(bop)
    i = next(i for i, r in enumerate(ds.refs) if r.obj_id == 1)
    s = ds[i]
    ref = ds.refs[i]
    T = bop.gt("train", ref.scene_id)[ref.im_id][ref.inst].pose
    cam = Camera(s["K"].numpy().astype(np.float64), 96, 96)
    plain = cam.project(T.transform(KEYPOINTS))
    flipped = cam.project(T.transform(KEYPOINTS * [-1, -1, 1]))
    got = s["kp_uv"].numpy()
    assert min(np.abs(got - plain).max(), np.abs(got - flipped).max()) < 1e-3


def test_seeded_and_epoch_dependent(bop):
    aug = AugmentConfig()
    a, b = make(bop, aug, seed=3), make(bop, aug, seed=3)
    torch.testing.assert_close(a[1]["image"], b[1]["image"])
    a.set_epoch(1)
    assert not torch.equal(a[1]["image"], b[1]["image"])
    assert not torch.equal(make(bop, aug, seed=4)[1]["image"], b[1]["image"])


def test_batches_train_a_posenet_step(bop):
    from rigidpose.net.losses import posenet_loss
    from rigidpose.net.posenet import PoseNet, PoseNetConfig

    ds = make(bop, AugmentConfig())
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4, shuffle=False)))
    net = PoseNet(PoseNetConfig(num_keypoints=4, num_objects=2, width=0.25, input_size=96))
    losses = posenet_loss(net(batch["image"], batch["obj_index"]), batch)
    assert torch.isfinite(losses["total"])
    losses["total"].backward()


def test_dataset_errors(bop, tmp_path):
    with pytest.raises(DataError, match=r"no instances of object\(s\) \[5\]; it has \[1, 2\]"):
        PoseCropDataset(bop, ["train"], [1, 5], {1: KEYPOINTS, 5: KEYPOINTS})
    (tmp_path / "empty" / "train").mkdir(parents=True)
    with pytest.raises(DataError, match="no annotated images"):
        PoseCropDataset(BopDataset(tmp_path / "empty"), ["train"], [1], {1: KEYPOINTS})
    with pytest.raises(DataError, match="split 'val' not found"):
        PoseCropDataset(bop, ["val"], [1], {1: KEYPOINTS})
    with pytest.raises(DataError, match=r"coordinate targets come from the depth images, and .*depth.* does not exist"):
        PoseCropDataset(bop, ["train"], [1], {1: KEYPOINTS}, CropConfig(coords=True))  # the tiny set has no depth


def test_augment():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    mask = np.zeros((64, 64), bool)
    mask[16:48, 16:48] = True
    assert np.array_equal(augment(img, mask, AugmentConfig.none(), rng), img)
    swapped = swap_background(img, mask, np.zeros_like(img))
    assert np.array_equal(swapped[mask], img[mask]) and swapped[~mask].max() == 0
    out1 = augment(img, mask, AugmentConfig(), np.random.default_rng(7))
    out2 = augment(img, mask, AugmentConfig(), np.random.default_rng(7))
    assert out1.dtype == np.uint8 and out1.shape == img.shape and np.array_equal(out1, out2)
    bg_only = AugmentConfig(p_background=1.0, p_colour=0, p_blur=0, p_noise=0, p_erase=0)
    out = augment(img, mask, bg_only, rng, backgrounds=[np.full((10, 10, 3), 7, np.uint8)])
    assert np.all(out[~mask] == 7) and np.array_equal(out[mask], img[mask])


@pytest.mark.slow
def test_posenet_overfits_one_batch(bop):
    """Every head can learn: 150 AdamW steps on one batch of 8 crops drive all losses down."""
    from rigidpose.net.losses import posenet_loss
    from rigidpose.net.posenet import PoseNet, PoseNetConfig

    batch = next(iter(torch.utils.data.DataLoader(make(bop), batch_size=8)))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = PoseNet(PoseNetConfig(num_keypoints=4, num_objects=2, width=0.25, input_size=96))
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3)
    first = None
    for _ in range(150):
        losses = posenet_loss(net(batch["image"], batch["obj_index"]), batch)
        first = first or {k: v.item() for k, v in losses.items()}
        opt.zero_grad()
        losses["total"].backward()
        opt.step()
    last = {k: v.item() for k, v in losses.items()}
    assert last["total"] < 0.1 * first["total"]
    assert last["rotation"] < 0.25 * first["rotation"] and last["heatmap"] < 0.05 * first["heatmap"]
    assert last["translation"] < 0.6 * first["translation"]
