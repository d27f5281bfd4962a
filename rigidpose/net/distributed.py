"""Data-parallel training through ``torchrun`` (DDP): process-group set-up and small helpers.

``torchrun --nproc_per_node N -m rigidpose train ...`` sets ``WORLD_SIZE``, ``RANK`` and
``LOCAL_RANK``; without them everything here is a no-op for a single process. CUDA
devices use NCCL, CPUs use gloo. Rank 0 validates, saves and logs; the others wait.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str) -> tuple[DistInfo, torch.device, bool]:
    """Join the ``torchrun`` job if there is one.

    Returns the process info, the device to use (``cuda:LOCAL_RANK`` for CUDA jobs) and
    whether this call created the process group (then :func:`shutdown` should end it).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(), torch.device(device), False
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device.startswith("cuda") and torch.cuda.is_available()
    created = not dist.is_initialized()
    if created:
        dist.init_process_group("nccl" if use_cuda else "gloo")
    dev = torch.device(f"cuda:{local}") if use_cuda else torch.device(device)
    if use_cuda:
        torch.cuda.set_device(dev)
    return DistInfo(dist.get_rank(), dist.get_world_size(), local), dev, created


def wrap(model: nn.Module, info: DistInfo, device: torch.device) -> nn.Module:
    """``DistributedDataParallel(model)`` in a multi-process job, else ``model``."""
    if info.world <= 1:
        return model
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def barrier(info: DistInfo) -> None:
    if info.world > 1:
        dist.barrier()


def agree(flag: bool, info: DistInfo) -> bool:
    """Rank 0's ``flag`` on every rank (so that all ranks stop together)."""
    if info.world <= 1:
        return flag
    t = torch.tensor([int(flag)])
    dist.broadcast(t, 0)
    return bool(t.item())


def shutdown(created: bool) -> None:
    if created and dist.is_initialized():
        dist.destroy_process_group()
