"""BopDataset: paths, cached per-scene readers and size-checked images on a minimal dataset."""

from __future__ import annotations

import numpy as np
import pytest

from rigidpose.bop import (
    BopDataset, GtInfo, GtInstance, SceneCamera, write_camera_json, write_depth, write_rgb,
    write_scene_camera, write_scene_gt, write_scene_gt_info,
)
from rigidpose.errors import DataError
from rigidpose.geometry import Camera, Pose

CAM = Camera.from_fov(40, 30, 60.0)


@pytest.fixture
def root(tmp_path):
    write_camera_json(tmp_path / "camera.json", CAM, 1.0)
    scene = tmp_path / "train" / "000003"
    write_scene_camera(scene / "scene_camera.json", {0: SceneCamera(CAM, 0.5), 4: SceneCamera(CAM, 1.0)})
    write_scene_gt(scene / "scene_gt.json", {0: [GtInstance(2, Pose(np.eye(3), [0, 0, 0.7]))], 4: []})
    b = np.array([1.0, 2, 3, 4])
    write_scene_gt_info(scene / "scene_gt_info.json", {0: [GtInfo(b, b, 10, 9, 8, 0.8)], 4: []})
    write_rgb(scene / "rgb" / "000004.jpg", np.zeros((30, 40, 3), np.uint8))
    write_depth(scene / "depth" / "000000.png", np.full((30, 40), 0.7), 0.5)
    (tmp_path / "train" / "notes").mkdir()
    return tmp_path


def test_dataset_accessors(root):
    ds = BopDataset(root)
    assert ds.camera.size == (40, 30) and ds.depth_scale == 1.0
    assert ds.scenes("train") == [3]
    assert ds.image_ids("train", 3) == [0, 4]
    assert ds.gt("train", 3)[0][0].pose.t[2] == pytest.approx(0.7)
    assert ds.gt("train", 3) is ds.gt("train", 3)  # cached
    assert ds.gt_info("train", 3)[0][0].visib_fract == 0.8
    assert ds.rgb_path("train", 3, 4).name == "000004.jpg"
    assert ds.rgb_path("train", 3, 0).name == "000000.png"
    assert ds.mask_visib_path("train", 3, 4, 1).name == "000004_000001.png"
    assert ds.read_rgb("train", 3, 4).shape == (30, 40, 3)
    np.testing.assert_allclose(ds.read_depth("train", 3, 0), 0.7, atol=0.5e-3)  # scene depth_scale 0.5


def test_dataset_errors(root, tmp_path):
    with pytest.raises(DataError, match="dataset directory not found"):
        BopDataset(tmp_path / "nope")
    ds = BopDataset(root)
    with pytest.raises(DataError, match="split 'test' not found"):
        ds.scenes("test")
    with pytest.raises(DataError, match="has no image 9"):
        ds.read_rgb("train", 3, 9)
    with pytest.raises(DataError, match="image not found"):
        ds.read_rgb("train", 3, 0)
    with pytest.raises(DataError, match="file not found: .*models_info.json"):
        ds.models_info
