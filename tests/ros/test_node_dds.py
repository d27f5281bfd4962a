"""The pose_estimator node as a separate process over real DDS (Fast DDS, loopback UDP).

1. Shipped path (no estimator): the static base→camera TF arrives on /tf_static, the
   ~/status heartbeat says why there is no estimator, hundreds of random malformed
   Image / depth / CameraInfo messages are each rejected and counted without a crash,
   a valid frame is still processed afterwards, and SIGINT ends it with code 0.
2. With the test-double estimator (tests/ros/fake_estimator.py, injected through the
   estimator_factory parameter): PoseEstimates become /tf, ~/detections and ~/poses with
   the image's stamp and frame, and SIGTERM ends it with code 0.
"""

from __future__ import annotations

import signal

import numpy as np
import pytest

from ros_support import require_ros_workspace

pytestmark = pytest.mark.ros
require_ros_workspace()

from dds_support import NODE_EXE, Client, dds_env, make_image, malformed, random_domain, start_node, stop  # noqa: E402

if not NODE_EXE.is_file():
    pytest.skip(f"node not built at {NODE_EXE}: run `make ros`", allow_module_level=True)

from geometry_msgs.msg import PoseArray  # noqa: E402
from rclpy.qos import DurabilityPolicy, QoSProfile  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402
from std_msgs.msg import String  # noqa: E402
from tf2_msgs.msg import TFMessage  # noqa: E402
from vision_msgs.msg import Detection3DArray  # noqa: E402

from rigidpose.geometry import Camera, Pose  # noqa: E402
from rigidpose_ros.conversions import camera_to_camera_info  # noqa: E402

W, H = 64, 48
N_FUZZ = 300
RELIABLE = QoSProfile(depth=50)
LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)


@pytest.fixture
def dds(tmp_path):
    domain = random_domain()
    client = Client(domain)
    procs = []
    yield client, dds_env(domain), tmp_path, procs
    for p in procs:
        if p.poll() is None:
            stop(p, signal.SIGKILL)
    client.close()


def publishers(client):
    pubs = {t: client.node.create_publisher(m, t, RELIABLE)
            for t, m in (("image", Image), ("depth", Image), ("camera_info", CameraInfo))}
    assert client.spin_until(lambda: all(p.get_subscription_count() > 0 for p in pubs.values()), 20), \
        "the node's subscriptions were not discovered"
    return pubs


def valid_frame(stamp):
    bgr = np.zeros((H, W, 3), np.uint8)
    bgr[..., 0], bgr[..., 2] = 200, 50  # B = 200, R = 50
    return make_image(Image, bgr, "bgr8", stamp=stamp), make_image(Image, np.full((H, W), 1000, "<u2"), "16UC1", stamp=stamp)


def send_until(client, pubs, msgs, pred, timeout):
    """Publish ``msgs`` [(topic, msg)] every 0.3 s until ``pred()``."""
    def again():
        for t, m in msgs:
            pubs[t].publish(m)
        return client.spin_until(pred, 0.3)
    return any(again() for _ in range(int(timeout / 0.3)))


def total(d):
    return sum(d.values())


