"""Poses and estimates → geometry_msgs / tf2_msgs / vision_msgs / visualization_msgs; parameters."""

from __future__ import annotations

import numpy as np
import pytest

from ros_support import require_ros_workspace

pytestmark = pytest.mark.ros
require_ros_workspace()

from std_msgs.msg import Header  # noqa: E402
from visualization_msgs.msg import Marker  # noqa: E402

from rigidpose.geometry import Pose, PoseEstimate, random_rotation  # noqa: E402
from rigidpose_ros.errors import BadParameter  # noqa: E402
from rigidpose_ros.outputs import build_outputs, select  # noqa: E402
from rigidpose_ros.params import parse_config  # noqa: E402
from rigidpose_ros.pose_msgs import (  # noqa: E402
    msg_to_pose,
    parse_T_base_cam,
    pose_to_msg,
    pose_with_covariance,
    transform_stamped,
)


def random_pose(rng) -> Pose:
    return Pose(random_rotation(rng), rng.normal(size=3))


def test_pose_round_trip_and_quaternion_order(rng):
    for _ in range(20):
        T = random_pose(rng)
        assert msg_to_pose(pose_to_msg(T)).allclose(T, atol=1e-9)
    # 90 degrees about z: q = (0, 0, sin 45, cos 45) in x y z w order
    Rz = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])
    q = pose_to_msg(Pose(Rz, [1, 2, 3])).orientation
    np.testing.assert_allclose([q.x, q.y, q.z, q.w], [0, 0, np.sqrt(0.5), np.sqrt(0.5)], atol=1e-12)


def test_covariance_is_row_major_in_ros_order(rng):
    C = np.arange(36.0).reshape(6, 6)
    msg = pose_with_covariance(random_pose(rng), C)
    assert msg.covariance[1] == 1.0 and msg.covariance[6] == 6.0 and msg.covariance[35] == 35.0
    assert not np.any(pose_with_covariance(random_pose(rng)).covariance)  # zeros = not estimated
    with pytest.raises(ValueError):
        pose_with_covariance(random_pose(rng), np.eye(3))


def test_transform_stamped_keeps_header_and_child(rng):
    T = random_pose(rng)
    h = Header(frame_id="cam_optical")
    h.stamp.sec, h.stamp.nanosec = 12, 345
    tf = transform_stamped(T, h, "mug_0")
    assert (tf.header.frame_id, tf.child_frame_id, tf.header.stamp.nanosec) == ("cam_optical", "mug_0", 345)
    t, r = tf.transform.translation, tf.transform.rotation
    assert Pose.from_quat([r.x, r.y, r.z, r.w], [t.x, t.y, t.z]).allclose(T, atol=1e-9)


def test_T_base_cam_parameter_forms(rng):
    T = random_pose(rng)
    from16 = parse_T_base_cam(T.as_matrix().reshape(-1).tolist())
    from7 = parse_T_base_cam([*T.t, *T.quat()])
    assert from16.allclose(T, atol=1e-9) and from7.allclose(T, atol=1e-9)
    assert parse_T_base_cam([]) is None
    for bad in ([1, 2, 3], [0, 0, 0, 0, 0, 0, 2.0], [float("nan")] * 7, [1.0] * 16):
        with pytest.raises(BadParameter):
            parse_T_base_cam(bad)


