"""ROS 2 tests: every test here is marked ``ros`` and skips, with the reason, when the
ROS 2 wheels or the built workspace (ros2_ws/install, sourced) are absent.

``make test`` builds the workspace (scripts/build_ros.sh) and sources
ros2_ws/install/setup.bash before running pytest.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


REPO = Path(__file__).resolve().parents[2]
# The pure-Python modules (pairing, health) are importable straight from the source
# tree, so their tests run even where the workspace is not built.
_SRC = REPO / "ros2_ws" / "src" / "rigidpose_ros"
if importlib.util.find_spec("rigidpose_ros") is None and _SRC.is_dir():
    sys.path.insert(0, str(_SRC))

