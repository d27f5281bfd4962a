""":class:`BopDataset`: paths and cached readers for one BOP dataset on disk.

Layout::

    ROOT/camera.json
    ROOT/models/models_info.json, obj_NNNNNN.ply
    ROOT/<split>/<scene_id:06d>/scene_camera.json, scene_gt.json, scene_gt_info.json,
        rgb/NNNNNN.{png,jpg}, depth/NNNNNN.png, mask/NNNNNN_IIIIII.png, mask_visib/...
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from rigidpose.bop.camera import read_camera_json
from rigidpose.bop.images import read_depth, read_rgb
from rigidpose.bop.jsonio import PathLike
from rigidpose.bop.models import load_dataset_models
from rigidpose.bop.models_info import read_models_info
from rigidpose.bop.scene import (
    GtInfo, GtInstance, SceneCamera, read_scene_camera, read_scene_gt, read_scene_gt_info,
)
from rigidpose.errors import DataError
from rigidpose.geometry import Camera
from rigidpose.objects import ModelInfo

if TYPE_CHECKING:
    from rigidpose.objects.model import ObjectModel


class BopDataset:
    """A BOP dataset rooted at ``root``; every JSON file is read once and cached."""

    def __init__(self, root: PathLike, models_subdir: str = "models") -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(f"dataset directory not found: {self.root}")
        self.models_dir = self.root / models_subdir
        self._cache: dict[tuple, object] = {}

    def __repr__(self) -> str:
        return f"BopDataset({str(self.root)!r})"

    # --- dataset level ----------------------------------------------------------------
    @cached_property
    def _camera_json(self) -> tuple[Camera, float]:
        return read_camera_json(self.root / "camera.json")

    @property
    def camera(self) -> Camera:
        """The dataset camera from ``camera.json`` (gives the image size of every scene)."""
        return self._camera_json[0]

    @property
    def depth_scale(self) -> float:
        """``depth_scale`` from ``camera.json`` (mm per depth-PNG unit)."""
        return self._camera_json[1]

    @cached_property
    def models_info(self) -> dict[int, ModelInfo]:
        return read_models_info(self.models_dir / "models_info.json")

    @cached_property
    def models(self) -> dict[int, ObjectModel]:
        """``{obj_id: ObjectModel}`` in metres, loaded on first access."""
        return load_dataset_models(self.models_dir)

    def split_dir(self, split: str) -> Path:
        return self.root / split

    def scenes(self, split: str) -> list[int]:
        """Scene ids of ``split``: the sub-directories named by an integer."""
        d = self.split_dir(split)
        if not d.is_dir():
            raise DataError(f"split {split!r} not found: {d} is not a directory")
        return sorted(int(p.name) for p in d.iterdir() if p.is_dir() and p.name.isdigit())

    # --- scene level ------------------------------------------------------------------
    def scene_dir(self, split: str, scene_id: int) -> Path:
        return self.split_dir(split) / f"{int(scene_id):06d}"

    def _cached(self, key: tuple, load):
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]

    def gt(self, split: str, scene_id: int) -> dict[int, list[GtInstance]]:
        """``scene_gt.json``: ``{im_id: [GtInstance]}``, poses ``T_cam_obj`` in metres."""
        p = self.scene_dir(split, scene_id) / "scene_gt.json"
        return self._cached(("gt", split, scene_id), lambda: read_scene_gt(p))

    def gt_info(self, split: str, scene_id: int) -> dict[int, list[GtInfo]]:
        """``scene_gt_info.json``: ``{im_id: [GtInfo]}`` in the order of :meth:`gt`."""
        p = self.scene_dir(split, scene_id) / "scene_gt_info.json"
        return self._cached(("gt_info", split, scene_id), lambda: read_scene_gt_info(p))

    def scene_camera(self, split: str, scene_id: int) -> dict[int, SceneCamera]:
        """``scene_camera.json``: ``{im_id: SceneCamera}`` with the image size of ``camera.json``."""
        p = self.scene_dir(split, scene_id) / "scene_camera.json"
        cam = self.camera
        return self._cached(("camera", split, scene_id), lambda: read_scene_camera(p, cam.width, cam.height))

    def image_ids(self, split: str, scene_id: int) -> list[int]:
        return sorted(self.scene_camera(split, scene_id))

    def image_camera(self, split: str, scene_id: int, im_id: int) -> SceneCamera:
        cams = self.scene_camera(split, scene_id)
        if im_id not in cams:
            raise DataError(f"{self.scene_dir(split, scene_id) / 'scene_camera.json'} has no image {im_id}")
        return cams[im_id]

    # --- image paths ------------------------------------------------------------------
    def rgb_path(self, split: str, scene_id: int, im_id: int) -> Path:
        """``rgb/NNNNNN.png``, or ``.jpg`` when only that exists."""
        base = self.scene_dir(split, scene_id) / "rgb" / f"{int(im_id):06d}"
        for ext in (".png", ".jpg"):
            if base.with_suffix(ext).is_file():
                return base.with_suffix(ext)
        return base.with_suffix(".png")

    def depth_path(self, split: str, scene_id: int, im_id: int) -> Path:
        return self.scene_dir(split, scene_id) / "depth" / f"{int(im_id):06d}.png"

    def mask_path(self, split: str, scene_id: int, im_id: int, inst: int) -> Path:
        return self.scene_dir(split, scene_id) / "mask" / f"{int(im_id):06d}_{int(inst):06d}.png"

    def mask_visib_path(self, split: str, scene_id: int, im_id: int, inst: int) -> Path:
        return self.scene_dir(split, scene_id) / "mask_visib" / f"{int(im_id):06d}_{int(inst):06d}.png"

    # --- images -----------------------------------------------------------------------
    def read_rgb(self, split: str, scene_id: int, im_id: int) -> NDArray[np.uint8]:
        """HxWx3 uint8 RGB, size-checked against the image's camera."""
        cam = self.image_camera(split, scene_id, im_id).camera
        return read_rgb(self.rgb_path(split, scene_id, im_id), cam)

    def read_depth(self, split: str, scene_id: int, im_id: int) -> NDArray[np.float32]:
        """HxW float32 depth in metres (0 = invalid), size-checked against the camera."""
        sc = self.image_camera(split, scene_id, im_id)
        return read_depth(self.depth_path(split, scene_id, im_id), sc.depth_scale, sc.camera)
