"""The PoseNet training loop: epochs or a time budget, held-out validation, metrics and
atomic per-epoch checkpoints, with an exact ``resume``; data-parallel under ``torchrun``
(see :mod:`rigidpose.net.distributed`; ``batch_size`` is per process).

Output folder ``out``:

- ``last.safetensors`` / ``last.json`` / ``last.train.safetensors``: the latest epoch;
- ``best.*``: the epoch with the lowest validation keypoint error;
- ``metrics.csv`` and ``training.png``: one row / point per epoch.

The learning rate follows a linear warm-up and a cosine decay over the *progress*
``max(step / total_steps, elapsed / time_budget)``; the step count and the elapsed time
are part of the saved state, so a resumed run continues the same schedule.
"""

from __future__ import annotations

import csv
import io
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from rigidpose.bop.dataset import BopDataset
from rigidpose.errors import DataError, RigidposeError
from rigidpose.net.augment import AugmentConfig
from rigidpose.net.card import CardObject, ModelCard
from rigidpose.net.checkpoint import (
    atomic_write_bytes, capture_rng, checkpoint_paths, load_checkpoint, load_train_state, restore_rng,
    save_checkpoint, save_train_state,
)
from rigidpose.net.data import CropConfig, PoseCropDataset
from rigidpose.net.decode import decode_keypoints
from rigidpose.net.distributed import DistInfo, agree, barrier, init_distributed, shutdown, wrap
from rigidpose.net.losses import posenet_loss
from rigidpose.net.posenet import OUTPUT_STRIDE, PoseNet, PoseNetConfig
from rigidpose.net.rotations import angle_between, sixd_to_matrix


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (stored in the model card)."""

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
    channels_last: bool = True
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    seed: int = 0

    def to_json(self) -> dict:
        d = asdict(self)
        d["objects"] = list(self.objects) if self.objects is not None else None
        d["splits"] = list(self.splits)
        return d


def lr_at(progress: float, cfg: TrainConfig) -> float:
    """Linear warm-up then cosine decay to 1 % of ``cfg.lr``; ``progress`` in [0, 1]."""
    p = min(max(progress, 0.0), 1.0)
    if p < cfg.warmup_fraction:
        return cfg.lr * (p / cfg.warmup_fraction)
    q = (p - cfg.warmup_fraction) / max(1e-12, 1.0 - cfg.warmup_fraction)
    return cfg.lr * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * q)))


def split_images(ds: PoseCropDataset, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Sample indices (train, val), holding out whole images (not single instances)."""
    images = sorted({(r.split, r.scene_id, r.im_id) for r in ds.refs})
    n_val = int(round(fraction * len(images))) if len(images) > 1 else 0
    held = set(map(tuple, np.random.default_rng(seed).permutation(np.array(images, dtype=object))[:n_val]))
    train = [i for i, r in enumerate(ds.refs) if (r.split, r.scene_id, r.im_id) not in held]
    val = [i for i, r in enumerate(ds.refs) if (r.split, r.scene_id, r.im_id) in held]
    if not train:
        raise RigidposeError("no training images left after holding out the validation part")
    return train, val


def make_card(cfg: TrainConfig, bop: BopDataset, obj_ids: list[int], keypoints: dict[int, np.ndarray]) -> ModelCard:
    objs = [CardObject(o, bop.models[o].name or f"obj_{o:06d}", keypoints[o], bop.models_info[o]) for o in obj_ids]
    net_cfg = PoseNetConfig(cfg.num_fps_keypoints + 1, len(obj_ids), cfg.width, cfg.input_size)
    return ModelCard("posenet", net_cfg.to_dict(), tuple(objs), training={"config": cfg.to_json()})


