"""Training samples for :class:`~rigidpose.net.posenet.PoseNet` from a BOP dataset.

One sample is one GT instance: a square crop around its ``bbox_visib`` (dynamic
zoom-in jitter when training), warped with ``Camera.crop_affine`` and carrying
``Camera.cropped``; then augmentation and every target of :func:`posenet_loss`.
Keypoint targets use the symmetry-canonicalised pose; the rotation target is the
(allocentric) GT rotation, and ``sym_rots`` lets the loss take the minimum over symmetries.
The pose code is about the object's :func:`~rigidpose.net.pose_coding.pose_centre`
(symmetry-invariant), recorded in the model card as ``pose_centre``.

Besides the targets, a sample carries ``kp_uv`` (K, 2) crop pixels, the crop camera's
``K`` (3, 3), the GT ``pose`` (4, 4) float64 ``T_cam_obj`` (m), the crop ``box`` (4,) x, y,
side, side in image pixels and the object's ``diameter`` (m).

Randomness: sample ``i`` in epoch ``e`` draws from ``default_rng([seed, e, i])``, so a
run is reproducible whatever the worker count and order.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from numpy.typing import NDArray

from rigidpose.bop.dataset import BopDataset
from rigidpose.bop.images import read_depth_units, read_mask, units_to_metres
from rigidpose.errors import DataError
from rigidpose.geometry import sixd_to_matrix
from rigidpose.net.augment import AugmentConfig, augment
from rigidpose.net.coords import CoordFrame, coordinate_targets
from rigidpose.net.card import IMAGENET_NORMALISATION
from rigidpose.net.crops import ZoomIn, downsample_mask, warp_crop
from rigidpose.net.pose_coding import encode_pose, pose_centre
from rigidpose.net.posenet import OUTPUT_STRIDE
from rigidpose.net.symmetry import canonicalise_pose, symmetry_table
from rigidpose.net.targets import keypoint_targets


@dataclass(frozen=True)
class CropConfig:
    """How samples are cut and coded.

    Attributes:
        input_size: crop side in pixels (the network input).
        zoom: crop-box padding and jitter.
        sigma: heatmap Gaussian sigma in cells.
        min_visib_fract: instances less visible than this are skipped.
        allocentric: rotation targets are allocentric (must match the network).
        coords: also make dense-coordinate targets from the depth images
            (:mod:`rigidpose.net.coords`; the network needs a coordinate head).
        normalisation: ``mean``/``std`` of RGB scaled to [0, 1].
    """

    input_size: int = 128
    zoom: ZoomIn = field(default_factory=ZoomIn)
    sigma: float = 1.0
    min_visib_fract: float = 0.1
    allocentric: bool = True
    coords: bool = False
    normalisation: Mapping = field(default_factory=lambda: dict(IMAGENET_NORMALISATION))


@dataclass(frozen=True)
class InstanceRef:
    """Where one GT instance lives: split, scene, image, index in ``scene_gt``, object id."""

    split: str
    scene_id: int
    im_id: int
    inst: int
    obj_id: int


def index_instances(
    bop: BopDataset, splits: Sequence[str], obj_ids: Sequence[int], min_visib_fract: float = 0.1
) -> list[InstanceRef]:
    """All instances of ``obj_ids`` in ``splits`` visible enough to train on.

    Raises ``DataError`` when the splits hold no images, or none of the requested objects.
    """
    refs: list[InstanceRef] = []
    present: set[int] = set()
    n_images = 0
    for split in splits:
        for scene in bop.scenes(split):
            gts, infos = bop.gt(split, scene), bop.gt_info(split, scene)
            for im_id, insts in sorted(gts.items()):
                n_images += 1
                info = infos.get(im_id, [])
                for k, g in enumerate(insts):
                    present.add(g.obj_id)
                    if g.obj_id not in obj_ids or k >= len(info):
                        continue
                    bb = info[k].bbox_visib
                    if info[k].visib_fract >= min_visib_fract and bb[2] > 0 and bb[3] > 0:
                        refs.append(InstanceRef(split, scene, im_id, k, g.obj_id))
    if n_images == 0:
        raise DataError(f"dataset {bop.root} has no annotated images in split(s) {list(splits)}")
    missing = sorted(set(obj_ids) - present)
    if missing:
        raise DataError(f"dataset {bop.root} has no instances of object(s) {missing}; it has {sorted(present)}")
    if not refs:
        raise DataError(f"dataset {bop.root}: no instance of {list(obj_ids)} is at least {min_visib_fract:.0%} visible")
    return refs


def normalise(rgb: NDArray[np.uint8], norm: Mapping) -> torch.Tensor:
    """HxWx3 uint8 RGB → (3, H, W) float32 ``(rgb·scale − mean) / std``."""
    x = rgb.astype(np.float32) * float(norm["scale"])
    x = (x - np.asarray(norm["mean"], np.float32)) / np.asarray(norm["std"], np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


class SeededSamples(torch.utils.data.Dataset):
    """Base of the training datasets: a BOP dataset, the objects (in the network's order), the
    augmentation (``None`` for evaluation), background images, and per-sample randomness
    ``default_rng([seed, epoch, i])`` (:meth:`sample_rng`; select the epoch with :meth:`set_epoch`)."""

    def __init__(self, bop: BopDataset, obj_ids: Sequence[int], augment_config: AugmentConfig | None, seed: int,
                 backgrounds: Sequence[NDArray[np.uint8]]) -> None:
        self.bop, self.obj_ids = bop, [int(o) for o in obj_ids]
        self.augment_config, self.seed, self.backgrounds = augment_config, int(seed), list(backgrounds)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the random stream of ``epoch`` (call before each epoch)."""
        self.epoch = int(epoch)

    def sample_rng(self, i: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, i])


