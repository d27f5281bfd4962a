"""The training machinery shared by PoseNet and the detector: epochs or a time budget,
held-out validation, metrics and atomic per-epoch checkpoints, an exact ``resume``, and
data parallelism under ``torchrun`` (see :mod:`rigidpose.net.distributed`; ``batch_size``
is per process).

What differs between the networks is a :class:`Task`: the model and its card, the
datasets, the loss, the validation and the metric that picks ``best``. :func:`fit` runs
one task into one folder ``out``:

- ``last.safetensors`` / ``last.json`` / ``last.train.safetensors``: the latest epoch;
- ``best.*``: the epoch with the best validation score (``Task.score``);
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from rigidpose.errors import RigidposeError
from rigidpose.net.card import ModelCard
from rigidpose.net.checkpoint import (
    atomic_write_bytes, capture_rng, checkpoint_paths, load_checkpoint, load_train_state, restore_rng,
    save_checkpoint, save_train_state,
)
from rigidpose.net.distributed import DistInfo, agree, barrier, wrap

Batch = dict[str, torch.Tensor]


@dataclass(frozen=True)
class LoopConfig:
    """The optimisation schedule of one network (the rest of its config lives in its card)."""

    out: Path
    epochs: int
    time_budget_s: float | None
    batch_size: int
    lr: float
    weight_decay: float
    warmup_fraction: float
    channels_last: bool
    seed: int
    loader_workers: int = 0


@dataclass
class Task:
    """One network to train.

    Attributes:
        model: the freshly initialised network.
        card: its model card (``card.kind`` is checked when resuming).
        train_ds, val_ds: datasets of dict samples with an ``"image"``; ``train_ds`` has
            ``set_epoch(epoch)``.
        loss: ``loss(net, batch) -> {"total": ..., head: ...}`` (``net`` may be wrapped in DDP).
        validate: ``validate(model, loader, device) -> {"val_...": float}``, run on rank 0.
        score: the validation key that selects ``best``; ``maximise`` says which way is better.
        describe: the one-line summary printed after each epoch, from the metric row.
    """

    model: nn.Module
    card: ModelCard
    train_ds: torch.utils.data.Dataset
    val_ds: torch.utils.data.Dataset
    loss: Callable[[nn.Module, Batch], dict[str, torch.Tensor]]
    validate: Callable[[nn.Module, torch.utils.data.DataLoader, torch.device], dict[str, float]]
    score: str
    maximise: bool
    describe: Callable[[dict], str]


def lr_at(progress: float, cfg) -> float:
    """Linear warm-up then cosine decay to 1 % of ``cfg.lr``; ``progress`` in [0, 1]."""
    p = min(max(progress, 0.0), 1.0)
    if p < cfg.warmup_fraction:
        return cfg.lr * (p / cfg.warmup_fraction)
    q = (p - cfg.warmup_fraction) / max(1e-12, 1.0 - cfg.warmup_fraction)
    return cfg.lr * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * q)))


def write_metrics(out: Path, rows: list[dict], score: str) -> None:
    """``metrics.csv`` (atomic) and ``training.png`` (losses and ``score`` per epoch)."""
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
    ax[1].plot(ep, [r[score] for r in rows])
    ax[1].set(xlabel="epoch", ylabel=score)
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, dpi=100)
    plt.close(fig)
    atomic_write_bytes(out / "training.png", png.getvalue())


def run_epoch(net: nn.Module, opt: torch.optim.Optimizer, batches, task: Task, cfg: LoopConfig, state: dict,
              total_steps: int, t0: float, dev: torch.device, info: DistInfo) -> dict[str, float]:
    """One pass over ``batches`` (cut short when the time budget runs out); updates
    ``state["step"]`` and returns the mean of each loss."""
    net.train()
    sums: dict[str, float] = {}
    n = 0
    for batch in batches:
        frac = state["step"] / total_steps
        if cfg.time_budget_s:
            frac = max(frac, (time.perf_counter() - t0) / cfg.time_budget_s)
            if n and agree(frac >= 1.0, info):  # the budget ran out mid-epoch: end the epoch here
                break
        for g in opt.param_groups:
            g["lr"] = lr_at(frac, cfg)
        batch = {k: v.to(dev) for k, v in batch.items()}
        if cfg.channels_last:
            batch["image"] = batch["image"].contiguous(memory_format=torch.channels_last)
        losses = task.loss(net, batch)
        opt.zero_grad(set_to_none=True)
        losses["total"].backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        opt.step()
        state["step"] += 1
        n += 1
        for k, v in losses.items():
            sums[k] = sums.get(k, 0.0) + v.item()
        if hasattr(batches, "set_postfix"):
            batches.set_postfix(loss=f"{losses['total'].item():.3f}")
    return {k: v / max(1, n) for k, v in sums.items()}


def epoch_loader(ds, cfg: LoopConfig, info: DistInfo, epoch: int) -> torch.utils.data.DataLoader:
    """This process's shuffled batches for ``epoch`` (a seeded order; disjoint shards under DDP).

    With ``cfg.loader_workers`` > 0, that many forked processes prepare the batches while
    this one trains. Every sample draws from its own ``(seed, epoch, index)`` generator,
    so the batches are the same whatever the worker count.
    """
    workers = {"num_workers": cfg.loader_workers, "prefetch_factor": 2} if cfg.loader_workers > 0 else {}
    if info.world > 1:
        sampler = torch.utils.data.DistributedSampler(ds, info.world, info.rank, shuffle=True, seed=cfg.seed)
        sampler.set_epoch(epoch)
        return torch.utils.data.DataLoader(ds, batch_size=cfg.batch_size, sampler=sampler, **workers)
    order = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)
    return torch.utils.data.DataLoader(ds, batch_size=cfg.batch_size, shuffle=True, generator=order, **workers)


def _restore(task: Task, out: Path, opt: torch.optim.Optimizer, np_rng: np.random.Generator) -> dict:
    """Load ``out/last`` into the model, optimiser and RNGs; return the saved loop state."""
    loaded = load_checkpoint(out / "last", task.card.obj_ids, kind=task.card.kind)
    if loaded.card.config != task.card.config:
        raise RigidposeError(f"cannot resume {out}: its network config differs from the requested one")
    task.model.load_state_dict(loaded.model.state_dict())
    saved = load_train_state(out / "last")
    if loaded.card.training.get("epoch") != saved["epoch"] + 1:
        raise RigidposeError(
            f"cannot resume {out}: last.safetensors is from epoch {loaded.card.training.get('epoch')} but "
            f"last.train.safetensors from epoch {saved['epoch'] + 1} (the run was killed while saving)"
        )
    opt.load_state_dict(saved["optimizer"])
    restore_rng(saved["rng"], np_rng)
    return saved


def fit(task: Task, cfg: LoopConfig, info: DistInfo, dev: torch.device, *, resume: bool = False,
        progress: bool = True, stop_after: int | None = None) -> tuple[list[dict], int]:
    """Train ``task`` (or resume it from ``cfg.out/last``).

    Stops after ``cfg.epochs`` epochs, when the time budget runs out (the epoch then
    ends early, after the batch in progress, and is validated and saved), or after ``stop_after`` epochs of this call (as if the run were killed there).
    Returns all metric rows of the run (earlier calls' included) and the number of
    epochs this call trained.
    """
    from tqdm import tqdm

    out, model = Path(cfg.out), task.model
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    np_rng = np.random.default_rng(cfg.seed)
    sign = -1.0 if task.maximise else 1.0  # state["best"] holds sign * score, lower is better
    state = {"epoch": -1, "step": 0, "elapsed_s": 0.0, "rows": [], "best": float("inf")}
    if resume and checkpoint_paths(out / "last")[2].exists():
        saved = _restore(task, out, opt, np_rng)
        state = {k: saved[k] for k in state}
    net = wrap(model, info, dev)
    steps_per_epoch = math.ceil(math.ceil(len(task.train_ds) / info.world) / cfg.batch_size)
    total_steps = max(1, cfg.epochs * steps_per_epoch)
    val_loader = torch.utils.data.DataLoader(task.val_ds, batch_size=cfg.batch_size)
    first_epoch, trained = state["epoch"] + 1, 0
    if cfg.time_budget_s is not None and state["elapsed_s"] >= cfg.time_budget_s:
        return state["rows"], 0  # finished by its time budget before the resume
    for epoch in range(first_epoch, cfg.epochs):
        t0 = time.perf_counter() - state["elapsed_s"]
        task.train_ds.set_epoch(epoch)
        loader = epoch_loader(task.train_ds, cfg, info, epoch)
        desc = f"{task.card.kind} epoch {epoch + 1}/{cfg.epochs}"
        bar = tqdm(loader, desc=desc, disable=not progress, leave=False)
        means = run_epoch(net, opt, bar, task, cfg, state, total_steps, t0, dev, info)
        state["elapsed_s"] = time.perf_counter() - t0
        state["epoch"] = epoch
        trained += 1
        done = cfg.time_budget_s is not None and state["elapsed_s"] >= cfg.time_budget_s
        done = agree(done or (stop_after is not None and trained >= stop_after), info)
        if not info.is_main:
            barrier(info)  # rank 0 validates and saves meanwhile
            if done:
                break
            continue
        row = {"epoch": epoch + 1, "step": state["step"], "elapsed_s": round(state["elapsed_s"], 2),
               "lr": opt.param_groups[0]["lr"], "train_loss": means.pop("total", float("nan")),
               **{f"train_{k}": v for k, v in means.items()}, **task.validate(model, val_loader, dev)}
        state["rows"].append(row)
        card_e = ModelCard(task.card.arch, task.card.config, task.card.objects, task.card.normalisation,
                           {**task.card.training, "epoch": epoch + 1, "metrics": row})
        if math.isfinite(row[task.score]) and sign * row[task.score] < state["best"]:
            state["best"] = sign * row[task.score]
            save_checkpoint(out / "best", model, card_e)
        # the training state first, the weights last: resume checks that both carry this epoch
        save_train_state(out / "last", {**state, "optimizer": opt.state_dict(), "rng": capture_rng(np_rng)})
        save_checkpoint(out / "last", model, card_e)
        write_metrics(out, state["rows"], task.score)
        if progress:
            print(f"{task.card.kind} epoch {epoch + 1}: {task.describe(row)}", flush=True)
        barrier(info)
        if done:
            break
    return state["rows"], trained
