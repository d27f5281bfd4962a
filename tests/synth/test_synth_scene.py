"""Scene sampling and randomisation: placement, camera, determinism."""

from __future__ import annotations

import numpy as np

from synth.config import BackgroundConfig, LightConfig, SensorConfig, SynthConfig, config_from_dict
from synth.generate import image_rng
from synth.randomize import apply_sensor, sample_background, sample_lights
from synth.scene import Target, look_at_camera, procedural_distractors, sample_scene
from synth_helpers import l_shape


def _targets() -> list[Target]:
    return [Target.from_model(1, l_shape(), 0.1), Target.from_model(2, l_shape(), 0.1)]


def test_objects_rest_on_the_plane_without_overlap() -> None:
    cfg = config_from_dict({"scene": {"objects_per_scene": [2, 2], "instances_per_object": [2, 3]},
                            "distractors": {"count": [0, 0]}})
    targets = _targets()
    for i in range(10):
        s = sample_scene(image_rng(3, i), cfg, targets, [])
        T_world_cam = np.linalg.inv(s.T_cam_world)
        boxes = []
        for obj in s.objects[: s.n_targets]:
            v = obj.mesh.vertices.astype(float)
            T_world_obj = T_world_cam @ obj.T_cam_obj
            w = v @ T_world_obj[:3, :3].T + T_world_obj[:3, 3]
            assert abs(w[:, 2].min()) < 1e-6  # touching z = 0
            boxes.append((w[:, :2].min(0), w[:, :2].max(0)))
            assert obj.T_cam_obj[2, 3] > 0  # in front of the camera
        centres = [0.5 * (a + b) for a, b in boxes]
        for a in range(len(boxes)):
            for b in range(a + 1, len(boxes)):
                assert np.linalg.norm(centres[a] - centres[b]) > 0.01


def test_look_at_puts_the_target_on_the_optical_axis() -> None:
    eye, target = np.array([0.5, -0.3, 0.4]), np.array([0.05, 0.02, 0.0])
    T_world_cam = look_at_camera(eye, target, roll=0.0)
    R = T_world_cam[:3, :3]
    assert np.allclose(R.T @ R, np.eye(3)) and np.isclose(np.linalg.det(R), 1.0)
    p_cam = np.linalg.inv(T_world_cam) @ np.r_[target, 1.0]
    assert np.allclose(p_cam[:2], 0.0, atol=1e-12) and p_cam[2] > 0
    up_cam = R.T @ np.array([0.0, 0.0, 1.0])
    assert up_cam[1] < 0  # world up is image up (OpenCV y points down)


def test_same_index_same_scene_and_float_mode() -> None:
    cfg = config_from_dict({"scene": {"placement": "float"}})
    targets, dis = _targets(), procedural_distractors(("box", "sphere"), (0.2, 0.5), 0.1)
    a = sample_scene(image_rng(5, 17), cfg, targets, dis)
    b = sample_scene(image_rng(5, 17), cfg, targets, dis)
    c = sample_scene(image_rng(5, 18), cfg, targets, dis)
    assert a.obj_ids == b.obj_ids
    assert all(np.array_equal(x.T_cam_obj, y.T_cam_obj) for x, y in zip(a.objects, b.objects))
    assert not np.array_equal(a.T_cam_world, c.T_cam_world)


def test_lights_backgrounds_and_sensor(rng) -> None:  # noqa: ANN001
    for _ in range(20):
        lights, ambient = sample_lights(rng, LightConfig())
        assert 1 <= len(lights) <= 4 and 0.1 <= ambient <= 0.4
    for kind in ("noise", "gradient", "tiles", "leaves"):
        bg = sample_background(rng, BackgroundConfig(kinds=(kind,)), 64, 48)
        assert bg.shape == (48, 64, 3) and bg.dtype == np.uint8 and bg.std() > 0
    img = np.full((48, 64, 3), 128, np.uint8)
    noisy = apply_sensor(rng, img, SensorConfig(noise_std=(5, 5), exposure=(1, 1), blur_prob=0))
    assert noisy.dtype == np.uint8 and 3 < (noisy.astype(float) - 128).std() < 7
    same = apply_sensor(np.random.default_rng(1), img, SensorConfig())
    assert np.array_equal(same, apply_sensor(np.random.default_rng(1), img, SensorConfig()))
    assert SynthConfig().sensor.noise_std[1] > 0


