"""Grasp-frame files, boxes from an external detector, and their messages (no DDS)."""

from __future__ import annotations

import threading
from types import SimpleNamespace as NS

import numpy as np
import pytest

from ros_support import require_ros_workspace

pytestmark = pytest.mark.ros
require_ros_workspace()

from std_msgs.msg import Header  # noqa: E402
from visualization_msgs.msg import Marker  # noqa: E402

from rigidpose.geometry import Pose, PoseEstimate  # noqa: E402
from rigidpose_ros.boxes import BoxCache, detections_to_boxes  # noqa: E402
from rigidpose_ros.errors import BadParameter, MessageError  # noqa: E402
from rigidpose_ros.estimator import checkpoint_options  # noqa: E402
from rigidpose_ros.grasps import default_grasps_path, load_grasps, parse_grasps  # noqa: E402
from rigidpose_ros.outputs import build_outputs  # noqa: E402

OBJECTS = {1: "bracket", 2: "block"}


def test_grasps_by_name_and_id(tmp_path):
    path = tmp_path / "grasps.yaml"
    path.write_text("grasps:\n  bracket:\n    top: {xyz: [0, 0, 0.06], quat: [1, 0, 0, 0]}\n"
                    "    side: {xyz: [0.03, -0.03, 0.004]}\n  2:\n    peg: {xyz: [0.01, 0, 0.02]}\n")
    g = load_grasps(path, OBJECTS)
    assert [n for n, _ in g[1]] == ["top", "side"] and [n for n, _ in g[2]] == ["peg"]
    np.testing.assert_allclose(g[1][0][1].R, np.diag([1.0, -1.0, -1.0]), atol=1e-12)
    np.testing.assert_allclose(g[1][1][1].t, [0.03, -0.03, 0.004])
    assert default_grasps_path(str(tmp_path)) == path and default_grasps_path(str(tmp_path / "best")) == path
    assert default_grasps_path("") is None


@pytest.mark.parametrize("text, message", [
    ("grasp: {}", "one top-level key 'grasps'"),
    ("grasps:\n  mug:\n    a: {xyz: [0, 0, 0]}", r"unknown object 'mug'; the checkpoint has bracket \(1\), block \(2\)"),
    ("grasps:\n  bracket:\n    a: {xyz: [0, 0]}", r"grasps.bracket.a.xyz must be a list of 3 numbers"),
    ("grasps:\n  bracket:\n    a: {xyz: [0, 0, .nan]}", "NaN or infinite"),
    ("grasps:\n  bracket:\n    a: {xyz: [0, 0, 60]}", "more than 10 m from the object: the file is in metres"),
    ("grasps:\n  bracket:\n    a: {xyz: [0, 0, 0], quat: [0, 0, 0, 2]}", r"quat must have unit norm, got \|q\| = 2"),
    ("grasps:\n  bracket:\n    a: {xyz: [0, 0, 0], rpy: [0, 0, 0]}", "must be a mapping with 'xyz'"),
    ("grasps:\n  bracket:\n    'a b': {xyz: [0, 0, 0]}", "grasp name 'a b'"),
    ("grasps:\n  bracket:\n    a: {xyz: [0, 0, 0]}\n  1:\n    b: {xyz: [0, 0, 0]}", "listed twice"),
    ("grasps:\n  bracket: []", "must map grasp names to poses"),
])
def test_bad_grasp_files_say_what_is_wrong(text, message):
    import yaml

    with pytest.raises(BadParameter, match=message):
        parse_grasps(yaml.safe_load(text), OBJECTS, "g.yaml")


def test_unreadable_grasp_files(tmp_path):
    with pytest.raises(BadParameter, match="does not exist"):
        load_grasps(tmp_path / "none.yaml", OBJECTS)
    (tmp_path / "bad.yaml").write_text("grasps: [")
    with pytest.raises(BadParameter, match="is not valid YAML"):
        load_grasps(tmp_path / "bad.yaml", OBJECTS)