def test_node_without_estimator_survives_fuzz_and_stops_on_sigint(dds):
    client, env, tmp, procs = dds
    T_base_cam = [0.4, -0.1, 0.9, 0.0, 0.0, 0.7071067811865476, 0.7071067811865476]
    log = tmp / "node.log"
    procs.append(start_node(env, log, camera_frame="cam_optical", base_frame="base_link", use_depth="true",
                            T_base_cam=str(T_base_cam), status_period_s=0.2, warn_period_s=60.0))
    client.listen(TFMessage, "/tf_static", LATCHED)
    client.listen(String, "/pose_estimator/status", RELIABLE)
    assert client.spin_until(lambda: client.got["/tf_static"] and client.status(), 30), log.read_text()
    tf = client.got["/tf_static"][0].transforms[0]
    assert (tf.header.frame_id, tf.child_frame_id) == ("base_link", "cam_optical")
    r, t = tf.transform.rotation, tf.transform.translation
    assert Pose.from_quat([r.x, r.y, r.z, r.w], [t.x, t.y, t.z]).allclose(
        Pose.from_quat(T_base_cam[3:], T_base_cam[:3]), atol=1e-12)
    assert client.status()["has_estimator"] is False and "checkpoint" in client.status()["estimator"]

    pubs = publishers(client)
    info = camera_to_camera_info(Camera.from_fov(W, H, 60.0), CameraInfo)
    assert send_until(client, pubs, [("camera_info", info)],
                      lambda: client.status()["received"].get("camera_info", 0) > 0, 10)
    before = client.status()

    rng = np.random.default_rng(7)
    sent = 0
    for _ in range(N_FUZZ):
        topic, msg = malformed(rng, Image, CameraInfo, info, W, H)
        pubs[topic].publish(msg)
        sent += 1
        client.executor.spin_once(timeout_sec=0.002)

    def settled():
        s = client.status()
        return total(s["received"]) - total(before["received"]) >= sent * 0.9 and \
            total(s["received"]) - total(before["received"]) == s["rejected_total"] - before["rejected_total"]
    client.spin_until(settled, 15)
    client.spin_until(lambda: False, 0.6)  # let late deliveries land
    after = client.status()
    got = total(after["received"]) - total(before["received"])
    assert got >= sent * 0.9, f"only {got} of {sent} fuzz messages reached the node"
    assert after["rejected_total"] - before["rejected_total"] == got, after  # every one rejected
    kinds = {k.split(":", 1)[1] for k in after["rejected"]}
    assert len(kinds) >= 10, kinds
    assert procs[0].poll() is None, log.read_text()

    img, depth = valid_frame((100, 0))
    processed = after["frames"].get("processed", 0)
    assert send_until(client, pubs, [("image", img), ("depth", depth)],
                      lambda: client.status()["frames"].get("processed", 0) > processed, 10), client.status()
    assert stop(procs[0], signal.SIGINT) == 0, log.read_text()
    text = log.read_text()
    assert "no estimator" in text and "dropping image message" in text and "shutting down" in text


def test_estimates_become_tf_detections_and_poses_and_sigterm_stops(dds):
    client, env, tmp, procs = dds
    log = tmp / "node.log"
    procs.append(start_node(env, log, use_depth="true", score_threshold=0.5,
                            estimator_factory="fake_estimator:make_estimator"))
    for topic, mtype in (("/tf", TFMessage), ("/pose_estimator/detections", Detection3DArray),
                         ("/pose_estimator/poses", PoseArray)):
        client.listen(mtype, topic, RELIABLE)
    pubs = publishers(client)
    info = camera_to_camera_info(Camera.from_fov(W, H, 60.0), CameraInfo)
    img, depth = valid_frame((1234, 5678))
    got = client.got
    ok = send_until(client, pubs, [("camera_info", info), ("image", img), ("depth", depth)],
                    lambda: got["/tf"] and got["/pose_estimator/detections"] and got["/pose_estimator/poses"], 20)
    assert ok, log.read_text()

    tf = got["/tf"][0].transforms
    assert [t.child_frame_id for t in tf] == ["mug_0", "obj_000002_0"]  # object 3 is below the threshold
    for t in tf:
        assert (t.header.frame_id, t.header.stamp.sec, t.header.stamp.nanosec) == ("cam_optical", 1234, 5678)
    mug = Pose.from_quat([tf[0].transform.rotation.x, tf[0].transform.rotation.y, tf[0].transform.rotation.z,
                          tf[0].transform.rotation.w], [tf[0].transform.translation.x, tf[0].transform.translation.y,
                                                        tf[0].transform.translation.z])
    # x = mean R / 1000 (BGR was converted to RGB), y = mean B / 1000, z = 1000 mm -> 1 m
    np.testing.assert_allclose(mug.t, [0.05, 0.2, 1.0], atol=1e-9)
    np.testing.assert_allclose(mug.R, [[0, -1, 0], [1, 0, 0], [0, 0, 1]], atol=1e-9)

    dets = got["/pose_estimator/detections"][0]
    assert (dets.header.frame_id, dets.header.stamp.sec, dets.header.stamp.nanosec) == ("cam_optical", 1234, 5678)
    assert [d.id for d in dets.detections] == ["mug_0", "obj_000002_0"]
    hyp = dets.detections[0].results[0]
    assert hyp.hypothesis.class_id == "mug" and hyp.hypothesis.score == pytest.approx(0.9)
    np.testing.assert_allclose(np.reshape(hyp.pose.covariance, (6, 6)), np.diag([1e-4, 2e-4, 3e-4, 1e-3, 2e-3, 3e-3]))
    assert dets.detections[0].bbox.size.z == pytest.approx(0.1)

    poses = got["/pose_estimator/poses"][0]
    assert poses.header.stamp.sec == 1234 and len(poses.poses) == 2
    assert poses.poses[1].position.z == pytest.approx(1.2)

    assert stop(procs[0], signal.SIGTERM) == 0, log.read_text()
    assert "estimator from factory fake_estimator:make_estimator" in log.read_text()


