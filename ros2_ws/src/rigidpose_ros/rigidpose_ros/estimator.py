"""The estimator the node calls, behind a tiny protocol, and how it is loaded.

The node never runs without saying why: :func:`load_estimator` returns the estimator
or None together with a one-line description that the node logs and reports on
``~/status``. With no estimator the node still validates and counts every message,
and publishes the static base→camera transform, but it publishes no poses.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from rigidpose.geometry import Camera, PoseEstimate
from rigidpose_ros.errors import BadParameter


@runtime_checkable
class PoseEstimator(Protocol):
    """What the node needs from an estimator (``rigidpose.estimate.Estimator`` will provide it).

    ``estimate(rgb (H, W, 3) uint8 RGB, camera, depth (H, W) float32 metres or None)``
    returns the objects found, each with ``pose = T_cam_obj`` in the OpenCV camera frame.
    An estimator may also offer ``object_boxes: dict[int, (centre (3,), size (3,))]``,
    the object-frame bounding boxes in metres, used for Detection3D.bbox and markers.
    """

    def estimate(
        self, rgb: NDArray[np.uint8], camera: Camera, depth: NDArray[np.float32] | None
    ) -> Sequence[PoseEstimate]: ...


def _import_factory(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise BadParameter(f"estimator_factory must be 'module:callable', got {spec!r}")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise BadParameter(f"cannot load estimator_factory {spec!r}: {exc}") from None


def load_estimator(options: dict[str, Any], factory: str = "") -> tuple[PoseEstimator | None, str]:
    """``(estimator or None, description)`` for the node's options.

    Args:
        options: ``checkpoint, objects, score_threshold, use_depth, icp, tracking``.
        factory: ``"module:callable"``; the callable takes ``options`` and returns a
            :class:`PoseEstimator`. Only for tests and other backends: the shipped path
            is ``rigidpose.estimate.Estimator.from_checkpoint(checkpoint, **options)``.

    Raises :class:`BadParameter` when a factory is named but cannot be loaded, or when
    a checkpoint is named but the estimator rejects it.
    """
    if factory:
        est = _import_factory(factory)(dict(options))
        if not isinstance(est, PoseEstimator):
            raise BadParameter(f"estimator_factory {factory!r} returned {type(est).__name__}, which has no estimate()")
        return est, f"estimator from factory {factory}"
    checkpoint = options.get("checkpoint", "")
    if not checkpoint:
        return None, "no estimator: parameter 'checkpoint' is empty, so no poses are published"
    try:
        from rigidpose.estimate import Estimator  # lands with issue 5
    except ImportError as exc:
        return None, (
            f"no estimator: rigidpose.estimate is not available ({exc}); "
            f"checkpoint {checkpoint!r} is ignored and no poses are published"
        )
    rest = {k: v for k, v in options.items() if k != "checkpoint"}
    try:
        return Estimator.from_checkpoint(checkpoint, **rest), f"estimator from checkpoint {checkpoint}"
    except Exception as exc:  # the checkpoint is user input: report it in one line
        raise BadParameter(f"cannot load checkpoint {checkpoint!r}: {exc}") from None
