"""Inputs and outputs of ``rigidpose predict``: frames from images/video/BOP, overlay writing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from rigidpose.errors import RigidposeError
from rigidpose.geometry import Camera


@dataclass(frozen=True, eq=False)
class Frame:
    scene_id: int
    im_id: int
    rgb: np.ndarray
    camera: Camera
    depth: np.ndarray | None = None
    boxes: list | None = None
    name: str = ""


def load_camera(path: str) -> Camera:
    """A ROS camera_info YAML, or a BOP camera.json."""
    if str(path).endswith(".json"):
        from rigidpose.bop.camera import read_camera_json

        return read_camera_json(path)[0]
    return Camera.from_ros_yaml(path)


def frames(args, camera: Camera | None) -> Iterator[Frame]:
    if args.image:
        yield from _images(args, camera)
    elif args.video:
        yield from _video(args.video, camera)
    else:
        yield from _dataset(args, camera)


def _images(args, camera: Camera) -> Iterator[Frame]:
    from rigidpose.bop.images import read_depth, read_rgb

    depths = args.depth or []
    if args.depth is not None and len(depths) != len(args.image):
        raise RigidposeError(f"got {len(args.image)} images but {len(depths)} depth files; give one depth per image")
    for i, path in enumerate(args.image):
        depth = read_depth(depths[i], args.depth_scale) if depths else None
        yield Frame(0, i, read_rgb(path), camera, depth, name=Path(path).stem)


def _video(path: str, camera: Camera) -> Iterator[Frame]:
    from calibration.io import iter_video  # the one video reader of the project

    for i, rgb in iter_video(path):
        yield Frame(0, i, rgb, camera, name=f"{i:06d}")


def _dataset(args, camera: Camera | None) -> Iterator[Frame]:
    from rigidpose.bop.dataset import BopDataset

    ds = BopDataset(args.dataset)
    for scene in ds.scenes(args.split):
        for im in ds.image_ids(args.split, scene):
            cam = camera or ds.image_camera(args.split, scene, im).camera
            depth = ds.read_depth(args.split, scene, im) if args.depth is not None else None
            boxes = None
            if not args.detector:
                gt, info = ds.gt(args.split, scene)[im], ds.gt_info(args.split, scene)[im]
                boxes = [(g.obj_id, i.bbox_visib) for g, i in zip(gt, info)
                         if i.bbox_visib[2] > 0 and (not args.objects or g.obj_id in args.objects)]
            yield Frame(scene, im, ds.read_rgb(args.split, scene, im), cam, depth, boxes, f"{scene:06d}_{im:06d}")


class OverlaySink:
    """Writes ``OUTDIR/<name>.png`` per frame, and ``OUTDIR/overlay.mp4`` for a video."""

    def __init__(self, outdir: str, estimator, video: bool = False) -> None:
        from rigidpose.estimate.overlay import OverlayDrawer

        if estimator.meshes is None:
            raise RigidposeError("overlays need the object meshes; pass --models DIR")
        self.dir = Path(outdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.drawer = OverlayDrawer(estimator.meshes)
        self.video = video
        self.writer = None

    def add(self, frame: Frame, estimates) -> None:
        from rigidpose.bop.images import write_rgb

        img = self.drawer.draw(frame.rgb, frame.camera, estimates)
        write_rgb(self.dir / f"{frame.name}.png", img)
        if self.video:
            if self.writer is None:
                h, w = img.shape[:2]
                self.writer = cv2.VideoWriter(str(self.dir / "overlay.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (w, h))
            self.writer.write(cv2.cvtColor(img, cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
