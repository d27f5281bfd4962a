"""Latency of the ROS 2 node: image publish → /tf receipt, 640x480, over real DDS (loopback UDP).

For each estimator (the real one from a tiny trained checkpoint, and as the baseline
the test double tests/ros/fake_estimator.py, which costs next to nothing, so its
latency is the node's own overhead: DDS, conversion, pairing, publishing), with and
without depth, the node runs as a subprocess and a client publishes CameraInfo,
Image (rgb8) and depth (32FC1) at 10 and 30 Hz for ``--seconds``. Latency is
``receipt time of the TFMessage with the image's stamp − publish time of that image``
(both in the client process). The node processes only the newest frame, so frames
that arrive while it is busy are dropped: "answered" is the fraction of images that
got a TF, and "received by node" (from its ``~/status``) tells images lost by DDS (best-effort
sensor QoS) from frames the node dropped as stale. With the real estimator the objects' boxes are published with each image
(``use_boxes``: a tiny detector finds nothing); ``estimate() alone`` is the real
estimator called in-process on the same frame, for reference.

    source ros2_ws/install/setup.bash
    .venv/bin/python benchmarks/ros_latency.py [--workdir DIR] [--seconds 10] [--out table.md]

A tiny two-object run is rendered at 640x480 and trained first (about a minute), or reused from ``--workdir``.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "ros"))

from dds_support import NODE_EXE, Client, dds_env, make_image, random_domain, start_node, stop  # noqa: E402
from real_run import boxes_msg, dataset_frame, make_run  # noqa: E402

FRAME = "cam_optical"


def measure(client, pubs, frame, names, rate_hz: float, seconds: float, use_depth: bool, with_boxes: bool):
    """Publish at ``rate_hz`` for ``seconds``; returns (latencies ms, images sent, node counters, see :func:`received`)."""
    from sensor_msgs.msg import CameraInfo, Image

    from rigidpose_ros.conversions import camera_to_camera_info

    rgb, camera, depth, boxes, _ = frame
    info = camera_to_camera_info(camera, CameraInfo)
    sent: dict[tuple[int, int], float] = {}
    lat: list[float] = []
    client.got["/tf"].clear()
    before = received(client)

    def collect():
        for t_recv, m in client.got["/tf"]:
            s = (m.transforms[0].header.stamp.sec, m.transforms[0].header.stamp.nanosec)
            if s in sent:
                lat.append(1000 * (t_recv - sent.pop(s)))
        client.got["/tf"].clear()

    period, t0, k = 1.0 / rate_hz, time.monotonic(), 0
    end = t0 + seconds
    while time.monotonic() < end + 1.0:
        now = time.monotonic()
        if now < end and now >= t0 + k * period:
            ns = time.time_ns()  # increasing stamps: the node drops frames older than the newest
            stamp = (ns // 1_000_000_000, ns % 1_000_000_000)
            info.header.stamp.sec, info.header.stamp.nanosec = stamp
            pubs["camera_info"].publish(info)
            if with_boxes:
                pubs["boxes"].publish(boxes_msg(boxes, names, stamp, FRAME))
            if use_depth:
                pubs["depth"].publish(make_image(Image, depth.astype("<f4"), "32FC1", FRAME, stamp))
            img = make_image(Image, rgb, "rgb8", FRAME, stamp)
            sent[stamp] = time.monotonic()
            pubs["image"].publish(img)
            k += 1
        client.executor.spin_once(timeout_sec=0.002)
        collect()
    client.spin_until(lambda: False, 1.5)  # a fresh ~/status
    return lat, k, received(client) - before


def received(client) -> np.ndarray:
    """(images received, frames estimated, frames without boxes, estimator errors) so far, from ~/status."""
    s = client.status() or {"received": {}, "frames": {}}
    f = s["frames"]
    return np.array([s["received"].get("image", 0), f.get("estimated", 0), f.get("no_boxes", 0),
                     f.get("estimator_errors", 0)])


def run_node(args, frame, names, run: Path | None, use_depth: bool, domain: int, log: Path) -> list[dict]:
    from rclpy.qos import QoSProfile
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import String
    from tf2_msgs.msg import TFMessage
    from vision_msgs.msg import Detection2DArray

    params = dict(use_depth=str(use_depth).lower(), camera_frame=FRAME, score_threshold=0.0, status_period_s=0.5)
    if run is None:
        params["estimator_factory"] = "fake_estimator:make_estimator"
    else:
        params.update(checkpoint=str(run), use_boxes="true", icp=str(use_depth).lower(), boxes_timeout_s=0.2)
    env = dds_env(domain)
    env["FASTDDS_BUILTIN_TRANSPORTS"] = args.transport
    proc = start_node(env, log, **params)
    client = Client(domain)
    qos = QoSProfile(depth=100)
    client.node.create_subscription(TFMessage, "/tf", lambda m: client.got["/tf"].append((time.monotonic(), m)), qos)
    client.listen(String, "/pose_estimator/status", qos)
    topics = [("image", Image), ("depth", Image), ("camera_info", CameraInfo), ("boxes", Detection2DArray)]
    pubs = {t: client.node.create_publisher(m, t, qos) for t, m in topics}
    rows = []
    try:
        need = ["image", "camera_info"] + (["depth"] if use_depth else []) + (["boxes"] if run else [])
        if not client.spin_until(lambda: all(pubs[t].get_subscription_count() for t in need), 120):
            raise RuntimeError(f"the node did not come up; see {log}")
        measure(client, pubs, frame, names, 10, 2.0, use_depth, run is not None)  # warm-up
        for rate in args.rates:
            lat, n, got = measure(client, pubs, frame, names, rate, args.seconds, use_depth, run is not None)
            rows.append(dict(estimator="real (tiny)" if run else "test double (baseline)", depth=use_depth,
                             rate=rate, sent=n, got=got, lat=np.array(lat)))
    finally:
        rc = stop(proc, signal.SIGINT)
        client.close()
    if rc != 0:
        raise RuntimeError(f"the node exited with {rc}; see {log}")
    return rows


def estimate_alone(run: Path, frame, use_depth: bool, n: int = 20) -> np.ndarray:
    from rigidpose.estimate import Estimator

    rgb, camera, depth, boxes, _ = frame
    est = Estimator.from_checkpoint(run, score_threshold=0.0, use_depth=use_depth, icp=use_depth, detector=None)
    est.estimate(rgb, camera, depth if use_depth else None, boxes=boxes)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        est.estimate(rgb, camera, depth if use_depth else None, boxes=boxes)
        times.append(1000 * (time.perf_counter() - t))
    return np.array(times)


def table(rows: list[dict], alone: dict[bool, np.ndarray]) -> str:
    out = ["| estimator | depth | input Hz | images sent | received / estimated / no boxes / errors (node) "
           "| answered (TF) | p50 ms | p95 ms |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lat = r["lat"]
        p50, p95 = (f"{np.percentile(lat, q):.1f}" if lat.size else "-" for q in (50, 95))
        out.append(f"| {r['estimator']} | {'yes' if r['depth'] else 'no'} | {r['rate']:g} | {r['sent']} | {' / '.join(map(str, r['got']))} | "
                   f"{lat.size / max(r['sent'], 1):.0%} | {p50} | {p95} |")
    for d, t in alone.items():
        out.append(f"| `estimate()` alone, in-process | {'yes' if d else 'no'} | - | {t.size} calls | - | - | "
                   f"{np.percentile(t, 50):.1f} | {np.percentile(t, 95):.1f} |")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, help="where the tiny run is rendered and trained, and reused when "
                    "WORKDIR/run exists (default: a temporary folder)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rates", type=float, nargs="+", default=[10.0, 30.0])
    ap.add_argument("--transport", default="DEFAULT", choices=["DEFAULT", "UDPv4", "SHM"],
                    help="FASTDDS_BUILTIN_TRANSPORTS for node and client; DEFAULT: shared memory + UDP (the tests use UDPv4)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    os.environ["FASTDDS_BUILTIN_TRANSPORTS"] = args.transport  # read by the client's rclpy context
    if not NODE_EXE.is_file():
        sys.exit(f"node not built at {NODE_EXE}: run `make ros` and source ros2_ws/install/setup.bash")
    with tempfile.TemporaryDirectory() as tmp:
        t = time.monotonic()
        root = args.workdir or Path(tmp)
        ds, run = (root / "ds", root / "run") if (root / "run" / "best.json").is_file() else make_run(root, size=(640, 480))
        print(f"run ready in {time.monotonic() - t:.0f} s", file=sys.stderr)
        frame = dataset_frame(ds)
        assert frame[0].shape == (480, 640, 3), frame[0].shape
        from rigidpose.estimate import Estimator

        names = {o: c.name for o, c in Estimator.from_checkpoint(run, icp=False, detector=None).objects.items()}
        rows = []
        for est_run in (None, run):
            for use_depth in (False, True):
                rows += run_node(args, frame, names, est_run, use_depth, random_domain(), Path(tmp) / "node.log")
        alone = {d: estimate_alone(run, frame, d) for d in (False, True)}
    text = table(rows, alone)
    text += (f"\n\n{platform.node()} · {platform.machine()} · Python {platform.python_version()} · "
             f"{args.seconds:g} s per row · FASTDDS_BUILTIN_TRANSPORTS={args.transport} · load average "
             f"{os.getloadavg()[0]:.1f} at the end")
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
