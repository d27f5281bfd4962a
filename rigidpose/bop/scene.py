"""Per-scene BOP files: ``scene_gt.json``, ``scene_gt_info.json`` and ``scene_camera.json``.

All keys on disk are image ids (strings); all readers return ``{im_id: ...}`` dicts
with int keys. Translations are **mm** on disk and **metres** in the value types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, TypeVar

import numpy as np
from numpy.typing import NDArray

from rigidpose.bop.camera import check_depth_scale
from rigidpose.bop.jsonio import (
    PathLike, as_float, as_floats, as_int, get, int_key, read_json_dict, write_json_atomic,
)
from rigidpose.bop.units import pose_from_bop_mm, pose_to_bop_mm
from rigidpose.errors import DataError
from rigidpose.geometry import Camera, Pose

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class GtInstance:
    """One annotated object instance: ``pose`` is ``T_cam_obj`` in metres."""

    obj_id: int
    pose: Pose


@dataclass(frozen=True, eq=False)
class GtInfo:
    """BOP's per-instance visibility statistics.

    Attributes:
        bbox_obj: (4,) ``x, y, w, h`` pixels of the whole projected object.
        bbox_visib: (4,) ``x, y, w, h`` pixels of the visible part.
        px_count_all: pixels of the object's silhouette.
        px_count_valid: silhouette pixels with valid depth.
        px_count_visib: visible pixels.
        visib_fract: ``px_count_visib / px_count_all`` in [0, 1].
    """

    bbox_obj: NDArray[np.float64]
    bbox_visib: NDArray[np.float64]
    px_count_all: int
    px_count_valid: int
    px_count_visib: int
    visib_fract: float


@dataclass(frozen=True, eq=False)
class SceneCamera:
    """One image's camera: intrinsics, ``depth_scale`` (mm per depth unit) and ``T_cam_world``."""

    camera: Camera
    depth_scale: float
    T_cam_world: Pose | None = None


def _read_instances(path: PathLike, parse: Callable[[dict, str], T]) -> dict[int, list[T]]:
    """``{"im_id": [instance, ...]}`` → ``{im_id: [parse(instance, where)]}``."""
    out: dict[int, list[T]] = {}
    for k, v in read_json_dict(path).items():
        if not isinstance(v, list):
            raise DataError(f"{path}: image {k}: expected a list of instances, got {type(v).__name__}")
        im_id = int_key(k, str(path))
        out[im_id] = [parse(g, f"{path}: image {im_id} instance {i}") for i, g in enumerate(v)]
    return out


# --- scene_gt.json -----------------------------------------------------------------------
def _parse_gt(g: dict, w: str) -> GtInstance:
    R9 = as_floats(get(g, "cam_R_m2c", w), 9, f"{w}: cam_R_m2c")
    t = as_floats(get(g, "cam_t_m2c", w), 3, f"{w}: cam_t_m2c")
    return GtInstance(as_int(get(g, "obj_id", w), f"{w}: obj_id"), pose_from_bop_mm(R9, t, w, "cam", "obj"))


def read_scene_gt(path: PathLike) -> dict[int, list[GtInstance]]:
    """Read ``scene_gt.json`` (``cam_t_m2c`` in mm) → ``{im_id: [GtInstance]}`` (metres)."""
    return _read_instances(path, _parse_gt)


def write_scene_gt(path: PathLike, data: dict[int, list[GtInstance]]) -> None:
    """Write ``{im_id: [GtInstance]}`` (metres) as ``scene_gt.json`` with ``cam_t_m2c`` in **mm**."""
    out = {}
    for im_id, insts in sorted(data.items()):
        rows = []
        for g in insts:
            R9, t_mm = pose_to_bop_mm(g.pose)
            rows.append({"cam_R_m2c": R9, "cam_t_m2c": t_mm, "obj_id": int(g.obj_id)})
        out[str(int(im_id))] = rows
    write_json_atomic(path, out)


