"""``rigidpose train``: PoseNet and the detector, one after the other, into one run folder.

Layout of the run folder ``out`` (each network's files as in :mod:`rigidpose.net.loop`):

- ``out/{last,best}.{safetensors,json,train.safetensors}``, ``out/metrics.csv``,
  ``out/training.png``: PoseNet (crops → keypoints, mask, direct pose);
- ``out/detector/`` the same files for the CenterNet detector (full images → boxes),
  unless ``TrainConfig.detector`` is off.

PoseNet trains first, then the detector, whose encoder and decoder start from PoseNet's
``best`` weights (``detector_init="posenet"``, the default: the same MobileNetV2 encoder and
upsampling decoder at the same width). Starting from features that already separate the
object from the background, it reached validation AP50 0.85 in the 7.5 minutes that gave
0.59 from random weights (docs/net.md). With a time budget ``T`` PoseNet gets
``(1 − detector_share)·T`` of training time and the detector ``detector_share·T``; each
ends its last epoch early when its share runs out (after the batch in progress), then
validates and saves. Validation, checkpointing and data indexing are not counted, so
the wall time is somewhat longer than ``T``. ``--resume`` continues whichever network was interrupted; a network
that had finished is not trained again.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from rigidpose.bop.dataset import BopDataset
from rigidpose.errors import DataError, RigidposeError
from rigidpose.net.augment import AugmentConfig
from rigidpose.net.card import CardObject, ModelCard
from rigidpose.net.checkpoint import checkpoint_paths, load_card
from rigidpose.net.coords import CoordFrame
from rigidpose.net.data import CropConfig, PoseCropDataset
from rigidpose.net.decode import decode_keypoints
from rigidpose.net.distributed import DistInfo, init_distributed, shutdown
from rigidpose.net.loop import LoopConfig, Task, fit, lr_at
from rigidpose.net.losses import MASK_LOSSES, POSENET_WEIGHTS, posenet_loss
from rigidpose.net.pose_coding import pose_centre
from rigidpose.net.posenet import OUTPUT_STRIDE, PoseNet, PoseNetConfig
from rigidpose.net.rotations import angle_between, sixd_to_matrix
from rigidpose.net.val_pose import ValObject, dense_recall_hits, pose_recall_hits

__all__ = ["TrainConfig", "TrainResult", "train", "lr_at", "split_image_keys", "make_card", "validate"]


#: How the detector's weights start (see ``TrainConfig.detector_init``).
DETECTOR_INITS = ("posenet", "scratch")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (stored in the model cards)."""

    data: str
    out: str
    objects: tuple[int, ...] | None = None  # None: every object in models_info.json
    splits: tuple[str, ...] = ("train_synth",)
    width: float = 0.5
    input_size: int = 128
    num_fps_keypoints: int = 8  # K = this + 1 (the centre)
    epochs: int = 10
    time_budget_s: float | None = None
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_fraction: float = 0.03
    val_fraction: float = 0.1
    max_val_samples: int = 512
    heatmap_loss: str = "focal"
    # the visible-mask loss's weight in PoseNet's loss (heatmaps, offsets and the direct pose weigh 1, the
    # coordinates 10; see losses.POSENET_WEIGHTS). A run is resumed only at the weight it was trained with
    # (check_resume; runs whose card does not record it were trained at 1).
    mask_weight: float = POSENET_WEIGHTS["mask"]
    # the visible mask's loss, one of losses.MASK_LOSSES; resumed only with the same (cards without it: "bce")
    mask_loss: str = "bce+dice"
    coords: bool = False  # the dense-coordinate head (rigidpose.net.coords); off: it cost steps and gained nothing here
    channels_last: bool = True
    loader_workers: int = 0  # processes preparing batches beside the training process
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    seed: int = 0
    # the detector (trained after PoseNet into out/detector)
    detector: bool = True
    detector_share: float = 0.25  # of the time budget
    detector_epochs: int | None = None  # None: same as epochs
    detector_width: float = 0.5
    detector_input: int = 256  # long image side in pixels
    detector_batch: int = 16
    # "posenet": the detector's encoder and decoder start from PoseNet's ``best`` (same
    # architecture at the same width); "scratch": from random weights
    detector_init: str = "posenet"
    # the detector's background swap probability (PoseNet's is ``augment.p_background``)
    detector_background_swap: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 < self.detector_share < 1.0:
            raise ValueError(f"the detector's share of the time budget must be in (0, 1), got {self.detector_share}")
        if self.detector_init not in DETECTOR_INITS:
            raise ValueError(f"detector init must be one of {DETECTOR_INITS}, got {self.detector_init!r}")
        if self.detector and self.detector_init == "posenet" and self.detector_width != self.width:
            raise ValueError(f"the detector can start from PoseNet's encoder only at the same width: detector width "
                             f"{self.detector_width} against PoseNet's {self.width} (or choose detector init 'scratch')")
        if not (0.0 <= self.augment.p_background <= 1.0 and 0.0 <= self.detector_background_swap <= 1.0):
            raise ValueError(f"background swap probabilities must be in [0, 1], got {self.augment.p_background} "
                             f"(PoseNet) and {self.detector_background_swap} (detector)")
        if not 0.0 <= self.mask_weight < math.inf:  # also refuses NaN
            raise ValueError(f"the mask loss weight must be a finite number, 0 or more, got {self.mask_weight}")
        if self.mask_loss not in MASK_LOSSES:
            raise ValueError(f"the mask loss must be one of {', '.join(MASK_LOSSES)}, got {self.mask_loss!r}")
        if self.loader_workers < 0:
            raise ValueError(f"loader workers must be 0 or more, got {self.loader_workers}")

    def to_json(self) -> dict:
        d = asdict(self)
        d["objects"] = list(self.objects) if self.objects is not None else None
        d["splits"] = list(self.splits)
        return d

    def loop(self, kind: str) -> LoopConfig:
        """The schedule of the ``"posenet"`` or ``"detector"`` part of the run."""
        det = kind == "detector"
        budget = self.time_budget_s
        if budget is not None and self.detector:
            budget *= self.detector_share if det else 1.0 - self.detector_share
        return LoopConfig(
            out=Path(self.out) / "detector" if det else Path(self.out),
            epochs=(self.detector_epochs or self.epochs) if det else self.epochs,
            time_budget_s=budget, batch_size=self.detector_batch if det else self.batch_size, lr=self.lr,
            weight_decay=self.weight_decay, warmup_fraction=self.warmup_fraction,
            channels_last=self.channels_last, seed=self.seed, loader_workers=self.loader_workers,
        )


