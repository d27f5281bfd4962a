"""Hand-eye I/O: robot poses in; board poses from images; YAML, tf and ROS snippets out.

Robot poses YAML: a list (top level or under ``poses:``), one entry per image in the
sorted image order, each the gripper in the robot base frame, metres:

- ``{xyz: [x, y, z], quat: [qx, qy, qz, qw]}`` (scalar-last, as ROS), or
- ``{matrix: [[...4 rows of 4...]]}`` or a bare 4x4 nested list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import yaml

from calibration.board import BoardSpec
from calibration.detect import BoardDetector, to_gray
from calibration.handeye import HandEyeResult
from calibration.io import read_image
from calibration.solve import board_pose, reprojection_rms
from rigidpose.errors import DataError, RigidposeError
from rigidpose.geometry import Camera, Pose

_XYZ_KEYS = ("xyz", "translation", "position", "t")
_QUAT_KEYS = ("quat", "quaternion", "quat_xyzw", "orientation", "q")


def _pose_entry(item, i: int, path: Path) -> Pose:
    where = f"{path}: pose {i}"
    try:
        if isinstance(item, dict) and "matrix" in item:
            item = item["matrix"]
        if isinstance(item, list):
            return Pose.from_matrix(np.asarray(item, dtype=np.float64).reshape(4, 4))
        if isinstance(item, dict):
            xyz = next((item[k] for k in _XYZ_KEYS if k in item), None)
            quat = next((item[k] for k in _QUAT_KEYS if k in item), None)
            if xyz is None or quat is None:
                raise RigidposeError(f"{where} needs 'xyz' and 'quat' (x y z w) or 'matrix', got keys {sorted(item)}")
            q = np.asarray(quat, dtype=np.float64).reshape(4)
            if abs(np.linalg.norm(q) - 1.0) > 1e-3:
                raise RigidposeError(f"{where}: quaternion {q.tolist()} is not unit length (order is x y z w)")
            return Pose.from_quat(q, np.asarray(xyz, dtype=np.float64).reshape(3))
    except (ValueError, TypeError) as exc:
        raise RigidposeError(f"{where}: {str(exc).splitlines()[0]}") from None
    raise RigidposeError(f"{where}: expected a mapping with xyz/quat or a 4x4 matrix")


def load_robot_poses(path: str | Path) -> list[Pose]:
    """Read gripper-in-base poses ``T_base_gripper`` (metres) from a YAML file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"robot poses file not found: {path}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DataError(f"cannot parse robot poses {path}: {str(exc).splitlines()[0]}") from None
    if isinstance(data, dict) and "poses" in data:
        data = data["poses"]
    if not isinstance(data, list) or not data:
        raise DataError(f"{path}: expected a non-empty list of poses (top level or under 'poses:')")
    poses = [_pose_entry(item, i, path) for i, item in enumerate(data)]
    far = max(float(np.linalg.norm(p.t)) for p in poses)
    if far > 10.0:
        raise RigidposeError(f"{path}: a robot translation is {far:.1f} m from the base; poses must be in metres, not mm")
    return poses


def board_poses_from_images(paths: list[Path], spec: BoardSpec, camera: Camera,
                            progress: Callable[[Iterable, int], Iterable] = lambda it, n: it,
                            ) -> tuple[list[Pose | None], list[float]]:
    """PnP board pose ``T_cam_board`` of every image (``None`` where no board is found),
    and the per-image reprojection RMS in px (NaN where none)."""
    if spec.symmetric:
        raise RigidposeError(f"board {spec} looks the same rotated by 180 degrees, so its pose is ambiguous; "
                             "use a chessboard with cols + rows odd (e.g. 9x6) or a ChArUco board")
    detector = BoardDetector(spec)
    poses: list[Pose | None] = []
    errors: list[float] = []
    for p in progress(paths, len(paths)):
        rgb = read_image(p)
        if (rgb.shape[1], rgb.shape[0]) != camera.size:
            raise DataError(f"{p.name} is {rgb.shape[1]}x{rgb.shape[0]} but the camera file is "
                            f"{camera.width}x{camera.height}")
        det = detector.detect(to_gray(rgb), p.name)
        if det is None or len(det) < 6:
            poses.append(None)
            errors.append(float("nan"))
            continue
        rvec, tvec = board_pose(det, camera)
        poses.append(Pose.from_rvec_tvec(rvec, tvec, "cam", "board"))
        errors.append(float(np.sqrt(np.mean(reprojection_rms(det, camera) ** 2))))
    return poses, errors


