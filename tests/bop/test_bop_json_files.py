"""Round trips and errors of the BOP JSON files: mm on disk, metres in memory."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rigidpose.bop import (
    GtInfo, GtInstance, SceneCamera, model_info_from_bop, read_camera_json, read_json,
    read_models_info, read_scene_camera, read_scene_gt, read_scene_gt_info, write_camera_json,
    write_json_atomic, write_models_info, write_scene_camera, write_scene_gt, write_scene_gt_info,
)
from rigidpose.errors import DataError
from rigidpose.geometry import Camera, Pose, random_rotation
from rigidpose.objects import ContinuousSymmetry, ModelInfo, Symmetries


def _pose(rng, parent="cam", child="obj"):
    return Pose(random_rotation(rng), rng.uniform(-0.5, 0.5, 3) + [0, 0, 1.0], parent, child)


def test_write_json_atomic_keeps_old_file_on_failure(tmp_path):
    p = tmp_path / "a.json"
    write_json_atomic(p, {"x": 1})
    with pytest.raises(ValueError):
        write_json_atomic(p, {"x": float("nan")})  # refused before anything is replaced
    assert read_json(p) == {"x": 1}
    assert [f.name for f in tmp_path.iterdir()] == ["a.json"]  # no temp file left behind


@pytest.mark.parametrize("text, msg", [
    ("{\"a\": 1,", "malformed JSON"),
    ("{\"a\": NaN}", "non-finite"),
    ("", "malformed JSON"),
])
def test_read_json_malformed(tmp_path, text, msg):
    p = tmp_path / "bad.json"
    p.write_text(text)
    with pytest.raises(DataError, match=msg) as exc:
        read_json(p)
    assert str(p) in str(exc.value) and "\n" not in str(exc.value)


def test_read_json_missing(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_json(tmp_path / "nope.json")


def test_models_info_round_trip_mm_on_disk(tmp_path):
    T = np.eye(4)
    T[:3, :3] = np.diag([-1.0, -1.0, 1.0])
    T[:3, 3] = [0.001, 0.002, 0.0]
    info = ModelInfo(0.1234, np.array([-0.05, -0.04, -0.03]), np.array([0.1, 0.08, 0.06]),
                     Symmetries(T[None], (ContinuousSymmetry([0, 0, 1], [0.0, 0.0, 0.01]),)))
    p = tmp_path / "models_info.json"
    write_models_info(p, {3: info, 1: info})
    raw = json.loads(p.read_text())
    assert list(raw) == ["1", "3"]
    assert raw["3"]["diameter"] == pytest.approx(123.4)
    assert raw["3"]["min_x"] == pytest.approx(-50.0) and raw["3"]["size_z"] == pytest.approx(60.0)
    assert raw["3"]["symmetries_discrete"][0][3] == pytest.approx(1.0)  # 1 mm
    assert raw["3"]["symmetries_continuous"][0]["offset"][2] == pytest.approx(10.0)
    back = read_models_info(p)[3]
    assert back.diameter == pytest.approx(0.1234, rel=1e-12)
    np.testing.assert_allclose(back.min_xyz, info.min_xyz, rtol=1e-12)
    np.testing.assert_allclose(back.size_xyz, info.size_xyz, rtol=1e-12)
    np.testing.assert_allclose(back.symmetries.discrete, info.symmetries.discrete, atol=1e-15)
    np.testing.assert_allclose(back.symmetries.continuous[0].offset, [0, 0, 0.01], rtol=1e-12)


@pytest.mark.parametrize("entry, msg", [
    ({"min_x": 0}, "missing key 'diameter'"),
    ({"diameter": "big"}, "expected a number"),
    ({"diameter": -1.0}, "positive"),
    ({"diameter": 1, "min_x": 0, "min_y": 0, "min_z": 0, "size_x": 1, "size_y": 1, "size_z": 1,
      "symmetries_discrete": [[1, 2, 3]]}, "16 numbers"),
])
def test_models_info_errors(entry, msg):
    with pytest.raises(DataError, match=msg):
        model_info_from_bop(entry, "obj 1")


def test_scene_gt_round_trip(tmp_path, rng):
    data = {0: [GtInstance(1, _pose(rng)), GtInstance(2, _pose(rng))], 7: [GtInstance(1, _pose(rng))]}
    p = tmp_path / "scene_gt.json"
    write_scene_gt(p, data)
    raw = json.loads(p.read_text())
    assert raw["7"][0]["cam_t_m2c"] == pytest.approx((data[7][0].pose.t * 1000).tolist())
    back = read_scene_gt(p)
    assert sorted(back) == [0, 7]
    for k in data:
        for a, b in zip(data[k], back[k]):
            assert a.obj_id == b.obj_id
            assert a.pose.allclose(b.pose, atol=1e-12)


def test_scene_gt_errors(tmp_path):
    p = tmp_path / "scene_gt.json"
    p.write_text(json.dumps({"0": [{"cam_R_m2c": [1, 0, 0, 0, 1, 0, 0, 0, 1], "obj_id": 1}]}))
    with pytest.raises(DataError, match="image 0 instance 0: missing key 'cam_t_m2c'"):
        read_scene_gt(p)
    p.write_text(json.dumps({"0": [{"cam_R_m2c": [2, 0, 0, 0, 1, 0, 0, 0, 1], "cam_t_m2c": [0, 0, 1],
                                     "obj_id": 1}]}))
    with pytest.raises(DataError, match="not a rotation"):
        read_scene_gt(p)
    p.write_text(json.dumps({"x": []}))
    with pytest.raises(DataError, match="not an integer id"):
        read_scene_gt(p)


def test_scene_gt_info_round_trip(tmp_path):
    info = GtInfo(np.array([1.0, 2, 30, 40]), np.array([3.0, 4, 20, 10]), 1200, 1100, 600, 0.5)
    p = tmp_path / "scene_gt_info.json"
    write_scene_gt_info(p, {5: [info]})
    b = read_scene_gt_info(p)[5][0]
    np.testing.assert_array_equal(b.bbox_obj, info.bbox_obj)
    np.testing.assert_array_equal(b.bbox_visib, info.bbox_visib)
    assert (b.px_count_all, b.px_count_valid, b.px_count_visib, b.visib_fract) == (1200, 1100, 600, 0.5)


def test_scene_camera_round_trip(tmp_path, rng):
    cam = Camera(np.array([[600.0, 0, 320.5], [0, 601.0, 240.25], [0, 0, 1]]), 640, 480)
    data = {0: SceneCamera(cam, 0.1, _pose(rng, "cam", "world")), 1: SceneCamera(cam, 1.0)}
    p = tmp_path / "scene_camera.json"
    write_scene_camera(p, data)
    raw = json.loads(p.read_text())
    assert raw["0"]["cam_t_w2c"] == pytest.approx((data[0].T_cam_world.t * 1000).tolist())
    back = read_scene_camera(p, 640, 480)
    np.testing.assert_array_equal(back[0].camera.K, cam.K)
    assert back[0].camera.size == (640, 480) and back[0].depth_scale == 0.1
    assert back[0].T_cam_world.allclose(data[0].T_cam_world, atol=1e-12)
    assert back[1].T_cam_world is None


def test_scene_camera_errors(tmp_path):
    p = tmp_path / "scene_camera.json"
    p.write_text(json.dumps({"0": {"cam_K": [1, 0, 0, 0, 1, 0, 0, 0]}}))
    with pytest.raises(DataError, match="cam_K: expected a list of 9 numbers, got 8 values"):
        read_scene_camera(p, 640, 480)
    p.write_text(json.dumps({"0": {"cam_K": [600, 0, 320, 0, 600, 240, 0, 0, 1], "depth_scale": 0}}))
    with pytest.raises(DataError, match="depth_scale must be positive"):
        read_scene_camera(p, 640, 480)


def test_camera_json_round_trip(tmp_path):
    cam = Camera(np.array([[572.4, 0, 325.3], [0, 573.6, 242.0], [0, 0, 1]]), 640, 480)
    p = tmp_path / "camera.json"
    write_camera_json(p, cam, 0.1)
    back, scale = read_camera_json(p)
    np.testing.assert_array_equal(back.K, cam.K)
    assert back.size == (640, 480) and scale == 0.1


def test_camera_json_errors(tmp_path):
    p = tmp_path / "camera.json"
    p.write_text(json.dumps({"fx": 1, "fy": 1, "cx": 0, "cy": 0, "width": 640}))
    with pytest.raises(DataError, match="missing key 'height'"):
        read_camera_json(p)
    p.write_text(json.dumps({"fx": -1, "fy": 1, "cx": 0, "cy": 0, "width": 640, "height": 480}))
    with pytest.raises(DataError, match="invalid camera"):
        read_camera_json(p)
    cam = Camera(np.array([[600.0, 0, 320], [0, 600, 240], [0, 0, 1]]), 640, 480, dist=[0.1, 0, 0, 0, 0])
    with pytest.raises(DataError, match="distortion"):
        write_camera_json(p, cam, 1.0)


def test_atomic_write_crash_leaves_old_file(tmp_path):
    from rigidpose.bop.jsonio import write_bytes_atomic

    p = tmp_path / "scene_gt.json"
    write_json_atomic(p, {"0": []})

    def crash(tmp):
        tmp.write_text("{\"0\": [half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_bytes_atomic(p, crash)
    assert read_json(p) == {"0": []}
    assert [f.name for f in tmp_path.iterdir()] == ["scene_gt.json"]