def test_user_background_folder(tmp_path, rng) -> None:  # noqa: ANN001
    import cv2
    import pytest

    from rigidpose.errors import RigidposeError
    from synth.randomize import list_background_images

    with pytest.raises(RigidposeError, match="holds no"):
        list_background_images(str(tmp_path))
    cv2.imwrite(str(tmp_path / "a.png"), np.full((30, 40, 3), (255, 0, 0), np.uint8))  # BGR blue
    files = list_background_images(str(tmp_path))
    bg = sample_background(rng, BackgroundConfig(images_dir=str(tmp_path), image_prob=1.0), 64, 48, files)
    assert bg.shape == (48, 64, 3) and np.all(bg[..., 2] > 200) and np.all(bg[..., 0] < 50)


def test_grey_backgrounds() -> None:
    """``grey_prob`` turns a procedural background grey (the same background, desaturated), and
    draws from the generator only when above 0 (so 0 renders what earlier versions rendered)."""
    import cv2

    for kind in ("gradient", "tiles", "leaves"):
        colour = sample_background(np.random.default_rng(3), BackgroundConfig(kinds=(kind,), grey_prob=0.0), 96, 64)
        grey = sample_background(np.random.default_rng(3), BackgroundConfig(kinds=(kind,), grey_prob=1.0), 96, 64)
        assert np.ptp(colour.astype(int), axis=2).max() > 30  # these kinds come in colour
        assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 1], grey[..., 2])
        assert np.array_equal(grey[..., 0], cv2.cvtColor(colour, cv2.COLOR_RGB2GRAY))
    a, b = np.random.default_rng(4), np.random.default_rng(4)
    sample_background(a, BackgroundConfig(kinds=("tiles",), grey_prob=0.0), 32, 32)
    sample_background(b, BackgroundConfig(kinds=("tiles",), grey_prob=0.5), 32, 32)
    assert b.random() != a.random()  # a grey_prob above 0 draws once more


def test_grey_backgrounds_leave_photos_in_colour(tmp_path) -> None:  # noqa: ANN001
    import cv2

    from synth.randomize import list_background_images

    cv2.imwrite(str(tmp_path / "a.png"), np.full((30, 40, 3), (255, 0, 0), np.uint8))  # BGR blue
    cfg = BackgroundConfig(images_dir=str(tmp_path), image_prob=1.0, grey_prob=1.0)
    bg = sample_background(np.random.default_rng(0), cfg, 64, 48, list_background_images(str(tmp_path)))
    assert np.all(bg[..., 2] > 200) and np.all(bg[..., 0] < 50)


def test_user_mesh_distractors(tmp_path) -> None:  # noqa: ANN001
    import trimesh

    from synth.run import prepare_job

    trimesh.creation.torus(0.04, 0.012).export(tmp_path / "torus.ply")
    l_shape().export(tmp_path / "part.ply")
    (tmp_path / "scene.yaml").write_text(
        f"distractors:\n  meshes: [{tmp_path / 'torus.ply'}]\n  shapes: []\n  count: [3, 3]\n"
    )
    job, _ = prepare_job([str(tmp_path / "part.ply")], tmp_path / "out", 1, config=str(tmp_path / "scene.yaml"))
    assert len(job.distractors) == 1
    gen = job.generator()
    keys = {o.mesh.key for i in range(4) for o in sample_scene(image_rng(0, i), job.cfg, gen.targets, gen.distractors).objects}
    gen.close()
    assert "user_distractor_0" in keys


def test_dead_leaves_background_is_covered_with_sharp_edges() -> None:
    """"leaves" fills the image with shapes whose edges are sharp (unlike the smooth kinds), reproducibly."""
    def edge_fraction(img: np.ndarray) -> float:
        g = img.astype(np.float32).mean(axis=2)
        return float(np.mean(np.abs(np.diff(g, axis=1)) > 20))

    def draw(kind: str, seed: int) -> np.ndarray:
        return sample_background(np.random.default_rng(seed), BackgroundConfig(kinds=(kind,)), 320, 240)

    leaves = [draw("leaves", s) for s in range(10)]
    assert np.array_equal(leaves[0], draw("leaves", 0))
    for img in leaves:
        assert img.shape == (240, 320, 3)
        _, counts = np.unique(img.reshape(-1, 3), axis=0, return_counts=True)
        # covered: no colour (the initial fill, or one shape) takes up much of the image (measured 6-20 %)
        assert counts.max() / counts.sum() < 0.4
        assert edge_fraction(img) > 0.01
    assert all(edge_fraction(draw("gradient", s)) == 0.0 for s in range(5))
