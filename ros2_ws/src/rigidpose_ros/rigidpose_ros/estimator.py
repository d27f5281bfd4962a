"""The estimator the node calls, behind a tiny protocol, and how it is loaded.

The node never runs without saying why: :func:`load_estimator` returns the estimator
or None together with a one-line description that the node logs and reports on
``~/status``. With no estimator the node still validates and counts every message,
and publishes the static base→camera transform, but it publishes no poses.
"""

from __future__ import annotations

import importlib
from pathlib import Path
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
        options: ``checkpoint, objects, score_threshold, use_depth, icp, tracking, silhouette, use_boxes``.
        factory: ``"module:callable"``; the callable takes ``options`` and returns a
            :class:`PoseEstimator`. Only for tests and other backends: the shipped path
            is ``rigidpose.estimate.Estimator.from_checkpoint(checkpoint, **options)``.

    Raises :class:`BadParameter` when a factory is named but cannot be loaded, or when
    a checkpoint is named but cannot be loaded (missing files, wrong objects, no
    detector, no meshes for ICP...): the node then exits with code 2 and that line.
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
        from rigidpose.estimate import Estimator
    except ImportError as exc:
        raise BadParameter(f"checkpoint {checkpoint!r} is set but rigidpose.estimate cannot be imported: {exc}") from None
    kwargs = checkpoint_options(options)
    try:
        est = Estimator.from_checkpoint(checkpoint, **kwargs)
        # the silhouette templates, built before the first frame instead of during it
        est.prepare(with_depth=kwargs["use_depth"])
    except Exception as exc:  # the checkpoint and its meshes are user input: report it in one line
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadParameter(f"cannot load checkpoint {checkpoint!r}: {first}") from None
    det = "no detector (boxes from the `boxes` topic)" if kwargs["detector"] is None else "its detector"
    return est, f"estimator from checkpoint {checkpoint} ({det}; icp={kwargs['icp']}, tracking={kwargs['tracking']})"


def checkpoint_options(options: dict[str, Any]) -> dict[str, Any]:
    """Node options → keyword arguments of ``Estimator.from_checkpoint``.

    ``objects`` given as BOP ids restrict the estimator itself; names (or a mix) are
    filtered after estimation (``outputs.select``), so the estimator keeps all objects.
    ``use_boxes`` loads no detector: boxes come from the ``boxes`` topic.
    """
    objs = [str(o) for o in options.get("objects", []) if str(o)]
    ids = [int(o) for o in objs] if objs and all(o.isdigit() for o in objs) else None
    return {
        "objects": ids,
        "score_threshold": float(options.get("score_threshold", 0.5)),
        "use_depth": bool(options.get("use_depth", False)),
        "icp": bool(options.get("icp", False)),
        "tracking": bool(options.get("tracking", False)),
        "silhouette": str(options.get("silhouette", "rgb")),
        "detector": None if options.get("use_boxes") else "auto",
    }


def object_names(estimator: Any) -> dict[int, str]:
    """obj_id → name of the estimator's objects (``Estimator.objects``); empty for other estimators."""
    objs = getattr(estimator, "objects", None)
    if not isinstance(objs, dict):
        return {}
    return {int(oid): str(getattr(o, "name", "") or "") for oid, o in objs.items()}


def mesh_resources(estimator: Any) -> dict[int, tuple[str, float]]:
    """obj_id → (``file://`` URI of the model file, its scale to metres) for markers.

    From ``Estimator.meshes`` (ObjectModels loaded from the training dataset's models);
    empty when the estimator has no meshes, so the markers fall back to box lines.
    """
    out = {}
    for oid, model in (getattr(estimator, "meshes", None) or {}).items():
        src = getattr(model, "source_path", None)
        if src is not None and Path(src).is_file():
            out[int(oid)] = (Path(src).resolve().as_uri(), float(getattr(model, "source_scale", 1.0)))
    return out