@torch.no_grad()
def validate(model: PoseNet, loader, device: torch.device) -> dict[str, float]:
    """Mean keypoint error in image pixels, median symmetric rotation error (deg), mean loss."""
    model.eval()
    kp_err, rot_err, losses = [], [], []
    for batch in loader:
        batch = {k: v.to(device) for k, v in batch.items()}
        out = model(batch["image"], batch["obj_index"])
        losses.append(posenet_loss(out, batch)["total"].item())
        uv, _ = decode_keypoints(out["heatmaps"].float(), out["offsets"].float(), OUTPUT_STRIDE)
        zoom = batch["image"].shape[-1] / batch["box"][:, 2]  # crop pixels per image pixel
        err = (uv - batch["kp_uv"]).norm(dim=-1) / zoom[:, None]
        kp_err.append(err[batch["kp_valid"]].cpu())
        R_pred = sixd_to_matrix(out["rot6d"].float())
        candidates = batch["rot"].unsqueeze(1) @ batch["sym_rots"]  # (B, S, 3, 3)
        rot_err.append(angle_between(R_pred.unsqueeze(1), candidates).min(dim=1).values.cpu())
    model.train()
    if not losses:
        return {"val_kp_px": float("nan"), "val_rot_deg": float("nan"), "val_loss": float("nan")}
    return {"val_kp_px": float(torch.cat(kp_err).mean()), "val_rot_deg": math.degrees(float(torch.cat(rot_err).median())),
            "val_loss": float(np.mean(losses))}


def write_metrics(out: Path, rows: list[dict]) -> None:
    """``metrics.csv`` (atomic) and ``training.png`` from the per-epoch rows."""
    if not rows:
        return
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_bytes(out / "metrics.csv", buf.getvalue().encode())
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    ep = [r["epoch"] for r in rows]
    ax[0].plot(ep, [r["train_loss"] for r in rows], label="train")
    ax[0].plot(ep, [r["val_loss"] for r in rows], label="val")
    ax[0].set(xlabel="epoch", ylabel="loss", yscale="log")
    ax[0].legend()
    ax[1].plot(ep, [r["val_kp_px"] for r in rows])
    ax[1].set(xlabel="epoch", ylabel="val keypoint error (px)")
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, dpi=100)
    plt.close(fig)
    atomic_write_bytes(out / "training.png", png.getvalue())