def test_outputs_name_instances_filter_and_keep_the_header(rng):
    poses = [random_pose(rng) for _ in range(4)]
    ests = [
        PoseEstimate(1, poses[0], 0.7, name="mug"),
        PoseEstimate(1, poses[1], 0.9, name="mug", covariance=np.eye(6) * 1e-4),
        PoseEstimate(2, poses[2], 0.8),
        PoseEstimate(3, poses[3], 0.2),
    ]
    kept = select(ests, 0.5, [])
    assert [e.score for e in kept] == [0.9, 0.8, 0.7]
    assert [e.obj_id for e in select(ests, 0.0, ["mug", "3"])] == [1, 1, 3]
    h = Header(frame_id="cam")
    h.stamp.sec = 99
    box = (np.array([0.0, 0.0, 0.05]), np.array([0.1, 0.08, 0.1]))
    out = build_outputs(h, kept, {1: box})
    assert out.child_frames == ["mug_0", "obj_000002_0", "mug_1"]
    assert [t.child_frame_id for t in out.tf.transforms] == out.child_frames
    assert all(t.header.stamp.sec == 99 and t.header.frame_id == "cam" for t in out.tf.transforms)
    d0 = out.detections.detections[0]
    assert d0.id == "mug_0" and d0.results[0].hypothesis.class_id == "mug" and d0.results[0].hypothesis.score == 0.9
    assert d0.results[0].pose.covariance[0] == pytest.approx(1e-4)
    c = d0.bbox.center.position
    np.testing.assert_allclose([c.x, c.y, c.z], poses[1].transform([0, 0, 0.05]), atol=1e-12)
    assert (d0.bbox.size.x, d0.bbox.size.y, d0.bbox.size.z) == pytest.approx((0.1, 0.08, 0.1))
    assert len(out.poses.poses) == 3 and out.poses.header.stamp.sec == 99
    # markers: DELETEALL first, then a 12-edge LINE_LIST for each object with a box
    ms = out.markers.markers
    assert ms[0].action == Marker.DELETEALL and [m.ns for m in ms[1:]] == ["mug_0", "mug_1"]
    assert ms[1].type == Marker.LINE_LIST and len(ms[1].points) == 24
    with pytest.raises(TypeError):
        select([("not", "an", "estimate")], 0.0, [])
    # names from mesh files become safe TF frame ids
    odd = [PoseEstimate(4, poses[0], 0.9, name="005 soup-can.v2"), PoseEstimate(5, poses[1], 0.8, name="  ")]
    assert build_outputs(h, odd, {}).child_frames == ["005_soup_can_v2_0", "obj_000005_0"]


def test_parse_config_validates():
    cfg = parse_config({"T_base_cam": [0, 0, 1, 0, 0, 0, 1], "camera_frame": "cam", "objects": [""]})
    assert cfg.T_base_cam.t[2] == 1.0 and cfg.objects == () and cfg.icp is False  # icp needs depth
    assert cfg.silhouette == "rgb" and cfg.estimator_options()["silhouette"] == "rgb"
    for bad in (
        {"score_threshold": 1.5},
        {"max_rate_hz": -1.0},
        {"camera_frame": "/cam"},
        {"T_base_cam": [0, 0, 1, 0, 0, 0, 1]},  # without camera_frame
        {"no_such_parameter": 1},
        {"warn_period_s": 0.0},
        {"silhouette": "yes"},
    ):
        with pytest.raises(BadParameter):
            parse_config(bad)


def test_overlay_draws_the_projected_box_and_leaves_the_input_alone():
    from rigidpose.geometry import Camera
    from rigidpose_ros.overlay import draw_boxes

    cam = Camera.from_fov(64, 48, 60.0)
    rgb = np.zeros((48, 64, 3), np.uint8)
    est = PoseEstimate(1, Pose(np.eye(3), [0.0, 0.0, 0.5]), 0.9)
    box = (np.zeros(3), np.array([0.1, 0.1, 0.1]))
    out = draw_boxes(rgb, cam, [est], {1: box})
    assert not rgb.any() and out.shape == rgb.shape
    ys, xs = np.nonzero(out.any(axis=2))
    uv = cam.project(est.pose.transform(np.array([[-0.05, -0.05, -0.05], [0.05, 0.05, -0.05]])))
    # every drawn pixel lies inside the projection of the box's near face (plus the anti-aliased line width)
    assert xs.min() >= uv[0, 0] - 3 and xs.max() <= uv[1, 0] + 3 and ys.min() >= uv[0, 1] - 3
    assert len(xs) > 50
