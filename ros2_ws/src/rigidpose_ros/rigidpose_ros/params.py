"""The node's parameters: names, defaults, and their validation into a :class:`NodeConfig`.

All parameters can be given in a YAML params file (``--ros-args --params-file f.yaml``);
see ``config/params.yaml`` and ros2_ws/README.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rigidpose.geometry import Pose
from rigidpose_ros.errors import BadParameter
from rigidpose_ros.pose_msgs import parse_T_base_cam

#: name → (default, description). Empty lists are typed by their descriptor in node.py.
PARAMETERS: dict[str, tuple[Any, str]] = {
    "checkpoint": ("", "model checkpoint (safetensors + JSON card); empty: no estimator, validation only"),
    "objects": ([], "object names or BOP ids to publish (strings); empty: all objects"),
    "score_threshold": (0.5, "estimates scoring below this are not published, in [0, 1]"),
    "use_depth": (False, "subscribe to `depth` and pair it with the image by stamp"),
    "icp": (True, "refine poses with ICP on depth (needs use_depth)"),
    "tracking": (False, "track objects between frames"),
    "silhouette": ("rgb", "fit the model's silhouette to the network's mask (needs the meshes; 0.2-0.4 s per "
                          "object): rgb (frames without depth), always, or off"),
    "publish_tf": (True, "publish camera_frame -> <object>_<k> on /tf"),
    "camera_frame": ("", "camera optical frame id; empty: the image's header.frame_id"),
    "base_frame": ("base_link", "parent frame of T_base_cam on /tf_static"),
    "T_base_cam": ([], "hand-eye result: 16 values (4x4 row-major) or 7 (x y z qx qy qz qw), metres"),
    "max_rate_hz": (0.0, "most frames estimated per second; 0: as fast as the estimator runs"),
    "depth_tolerance_s": (0.02, "largest |stamp(image) - stamp(depth)| for a pair, seconds"),
    "status_period_s": (1.0, "period of the JSON counters on ~/status, seconds"),
    "warn_period_s": (5.0, "each kind of malformed-message warning is logged at most once per period"),
    "grasps": ("", "grasp-frames YAML (see grasps.py); empty: <checkpoint folder>/grasps.yaml when it exists"),
    "use_boxes": (False, "estimate in the boxes of vision_msgs/Detection2DArray on `boxes` (external detector); "
                          "the checkpoint's detector is not loaded"),
    "boxes_timeout_s": (0.5, "with use_boxes: how long a frame waits for its boxes, seconds"),
    "estimator_factory": ("", "'module:callable' returning an estimator; for tests and other backends"),
}
LIST_PARAMETERS = {"objects": "string", "T_base_cam": "double"}


@dataclass(frozen=True)
class NodeConfig:
    """Validated parameters (times in seconds, poses in metres)."""

    checkpoint: str = ""
    objects: tuple[str, ...] = ()
    score_threshold: float = 0.5
    use_depth: bool = False
    icp: bool = True
    tracking: bool = False
    silhouette: str = "rgb"
    publish_tf: bool = True
    camera_frame: str = ""
    base_frame: str = "base_link"
    T_base_cam: Pose | None = None
    max_rate_hz: float = 0.0
    depth_tolerance_s: float = 0.02
    status_period_s: float = 1.0
    warn_period_s: float = 5.0
    grasps: str = ""
    use_boxes: bool = False
    boxes_timeout_s: float = 0.5
    estimator_factory: str = ""

    def estimator_options(self) -> dict[str, Any]:
        """The options passed to the estimator factory / ``Estimator.from_checkpoint``."""
        return {
            "checkpoint": self.checkpoint,
            "objects": list(self.objects),
            "score_threshold": self.score_threshold,
            "use_depth": self.use_depth,
            "icp": self.icp,
            "tracking": self.tracking,
            "silhouette": self.silhouette,
            "use_boxes": self.use_boxes,
        }


def _frame_ok(name: str) -> bool:
    return not name.startswith("/") and not any(c.isspace() for c in name)


def parse_config(values: dict[str, Any]) -> NodeConfig:
    """Parameter values (name → value) → :class:`NodeConfig`; raises :class:`BadParameter`."""
    unknown = set(values) - set(PARAMETERS)
    if unknown:
        raise BadParameter(f"unknown parameters: {sorted(unknown)}")
    v = {k: values.get(k, d) for k, (d, _) in PARAMETERS.items()}
    if not 0.0 <= float(v["score_threshold"]) <= 1.0:
        raise BadParameter(f"score_threshold must be in [0, 1], got {v['score_threshold']}")
    for name in ("max_rate_hz", "depth_tolerance_s", "boxes_timeout_s"):
        if not float(v[name]) >= 0.0:
            raise BadParameter(f"{name} must be >= 0, got {v[name]}")
    for name in ("status_period_s", "warn_period_s"):
        if not float(v[name]) > 0.0:
            raise BadParameter(f"{name} must be > 0, got {v[name]}")
    for name in ("camera_frame", "base_frame"):
        if not _frame_ok(str(v[name])):
            raise BadParameter(f"{name} {v[name]!r} is not a valid tf2 frame id (no leading '/', no spaces)")
    T = parse_T_base_cam(v["T_base_cam"])
    if T is not None and not v["camera_frame"]:
        raise BadParameter("T_base_cam needs camera_frame: the static transform must name the camera frame")
    if T is not None and not v["base_frame"]:
        raise BadParameter("T_base_cam needs a non-empty base_frame")
    if str(v["silhouette"]) not in ("rgb", "always", "off"):
        raise BadParameter(f"silhouette must be rgb, always or off, got {v['silhouette']!r}")
    if v["icp"] and not v["use_depth"]:
        v["icp"] = False  # ICP needs depth; documented, not an error
    return NodeConfig(
        checkpoint=str(v["checkpoint"]), objects=tuple(str(o) for o in v["objects"] if str(o)),
        score_threshold=float(v["score_threshold"]), use_depth=bool(v["use_depth"]), icp=bool(v["icp"]),
        tracking=bool(v["tracking"]), silhouette=str(v["silhouette"]), publish_tf=bool(v["publish_tf"]), camera_frame=str(v["camera_frame"]),
        base_frame=str(v["base_frame"]), T_base_cam=T, max_rate_hz=float(v["max_rate_hz"]),
        depth_tolerance_s=float(v["depth_tolerance_s"]), status_period_s=float(v["status_period_s"]),
        warn_period_s=float(v["warn_period_s"]), grasps=str(v["grasps"]), use_boxes=bool(v["use_boxes"]),
        boxes_timeout_s=float(v["boxes_timeout_s"]), estimator_factory=str(v["estimator_factory"]),
    )
