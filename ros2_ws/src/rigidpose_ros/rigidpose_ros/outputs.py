"""One frame's estimates → the messages the node publishes (no DDS here, so it is unit-testable)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from geometry_msgs.msg import PoseArray
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage
from vision_msgs.msg import Detection3DArray
from visualization_msgs.msg import MarkerArray

from rigidpose.geometry import PoseEstimate
from rigidpose_ros.pose_msgs import (
    box_marker,
    delete_all_marker,
    detection3d,
    mesh_marker,
    object_label,
    pose_to_msg,
    transform_stamped,
)


@dataclass
class FrameOutputs:
    """The messages for one frame; every header carries the image's stamp and camera frame."""

    detections: Detection3DArray
    poses: PoseArray
    tf: TFMessage
    markers: MarkerArray
    child_frames: list[str]


def select(estimates: Sequence[PoseEstimate], score_threshold: float, objects: Sequence[str]) -> list[PoseEstimate]:
    """Estimates with ``score >= score_threshold`` whose name or id is in ``objects`` (all if empty),
    best first."""
    keep = []
    for est in estimates:
        if not isinstance(est, PoseEstimate):
            raise TypeError(f"the estimator returned a {type(est).__name__}, not a PoseEstimate")
        if est.score < score_threshold:
            continue
        if objects and not ({est.name, str(est.obj_id), object_label(est)} & set(objects)):
            continue
        keep.append(est)
    return sorted(keep, key=lambda e: -e.score)


def build_outputs(header: Header, estimates: Sequence[PoseEstimate], boxes: dict,
                  grasps: dict | None = None, meshes: dict | None = None) -> FrameOutputs:
    """Messages for ``estimates`` (already selected) seen in the image with ``header``.

    Instance ``k`` of an object is named ``<label>_<k>`` (k from 0, best score first);
    that name is the TF child frame, the Detection3D id and the marker namespace.

    Args:
        boxes: obj_id → (centre (3,), size (3,)) object-frame box, metres.
        grasps: obj_id → [(name, T_obj_grasp)]: published on /tf as ``<label>_<k>/<name>``,
            children of ``<label>_<k>``, with the image's stamp.
        meshes: obj_id → (file URI, scale to metres): a mesh marker instead of box lines.
    """
    grasps, meshes = grasps or {}, meshes or {}
    seen: Counter[str] = Counter()
    dets, poses, tfs = Detection3DArray(header=header), PoseArray(header=header), TFMessage()
    markers = MarkerArray(markers=[delete_all_marker(header)])
    names = []
    for i, est in enumerate(estimates):
        label = object_label(est)
        child = f"{label}_{seen[label]}"
        seen[label] += 1
        names.append(child)
        box = boxes.get(est.obj_id)
        dets.detections.append(detection3d(est, header, box, det_id=child))
        poses.poses.append(pose_to_msg(est.pose))
        tfs.transforms.append(transform_stamped(est.pose, header, child))
        obj_header = Header(stamp=header.stamp, frame_id=child)
        for name, T_obj_grasp in grasps.get(est.obj_id, ()):
            tfs.transforms.append(transform_stamped(T_obj_grasp, obj_header, f"{child}/{name}"))
        if est.obj_id in meshes:
            markers.markers.append(mesh_marker(est.pose, *meshes[est.obj_id], header, child, i))
        elif box is not None:
            markers.markers.append(box_marker(est.pose, box, header, child, i))
    return FrameOutputs(dets, poses, tfs, markers, names)