class PoseCropDataset(SeededSamples):
    """Crops and targets of the instances of ``obj_ids`` in a BOP dataset.

    Args:
        bop: the dataset.
        splits: splits to read, e.g. ``["train_pbr"]``.
        obj_ids: objects, in the order of the network's object index.
        keypoints: ``{obj_id: (K, 3)}`` keypoints in metres (same K for all objects); by
            default ``bop.models[obj_id].keypoints(8)`` (8 FPS points + the centre).
        config: crop and target settings.
        augment_config: augmentation, or ``None`` for evaluation (no jitter either).
        seed: base seed of the per-sample generators.
        backgrounds: optional background images for the background swap.
    """

    def __init__(
        self,
        bop: BopDataset,
        splits: Sequence[str],
        obj_ids: Sequence[int],
        keypoints: Mapping[int, NDArray] | None = None,
        config: CropConfig | None = None,
        augment_config: AugmentConfig | None = None,
        seed: int = 0,
        backgrounds: Sequence[NDArray[np.uint8]] = (),
    ) -> None:
        super().__init__(bop, obj_ids, augment_config, seed, backgrounds)
        self.config = config or CropConfig()
        self.refs = index_instances(bop, splits, self.obj_ids, self.config.min_visib_fract)
        infos = bop.models_info
        absent = [o for o in self.obj_ids if o not in infos]
        if absent:
            raise DataError(f"{bop.models_dir / 'models_info.json'} has no entry for object(s) {absent}")
        self.infos = {o: infos[o] for o in self.obj_ids}
        if keypoints is None:
            keypoints = {o: bop.models[o].keypoints(8) for o in self.obj_ids}
        self.keypoints = {o: np.asarray(keypoints[o], dtype=np.float64).reshape(-1, 3) for o in self.obj_ids}
        if len({k.shape[0] for k in self.keypoints.values()}) != 1:
            raise ValueError("all objects need the same number of keypoints")
        self.sym_table = symmetry_table([self.infos[o].symmetries for o in self.obj_ids])
        self.centres = {o: pose_centre(self.infos[o]) for o in self.obj_ids}
        self.frames = {o: CoordFrame.of(self.infos[o]) for o in self.obj_ids}
        if self.config.coords:
            r = self.refs[0]
            depth = bop.depth_path(r.split, r.scene_id, r.im_id)
            if not depth.is_file():
                raise DataError(f"coordinate targets come from the depth images, and {depth} does not exist "
                                "(train without the coordinate head, or render the dataset with depth)")

    def subset(self, indices: Sequence[int], augment_config: AugmentConfig | None) -> PoseCropDataset:
        """The same dataset restricted to ``refs[indices]``, with its own augmentation."""
        out = copy.copy(self)
        out.refs = [self.refs[i] for i in indices]
        out.augment_config = augment_config
        return out

    def __len__(self) -> int:
        return len(self.refs)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        ref = self.refs[i]
        cfg, S = self.config, self.config.input_size
        train = self.augment_config is not None
        rng = self.sample_rng(i)
        bop = self.bop
        camera = bop.image_camera(ref.split, ref.scene_id, ref.im_id).camera
        T = bop.gt(ref.split, ref.scene_id)[ref.im_id][ref.inst].pose
        info = bop.gt_info(ref.split, ref.scene_id)[ref.im_id][ref.inst]
        box = cfg.zoom.box(info.bbox_visib, rng if train else None)
        rgb, crop_cam, _ = warp_crop(bop.read_rgb(ref.split, ref.scene_id, ref.im_id), camera, box, S)
        mask_path = bop.mask_visib_path(ref.split, ref.scene_id, ref.im_id, ref.inst)
        mask_full = read_mask(mask_path, camera).astype(np.uint8)
        mask, _, _ = warp_crop(mask_full, camera, box, S, nearest=True)
        if train:
            rgb = augment(rgb, mask > 0, self.augment_config, rng, self.backgrounds)
        obj_index = self.obj_ids.index(ref.obj_id)
        sym = self.infos[ref.obj_id].symmetries
        centre = self.centres[ref.obj_id]
        T_canon = canonicalise_pose(T, sym, allocentric=cfg.allocentric, centre_obj=centre)
        uv = crop_cam.project(T_canon.transform(self.keypoints[ref.obj_id]))
        h = S // OUTPUT_STRIDE
        kp = keypoint_targets(uv, (h, h), OUTPUT_STRIDE, cfg.sigma)
        code = encode_pose(T, crop_cam, self.infos[ref.obj_id].diameter, centre_obj=centre, allocentric=cfg.allocentric)
        extra = self._coords(ref, camera, box, mask_full, T_canon, h) if cfg.coords else {}
        return {
            **extra,
            "image": normalise(rgb, cfg.normalisation),
            "obj_index": torch.tensor(obj_index),
            "heatmap": torch.from_numpy(kp.heatmap),
            "kp_offset": torch.from_numpy(kp.offset),
            "kp_index": torch.from_numpy(kp.index),
            "kp_valid": torch.from_numpy(kp.valid),
            "kp_uv": torch.from_numpy(uv.astype(np.float32)),
            "mask": torch.from_numpy(downsample_mask(mask > 0, OUTPUT_STRIDE))[None],
            "rot": torch.from_numpy(sixd_to_matrix(code.rot6d).astype(np.float32)),
            "trans": torch.from_numpy(code.trans.astype(np.float32)),
            "sym_rots": self.sym_table[obj_index],
            "K": torch.from_numpy(crop_cam.K.astype(np.float32)),
            "pose": torch.from_numpy(T.as_matrix()),
            "diameter": torch.tensor(self.infos[ref.obj_id].diameter, dtype=torch.float32),
            "box": torch.from_numpy(box.astype(np.float32)),
        }

    def _coords(self, ref: InstanceRef, camera, box, mask_full, T_canon, h: int) -> dict[str, torch.Tensor]:
        """Dense-coordinate targets on the (h, h) output grid: ``coords`` (3, h, h), ``coords_valid`` (h, h)."""
        # sample the stored units at the cells first: converting the whole image costs more than the warp
        units = read_depth_units(self.bop.depth_path(ref.split, ref.scene_id, ref.im_id), camera)
        units_h, grid_cam, _ = warp_crop(units, camera, box, h, nearest=True)
        scale = self.bop.image_camera(ref.split, ref.scene_id, ref.im_id).depth_scale
        depth_h = units_to_metres(units_h, scale)
        mask_h, _, _ = warp_crop(mask_full, camera, box, h, nearest=True)
        coords, valid = coordinate_targets(depth_h, mask_h > 0, grid_cam, T_canon, self.frames[ref.obj_id])
        return {"coords": torch.from_numpy(coords), "coords_valid": torch.from_numpy(valid)}
