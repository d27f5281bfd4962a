"""The interface packages built from .msg files have the upstream ROS 2 type hashes (REP 2011).

The expected RIHS01 values are those of the upstream packages as published by real
ROS 2 (Jazzy/Kilted) installations (see ros2_ws/src/README.md for the sources). A
field that differs in name, type, order or bound changes the hash.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from ros_support import require_ros_workspace

pytestmark = pytest.mark.ros
require_ros_workspace()

UPSTREAM = {
    "tf2_msgs/msg/TFMessage": "RIHS01_e369d0f05a23ae52508854b66f6aa0437f3449d652e8cbf22d5abe85d020f087",
    "vision_msgs/msg/Detection3DArray": "RIHS01_793f5eab9595ac1c0da07873cc859db42eae51f0ee76056db8562515d830e018",
    "vision_msgs/msg/Detection3D": "RIHS01_ddd703be132ab0b69d33121f1bb034132bfbb3b0ac5f9fb1516005ba1c8a265b",
    # From the wheels: the messages ours nest; their hashes must match too.
    "geometry_msgs/msg/TransformStamped": "RIHS01_0a241f87d04668d94099cbb5ba11691d5ad32c2f29682e4eb5653424bd275206",
    "geometry_msgs/msg/PoseWithCovariance": "RIHS01_9a7c0fd234b7f45c6098745ecccd773ca1085670e64107135397aee31c02e1bb",
}


def installed_hash(type_name: str) -> str:
    pkg, _, name = type_name.split("/")
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) + [sys.prefix]:
        f = Path(prefix) / "share" / pkg / "msg" / f"{name}.json"
        if f.is_file():
            return json.loads(f.read_text())["type_hashes"][0]["hash_string"]
    pytest.skip(f"no type description for {type_name} under AMENT_PREFIX_PATH")


@pytest.mark.parametrize("type_name", sorted(UPSTREAM))
def test_type_hash_matches_upstream(type_name):
    assert installed_hash(type_name) == UPSTREAM[type_name]


def test_python_types_have_the_upstream_fields():
    from tf2_msgs.msg import TFMessage
    from vision_msgs.msg import BoundingBox3D, Detection3D, Detection3DArray, ObjectHypothesis, ObjectHypothesisWithPose

    assert TFMessage.get_fields_and_field_types() == {"transforms": "sequence<geometry_msgs/TransformStamped>"}
    assert Detection3DArray.get_fields_and_field_types() == {
        "header": "std_msgs/Header", "detections": "sequence<vision_msgs/Detection3D>"}
    assert Detection3D.get_fields_and_field_types() == {
        "header": "std_msgs/Header", "results": "sequence<vision_msgs/ObjectHypothesisWithPose>",
        "bbox": "vision_msgs/BoundingBox3D", "id": "string"}
    assert ObjectHypothesisWithPose.get_fields_and_field_types() == {
        "hypothesis": "vision_msgs/ObjectHypothesis", "pose": "geometry_msgs/PoseWithCovariance"}
    assert ObjectHypothesis.get_fields_and_field_types() == {"class_id": "string", "score": "double"}
    assert BoundingBox3D.get_fields_and_field_types() == {"center": "geometry_msgs/Pose", "size": "geometry_msgs/Vector3"}


def test_detection2d_types_have_the_upstream_fields():
    """vision_msgs 4.x: Pose2D holds a vision_msgs/Point2D (not geometry_msgs/Pose2D)."""
    from vision_msgs.msg import BoundingBox2D, Detection2D, Detection2DArray, Point2D, Pose2D

    assert Detection2DArray.get_fields_and_field_types() == {
        "header": "std_msgs/Header", "detections": "sequence<vision_msgs/Detection2D>"}
    assert Detection2D.get_fields_and_field_types() == {
        "header": "std_msgs/Header", "results": "sequence<vision_msgs/ObjectHypothesisWithPose>",
        "bbox": "vision_msgs/BoundingBox2D", "id": "string"}
    assert BoundingBox2D.get_fields_and_field_types() == {
        "center": "vision_msgs/Pose2D", "size_x": "double", "size_y": "double"}
    assert Pose2D.get_fields_and_field_types() == {"position": "vision_msgs/Point2D", "theta": "double"}
    assert Point2D.get_fields_and_field_types() == {"x": "double", "y": "double"}
