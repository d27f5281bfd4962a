"""Helpers shared by the ROS tests (imported as a plain module, not a conftest)."""

from __future__ import annotations

import importlib

import pytest

NOT_BUILT = (
    "ROS 2 workspace not available: run `make ros`, then `source ros2_ws/install/setup.bash` "
    "(`make test` does both)"
)


def require_ros_workspace() -> None:
    """Skip the calling module unless rclpy and the built interface packages import."""
    for mod in ("rclpy", "tf2_msgs.msg", "vision_msgs.msg", "sensor_msgs.msg"):
        try:
            importlib.import_module(mod)
        except ImportError as exc:
            pytest.skip(f"{NOT_BUILT} ({mod}: {exc})", allow_module_level=True)
