"""``preview.png``: a contact sheet of the first images with their visible masks,
boxes and projected keypoints, read back through :class:`rigidpose.bop.BopDataset`."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from rigidpose.bop.dataset import BopDataset
from rigidpose.bop.images import read_mask, write_rgb

_COLORS = np.array([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
                    [145, 30, 180], [70, 240, 240], [240, 50, 230]], np.uint8)


def draw_annotations(ds: BopDataset, split: str, scene: int, im_id: int, keypoints: dict[int, NDArray]) -> NDArray[np.uint8]:
    """One image with each instance's visible mask tinted, its bbox_visib and keypoints."""
    rgb = ds.read_rgb(split, scene, im_id).copy()
    cam = ds.image_camera(split, scene, im_id).camera
    gts, infos = ds.gt(split, scene)[im_id], ds.gt_info(split, scene)[im_id]
    for k, (gt, info) in enumerate(zip(gts, infos)):
        col = _COLORS[k % len(_COLORS)]
        m = read_mask(ds.mask_visib_path(split, scene, im_id, k))
        rgb[m] = (0.5 * rgb[m] + 0.5 * col).astype(np.uint8)
        x, y, w, h = (int(v) for v in info.bbox_visib)
        if w > 0:
            cv2.rectangle(rgb, (x, y), (x + w - 1, y + h - 1), col.tolist(), 1)
        uv = cam.project(gt.pose.transform(keypoints[gt.obj_id]))
        for u, v in uv[np.all(np.isfinite(uv), axis=1)]:
            cv2.circle(rgb, (int(round(u)), int(round(v))), 3, (255, 255, 255), -1)
            cv2.circle(rgb, (int(round(u)), int(round(v))), 3, col.tolist(), 1)
    return rgb


def write_preview(out: Path, objs: list, n: int = 12, split: str = "train_synth", cols: int = 4,
                  tile_width: int = 320) -> Path | None:
    """Write ``OUT/preview.png`` from the first ``n`` images of the first chunk."""
    ds = BopDataset(out)
    scenes = ds.scenes(split)
    if not scenes or n < 1:
        return None
    kps = {m.obj_id: m.keypoints(8) for m in objs}
    ids = ds.image_ids(split, scenes[0])[:n]
    tiles = []
    for im_id in ids:
        img = draw_annotations(ds, split, scenes[0], im_id, kps)
        h = round(img.shape[0] * tile_width / img.shape[1])
        tiles.append(cv2.resize(img, (tile_width, h), interpolation=cv2.INTER_AREA))
    cols = min(cols, len(tiles))
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.concatenate(tiles[i : i + cols], axis=1) for i in range(0, len(tiles), cols)]
    path = Path(out) / "preview.png"
    write_rgb(path, np.concatenate(rows, axis=0))
    return path
