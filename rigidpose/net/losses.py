"""Losses of the pose network and the detector (torch).

Batch conventions (B samples, K keypoints, h×w heatmap cells, S symmetries):
heatmaps (B, K, h, w); keypoint offsets gathered at the GT cells (B, K, 2) with flat
cell ``index`` (B, K) and ``valid`` (B, K); masks (B, 1, h, w); rotations (B, 3, 3);
translation codes (B, 3); symmetry rotations (B, S, 3, 3), identity first.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rigidpose.net.decode import gather_cells, gather_shared
from rigidpose.net.rotations import sixd_to_matrix


def focal_heatmap_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float = 2.0, beta: float = 4.0) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss on Gaussian targets in [0, 1], normalised by the peak count."""
    p = torch.sigmoid(logits.float()).clamp(1e-4, 1 - 1e-4)
    target = target.float()
    pos = target.ge(1.0 - 1e-6).float()
    pos_loss = torch.log(p) * (1 - p) ** alpha * pos
    neg_loss = torch.log(1 - p) * p**alpha * (1 - target) ** beta * (1 - pos)
    return -(pos_loss.sum() + neg_loss.sum()) / pos.sum().clamp_min(1.0)


def mse_heatmap_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error between ``sigmoid(logits)`` and the Gaussian targets; ``weight`` (B, K) masks keypoints."""
    err = (torch.sigmoid(logits.float()) - target.float()) ** 2
    if weight is None:
        return err.mean()
    w = weight.float()[..., None, None].expand_as(err)
    return (err * w).sum() / w.sum().clamp_min(1.0)


def offset_l1_loss(pred: torch.Tensor, target: torch.Tensor, index: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """L1 between offsets ``pred`` (B, N, 2, h, w) at the GT cells ``index`` (B, N) and ``target`` (B, N, 2).

    Averaged over valid entries (0 when there are none).
    """
    return masked_l1(gather_cells(pred, index), target, valid)


def masked_l1(got: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean |got − target| over entries (B, N, C) whose ``valid`` (B, N) is set; 0 when none are."""
    v = valid.float().unsqueeze(-1)
    return ((got.float() - target.float()).abs() * v).sum() / (got.shape[-1] * v.sum()).clamp_min(1.0)


def mask_bce_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of visible-mask logits (B, 1, h, w) against a {0, 1} mask of the same size."""
    return F.binary_cross_entropy_with_logits(logits.float(), target.float().reshape(logits.shape))


def mask_dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Soft Dice loss of visible-mask logits (B, 1, h, w) against {0, 1} masks, averaged over the batch.

    Per crop ``1 − (2·Σ p·t + 1) / (Σ p + Σ t + 1)`` with ``p = sigmoid(logits)``: 0 for a
    perfect mask, near 1 for one that misses the part. BCE averages over all cells of the
    crop, so a flange missed or a patch of background taken in costs it a few cells' worth;
    Dice weighs the same error against the mask's own size, as the silhouette fit does.
    """
    p = torch.sigmoid(logits.float())
    t = target.float().reshape(p.shape)
    inter = (p * t).sum(dim=(1, 2, 3))
    return (1.0 - (2.0 * inter + 1.0) / (p.sum(dim=(1, 2, 3)) + t.sum(dim=(1, 2, 3)) + 1.0)).mean()


def mask_loss(logits: torch.Tensor, target: torch.Tensor, kind: str = "bce+dice") -> torch.Tensor:
    """The visible mask's loss: ``"bce"`` (:func:`mask_bce_loss`) or ``"bce+dice"`` (plus :func:`mask_dice_loss`)."""
    if kind not in MASK_LOSSES:
        raise ValueError(f"mask_loss must be one of {MASK_LOSSES}, got {kind!r}")
    bce = mask_bce_loss(logits, target)
    return bce + mask_dice_loss(logits, target) if kind == "bce+dice" else bce