# --- scene_gt_info.json ------------------------------------------------------------------
def _parse_gt_info(g: dict, w: str) -> GtInfo:
    return GtInfo(
        bbox_obj=as_floats(get(g, "bbox_obj", w), 4, f"{w}: bbox_obj"),
        bbox_visib=as_floats(get(g, "bbox_visib", w), 4, f"{w}: bbox_visib"),
        px_count_all=as_int(get(g, "px_count_all", w), f"{w}: px_count_all"),
        px_count_valid=as_int(get(g, "px_count_valid", w), f"{w}: px_count_valid"),
        px_count_visib=as_int(get(g, "px_count_visib", w), f"{w}: px_count_visib"),
        visib_fract=as_float(get(g, "visib_fract", w), f"{w}: visib_fract"),
    )


def read_scene_gt_info(path: PathLike) -> dict[int, list[GtInfo]]:
    """Read ``scene_gt_info.json`` → ``{im_id: [GtInfo]}`` (pixels, no unit conversion)."""
    return _read_instances(path, _parse_gt_info)


def write_scene_gt_info(path: PathLike, data: dict[int, list[GtInfo]]) -> None:
    """Write ``{im_id: [GtInfo]}`` as ``scene_gt_info.json``."""
    out = {}
    for im_id, insts in sorted(data.items()):
        out[str(int(im_id))] = [
            {
                "bbox_obj": [int(round(v)) for v in g.bbox_obj],
                "bbox_visib": [int(round(v)) for v in g.bbox_visib],
                "px_count_all": int(g.px_count_all),
                "px_count_valid": int(g.px_count_valid),
                "px_count_visib": int(g.px_count_visib),
                "visib_fract": float(g.visib_fract),
            }
            for g in insts
        ]
    write_json_atomic(path, out)


# --- scene_camera.json -------------------------------------------------------------------
def read_scene_camera(path: PathLike, width: int, height: int) -> dict[int, SceneCamera]:
    """Read ``scene_camera.json`` → ``{im_id: SceneCamera}``.

    ``width`` and ``height`` come from the dataset's ``camera.json`` (BOP does not store
    them per image). ``cam_t_w2c`` (mm), when present, becomes ``T_cam_world`` in metres.
    """
    d = read_json_dict(path)
    out: dict[int, SceneCamera] = {}
    for k, v in d.items():
        im_id = int_key(k, str(path))
        w = f"{path}: image {k}"
        K = as_floats(get(v, "cam_K", w), 9, f"{w}: cam_K")
        try:
            cam = Camera.from_cam_K(K, width, height)
        except ValueError as exc:
            raise DataError(f"{w}: invalid cam_K: {exc}") from None
        scale = check_depth_scale(v.get("depth_scale", 1.0), w)
        T = None
        if "cam_R_w2c" in v or "cam_t_w2c" in v:
            R9 = as_floats(get(v, "cam_R_w2c", w), 9, f"{w}: cam_R_w2c")
            t = as_floats(get(v, "cam_t_w2c", w), 3, f"{w}: cam_t_w2c")
            T = pose_from_bop_mm(R9, t, w, "cam", "world")
        out[im_id] = SceneCamera(cam, scale, T)
    return out


def write_scene_camera(path: PathLike, data: dict[int, SceneCamera]) -> None:
    """Write ``{im_id: SceneCamera}`` as ``scene_camera.json`` (``cam_t_w2c`` in **mm**)."""
    out = {}
    for im_id, sc in sorted(data.items()):
        if sc.camera.has_distortion:
            raise DataError(f"{path}: image {im_id}: BOP cannot store lens distortion; undistort first")
        e: dict = {"cam_K": sc.camera.to_cam_K(), "depth_scale": float(sc.depth_scale)}
        if sc.T_cam_world is not None:
            e["cam_R_w2c"], e["cam_t_w2c"] = pose_to_bop_mm(sc.T_cam_world)
        out[str(int(im_id))] = e
    write_json_atomic(path, out)
