"""The ``pose_estimator`` node (console script ``rigidpose-ros``): an adapter only.

Callbacks (executor thread) convert and validate each message, pair depth with the
image by stamp, and put the frame into a one-frame slot; a worker thread takes the
newest frame, calls the estimator and publishes. A frame whose stamp is not later than
that of the last estimated frame (re-sent, or out of order) is skipped (:mod:`.stamps`).
Malformed messages are counted on ``~/status`` and logged at most once per
``warn_period_s`` per kind; they never stop the node. SIGINT and SIGTERM end it cleanly with exit code 0.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time

import rclpy
from geometry_msgs.msg import PoseArray
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.exceptions import ParameterUninitializedException
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header, String
from tf2_msgs.msg import TFMessage
from vision_msgs.msg import Detection2DArray, Detection3DArray
from visualization_msgs.msg import MarkerArray

from rigidpose_ros.conversions import camera_info_to_camera, check_same_size, image_to_depth, image_to_rgb, rgb_to_image
from rigidpose_ros.errors import BadParameter, MessageError
from rigidpose_ros.boxes import BoxCache, detections_to_boxes
from rigidpose_ros.estimator import load_estimator, mesh_resources, object_names
from rigidpose_ros.grasps import default_grasps_path, load_grasps
from rigidpose_ros.health import Health, Throttle
from rigidpose_ros.outputs import build_outputs, select
from rigidpose_ros.overlay import draw_boxes
from rigidpose_ros.pairing import LatestSlot, Paired, StampPairer
from rigidpose_ros.params import LIST_PARAMETERS, PARAMETERS, parse_config
from rigidpose_ros.pose_msgs import transform_stamped
from rigidpose_ros.stamps import OLD, REPEAT, RESET, StampGate

_LIST_TYPES = {"string": Parameter.Type.STRING_ARRAY, "double": Parameter.Type.DOUBLE_ARRAY}


def stamp_ns(header: Header) -> int:
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


class PoseEstimatorNode(Node):
    """Subscribes to ``image``, ``camera_info`` and (``use_depth``) ``depth``; publishes
    ``~/detections``, ``~/poses``, ``~/markers``, ``~/overlay``, ``~/status``, ``/tf``, ``/tf_static``."""

    def __init__(self) -> None:
        super().__init__("pose_estimator")
        self.cfg = parse_config(self._declare_parameters())
        self.health = Health()
        self.throttle = Throttle(self.cfg.warn_period_s)
        self.estimator, self.estimator_note = load_estimator(self.cfg.estimator_options(), self.cfg.estimator_factory)
        (self.get_logger().info if self.estimator else self.get_logger().warn)(self.estimator_note)
        self.boxes = dict(getattr(self.estimator, "object_boxes", {}) or {})
        self.names = object_names(self.estimator)
        self.meshes = mesh_resources(self.estimator)
        self.grasps = self._load_grasps()
        self.box_cache = BoxCache()
        self._camera = None
        self._camera_lock = threading.Lock()
        self.pairer = StampPairer(int(self.cfg.depth_tolerance_s * 1e9), self.cfg.use_depth)
        self.slot: LatestSlot[Paired] = LatestSlot()
        self.stamps = StampGate()
        self._started = time.monotonic()

        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.pub_det = self.create_publisher(Detection3DArray, "~/detections", reliable)
        self.pub_poses = self.create_publisher(PoseArray, "~/poses", reliable)
        self.pub_markers = self.create_publisher(MarkerArray, "~/markers", reliable)
        self.pub_overlay = self.create_publisher(Image, "~/overlay", qos_profile_sensor_data)
        self.pub_status = self.create_publisher(String, "~/status", reliable)
        self.pub_tf = self.create_publisher(TFMessage, "/tf", QoSProfile(depth=100))
        static_qos = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.pub_tf_static = self.create_publisher(TFMessage, "/tf_static", static_qos)
        self.create_subscription(Image, "image", self._on_image, qos_profile_sensor_data)
        self.create_subscription(CameraInfo, "camera_info", self._on_camera_info, qos_profile_sensor_data)
        if self.cfg.use_depth:
            self.create_subscription(Image, "depth", self._on_depth, qos_profile_sensor_data)
        if self.cfg.use_boxes:
            self.create_subscription(Detection2DArray, "boxes", self._on_boxes, reliable)
        self.create_timer(self.cfg.status_period_s, self._publish_status)
        self._publish_static_tf()
        self._worker = threading.Thread(target=self._work, name="rigidpose-estimator", daemon=True)
        self._worker.start()

    def _load_grasps(self) -> dict:
        """Grasp frames from the ``grasps`` parameter or ``<checkpoint folder>/grasps.yaml``."""
        path = self.cfg.grasps or default_grasps_path(self.cfg.checkpoint)
        if not path:
            return {}
        if not self.names:
            raise BadParameter(f"grasps file {path} needs an estimator whose objects have ids and names (a checkpoint)")
        grasps = load_grasps(path, self.names)
        self.get_logger().info(f"grasp frames from {path}: " + ", ".join(
            f"{self.names[o] or o}: {[n for n, _ in g]}" for o, g in grasps.items()))
        return grasps

    def _declare_parameters(self) -> dict:
        """Declare every parameter; list parameters are declared by type, so that an
        empty default does not fix their type before the params file is read."""
        values = {}
        for name, (default, doc) in PARAMETERS.items():
            desc = ParameterDescriptor(description=doc)
            if name not in LIST_PARAMETERS:
                values[name] = self.declare_parameter(name, default, desc).value
                continue
            self.declare_parameter(name, _LIST_TYPES[LIST_PARAMETERS[name]], desc)
            try:
                values[name] = list(self.get_parameter(name).value)
            except ParameterUninitializedException:
                values[name] = default
        return values

    # --- input callbacks (executor thread): validate, convert, pair -----------------
    def _reject(self, topic: str, exc: MessageError) -> None:
        self.health.reject(topic, exc.kind, str(exc))
        allowed, suppressed = self.throttle.allow(f"{topic}:{exc.kind}")
        if allowed:
            more = f" ({suppressed} more like it suppressed)" if suppressed else ""
            self.get_logger().warn(f"dropping {topic} message: {exc}{more}")

    def _frame_header(self, header: Header) -> Header:
        frame = self.cfg.camera_frame or header.frame_id
        if not frame:
            raise MessageError("header.frame_id is empty and parameter camera_frame is not set", "no_frame_id")
        return Header(stamp=header.stamp, frame_id=frame)

    def _camera_for(self, shape: tuple[int, ...], what: str):
        with self._camera_lock:
            camera = self._camera
        if camera is None:
            raise MessageError("no valid camera_info received yet", "no_camera_info")
        check_same_size(camera, shape, what)
        return camera

    def _on_camera_info(self, msg: CameraInfo) -> None:
        self.health.got("camera_info")
        try:
            camera = camera_info_to_camera(msg)
        except MessageError as exc:
            self._reject("camera_info", exc)
            return
        with self._camera_lock:
            self._camera = camera

    def _on_image(self, msg: Image) -> None:
        self.health.got("image")
        try:
            header = self._frame_header(msg.header)
            rgb = image_to_rgb(msg)
            camera = self._camera_for(rgb.shape, "image")
        except MessageError as exc:
            self._reject("image", exc)
            return
        self._offer(self.pairer.add_image(stamp_ns(msg.header), (header, rgb, camera)))

    def _on_depth(self, msg: Image) -> None:
        self.health.got("depth")
        try:
            depth = image_to_depth(msg)
            self._camera_for(depth.shape, "depth")
        except MessageError as exc:
            self._reject("depth", exc)
            return
        self._offer(self.pairer.add_depth(stamp_ns(msg.header), depth))

    def _on_boxes(self, msg: Detection2DArray) -> None:
        self.health.got("boxes")
        try:
            with self._camera_lock:
                camera = self._camera
            if camera is None:
                raise MessageError("no valid camera_info received yet", "no_camera_info")
            boxes = detections_to_boxes(msg, self.names, camera.width, camera.height)
        except MessageError as exc:
            self._reject("boxes", exc)
            return
        self.box_cache.put(stamp_ns(msg.header), boxes)

    def _offer(self, paired: Paired | None) -> None:
        if paired is not None:
            self.health.count("accepted")
            self.slot.put(paired)

    # --- worker thread: newest frame only ------------------------------------------
    def _work(self) -> None:
        min_period = 1.0 / self.cfg.max_rate_hz if self.cfg.max_rate_hz > 0 else 0.0
        while not self.slot.closed:
            frame = self.slot.take(timeout=0.5)
            if frame is None:
                continue
            t0 = time.monotonic()
            try:
                self._process(frame)
            except Exception as exc:  # an estimator failure must not end the node
                self.health.count("estimator_errors")
                self.health.reject("estimator", type(exc).__name__, str(exc))
                allowed, _ = self.throttle.allow(f"estimator:{type(exc).__name__}")
                if allowed:
                    self.get_logger().error(f"estimation failed: {type(exc).__name__}: {exc}")
            wait = min_period - (time.monotonic() - t0)
            if wait > 0:
                time.sleep(wait)

    def _process(self, frame: Paired) -> None:
        header, rgb, camera = frame.image
        stamp = stamp_ns(header)
        verdict = self.stamps.check(stamp)
        if verdict in (REPEAT, OLD):  # estimated already, or older than what is on /tf
            self.health.count(f"skipped_{verdict}")
            allowed, suppressed = self.throttle.allow(f"stamp:{verdict}")
            if allowed:
                why = "the stamp of the last estimated frame (re-sent)" if verdict == REPEAT else \
                    "earlier than the last estimated frame (out of order)"
                more = f" ({suppressed} more like it suppressed)" if suppressed else ""
                self.get_logger().warn(f"skipping the frame stamped {stamp / 1e9:.3f} s: {why}{more}")
            return
        self.health.count("processed")
        if self.estimator is None:
            return
        if verdict == RESET:
            self.get_logger().info(f"the stamps jumped back to {stamp / 1e9:.3f} s: starting over")
            tracker = getattr(self.estimator, "tracker", None)
            if tracker is not None:
                tracker.reset()
        depth = frame.depth if self.cfg.use_depth else None
        if self.cfg.use_boxes:
            tol = int(self.cfg.depth_tolerance_s * 1e9)
            boxes = self.box_cache.wait_for(stamp_ns(header), tol, self.cfg.boxes_timeout_s)
            if boxes is None:
                self.health.count("no_boxes")
                return
            raw = self.estimator.estimate(rgb, camera, depth, boxes=boxes)
        else:
            raw = self.estimator.estimate(rgb, camera, depth)
        self.stamps.done(stamp)
        estimates = select(raw, self.cfg.score_threshold, self.cfg.objects)
        out = build_outputs(header, estimates, self.boxes, self.grasps, self.meshes)
        self.pub_det.publish(out.detections)
        self.pub_poses.publish(out.poses)
        self.pub_markers.publish(out.markers)
        if self.cfg.publish_tf and out.tf.transforms:
            self.pub_tf.publish(out.tf)
        if self.pub_overlay.get_subscription_count() > 0:
            self.pub_overlay.publish(rgb_to_image(draw_boxes(rgb, camera, estimates, self.boxes), Image, header))
        self.health.count("estimated")
        self.health.count("published_estimates", len(estimates))

    # --- static TF and status ----------------------------------------------------------
    def _publish_static_tf(self) -> None:
        if self.cfg.T_base_cam is None:
            return
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self.cfg.base_frame)
        self.pub_tf_static.publish(TFMessage(transforms=[transform_stamped(self.cfg.T_base_cam, header, self.cfg.camera_frame)]))
        self.get_logger().info(f"published static {self.cfg.base_frame} -> {self.cfg.camera_frame} on /tf_static")

    def _publish_status(self) -> None:
        snap = self.health.snapshot(
            node="pose_estimator",
            estimator=self.estimator_note,
            has_estimator=self.estimator is not None,
            dropped_stale=self.slot.dropped,
            unpaired=self.pairer.unpaired,
            uptime_s=round(time.monotonic() - self._started, 3),
        )
        self.pub_status.publish(String(data=json.dumps(snap, sort_keys=True)))

    def close(self) -> None:
        """Stop the worker (waits for the frame in progress, at most 5 s)."""
        self.slot.close()
        self.box_cache.close()
        self._worker.join(timeout=5.0)


def main(argv: list[str] | None = None) -> int:
    """Run the node until SIGINT or SIGTERM; 0 on a clean stop, 2 on bad parameters."""
    rclpy.init(args=sys.argv if argv is None else argv, signal_handler_options=SignalHandlerOptions.NO)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        node = PoseEstimatorNode()
    except BadParameter as exc:
        print(f"rigidpose-ros: {exc}", file=sys.stderr)
        rclpy.try_shutdown()
        return 2
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        while not stop.is_set() and rclpy.ok():
            executor.spin_once(timeout_sec=0.1)
    finally:
        node.get_logger().info("shutting down")
        node.close()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