def _xyz_quat(pose: Pose) -> tuple[list[float], list[float]]:
    return [float(v) for v in pose.t], [float(v) for v in pose.quat()]


def static_transform_line(pose: Pose, parent: str, child: str) -> str:
    """A ROS 2 ``static_transform_publisher`` command publishing ``pose`` as parent → child."""
    (x, y, z), (qx, qy, qz, qw) = _xyz_quat(pose)
    return (f"ros2 run tf2_ros static_transform_publisher --x {x:.6f} --y {y:.6f} --z {z:.6f} "
            f"--qx {qx:.8f} --qy {qy:.8f} --qz {qz:.8f} --qw {qw:.8f} "
            f"--frame-id {parent} --child-frame-id {child}")


def ros_param_snippet(result: HandEyeResult, node_name: str = "rigidpose_node") -> str:
    """YAML for the ROS node's parameter file: the solved transform as 16 row-major floats.

    Eye-to-hand gives ``T_base_cam`` directly. Eye-in-hand gives ``T_gripper_cam``;
    the node then needs the robot's tf for ``T_base_gripper`` (publish the static
    transform gripper → camera and let tf compose).
    """
    name = "T_base_cam" if result.setup == "eye-to-hand" else "T_gripper_cam"
    vals = ", ".join(f"{v:.8g}" for v in result.best.X.as_matrix().ravel())
    return f"{node_name}:\n  ros__parameters:\n    {name}: [{vals}]\n"


def handeye_dict(result: HandEyeResult, parent_frame: str, child_frame: str,
                 node_name: str = "rigidpose_node") -> dict:
    """The output YAML content: the chosen transform, all methods' residuals, ROS snippets."""
    X = result.best.X
    xyz, quat = _xyz_quat(X)
    a, b = result.frames
    other = "T_base_board" if result.setup == "eye-in-hand" else "T_gripper_board"
    bxyz, bquat = _xyz_quat(result.board)
    return {
        "setup": result.setup,
        "transform": f"T_{a}_{b}",
        "parent_frame": parent_frame,
        "child_frame": child_frame,
        "method": result.best.name,
        "views": result.n_views,
        "translation": xyz,
        "quaternion_xyzw": quat,
        "matrix": [[float(v) for v in row] for row in X.as_matrix()],
        "residuals_axxb_rms": {r.name: {"rotation_deg": round(r.rot_deg, 6), "translation_mm": round(r.trans_mm, 6)}
                               for r in result.methods},
        other: {"translation": bxyz, "quaternion_xyzw": bquat},
        "static_transform_publisher": static_transform_line(X, parent_frame, child_frame),
        "ros_parameters": ros_param_snippet(result, node_name),
    }


def write_handeye_yaml(result: HandEyeResult, path: str | Path, parent_frame: str, child_frame: str,
                       node_name: str = "rigidpose_node") -> dict:
    """Write :func:`handeye_dict` to ``path``; returns the dict."""
    path = Path(path)
    if not path.parent.is_dir():
        raise DataError(f"output folder does not exist: {path.parent}")
    d = handeye_dict(result, parent_frame, child_frame, node_name)
    header = (f"# rigidpose calibrate handeye ({result.setup}): {d['transform']} maps camera-frame points "
              f"into the {result.frames[0]} frame; metres\n")
    path.write_text(header + yaml.safe_dump(d, sort_keys=False, default_flow_style=None, width=200),
                    encoding="utf-8")
    return d
