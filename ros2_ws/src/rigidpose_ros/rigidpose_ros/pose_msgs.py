"""rigidpose poses and estimates → ROS messages (geometry_msgs, tf2_msgs, vision_msgs, visualization_msgs).

Conventions: quaternions are scalar-last ``(x, y, z, w)`` as in geometry_msgs;
translations are metres; a covariance is 6x6 over ``(x, y, z, rot_x, rot_y, rot_z)``,
written row-major into the 36 values of ``PoseWithCovariance.covariance``.
An all-zero covariance means "not estimated".
"""

from __future__ import annotations

import re

from typing import Any, Sequence

import numpy as np
from geometry_msgs.msg import Point, Pose as PoseMsg, PoseWithCovariance, TransformStamped
from numpy.typing import ArrayLike, NDArray
from std_msgs.msg import ColorRGBA, Header
from vision_msgs.msg import BoundingBox3D, Detection3D, ObjectHypothesisWithPose
from visualization_msgs.msg import Marker

from rigidpose.geometry import Pose, PoseEstimate
from rigidpose_ros.errors import BadParameter

#: the 12 edges of a box, as index pairs into :func:`box_corners`.
BOX_EDGES = ((0, 1), (1, 3), (3, 2), (2, 0), (4, 5), (5, 7), (7, 6), (6, 4), (0, 4), (1, 5), (2, 6), (3, 7))


def pose_to_msg(pose: Pose) -> PoseMsg:
    """:class:`Pose` → geometry_msgs/Pose (position in metres, orientation xyzw)."""
    msg = PoseMsg()
    msg.position.x, msg.position.y, msg.position.z = (float(v) for v in pose.t)
    q = pose.quat()
    msg.orientation.x, msg.orientation.y, msg.orientation.z, msg.orientation.w = (float(v) for v in q)
    return msg


def msg_to_pose(msg: PoseMsg, parent: str | None = None, child: str | None = None) -> Pose:
    """geometry_msgs/Pose → :class:`Pose` (the quaternion is normalised)."""
    q = np.array([msg.orientation.x, msg.orientation.y, msg.orientation.z, msg.orientation.w])
    t = [msg.position.x, msg.position.y, msg.position.z]
    return Pose.from_quat(q / np.linalg.norm(q), t, parent, child)


def pose_with_covariance(pose: Pose, covariance: ArrayLike | None = None) -> PoseWithCovariance:
    """:class:`Pose` and an optional (6, 6) covariance → geometry_msgs/PoseWithCovariance."""
    msg = PoseWithCovariance()
    msg.pose = pose_to_msg(pose)
    cov = np.zeros((6, 6)) if covariance is None else np.asarray(covariance, dtype=np.float64)
    if cov.shape != (6, 6):
        raise ValueError(f"covariance must be (6, 6), got {cov.shape}")
    msg.covariance = cov.reshape(36)
    return msg


def transform_stamped(pose: Pose, header: Header, child_frame: str) -> TransformStamped:
    """``T_parent_child`` as a TransformStamped; ``header.frame_id`` is the parent frame."""
    msg = TransformStamped()
    msg.header = header
    msg.child_frame_id = child_frame
    msg.transform.translation.x, msg.transform.translation.y, msg.transform.translation.z = (
        float(v) for v in pose.t
    )
    r = msg.transform.rotation
    r.x, r.y, r.z, r.w = (float(v) for v in pose.quat())
    return msg


def object_label(est: PoseEstimate) -> str:
    """The class label of an estimate: its name, or ``obj_<id>`` (6 digits, as BOP names files).

    Characters other than letters, digits and ``_`` become ``_``, so the label is a safe
    TF frame id ("my part.v2" → "my_part_v2").
    """
    return re.sub(r"[^A-Za-z0-9_]", "_", est.name.strip()) if est.name and est.name.strip() else f"obj_{est.obj_id:06d}"


def detection3d(
    est: PoseEstimate, header: Header, box: tuple[ArrayLike, ArrayLike] | None = None, det_id: str = ""
) -> Detection3D:
    """One :class:`PoseEstimate` → vision_msgs/Detection3D in the camera frame.

    Args:
        est: the estimate (``pose`` is ``T_cam_obj``).
        header: the image's header (stamp and camera frame).
        box: ``(centre (3,), size (3,))`` of the object's bounding box in the object
            frame, metres; ``None`` gives a box of size 0 at the object origin.
        det_id: ``Detection3D.id`` (the TF child frame name, so both can be matched).
    """
    det = Detection3D()
    det.header = header
    det.id = det_id
    hyp = ObjectHypothesisWithPose()
    hyp.hypothesis.class_id = object_label(est)
    hyp.hypothesis.score = float(est.score)
    hyp.pose = pose_with_covariance(est.pose, est.covariance)
    det.results = [hyp]
    centre, size = (np.zeros(3), np.zeros(3)) if box is None else (np.reshape(box[0], 3), np.reshape(box[1], 3))
    det.bbox = BoundingBox3D()
    det.bbox.center = pose_to_msg(est.pose @ Pose(np.eye(3), centre))
    det.bbox.size.x, det.bbox.size.y, det.bbox.size.z = (float(v) for v in size)
    return det


