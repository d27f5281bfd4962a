"""The launch file for users with a full ROS 2 install (launch_ros is not on PyPI)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.ros

LAUNCH = Path(__file__).resolve().parents[2] / "ros2_ws/src/rigidpose_ros/launch/rigidpose.launch.py"


def test_launch_file_describes_the_node():
    pytest.importorskip("launch_ros", reason="launch_ros is not on PyPI; needs a full ROS 2 install")
    spec = importlib.util.spec_from_file_location("rigidpose_launch", LAUNCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    from launch_ros.actions import Node

    nodes = [e for e in description.entities if isinstance(e, Node)]
    assert len(nodes) == 1 and nodes[0].node_executable == "rigidpose-ros"


def test_launch_file_is_valid_python():
    compile(LAUNCH.read_text(encoding="utf-8"), str(LAUNCH), "exec")
