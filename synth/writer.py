"""Writing the BOP dataset: chunk folders written to a temporary name and renamed into
place, the models (PLY in mm), ``camera.json`` and the run manifest.

The atomicity guarantee is per chunk: files inside a chunk's temporary folder are written
directly (no per-file temp + rename), since the folder appears under its final name in one
rename only when complete. A chunk may be rendered in shards (image ranges) by several
workers into the same temporary folder; each shard leaves its part of the scene JSON files
in ``.shards/SSSSSS/``, and :func:`finalize_chunk` merges them (as raw JSON, so the text is
identical to a chunk written in one piece) and renames the folder.

All file formats and mm conversions go through :mod:`rigidpose.bop`.
"""

from __future__ import annotations

import collections
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rigidpose.bop.camera import write_camera_json
from rigidpose.bop.images import encode_mask, write_depth, write_file_bytes, write_rgb
from rigidpose.bop.jsonio import write_json_atomic
from rigidpose.bop.models import model_filename, write_model_names, write_model_ply
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


def temp_chunk_dir(out: Path, chunk: int) -> Path:
    """Temporary folder of chunk ``chunk`` for this process: ``.tmp_NNNNNN_<pid>``."""
    return Path(out) / SPLIT / f"{TMP_PREFIX}{chunk:06d}_{os.getpid()}"


def make_temp_chunk_dir(tmp: Path) -> Path:
    """Create an empty temporary chunk folder with its image subfolders (a stale one is removed)."""
    if tmp.exists():
        shutil.rmtree(tmp)
    for sub in ("rgb", "depth", "mask", "mask_visib"):
        (tmp / sub).mkdir(parents=True)
    return tmp


@dataclass(frozen=True, eq=False)
class ShardAnnotations:
    """Annotations of some images of a chunk, keyed by image id in the chunk (plain data:
    sent back from worker processes)."""

    gt: dict[int, list[GtInstance]]
    info: dict[int, list[GtInfo]]
    cams: dict[int, SceneCamera]


class ChunkWriter:
    """Writes images of one chunk into its temporary folder and keeps their annotations;
    :meth:`commit` writes the scene JSON files and renames the folder into place.

    ``tmp``: an existing temporary folder shared by the chunk's shards; by default a new
    ``.tmp_NNNNNN_<pid>`` is made.
    """

    def __init__(self, out: Path, chunk: int, camera: Camera, cfg: OutputConfig, tmp: Path | None = None) -> None:
        self.final = chunk_dir(out, chunk)
        self.tmp = make_temp_chunk_dir(temp_chunk_dir(out, chunk)) if tmp is None else Path(tmp)
        self.camera, self.cfg = camera, cfg
        self.gt: dict[int, list[GtInstance]] = {}
        self.info: dict[int, list[GtInfo]] = {}
        self.cams: dict[int, SceneCamera] = {}

    def add(self, im_id: int, rec: ImageRecord) -> None:
        d, name = self.tmp, f"{im_id:06d}"
        write_rgb(d / "rgb" / f"{name}.{self.cfg.rgb_format}", rec.rgb, quality=self.cfg.jpg_quality, atomic=False)
        write_depth(d / "depth" / f"{name}.png", rec.depth, self.cfg.depth_scale, atomic=False)
        for k, (m, mv) in enumerate(zip(rec.masks, rec.masks_visib)):
            png = encode_mask(m)
            write_file_bytes(d / "mask" / f"{name}_{k:06d}.png", png, atomic=False)
            # an unoccluded instance's visible mask is its full mask: encode it once
            write_file_bytes(d / "mask_visib" / f"{name}_{k:06d}.png",
                             png if np.array_equal(m, mv) else encode_mask(mv), atomic=False)
        self.gt[im_id], self.info[im_id] = rec.gt, rec.info
        self.cams[im_id] = SceneCamera(self.camera, self.cfg.depth_scale, rec.T_cam_world)

    def annotations(self) -> ShardAnnotations:
        """The annotations of the images added so far (a shard's result)."""
        return ShardAnnotations(dict(self.gt), dict(self.info), dict(self.cams))

    def merge(self, part: ShardAnnotations) -> None:
        """Take the annotations of images another writer added to this chunk's folder."""
        self.gt.update(part.gt)
        self.info.update(part.info)
        self.cams.update(part.cams)

    def commit(self) -> Path:
        """Write the scene JSON files and rename the folder into place (atomic)."""
        write_scene_gt(self.tmp / "scene_gt.json", self.gt)
        write_scene_camera(self.tmp / "scene_camera.json", self.cams)
        write_scene_gt_info(self.tmp / "scene_gt_info.json", self.info)
        os.replace(self.tmp, self.final)
        return self.final

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def finalize_chunk(out: Path, chunk: int, camera: Camera, cfg: OutputConfig, tmp: Path,
                   parts: list[ShardAnnotations]) -> Path:
    """Complete a chunk rendered in shards into ``tmp``: write the scene JSON files of all
    ``parts`` (image order is restored by the writers) and rename the folder (atomic)."""
    w = ChunkWriter(out, chunk, camera, cfg, tmp=tmp)
    for part in parts:
        w.merge(part)
    return w.commit()


def unique_names(names: dict[int, str]) -> dict[int, str]:
    """Names made unique: a name that several objects share gets ``_<obj_id>`` appended to each
    (``part.ply`` from two folders would otherwise give two objects the same TF frames)."""
    counts = collections.Counter(names.values())
    return {o: (f"{n}_{o}" if counts[n] > 1 else n) for o, n in names.items()}


def write_dataset_files(out: Path, models: list, camera: Camera, depth_scale: float) -> None:
    """``OUT/models/obj_NNNNNN.ply`` (mm), ``models_info.json``, ``models_names.json`` (the
    models' names, from their file names) and ``OUT/camera.json``."""
    out = Path(out)
    (out / "models").mkdir(parents=True, exist_ok=True)
    for m in models:
        write_model_ply(out / "models" / model_filename(m.obj_id), m)
    write_models_info(out / "models" / "models_info.json", {m.obj_id: m.info for m in models})
    write_model_names(out / "models", unique_names({m.obj_id: m.name for m in models if m.name}))
    write_camera_json(out / "camera.json", camera.without_distortion(), depth_scale)
    (out / SPLIT).mkdir(exist_ok=True)


def write_manifest(out: Path, manifest: dict) -> None:
    write_json_atomic(Path(out) / MANIFEST, manifest)