@dataclass(frozen=True)
class TrainResult:
    """Per-epoch metric rows of each network (``detector`` empty when it was skipped)."""

    posenet: list[dict]
    detector: list[dict]


def split_image_keys(images, fraction: float, seed: int) -> set[tuple]:
    """The held-out images: a seeded ``fraction`` of ``images`` (keys ``(split, scene, im)``).

    PoseNet and the detector hold out the same images for the same seed.
    """
    images = sorted(set(images))
    n_val = int(round(fraction * len(images))) if len(images) > 1 else 0
    return set(map(tuple, np.random.default_rng(seed).permutation(np.array(images, dtype=object))[:n_val]))


def split_images(ds: PoseCropDataset, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Sample indices (train, val), holding out whole images (not single instances)."""
    held = split_image_keys([(r.split, r.scene_id, r.im_id) for r in ds.refs], fraction, seed)
    train = [i for i, r in enumerate(ds.refs) if (r.split, r.scene_id, r.im_id) not in held]
    val = [i for i, r in enumerate(ds.refs) if (r.split, r.scene_id, r.im_id) in held]
    if not train:
        raise RigidposeError("no training images left after holding out the validation part")
    return train, val


def make_card(cfg: TrainConfig, bop: BopDataset, obj_ids: list[int], keypoints: dict[int, np.ndarray]) -> ModelCard:
    infos = bop.models_info
    objs = [CardObject(o, bop.models[o].name or f"obj_{o:06d}", keypoints[o], infos[o], pose_centre(infos[o]))
            for o in obj_ids]
    net_cfg = PoseNetConfig(cfg.num_fps_keypoints + 1, len(obj_ids), cfg.width, cfg.input_size, coords=cfg.coords)
    return ModelCard("posenet", net_cfg.to_dict(), tuple(objs), training={"config": cfg.to_json()})


def decode_centre(trans: torch.Tensor, K: torch.Tensor, size: int, diameter: torch.Tensor) -> torch.Tensor:
    """Translation codes (B, 3) → object centres (B, 3) in the camera frame, metres.

    The torch twin of :func:`rigidpose.net.pose_coding.decode_pose` for a square crop of
    ``size`` pixels with intrinsics ``K`` (B, 3, 3) (zero skew) and ``diameter`` (B,) m.
    """
    fx, fy, cx, cy = K[:, 0, 0], K[:, 1, 1], K[:, 0, 2], K[:, 1, 2]
    u = trans[:, 0] * size + (size - 1) / 2
    v = trans[:, 1] * size + (size - 1) / 2
    z = trans[:, 2] * (fx * fy).sqrt() * diameter / size
    return torch.stack([(u - cx) / fx * z, (v - cy) / fy * z, z], dim=-1)


@torch.no_grad()
def validate(model: PoseNet, loader, device: torch.device, objects: Mapping[int, ValObject] | None = None,
             allocentric: bool = True, loss_options: Mapping | None = None) -> dict[str, float]:
    """Validation metrics of PoseNet on held-out crops.

    ``val_kp_px``: mean keypoint error in image pixels; the direct head's
    ``val_rot_deg`` (median) / ``val_rot_deg_mean``: symmetry-aware rotation error in degrees
    (minimum over the symmetry set) and ``val_trans_mm`` (median): position error of the
    coded point (the card's ``pose_centre``) in millimetres; ``val_mask_iou``: mean IoU of the
    visible-mask head (probability > 0.5) against the target mask (cell coverage > 0.5), the
    mask that ICP and the depth search take their points from; ``val_loss``, :func:`posenet_loss`
    with the keyword arguments ``loss_options`` (the training loss's weights). With ``objects``
    (network object index → :class:`~rigidpose.net.val_pose.ValObject`) also
    ``val_add_kp`` / ``val_add_direct``: the share of crops whose keypoint-PnP / direct-head
    pose is within ADD(-S) 0.1 d of the GT, and with a coordinate head ``val_add_dense``
    (PnP-RANSAC on the dense coordinates of the cells the mask head puts at ≥ 0.5).
    """
    model.eval()
    kp_err, rot_err, t_err, ious, losses = [], [], [], [], []
    hits: tuple[list[bool], list[bool]] = ([], [])
    dense_hits: list[bool] = []
    for batch in loader:
        batch = {k: v.to(device) for k, v in batch.items()}
        out = model(batch["image"], batch["obj_index"])
        losses.append(posenet_loss(out, batch, **(loss_options or {}))["total"].item())
        uv, _ = decode_keypoints(out["heatmaps"].float(), out["offsets"].float(), OUTPUT_STRIDE)
        size = batch["image"].shape[-1]
        zoom = size / batch["box"][:, 2]  # crop pixels per image pixel
        err = (uv - batch["kp_uv"]).norm(dim=-1) / zoom[:, None]
        kp_err.append(err[batch["kp_valid"]].cpu())
        R_pred = sixd_to_matrix(out["rot6d"].float())
        candidates = batch["rot"].unsqueeze(1) @ batch["sym_rots"]  # (B, S, 3, 3)
        rot_err.append(angle_between(R_pred.unsqueeze(1), candidates).min(dim=1).values.cpu())
        c_pred = decode_centre(out["trans"].float(), batch["K"], size, batch["diameter"])
        c_gt = decode_centre(batch["trans"], batch["K"], size, batch["diameter"])
        t_err.append((c_pred - c_gt).norm(dim=-1).cpu() * 1000.0)
        ious.append(mask_iou(out["mask"].float() > 0.0, batch["mask"] > 0.5).cpu())
        if objects is not None:
            arrays = {k: batch[k].cpu().numpy() for k in ("pose", "K", "obj_index")}
            kp, direct = pose_recall_hits(arrays, size, uv.cpu().double().numpy(), out["rot6d"].double().cpu().numpy(),
                                          out["trans"].double().cpu().numpy(), objects, allocentric)
            hits[0].extend(kp), hits[1].extend(direct)
            if "coords" in out:
                prob = torch.sigmoid(out["mask"][:, 0].float()).cpu().numpy()
                dense_hits.extend(dense_recall_hits(arrays, out["coords"].float().cpu().numpy(), prob, OUTPUT_STRIDE,
                                                    objects))
    model.train()
    adds = {"val_add_kp": float(np.mean(hits[0])), "val_add_direct": float(np.mean(hits[1]))} if hits[0] else {}
    if dense_hits:
        adds["val_add_dense"] = float(np.mean(dense_hits))
    if not losses:
        keys = ("val_kp_px", "val_rot_deg", "val_rot_deg_mean", "val_trans_mm", "val_mask_iou", "val_loss")
        return {k: float("nan") for k in keys}
    rot = torch.cat(rot_err)
    return {"val_kp_px": float(torch.cat(kp_err).mean()), "val_rot_deg": math.degrees(float(rot.median())),
            "val_rot_deg_mean": math.degrees(float(rot.mean())), "val_trans_mm": float(torch.cat(t_err).median()),
            "val_mask_iou": float(torch.cat(ious).mean()), **adds, "val_loss": float(np.mean(losses))}


def mask_iou(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample IoU (B,) of boolean masks (B, 1, h, w); 1 where both are empty."""
    inter = (pred & target).flatten(1).sum(1).float()
    union = (pred | target).flatten(1).sum(1).float()
    return torch.where(union > 0, inter / union.clamp_min(1.0), torch.ones_like(union))


def posenet_task(cfg: TrainConfig, bop: BopDataset, obj_ids: list[int]) -> Task:
    """PoseNet, its crop datasets (whole images held out), loss and validation."""
    keypoints = {o: bop.models[o].keypoints(cfg.num_fps_keypoints) for o in obj_ids}
    crop_cfg = CropConfig(input_size=cfg.input_size, coords=cfg.coords)
    full = PoseCropDataset(bop, cfg.splits, obj_ids, keypoints, crop_cfg, None, cfg.seed)
    train_idx, val_idx = split_images(full, cfg.val_fraction, cfg.seed)
    card = make_card(cfg, bop, obj_ids, keypoints)
    with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's global RNG
        torch.manual_seed(cfg.seed)
        model = PoseNet(PoseNetConfig.from_dict(card.config))

    loss_options = {"weights": {"mask": cfg.mask_weight}, "heatmap_loss": cfg.heatmap_loss,
                    "mask_loss_kind": cfg.mask_loss}

    def loss(net, batch):
        return posenet_loss(net(batch["image"], batch["obj_index"]), batch, **loss_options)

    infos = bop.models_info
    val_objects = {i: ValObject(keypoints[o], bop.models[o].surface_points(500), infos[o].diameter,
                                infos[o].symmetries.is_symmetric, pose_centre(infos[o]), CoordFrame.of(infos[o]))
                   for i, o in enumerate(obj_ids)}
    validate_fn = functools.partial(validate, objects=val_objects, allocentric=model.config.allocentric,
                                    loss_options=loss_options)

    def describe(row: dict) -> str:
        return (f"loss {row['train_loss']:.4f}, val keypoint error {row['val_kp_px']:.2f} px, direct head "
                f"rotation {row['val_rot_deg']:.1f}° (median), translation {row['val_trans_mm']:.1f} mm, "
                f"mask IoU {row['val_mask_iou']:.2f}, ADD(-S)-0.1d keypoints {row.get('val_add_kp', math.nan):.0%} "
                f"direct {row.get('val_add_direct', math.nan):.0%}"
                + (f" dense {row['val_add_dense']:.0%}" if "val_add_dense" in row else ""))

    # ``best`` is the epoch with the lowest held-out loss of all heads. (It was the keypoint error
    # alone: while that head is still at chance its noise picked an early epoch whose mask head
    # had not learned yet, and the demo then found no poses: docs/net.md.)
    return Task(model, card, full.subset(train_idx, cfg.augment), full.subset(val_idx[: cfg.max_val_samples], None),
                loss, validate_fn, "val_loss", False, describe)


def train(
    cfg: TrainConfig, *, resume: bool = False, progress: bool = True, device: str = "cpu", stop_after: int | None = None
) -> TrainResult:
    """Train (or resume) PoseNet, then the detector (unless ``cfg.detector`` is off).

    ``stop_after`` ends this call after that many epochs in all (as if the run were
    killed there); ``resume=True`` continues from the run folder's ``last`` checkpoints.
    """
    info, dev, created = init_distributed(device)
    try:
        return _train(cfg, resume, progress and info.is_main, info, dev, stop_after)
    finally:
        shutdown(created)


def _train(cfg: TrainConfig, resume: bool, progress: bool, info: DistInfo, dev: torch.device,
           stop_after: int | None) -> TrainResult:
    bop = BopDataset(cfg.data)
    obj_ids = list(cfg.objects) if cfg.objects else sorted(bop.models_info)
    missing = sorted(set(obj_ids) - set(bop.models_info))
    if missing:
        raise DataError(f"dataset {bop.root} has no object(s) {missing}; its models are {sorted(bop.models_info)}")
    if resume:
        check_resume(cfg)
    task = posenet_task(cfg, bop, obj_ids)
    rows, trained = fit(_on(task, dev), cfg.loop("posenet"), info, dev, resume=resume, progress=progress,
                        stop_after=stop_after)
    det_rows: list[dict] = []
    left = None if stop_after is None else stop_after - trained
    if cfg.detector and (left is None or left > 0):
        from rigidpose.net.detector_train import detector_task, init_from_posenet

        det_task = detector_task(cfg, bop, obj_ids)
        if cfg.detector_init == "posenet":  # a resumed detector then loads its own last weights over these
            init_from_posenet(det_task.model, Path(cfg.out))
        det = _on(det_task, dev)
        det_rows, _ = fit(det, cfg.loop("detector"), info, dev, resume=resume, progress=progress, stop_after=left)
    return TrainResult(rows, det_rows)


def check_resume(cfg: TrainConfig) -> None:
    """Refuse to resume a run whose PoseNet was trained with another mask loss or mask loss weight.

    The resumed epochs would optimise another loss than the saved ones, with the optimiser's
    state of the first, and the card would record one setting for both. A card without the
    weight is from before it was recorded (session 21), when it was 1; one without the loss
    from before session 23, when it was BCE alone.
    """
    last = Path(cfg.out) / "last"
    if not checkpoint_paths(last)[2].exists():
        return  # nothing to resume: training starts afresh
    saved = load_card(last).training.get("config")
    saved = saved if isinstance(saved, dict) else {}
    _same_as_saved(cfg, saved, "mask_weight", 1.0, "mask loss weight", "--mask-weight", _finite, "a number")
    _same_as_saved(cfg, saved, "mask_loss", "bce", "mask loss", "--mask-loss", _mask_loss,
                   f"one of {', '.join(MASK_LOSSES)}")


def _mask_loss(value) -> str | None:
    return value if isinstance(value, str) and value in MASK_LOSSES else None


def _finite(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _same_as_saved(cfg: TrainConfig, saved: dict, key: str, legacy, what: str, flag: str, parse,
                   expected: str) -> None:
    """Raise unless the saved card's ``key`` (``legacy`` where it predates the setting) is ``cfg``'s."""
    raw = saved.get(key, legacy)
    was = parse(raw)
    if was is None:
        raise RigidposeError(f"cannot resume {cfg.out}: its card's training config records {what} {raw!r}, "
                             f"not {expected} (the card is damaged; start a new run)")
    want = getattr(cfg, key)
    if was != want:
        origin = "" if key in saved else f" (its card predates the setting, which was then {_show(legacy)})"
        raise RigidposeError(f"cannot resume {cfg.out}: its pose network was trained with {what} {_show(was)}{origin}, "
                             f"not {_show(want)}; resume with {flag} {_show(was)}")


def _show(value) -> str:
    """A setting as the command line takes it: numbers without trailing zeros (5, not 5.0)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _on(task: Task, dev: torch.device) -> Task:
    task.model.to(dev)
    return task