def _stamp_node(dds, factory: str):
    """Start the node with the fake estimator ``factory`` and send it a frame stamped 500 s;
    returns the client, the publishers, a ``send(stamp, until)`` helper and the node's log."""
    client, env, tmp, procs = dds
    log = tmp / "node.log"
    procs.append(start_node(env, log, use_depth="true", score_threshold=0.5, status_period_s=0.2,
                            estimator_factory=f"fake_estimator:{factory}"))
    client.listen(TFMessage, "/tf", RELIABLE)
    client.listen(String, "/pose_estimator/status", RELIABLE)
    pubs = publishers(client)
    info = camera_to_camera_info(Camera.from_fov(W, H, 60.0), CameraInfo)

    def send(stamp, until, first=False) -> bool:
        img, depth = valid_frame(stamp)
        msgs = [("camera_info", info)] * first + [("image", img), ("depth", depth)]
        return send_until(client, pubs, msgs, until, 20 if first else 10)

    assert send((500, 0), answered(client, 500), first=True), log.read_text()
    return client, send, log


def answered(client, sec):
    """Whether /tf got a message stamped ``sec`` seconds."""
    return lambda: any(m.transforms[0].header.stamp.sec == sec for m in client.got["/tf"])


def test_a_re_sent_or_older_frame_is_not_estimated_again(dds):
    """A frame with the stamp of the last estimated one (re-sent) or an earlier one (out of
    order) is skipped and counted on ~/status: /tf never gets a second or an older transform."""
    client, send, log = _stamp_node(dds, "make_estimator")
    for stamp in ((500, 0), (499, 500_000_000)):  # the same frame again, then one 0.5 s older
        key = "skipped_repeat" if stamp[0] == 500 else "skipped_old"
        assert send(stamp, lambda: (client.status() or {}).get("frames", {}).get(key, 0) > 0), client.status()
    assert send((501, 0), answered(client, 501)), log.read_text()
    assert stop(dds[3][0], signal.SIGINT) == 0, log.read_text()
    stamps = [m.transforms[0].header.stamp.sec for m in client.got["/tf"]]
    assert stamps == [500, 501], stamps  # each instant once, in order
    assert "skipping the frame stamped 500.000 s: the stamp of the last estimated frame (re-sent)" in log.read_text()


def test_stamps_that_jump_far_back_reset_the_tracker_and_are_estimated(dds):
    """A frame stamped more than 1 s before the last estimated one is a clock reset (a bag
    replayed from its start): it is estimated, not skipped, and the tracker starts over."""
    client, send, log = _stamp_node(dds, "make_tracking_estimator")
    assert send((10, 0), answered(client, 10)), log.read_text()  # 490 s back
    assert stop(dds[3][0], signal.SIGINT) == 0, log.read_text()
    obj2 = {m.transforms[0].header.stamp.sec: m.transforms[1].transform.translation.x for m in client.got["/tf"]}
    assert obj2 == {500: pytest.approx(0.1), 10: pytest.approx(1.1)}  # one tracker reset, before frame 10
    assert "the stamps jumped back to 10.000 s: starting over" in log.read_text()
