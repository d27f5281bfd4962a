"""The speed changes keep outputs identical: cropped scene pass = full frame, exact depth
units, masks, chunks written in shards = written in one piece, one chunk shared by 2 workers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rigidpose.bop.images import depth_to_units, encode_mask, read_mask, write_depth, write_mask
from rigidpose.bop.scene import GtInfo, GtInstance
from rigidpose.geometry import Camera, Pose, random_rotation
from rigidpose.cli import main
from synth.config import OutputConfig
from synth.generate import ImageRecord
from synth.parallel import shard_size
from synth.render import RenderMesh, RenderScene, SceneObject, make_renderer
from synth.run import Shard, split_shards
from synth.writer import ChunkWriter, finalize_chunk, make_temp_chunk_dir, temp_chunk_dir
from synth_helpers import annotations, l_shape, synth_args, write_inputs


def _scenes(camera: Camera) -> list[RenderScene]:
    rm = RenderMesh.from_trimesh("part", l_shape())
    rng = np.random.default_rng(3)
    bg = rng.integers(0, 255, (camera.height, camera.width, 3), dtype=np.uint8)

    def T(t, R=None):  # noqa: ANN001, ANN202
        M = np.eye(4)
        M[:3, :3] = random_rotation(rng) if R is None else R
        M[:3, 3] = t
        return M

    two = (SceneObject(rm, T([-0.04, -0.02, 0.30]), instance_id=0, albedo=(0.9, 0.2, 0.3)),
           SceneObject(rm, T([0.02, 0.01, 0.25]), instance_id=4))
    return [
        RenderScene(camera, two, background=bg),
        RenderScene(camera, two),  # no background: black
        RenderScene(camera, (SceneObject(rm, T([0.17, 0.0, 0.3])),), background=bg),  # cut by the border
        RenderScene(camera, (SceneObject(rm, T([0.0, 0.0, 0.03], np.eye(3))),), background=bg),  # very close
        RenderScene(camera, (), background=bg),
    ]


def test_cropped_scene_pass_equals_full_frame(small_camera, monkeypatch) -> None:  # noqa: ANN001
    import synth.render.moderngl_backend as mb

    scenes = _scenes(small_camera)
    r = make_renderer("moderngl")
    cropped = [r.render(s) for s in scenes]  # each after another: stale pixels outside the boxes
    r.close()
    assert mb.scene_box(scenes[0])[2] < small_camera.width  # the crop is really smaller
    monkeypatch.setattr(mb, "scene_box", lambda s: (0, 0, s.camera.width, s.camera.height))
    r = make_renderer("moderngl")
    full = [r.render(s) for s in scenes]
    r.close()
    for a, b in zip(cropped, full):
        assert np.array_equal(a.rgb, b.rgb) and np.array_equal(a.depth, b.depth) and np.array_equal(a.inst, b.inst)
    assert {0, 4} <= set(np.unique(cropped[0].inst)) and (cropped[2].inst == 0).any()


def test_depth_units_are_the_reference_formula(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    d = rng.uniform(0.0, 6.0, (40, 50)).astype(np.float32)
    d[0, :10] = np.float32(0.00005) * np.arange(10)  # halfway cases at 0.1 mm per unit
    d[1, :3] = [np.nan, np.inf, 0.0]
    ref = np.round(np.where(np.isfinite(d.astype(np.float64)), d.astype(np.float64), 0.0) * 1000.0 / 0.1)
    assert np.array_equal(depth_to_units(d, 0.1), ref.astype(np.uint16))
    write_depth(tmp_path / "d.png", d, 0.1, atomic=False)
    import cv2

    assert np.array_equal(cv2.imread(str(tmp_path / "d.png"), cv2.IMREAD_UNCHANGED), ref.astype(np.uint16))


def test_masks_encode_and_write_without_temp_files(tmp_path: Path) -> None:
    m = np.random.default_rng(1).random((30, 40)) > 0.6
    write_mask(tmp_path / "a.png", m, atomic=False)
    (tmp_path / "b.png").write_bytes(encode_mask(m.astype(np.float32)))  # non-bool masks too
    assert np.array_equal(read_mask(tmp_path / "a.png"), m) and np.array_equal(read_mask(tmp_path / "b.png"), m)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.png"]


def _records(n: int, camera: Camera) -> list[ImageRecord]:
    rng = np.random.default_rng(5)
    out = []
    for _ in range(n):
        masks = [rng.random((camera.height, camera.width)) > 0.5 for _ in range(2)]
        visib = [masks[0], masks[1] & (rng.random(masks[1].shape) > 0.3)]  # one equal, one not
        T = np.eye(4)
        T[:3, :3], T[:3, 3] = random_rotation(rng), rng.uniform(-0.3, 0.3, 3) + [0, 0, 1]
        gt = [GtInstance(1, Pose.from_matrix(T)), GtInstance(2, Pose.from_matrix(T))]
        info = [GtInfo(rng.uniform(0, 30, 4), rng.uniform(0, 30, 4), 100, 90, 80, 0.8) for _ in range(2)]
        rgb = rng.integers(0, 255, (camera.height, camera.width, 3), dtype=np.uint8)
        depth = rng.uniform(0.3, 2.0, (camera.height, camera.width)).astype(np.float32)
        out.append(ImageRecord(rgb, depth, gt, info, masks, visib, Pose.from_matrix(T)))
    return out


def _files(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_chunk_in_shards_equals_chunk_in_one_piece(tmp_path: Path) -> None:
    cam, cfg = Camera.from_fov(40, 30, 60), OutputConfig(rgb_format="png")
    recs = _records(7, cam)
    w = ChunkWriter(tmp_path / "one", 3, cam, cfg)
    for i, r in enumerate(recs):
        w.add(i, r)
    one = w.commit()
    tmp = make_temp_chunk_dir(temp_chunk_dir(tmp_path / "shards", 3))
    shards = split_shards([(3, 0, 7)], 3)
    assert shards == [Shard(3, 0, 0, 3), Shard(3, 0, 3, 6), Shard(3, 0, 6, 7)]
    parts = []
    for s in reversed(shards):  # finishing order does not matter
        sw = ChunkWriter(tmp_path / "shards", 3, cam, cfg, tmp=tmp)
        for i in range(s.lo, s.hi):
            sw.add(i, recs[i])
        parts.append(sw.annotations())
    merged = finalize_chunk(tmp_path / "shards", 3, cam, cfg, tmp, parts)
    assert merged.name == one.name == "000003" and not tmp.exists()
    assert _files(merged) == _files(one)


def test_shard_sizes() -> None:
    assert shard_size([(0, 0, 1000)], 2) == 100  # capped
    assert shard_size([(0, 0, 120)], 2) == 15
    assert shard_size([(0, 0, 3)], 2) == 1
    shards = split_shards([(0, 0, 5), (1, 5, 7)], 2)
    assert [(s.chunk, s.lo, s.hi) for s in shards] == [(0, 0, 2), (0, 2, 4), (0, 4, 5), (1, 5, 7)]


@pytest.mark.slow
def test_two_workers_share_one_chunk(tmp_path: Path) -> None:
    inp = write_inputs(tmp_path / "in", chunk_size=10)
    assert main(synth_args(inp, tmp_path / "w1", 6)) == 0
    assert main(synth_args(inp, tmp_path / "w2", 6, "--workers", "2")) == 0
    assert annotations(tmp_path / "w2") == annotations(tmp_path / "w1")
    a, b = tmp_path / "w1" / "train_synth", tmp_path / "w2" / "train_synth"
    assert sorted(p.name for p in b.iterdir()) == ["000000"]
    assert _files(a / "000000") == _files(b / "000000")  # images too (same renderer, same settings)
