"""ament_python package rigidpose_ros: the ROS 2 adapter around the rigidpose library."""

from glob import glob

from setuptools import setup

PACKAGE = "rigidpose_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=[PACKAGE],
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml") + glob("config/*.xml")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    description="ROS 2 adapter for rigidpose (pose_estimator node)",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "rigidpose-ros = rigidpose_ros.node:main",
            "pose_estimator = rigidpose_ros.node:main",
        ],
    },
)