def test_grasp_frames_and_mesh_markers_in_the_outputs():
    h = Header(frame_id="cam")
    h.stamp.sec = 7
    T_cam_obj = Pose(np.eye(3), [0.0, 0.0, 0.5])
    ests = [PoseEstimate(1, T_cam_obj, 0.9, name="bracket"), PoseEstimate(2, T_cam_obj, 0.8, name="block")]
    grasps = {1: [("top", Pose(np.eye(3), [0.0, 0.0, 0.06]))]}
    meshes = {1: ("file:///m/obj_000001.ply", 0.001)}
    box = (np.zeros(3), np.full(3, 0.05))
    out = build_outputs(h, ests, {2: box}, grasps, meshes)
    tfs = {t.child_frame_id: t for t in out.tf.transforms}
    assert set(tfs) == {"bracket_0", "bracket_0/top", "block_0"}
    assert tfs["bracket_0/top"].header.frame_id == "bracket_0" and tfs["bracket_0/top"].header.stamp.sec == 7
    assert tfs["bracket_0/top"].transform.translation.z == pytest.approx(0.06)
    kinds = [(m.ns, m.type) for m in out.markers.markers[1:]]
    assert kinds == [("bracket_0", Marker.MESH_RESOURCE), ("block_0", Marker.LINE_LIST)]
    mesh = out.markers.markers[1]
    assert mesh.mesh_resource == "file:///m/obj_000001.ply" and mesh.scale.z == pytest.approx(0.001)


def _det(cls, cx, cy, w, h, theta=0.0):
    hyp = NS(hypothesis=NS(class_id=cls))
    return NS(results=[hyp] if cls is not None else [],
              bbox=NS(center=NS(position=NS(x=cx, y=cy), theta=theta), size_x=w, size_y=h))


def test_detections_to_boxes():
    msg = NS(detections=[_det("bracket", 50, 40, 20, 10), _det("2", 10, 10, 4, 4)])
    assert detections_to_boxes(msg, OBJECTS, 320, 240) == [(1, (40.0, 35.0, 20, 10)), (2, (8.0, 8.0, 4, 4))]
    for det, kind in [(_det("mug", 5, 5, 2, 2), "unknown_class"), (_det(None, 5, 5, 2, 2), "no_class"),
                      (_det("1", float("nan"), 5, 2, 2), "box_nan"), (_det("1", 5, 5, 2, 2, 0.3), "box_rotated"),
                      (_det("1", 5, 5, 0, 2), "box_outside"), (_det("1", 500, 5, 2, 2), "box_outside")]:
        with pytest.raises(MessageError) as exc:
            detections_to_boxes(NS(detections=[det]), OBJECTS, 320, 240)
        assert exc.value.kind == kind


def test_box_cache_waits_for_the_stamp():
    cache = BoxCache(keep=2)
    assert cache.wait_for(100, 10, 0.01) is None
    threading.Timer(0.05, cache.put, (105, [(1, (0, 0, 1, 1))])).start()
    assert cache.wait_for(100, 10, 5.0) == [(1, (0, 0, 1, 1))]
    cache.put(200, []), cache.put(300, [])
    assert cache.wait_for(105, 10, 0.0) is None  # evicted (keep=2)
    cache.close()
    assert cache.wait_for(999, 0, 5.0) is None  # returns at once when closed


def test_checkpoint_options():
    kw = checkpoint_options({"objects": ["1", "2"], "score_threshold": 0.2, "use_depth": True, "icp": True,
                             "tracking": True, "silhouette": "off", "use_boxes": True})
    assert kw == {"objects": [1, 2], "score_threshold": 0.2, "use_depth": True, "icp": True, "tracking": True,
                  "silhouette": "off", "detector": None}
    assert checkpoint_options({})["silhouette"] == "rgb"
    assert checkpoint_options({"objects": ["bracket", "2"]})["objects"] is None  # names: filtered after estimation
    assert checkpoint_options({})["detector"] == "auto"
