"""Writing the BOP dataset: chunk folders written to a temporary name and renamed into
place, the models (PLY in mm), ``camera.json`` and the run manifest.

All file formats and mm conversions go through :mod:`rigidpose.bop`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from rigidpose.bop.camera import write_camera_json
from rigidpose.bop.images import write_depth, write_mask, write_rgb
from rigidpose.bop.jsonio import write_json_atomic
from rigidpose.bop.models import model_filename, write_model_ply
from rigidpose.bop.models_info import write_models_info
from rigidpose.bop.scene import GtInfo, GtInstance, SceneCamera, write_scene_camera, write_scene_gt, write_scene_gt_info
from rigidpose.geometry import Camera
from synth.config import OutputConfig
from synth.generate import ImageRecord

SPLIT = "train_synth"
MANIFEST = "synth_manifest.json"
TMP_PREFIX = ".tmp_"


def chunk_dir(out: Path, chunk: int) -> Path:
    """Final folder of chunk ``chunk``: ``OUT/train_synth/NNNNNN``."""
    return Path(out) / SPLIT / f"{chunk:06d}"


def is_complete(out: Path, chunk: int) -> bool:
    """A chunk folder exists only once complete (it appears by one rename)."""
    return (chunk_dir(out, chunk) / "scene_gt_info.json").is_file()


def remove_stale_temps(out: Path) -> list[Path]:
    """Delete temporary chunk folders left by a killed run; return them."""
    split = Path(out) / SPLIT
    stale = sorted(p for p in split.glob(f"{TMP_PREFIX}*") if p.is_dir()) if split.is_dir() else []
    for p in stale:
        shutil.rmtree(p, ignore_errors=True)
    return stale


class ChunkWriter:
    """Writes the images of one chunk into ``.tmp_NNNNNN_<pid>`` then renames it."""

    def __init__(self, out: Path, chunk: int, camera: Camera, cfg: OutputConfig) -> None:
        self.final = chunk_dir(out, chunk)
        self.tmp = self.final.parent / f"{TMP_PREFIX}{chunk:06d}_{os.getpid()}"
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        for sub in ("rgb", "depth", "mask", "mask_visib"):
            (self.tmp / sub).mkdir(parents=True)
        self.camera, self.cfg = camera, cfg
        self.gt: dict[int, list[GtInstance]] = {}
        self.info: dict[int, list[GtInfo]] = {}
        self.cams: dict[int, SceneCamera] = {}

    def add(self, im_id: int, rec: ImageRecord) -> None:
        d, name = self.tmp, f"{im_id:06d}"
        write_rgb(d / "rgb" / f"{name}.{self.cfg.rgb_format}", rec.rgb, quality=self.cfg.jpg_quality)
        write_depth(d / "depth" / f"{name}.png", rec.depth, self.cfg.depth_scale)
        for k, (m, mv) in enumerate(zip(rec.masks, rec.masks_visib)):
            write_mask(d / "mask" / f"{name}_{k:06d}.png", m)
            write_mask(d / "mask_visib" / f"{name}_{k:06d}.png", mv)
        self.gt[im_id], self.info[im_id] = rec.gt, rec.info
        self.cams[im_id] = SceneCamera(self.camera, self.cfg.depth_scale, rec.T_cam_world)

    def commit(self) -> Path:
        """Write the scene JSON files and rename the folder into place (atomic)."""
        write_scene_gt(self.tmp / "scene_gt.json", self.gt)
        write_scene_camera(self.tmp / "scene_camera.json", self.cams)
        write_scene_gt_info(self.tmp / "scene_gt_info.json", self.info)
        os.replace(self.tmp, self.final)
        return self.final

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def write_dataset_files(out: Path, models: list, camera: Camera, depth_scale: float) -> None:
    """``OUT/models/obj_NNNNNN.ply`` (mm), ``models_info.json`` and ``OUT/camera.json``."""
    out = Path(out)
    (out / "models").mkdir(parents=True, exist_ok=True)
    for m in models:
        write_model_ply(out / "models" / model_filename(m.obj_id), m)
    write_models_info(out / "models" / "models_info.json", {m.obj_id: m.info for m in models})
    write_camera_json(out / "camera.json", camera.without_distortion(), depth_scale)
    (out / SPLIT).mkdir(exist_ok=True)


def write_manifest(out: Path, manifest: dict) -> None:
    write_json_atomic(Path(out) / MANIFEST, manifest)
