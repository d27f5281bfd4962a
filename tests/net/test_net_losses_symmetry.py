"""Losses, symmetry canonicalisation, and the loss floor that symmetry-aware training removes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rigidpose.geometry import Camera, Pose, axis_angle_to_matrix, random_rotation, rotation_angle_between
from rigidpose.net.losses import (
    detection_loss,
    focal_heatmap_loss,
    mask_bce_loss,
    mask_dice_loss,
    mask_loss,
    mse_heatmap_loss,
    offset_l1_loss,
    symmetric_rotation_loss,
)
from rigidpose.net.rotations import angle_between, matrix_to_6d, sixd_to_matrix
from rigidpose.net.symmetry import canonical_symmetry, canonicalise_pose, symmetry_rotations, symmetry_table
from rigidpose.net.targets import detection_targets
from rigidpose.objects import ContinuousSymmetry, Symmetries


def z_flip() -> Symmetries:
    T = np.eye(4)
    T[:3, :3] = axis_angle_to_matrix([0.0, 0.0, np.pi])
    return Symmetries(discrete=T[None])


def test_torch_rotations_match_numpy(rng):
    from rigidpose.geometry import sixd_to_matrix as np_sixd

    d6 = rng.normal(size=(10, 6))
    np.testing.assert_allclose(sixd_to_matrix(torch.from_numpy(d6)).numpy(), np_sixd(d6), atol=1e-12)
    R = torch.from_numpy(random_rotation(rng, 5))
    torch.testing.assert_close(sixd_to_matrix(matrix_to_6d(R)), R)
    R2 = random_rotation(rng, 5)
    np.testing.assert_allclose(angle_between(R, torch.from_numpy(R2)).numpy(), rotation_angle_between(R.numpy(), R2), atol=1e-6)


def test_focal_loss_prefers_the_right_heatmap():
    target = torch.zeros(1, 2, 16, 16)
    target[0, 0, 4, 5] = 1.0
    target[0, 0, 4, 6] = 0.6
    target[0, 1, 10, 2] = 1.0
    good = torch.logit(target.clamp(1e-3, 1 - 1e-3))
    flat = torch.zeros_like(target)
    assert focal_heatmap_loss(good, target) < 0.05 < focal_heatmap_loss(flat, target)
    assert mse_heatmap_loss(good, target) < 1e-5 < mse_heatmap_loss(flat, target)
    empty = focal_heatmap_loss(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 8))
    assert torch.isfinite(empty) and empty > 0


def test_offset_l1_gathers_at_the_target_cells():
    pred = torch.zeros(1, 2, 2, 4, 4)
    pred[0, 0, :, 1, 2] = torch.tensor([0.3, -0.2])
    pred[0, 1, :, 3, 3] = torch.tensor([1.0, 1.0])
    target = torch.tensor([[[0.3, -0.2], [0.0, 0.0]]])
    index = torch.tensor([[1 * 4 + 2, 3 * 4 + 3]])
    assert offset_l1_loss(pred, target, index, torch.tensor([[True, False]])).item() == pytest.approx(0.0)
    assert offset_l1_loss(pred, target, index, torch.tensor([[True, True]])).item() == pytest.approx(0.5)
    assert offset_l1_loss(pred, target, index, torch.tensor([[False, False]])).item() == 0.0


def test_mask_bce():
    target = (torch.arange(16).reshape(1, 1, 4, 4) % 2).float()
    assert mask_bce_loss((target - 0.5) * 40, target) < 1e-6 < mask_bce_loss(torch.zeros(1, 1, 4, 4), target)


def test_mask_dice_weighs_errors_against_the_masks_size():
    big = torch.zeros(1, 1, 16, 16)
    big[..., 2:14, 2:14] = 1.0  # 144 cells
    small = torch.zeros(1, 1, 16, 16)
    small[..., 6:9, 6:9] = 1.0  # 9 cells
    logits = lambda m: (m - 0.5) * 40  # noqa: E731 - a confident prediction of mask m
    assert mask_dice_loss(logits(big), big) < 1e-6 and mask_dice_loss(torch.full_like(big, -20.0), big) > 0.99
    # The same 3 cells missed: about the same BCE in both crops, a much larger Dice on the small mask.
    miss_big, miss_small = big.clone(), small.clone()
    miss_big[..., 2, 2:5] = 0.0
    miss_small[..., 6, 6:9] = 0.0
    bce = [mask_bce_loss(logits(p), t).item() for p, t in ((miss_big, big), (miss_small, small))]
    dice = [mask_dice_loss(logits(p), t).item() for p, t in ((miss_big, big), (miss_small, small))]
    assert bce[0] == pytest.approx(bce[1], rel=1e-3)
    assert dice[1] > 10 * dice[0] > 0
    # per crop, then averaged over the batch
    both = torch.cat([miss_big, miss_small]), torch.cat([big, small])
    assert mask_dice_loss(logits(both[0]), both[1]).item() == pytest.approx(np.mean(dice), rel=1e-6)
    assert mask_loss(logits(miss_small), small, "bce").item() == pytest.approx(bce[1])
    assert mask_loss(logits(miss_small), small, "bce+dice").item() == pytest.approx(bce[1] + dice[1])
    with pytest.raises(ValueError, match="mask_loss must be one of"):
        mask_loss(logits(small), small, "dice")


def test_symmetric_rotation_loss_takes_the_minimum(rng):
    sym = z_flip()
    table = symmetry_table([sym, Symmetries()])
    assert table.shape == (2, 2, 3, 3)
    torch.testing.assert_close(table[1, 1], torch.eye(3))  # padded with the identity
    R = torch.from_numpy(random_rotation(rng, 4)).float()
    flipped = R @ table[0, 1]
    loss, arg = symmetric_rotation_loss(flipped, R, table[[0, 0, 0, 0]])
    assert loss.item() < 1e-6 and arg.tolist() == [1, 1, 1, 1]
    naive, _ = symmetric_rotation_loss(flipped, R)
    assert naive.item() > 0.1


def test_canonical_keypoint_targets_are_the_same_for_equivalent_poses(rng):
    cam = Camera.from_fov(640, 480, 60.0)
    kp = rng.uniform(-0.05, 0.05, size=(9, 3))
    sym = z_flip()
    S_flip = sym.discrete[0]
    for _ in range(20):
        T = Pose(random_rotation(rng), [rng.uniform(-0.1, 0.1), rng.uniform(-0.1, 0.1), 0.7], "cam", "obj")
        T2 = T @ Pose.from_matrix(S_flip, "obj", "obj")
        a, b = canonicalise_pose(T, sym), canonicalise_pose(T2, sym)
        assert a.allclose(b, atol=1e-9)
        np.testing.assert_allclose(cam.project(a.transform(kp)), cam.project(b.transform(kp)), atol=1e-6)
        # the canonical pose is the one closest to the reference
        R_allo = [np.linalg.inv(Rv) @ p.R for p, Rv in ((a, _view(a)), (T, _view(T)), (T2, _view(T2)))]
        assert rotation_angle_between(R_allo[0], np.eye(3)) <= min(
            rotation_angle_between(R_allo[1], np.eye(3)), rotation_angle_between(R_allo[2], np.eye(3))
        ) + 1e-9
    assert np.array_equal(canonical_symmetry(T, Symmetries()), np.eye(4))


def _view(p: Pose) -> np.ndarray:
    from rigidpose.net.pose_coding import view_rotation

    return view_rotation(p.t)


def test_continuous_symmetry_canonicalisation(rng):
    sym = Symmetries(continuous=(ContinuousSymmetry([0, 0, 1.0], [0, 0, 0.01]),))
    assert symmetry_rotations(sym).shape[0] == int(np.ceil(np.pi / 0.05))
    T = Pose(random_rotation(rng), [0.05, 0.02, 0.6])
    ref = canonicalise_pose(T, sym)
    for angle in rng.uniform(0, 2 * np.pi, size=5):
        Ti = T @ Pose.from_matrix(sym.continuous[0].transform(angle))
        got = canonicalise_pose(Ti, sym)
        # canonical up to one discretisation step of the continuous symmetry (BOP: 2π / ceil(π / 0.01))
        step = 2 * np.pi / np.ceil(np.pi / 0.01)
        assert got.angle_to(ref) <= step + 1e-9 and got.distance_to(ref) < 1e-3


def _fit_rotations(use_symmetry: bool, steps: int = 250) -> float:
    """Fit one learnable 6D rotation per sample to a 180°-symmetric object's rotations.

    Each step draws every target at random from the equivalent set {R_i, R_i S}.
    Returns the mean loss of the last 30 steps.
    """
    g = torch.Generator().manual_seed(0)
    R = torch.from_numpy(random_rotation(np.random.default_rng(0), 32)).float()
    table = symmetry_table([z_flip()])
    d6 = torch.nn.Parameter(torch.randn(32, 6, generator=g))
    opt = torch.optim.Adam([d6], lr=0.1)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    syms = table[[0] * 32] if use_symmetry else None
    losses = []
    for _ in range(steps):
        target = R @ table[0, torch.randint(0, 2, (32,), generator=g)]
        loss, _ = symmetric_rotation_loss(sixd_to_matrix(d6), target, syms)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return float(np.mean(losses[-30:]))


def test_symmetry_aware_loss_has_no_floor():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads only add overhead
    try:
        naive = _fit_rotations(use_symmetry=False)
        aware = _fit_rotations(use_symmetry=True)
    finally:
        torch.set_num_threads(threads)
    # naive floor: targets A, B equally likely → E||P − T|| ≥ ||A − B|| / 2 = 2√2 / 2 for a 180° flip
    floor = np.sqrt(2.0)
    assert naive > 0.95 * floor
    assert aware < 0.01


def test_detection_loss_is_zero_for_perfect_size_and_offset():
    tg = detection_targets([[10.0, 20.0, 30.0, 40.0]], [1], 2, (32, 32))
    size = torch.zeros(1, 2, 32 * 32)
    off = torch.zeros(1, 2, 32 * 32)
    size[0, :, tg.index[0]] = torch.from_numpy(tg.size[0])
    off[0, :, tg.index[0]] = torch.from_numpy(tg.offset[0])
    batch = {k: torch.from_numpy(getattr(tg, k))[None] for k in ("heatmap", "size", "offset", "index", "valid")}
    outputs = {"heatmap": torch.logit(batch["heatmap"].clamp(1e-3, 1 - 1e-3)),
               "size": size.reshape(1, 2, 32, 32), "offset": off.reshape(1, 2, 32, 32)}
    out = detection_loss(outputs, batch)
    assert out["size"].item() == 0.0 and out["offset"].item() == 0.0 and out["heatmap"].item() < 0.05
    outputs["size"] = outputs["size"] + 1.0
    assert detection_loss(outputs, batch)["size"].item() == pytest.approx(1.0)