def box_corners(centre: ArrayLike, size: ArrayLike) -> NDArray[np.float64]:
    """(8, 3) corners of an axis-aligned box; corner ``i`` has bit 2/1/0 = +x/+y/+z side."""
    c, half = np.reshape(centre, 3), 0.5 * np.reshape(size, 3)
    signs = np.array([[(i >> 2) & 1, (i >> 1) & 1, i & 1] for i in range(8)]) * 2.0 - 1.0
    return c + signs * half


def box_marker(
    pose: Pose, box: tuple[ArrayLike, ArrayLike], header: Header, ns: str, marker_id: int,
    rgba: Sequence[float] = (0.1, 0.9, 0.2, 1.0), line_width: float = 0.003,
) -> Marker:
    """A LINE_LIST marker drawing the 12 edges of the object's box, posed by ``pose`` (T_cam_obj)."""
    m = Marker()
    m.header, m.ns, m.id = header, ns, int(marker_id)
    m.type, m.action = Marker.LINE_LIST, Marker.ADD
    m.pose = pose_to_msg(pose)
    m.scale.x = float(line_width)
    m.color = ColorRGBA(r=float(rgba[0]), g=float(rgba[1]), b=float(rgba[2]), a=float(rgba[3]))
    corners = box_corners(*box)
    m.points = [Point(x=float(p[0]), y=float(p[1]), z=float(p[2])) for e in BOX_EDGES for p in corners[list(e)]]
    return m


def mesh_marker(
    pose: Pose, uri: str, scale: float, header: Header, ns: str, marker_id: int,
    rgba: Sequence[float] = (0.1, 0.9, 0.2, 0.8),
) -> Marker:
    """A MESH_RESOURCE marker of the object's model file (``file://`` URI), posed by ``pose`` (T_cam_obj);
    ``scale`` converts the file's units to metres (0.001 for BOP's millimetre PLYs)."""
    m = Marker()
    m.header, m.ns, m.id = header, ns, int(marker_id)
    m.type, m.action = Marker.MESH_RESOURCE, Marker.ADD
    m.pose = pose_to_msg(pose)
    m.scale.x = m.scale.y = m.scale.z = float(scale)
    m.color = ColorRGBA(r=float(rgba[0]), g=float(rgba[1]), b=float(rgba[2]), a=float(rgba[3]))
    m.mesh_resource = uri
    return m


def delete_all_marker(header: Header) -> Marker:
    """A DELETEALL marker, sent first in each MarkerArray so that stale boxes disappear."""
    m = Marker()
    m.header, m.action = header, Marker.DELETEALL
    return m


def parse_T_base_cam(values: Sequence[float]) -> Pose | None:
    """The ``T_base_cam`` parameter → :class:`Pose` ``T_base_cam``, or None when empty.

    Accepts 16 numbers (a row-major 4x4 homogeneous matrix, metres) or 7 numbers
    ``x y z qx qy qz qw`` (metres, scalar-last unit quaternion, as tf2 writes it).
    Raises :class:`BadParameter` for any other length, a non-unit quaternion or a
    matrix that is not a rigid transform.
    """
    v = np.asarray(list(values), dtype=np.float64).reshape(-1)
    if v.size == 0:
        return None
    if not np.all(np.isfinite(v)):
        raise BadParameter("T_base_cam contains NaN or infinite values")
    try:
        if v.size == 16:
            return Pose.from_matrix(v.reshape(4, 4), "base", "camera")
        if v.size == 7:
            q = v[3:]
            if abs(np.linalg.norm(q) - 1.0) > 1e-3:
                raise BadParameter(f"T_base_cam quaternion must have unit norm, got |q| = {np.linalg.norm(q):.4f}")
            return Pose.from_quat(q / np.linalg.norm(q), v[:3], "base", "camera")
    except ValueError as exc:
        raise BadParameter(f"T_base_cam is not a rigid transform: {exc}") from None
    raise BadParameter(f"T_base_cam takes 16 values (4x4 row-major) or 7 (x y z qx qy qz qw), got {v.size}")