def symmetric_rotation_loss(
    R_pred: torch.Tensor, R_gt: torch.Tensor, sym_rots: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean over the batch of ``min_s ||R_pred − R_gt @ S_s||_F`` (chordal distance, in [0, 2√2]).

    The chordal distance ``2√2·sin(θ/2)`` grows monotonically with the angle θ between the
    rotations, so gradient descent reaches the nearest symmetric target from almost any
    start. (An L1 over the 9 matrix entries was tried first and left some samples stuck
    2–3 rad from the target in ``test_symmetry_aware_loss_has_no_floor``.)

    Args:
        R_pred: (B, 3, 3) predicted rotations.
        R_gt: (B, 3, 3) ground truth.
        sym_rots: (B, S, 3, 3) symmetry rotations; ``None`` → no symmetry (the naive loss).

    Returns:
        the loss and the index (B,) of the symmetry that attained the minimum.
    """
    if sym_rots is None:
        sym_rots = torch.eye(3, dtype=R_gt.dtype, device=R_gt.device).expand(R_gt.shape[0], 1, 3, 3)
    candidates = R_gt.unsqueeze(1) @ sym_rots.to(R_gt.dtype)  # (B, S, 3, 3)
    err = ((R_pred.unsqueeze(1) - candidates) ** 2).sum(dim=(-2, -1)).add(1e-12).sqrt()  # (B, S)
    best, arg = err.min(dim=1)
    return best.mean(), arg


def coord_l1_loss(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean L1 of normalised coordinates (B, 3, h, w) over the cells ``valid`` (B, h, w); 0 when none are."""
    v = valid.float().unsqueeze(1)
    return ((pred.float() - target.float()).abs() * v).sum() / (3 * v.sum()).clamp_min(1.0)


def translation_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 on the translation codes (B, 3) = (dx, dy, z_n)."""
    return F.l1_loss(pred.float(), target.float())


#: The visible mask's losses (:func:`mask_loss`). BCE + Dice is the default: on the bracket benchmark
#: (docs/benchmarks.md, session 23) it gave held-out mask IoU 0.87 against BCE's 0.82, and on 294 test
#: targets in their true boxes 0.80 against 0.75 (after GrabCut 0.87 against 0.84).
MASK_LOSSES = ("bce", "bce+dice")

#: Default weights of :func:`posenet_loss`. The mask weighs 5: its BCE is about a tenth of the
#: heatmap and rotation losses, and the silhouette fit (RGB-only) and the depth search take the
#: pose from the mask. On the bracket benchmark (22.5 minutes on 2 cores, docs/benchmarks.md,
#: session 21) weight 5 against 1 gave held-out mask IoU 0.82 against 0.74, keypoint error 43
#: against 46 px and median rotation error 66 against 85°; on the test set, mask IoU 0.74
#: against 0.65, and RGB-only ADD-0.1d 56.1 against 47.0 % (with depth 98.5 against 97.0 %).
#: On the textured YCB mustard bottle, whose heads do learn, the rows moved by a target or less.
POSENET_WEIGHTS = {"heatmap": 1.0, "offset": 1.0, "mask": 5.0, "rotation": 1.0, "translation": 1.0, "coords": 10.0}


def posenet_loss(
    outputs: dict[str, torch.Tensor],
    batch: dict[str, torch.Tensor],
    weights: dict[str, float] | None = None,
    heatmap_loss: str = "focal",
    mask_loss_kind: str = "bce+dice",
) -> dict[str, torch.Tensor]:
    """All PoseNet losses and their weighted sum ``total``; ``mask_loss_kind`` is one of :data:`MASK_LOSSES`.

    ``batch`` holds ``heatmap`` (B, K, h, w), ``kp_offset`` (B, K, 2), ``kp_index`` (B, K),
    ``kp_valid`` (B, K), ``mask`` (B, 1, h, w), ``rot`` (B, 3, 3) (allocentric when the model
    is), ``trans`` (B, 3), optionally ``sym_rots`` (B, S, 3, 3), and ``coords`` (B, 3, h, w) with
    ``coords_valid`` (B, h, w) when the network has a coordinate head.
    """
    w = {**POSENET_WEIGHTS, **(weights or {})}
    if heatmap_loss == "focal":
        hm = focal_heatmap_loss(outputs["heatmaps"], batch["heatmap"])
    elif heatmap_loss == "mse":
        hm = mse_heatmap_loss(outputs["heatmaps"], batch["heatmap"], batch["kp_valid"])
    else:
        raise ValueError(f"heatmap_loss must be 'focal' or 'mse', got {heatmap_loss!r}")
    R_pred = sixd_to_matrix(outputs["rot6d"].float())
    rot, _ = symmetric_rotation_loss(R_pred, batch["rot"].float(), batch.get("sym_rots"))
    out = {
        "heatmap": hm,
        "offset": offset_l1_loss(outputs["offsets"], batch["kp_offset"], batch["kp_index"], batch["kp_valid"]),
        "mask": mask_loss(outputs["mask"], batch["mask"], mask_loss_kind),
        "rotation": rot,
        "translation": translation_loss(outputs["trans"], batch["trans"]),
    }
    if "coords" in outputs:
        out["coords"] = coord_l1_loss(outputs["coords"], batch["coords"], batch["coords_valid"])
    out["total"] = sum(w[k] * v for k, v in out.items())
    return out


#: Default weights of :func:`detection_loss` (CenterNet's).
DETECTION_WEIGHTS = {"heatmap": 1.0, "size": 0.1, "offset": 1.0}


def detection_loss(
    outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor], weights: dict[str, float] | None = None
) -> dict[str, torch.Tensor]:
    """CenterNet losses: focal on the centre heatmaps, L1 on sizes and offsets at the centres.

    ``batch`` holds ``heatmap`` (B, C, h, w), ``size`` (B, M, 2), ``offset`` (B, M, 2),
    ``index`` (B, M) and ``valid`` (B, M) from :func:`rigidpose.net.targets.detection_targets`.
    """
    w = {**DETECTION_WEIGHTS, **(weights or {})}
    idx, valid = batch["index"], batch["valid"]
    out = {
        "heatmap": focal_heatmap_loss(outputs["heatmap"], batch["heatmap"]),
        "size": masked_l1(gather_shared(outputs["size"], idx), batch["size"], valid),
        "offset": masked_l1(gather_shared(outputs["offset"], idx), batch["offset"], valid),
    }
    out["total"] = sum(w[k] * v for k, v in out.items())
    return out
