"""Launch the rigidpose pose_estimator node (needs a full ROS 2 install: launch_ros is not on PyPI).

    ros2 launch rigidpose_ros rigidpose.launch.py params_file:=/path/params.yaml \
        image:=/camera/color/image_raw camera_info:=/camera/color/camera_info \
        depth:=/camera/aligned_depth_to_color/image_raw
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description() -> LaunchDescription:
    default_params = os.path.join(get_package_share_directory("rigidpose_ros"), "config", "params.yaml")
    args = [
        DeclareLaunchArgument("params_file", default_value=default_params, description="YAML params file"),
        DeclareLaunchArgument("image", default_value="/camera/color/image_raw"),
        DeclareLaunchArgument("camera_info", default_value="/camera/color/camera_info"),
        DeclareLaunchArgument("depth", default_value="/camera/aligned_depth_to_color/image_raw"),
        DeclareLaunchArgument("boxes", default_value="/detector/detections", description="Detection2DArray (use_boxes)"),
    ]
    node = Node(
        package="rigidpose_ros",
        executable="rigidpose-ros",
        name="pose_estimator",
        output="screen",
        parameters=[LaunchConfiguration("params_file")],
        remappings=[
            ("image", LaunchConfiguration("image")),
            ("camera_info", LaunchConfiguration("camera_info")),
            ("depth", LaunchConfiguration("depth")),
            ("boxes", LaunchConfiguration("boxes")),
        ],
    )
    return LaunchDescription([*args, node])