def run_epoch(model: torch.nn.Module, opt: torch.optim.Optimizer, batches, cfg: TrainConfig, state: dict,
              total_steps: int, t0: float, dev: torch.device) -> dict[str, float]:
    """One pass over ``batches``; updates ``state["step"]`` and returns the mean of each loss."""
    model.train()
    sums: dict[str, float] = {}
    n = 0
    for batch in batches:
        frac = state["step"] / total_steps
        if cfg.time_budget_s:
            frac = max(frac, (time.perf_counter() - t0) / cfg.time_budget_s)
        for g in opt.param_groups:
            g["lr"] = lr_at(frac, cfg)
        batch = {k: v.to(dev) for k, v in batch.items()}
        image = batch["image"].contiguous(memory_format=torch.channels_last) if cfg.channels_last else batch["image"]
        losses = posenet_loss(model(image, batch["obj_index"]), batch, heatmap_loss=cfg.heatmap_loss)
        opt.zero_grad(set_to_none=True)
        losses["total"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        state["step"] += 1
        n += 1
        for k, v in losses.items():
            sums[k] = sums.get(k, 0.0) + v.item()
        if hasattr(batches, "set_postfix"):
            batches.set_postfix(loss=f"{losses['total'].item():.3f}")
    return {k: v / max(1, n) for k, v in sums.items()}


def train(
    cfg: TrainConfig, *, resume: bool = False, progress: bool = True, device: str = "cpu", stop_after: int | None = None
) -> list[dict]:
    """Train (or resume) a PoseNet; returns the per-epoch metric rows.

    ``stop_after`` ends this call after that many epochs (as if the run were killed
    there); ``resume=True`` continues from ``out/last``. A time budget is checked after
    every epoch.
    """
    info, dev, created = init_distributed(device)
    try:
        return _train(cfg, resume, progress and info.is_main, info, dev, stop_after)
    finally:
        shutdown(created)


def _train(cfg: TrainConfig, resume: bool, progress: bool, info: DistInfo, dev: torch.device,
           stop_after: int | None) -> list[dict]:
    from tqdm import tqdm

    out = Path(cfg.out)
    bop = BopDataset(cfg.data)
    obj_ids = list(cfg.objects) if cfg.objects else sorted(bop.models_info)
    missing = sorted(set(obj_ids) - set(bop.models_info))
    if missing:
        raise DataError(f"dataset {bop.root} has no object(s) {missing}; its models are {sorted(bop.models_info)}")
    keypoints = {o: bop.models[o].keypoints(cfg.num_fps_keypoints) for o in obj_ids}
    full = PoseCropDataset(bop, cfg.splits, obj_ids, keypoints, CropConfig(input_size=cfg.input_size), None, cfg.seed)
    train_idx, val_idx = split_images(full, cfg.val_fraction, cfg.seed)
    train_ds = full.subset(train_idx, cfg.augment)
    val_ds = full.subset(val_idx[: cfg.max_val_samples], None)
    card = make_card(cfg, bop, obj_ids, keypoints)
    with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's global RNG
        torch.manual_seed(cfg.seed)
        model = PoseNet(PoseNetConfig.from_dict(card.config)).to(dev)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    np_rng = np.random.default_rng(cfg.seed)
    state = {"epoch": -1, "step": 0, "elapsed_s": 0.0, "rows": [], "best": float("inf")}
    if resume and checkpoint_paths(out / "last")[2].exists():
        loaded = load_checkpoint(out / "last", obj_ids)
        if loaded.card.config != card.config:
            raise RigidposeError(f"cannot resume {out}: its network config differs from the requested one")
        model.load_state_dict(loaded.model.state_dict())
        saved = load_train_state(out / "last")
        if loaded.card.training.get("epoch") != saved["epoch"] + 1:
            raise RigidposeError(
                f"cannot resume {out}: last.safetensors is from epoch {loaded.card.training.get('epoch')} but "
                f"last.train.safetensors from epoch {saved['epoch'] + 1} (the run was killed while saving)"
            )
        opt.load_state_dict(saved["optimizer"])
        restore_rng(saved["rng"], np_rng)
        state = {k: saved[k] for k in state}
    net = wrap(model, info, dev)
    steps_per_epoch = math.ceil(math.ceil(len(train_ds) / info.world) / cfg.batch_size)
    total_steps = max(1, cfg.epochs * steps_per_epoch)
    val_loader = torch.utils.data.DataLoader(val_ds, batch_size=cfg.batch_size)
    first_epoch = state["epoch"] + 1
    for epoch in range(first_epoch, cfg.epochs):
        t0 = time.perf_counter() - state["elapsed_s"]
        train_ds.set_epoch(epoch)
        loader = epoch_loader(train_ds, cfg, info, epoch)
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not progress, leave=False)
        means = run_epoch(net, opt, bar, cfg, state, total_steps, t0, dev)
        state["elapsed_s"] = time.perf_counter() - t0
        state["epoch"] = epoch
        done = cfg.time_budget_s is not None and state["elapsed_s"] >= cfg.time_budget_s
        done = agree(done or (stop_after is not None and epoch + 1 - first_epoch >= stop_after), info)
        if not info.is_main:
            barrier(info)  # rank 0 validates and saves meanwhile
            if done:
                break
            continue
        row = {"epoch": epoch + 1, "step": state["step"], "elapsed_s": round(state["elapsed_s"], 2),
               "lr": opt.param_groups[0]["lr"], "train_loss": means.pop("total", float("nan")),
               **{f"train_{k}": v for k, v in means.items()}, **validate(model, val_loader, dev)}
        state["rows"].append(row)
        card_e = ModelCard(card.arch, card.config, card.objects, card.normalisation,
                           {**card.training, "epoch": epoch + 1, "metrics": row})
        if math.isfinite(row["val_kp_px"]) and row["val_kp_px"] < state["best"]:
            state["best"] = row["val_kp_px"]
            save_checkpoint(out / "best", model, card_e)
        # the training state first, the weights last: resume checks that both carry this epoch
        save_train_state(out / "last", {**state, "optimizer": opt.state_dict(), "rng": capture_rng(np_rng)})
        save_checkpoint(out / "last", model, card_e)
        write_metrics(out, state["rows"])
        if progress:
            print(f"epoch {epoch + 1}: loss {row['train_loss']:.4f}, val keypoint error {row['val_kp_px']:.2f} px, "
                  f"rotation {row['val_rot_deg']:.1f}°", flush=True)
        barrier(info)
        if done:
            break
    return state["rows"]


def epoch_loader(ds: PoseCropDataset, cfg: TrainConfig, info: DistInfo, epoch: int) -> torch.utils.data.DataLoader:
    """This process's shuffled batches for ``epoch`` (a seeded order; disjoint shards under DDP)."""
    if info.world > 1:
        sampler = torch.utils.data.DistributedSampler(ds, info.world, info.rank, shuffle=True, seed=cfg.seed)
        sampler.set_epoch(epoch)
        return torch.utils.data.DataLoader(ds, batch_size=cfg.batch_size, sampler=sampler)
    order = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)
    return torch.utils.data.DataLoader(ds, batch_size=cfg.batch_size, shuffle=True, generator=order)
