"""Cross-process ROS 2 test support: start the node, a client in its own context, the fuzzer."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
NODE_EXE = REPO / "ros2_ws" / "install" / "rigidpose_ros" / "lib" / "rigidpose_ros" / "rigidpose-ros"


def dds_env(domain_id: int) -> dict[str, str]:
    """Environment for an isolated DDS test: loopback only, own domain, no shared memory."""
    env = dict(os.environ)
    env.update(ROS_DOMAIN_ID=str(domain_id), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
               FASTDDS_BUILTIN_TRANSPORTS="UDPv4", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), env.get("PYTHONPATH", "")])
    return env


def random_domain() -> int:
    return random.SystemRandom().randint(0, 101)


def start_node(env: dict, log: Path, **params) -> subprocess.Popen:
    args = [str(NODE_EXE), "--ros-args"]
    for k, v in params.items():
        args += ["-p", f"{k}:={v}"]
    return subprocess.Popen(args, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen, sig: int, timeout: float = 15.0) -> int:
    """Send ``sig`` and wait; SIGKILL the process group if it does not exit in time."""
    proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return -9


class Client:
    """A test node in its own rclpy context on ``domain_id``; collects received messages."""

    def __init__(self, domain_id: int) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self.ctx = rclpy.Context()
        rclpy.init(context=self.ctx, domain_id=domain_id)
        self.node = rclpy.create_node("rigidpose_test_client", context=self.ctx)
        self.executor = SingleThreadedExecutor(context=self.ctx)
        self.executor.add_node(self.node)
        self.got: dict[str, list] = defaultdict(list)

    def listen(self, msg_type, topic: str, qos) -> None:
        self.node.create_subscription(msg_type, topic, lambda m, t=topic: self.got[t].append(m), qos)

    def spin_until(self, pred, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred():
                return True
            self.executor.spin_once(timeout_sec=0.05)
        return bool(pred())

    def status(self) -> dict | None:
        msgs = self.got.get("/pose_estimator/status")
        return json.loads(msgs[-1].data) if msgs else None

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        self.ctx.try_shutdown()


def make_image(msg_type, arr: np.ndarray, encoding: str, frame: str = "cam_optical", stamp=(0, 0), pad: int = 0):
    """A ``msg_type`` (sensor_msgs/Image) of ``arr`` (H, W[, C]), rows padded by ``pad`` bytes."""
    h, w = arr.shape[:2]
    rows = np.ascontiguousarray(arr).reshape(h, -1).view(np.uint8)
    rows = np.hstack([rows, np.full((h, pad), 0xAB, np.uint8)])
    m = msg_type(height=h, width=w, encoding=encoding, step=rows.shape[1], data=rows.tobytes())
    m.header.frame_id = frame
    m.header.stamp.sec, m.header.stamp.nanosec = stamp
    return m


def malformed(rng: np.random.Generator, Image, CameraInfo, good_info, W: int, H: int):
    """One random malformed (topic, message): every one must be rejected by the node."""
    topic = ["image", "depth", "camera_info"][rng.integers(3)]
    case = int(rng.integers(5))
    if topic == "camera_info":
        m = CameraInfo(width=W, height=H, k=list(good_info.k), d=list(good_info.d), p=list(good_info.p),
                       distortion_model=good_info.distortion_model)
        bad = [lambda: setattr(m, "k", [0.0] * 9), lambda: setattr(m, "k", [float("nan")] * 9),
               lambda: setattr(m, "d", [float("nan")] * 5), lambda: setattr(m, "width", 0),
               lambda: setattr(m, "distortion_model", "no_such_model")]
        bad[case]()
        return topic, m
    if topic == "image":
        arr = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
        m = make_image(Image, arr, "rgb8")
        if case == 0:
            m.encoding = ["yuv422", "bayer_rggb8", "16UC1", "", "xyz%d" % rng.integers(99)][rng.integers(5)]
        elif case == 1:
            m.data = bytes(m.data)[: int(rng.integers(0, len(m.data)))]
        elif case == 2:
            m.step = int(rng.integers(0, W * 3))
        elif case == 3:
            m.height, m.width, m.data = 0, int(rng.integers(0, 5)), b""
        else:
            h, w = int(rng.integers(1, H)), int(rng.integers(1, W))
            m = make_image(Image, rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "rgb8")
        return topic, m
    arr = rng.integers(0, 5000, (H, W)).astype("<u2")
    m = make_image(Image, arr, "16UC1")
    if case == 0:
        m.encoding = ["rgb8", "mono8", "8UC1", "64FC1"][rng.integers(4)]
    elif case == 1:
        m.is_bigendian = 1
    elif case == 2:
        m.data = bytes(m.data) + b"\x00" * int(rng.integers(1, 64))
    elif case == 3:
        m.step = int(rng.integers(0, W * 2))
    else:
        m = make_image(Image, rng.integers(0, 99, (H + 1, W)).astype("<f4"), "32FC1")
    return topic, m
