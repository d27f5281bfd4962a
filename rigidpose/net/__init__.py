"""The pose network, the detector, their losses, targets, decoding and checkpoints (torch).

Modules: ``blocks``/``backbone``/``decoder``/``heads``/``posenet`` (the crop network),
``detector`` (CenterNet-style multi-object detector; ``detector_data`` its whole-image
samples and ``letterbox``), ``pose_coding`` (crop-invariant
pose targets, numpy), ``targets`` (heatmap targets, numpy), ``decode`` (keypoints from
heatmaps), ``losses``, ``symmetry``, ``card`` and ``checkpoint``, ``crops``/``augment``/
``data`` (training samples from a BOP dataset), ``loop`` (the training machinery both
networks share), ``train`` (PoseNet's task and the whole run) and ``detector_train``.

Importing ``rigidpose.net`` itself does not import torch; the names below load lazily.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "PoseNet": "posenet",
    "PoseNetConfig": "posenet",
    "CenterNetDetector": "detector",
    "decode_detections": "detector",
    "letterbox": "detector_data",
    "pose_centre": "pose_coding",
    "decode_keypoints": "decode",
    "encode_pose": "pose_coding",
    "decode_pose": "pose_coding",
    "ModelCard": "card",
    "CardObject": "card",
    "save_checkpoint": "checkpoint",
    "load_checkpoint": "checkpoint",
    "PoseCropDataset": "data",
    "TrainConfig": "train",
    "train": "train",
    "TrainResult": "train",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"rigidpose.net.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'rigidpose.net' has no attribute {name!r}")
