"""From a frame to a list of :class:`~rigidpose.geometry.PoseEstimate`: detection, crops
through the pose network, PnP / direct-pose fusion, ICP, stable symmetric frames and tracking.

``Estimator`` and ``Tracker`` load lazily (they import torch); the geometry-only modules
(``pnp``, ``icp``, ``covariance``, ``symmetry``, ``overlay``, ``inputs``) do not.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Estimator": "estimator",
    "Measurement": "estimator",
    "Tracker": "tracker",
    "TrackerConfig": "tracker",
    "FuseConfig": "fuse",
    "OverlayDrawer": "overlay",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"rigidpose.estimate.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'rigidpose.estimate' has no attribute {name!r}")
