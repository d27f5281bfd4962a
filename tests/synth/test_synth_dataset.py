"""End to end through the CLI: a small dataset read back through rigidpose.bop and
checked against the written poses; worker-count independence; resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rigidpose.bop.dataset import BopDataset
from rigidpose.bop.images import read_mask
from rigidpose.cli import main
from synth_helpers import (
    annotations, depth_to_object, iou, l_shape, projected_mask, surface_distance, synth_args, write_inputs,
)

SPLIT = "train_synth"


def test_layout_and_read_back(dataset: Path) -> None:
    ds = BopDataset(dataset)
    assert ds.scenes(SPLIT) == [0, 1, 2]
    assert [len(ds.image_ids(SPLIT, s)) for s in (0, 1, 2)] == [4, 4, 2]
    assert sorted(ds.models) == [1, 2] and ds.camera.width == 200
    assert np.allclose(ds.models[1].mesh.bounds, l_shape().bounds, atol=1e-6)  # PLY in mm, read back in m
    assert (dataset / "preview.png").is_file()
    assert {o: m.name for o, m in ds.models.items()} == _names(dataset)  # models_names.json, from the mesh files
    assert not list((dataset / SPLIT).glob(".tmp_*"))
    for s in (0, 1, 2):
        for im_id in ds.image_ids(SPLIT, s):
            assert ds.read_rgb(SPLIT, s, im_id).shape == (150, 200, 3)
            assert len(ds.gt(SPLIT, s)[im_id]) == len(ds.gt_info(SPLIT, s)[im_id]) >= 1


def _names(dataset: Path) -> dict[int, str]:
    import json

    manifest = json.loads((dataset / "synth_manifest.json").read_text())
    return {i + 1: Path(m).stem for i, m in enumerate(manifest["models"])}


def _instances(ds: BopDataset):  # noqa: ANN202
    for s in ds.scenes(SPLIT):
        for im_id in ds.image_ids(SPLIT, s):
            cam = ds.image_camera(SPLIT, s, im_id).camera
            for k, (gt, info) in enumerate(zip(ds.gt(SPLIT, s)[im_id], ds.gt_info(SPLIT, s)[im_id])):
                yield s, im_id, k, cam, gt, info


def test_written_poses_project_onto_the_masks(dataset: Path) -> None:
    ds = BopDataset(dataset)
    checked = 0
    for s, im_id, k, cam, gt, info in _instances(ds):
        if info.px_count_all < 300:
            continue
        ref = projected_mask(ds.models[gt.obj_id].mesh, gt.pose.as_matrix(), cam)
        mask = read_mask(ds.mask_path(SPLIT, s, im_id, k))
        assert iou(mask, ref) >= 0.95, (s, im_id, k)
        checked += 1
    assert checked >= 5


def test_depth_on_surface_and_visibility_counts(dataset: Path) -> None:
    ds = BopDataset(dataset)
    for s, im_id, k, cam, gt, info in _instances(ds):
        mask = read_mask(ds.mask_path(SPLIT, s, im_id, k))
        visib = read_mask(ds.mask_visib_path(SPLIT, s, im_id, k))
        assert info.px_count_all == mask.sum() and info.px_count_visib == visib.sum()
        assert not np.any(visib & ~mask)
        if info.px_count_all:
            assert np.isclose(info.visib_fract, visib.sum() / mask.sum())
        if visib.sum() < 50:
            continue
        depth = ds.read_depth(SPLIT, s, im_id)
        dist = surface_distance(ds.models[gt.obj_id].mesh, depth_to_object(depth, visib, cam, gt.pose.as_matrix()))
        assert np.mean(dist < 1e-3) >= 0.99, (s, im_id, k)


@pytest.mark.slow
def test_same_annotations_whatever_the_worker_count(tmp_path: Path, dataset: Path) -> None:
    inp = write_inputs(tmp_path / "in")
    assert main(synth_args(inp, tmp_path / "w2", 10, "--workers", "2")) == 0
    assert annotations(tmp_path / "w2") == annotations(dataset)
    a = (dataset / SPLIT / "000001" / "depth" / "000002.png").read_bytes()
    assert a == (tmp_path / "w2" / SPLIT / "000001" / "depth" / "000002.png").read_bytes()


@pytest.mark.slow
def test_sigkill_then_resume(tmp_path: Path, dataset: Path) -> None:
    inp = write_inputs(tmp_path / "in", chunk_size=2)
    out, n = tmp_path / "out", 40  # 20 chunks: enough that the kill lands mid-run
    cmd = [sys.executable, "-m", "rigidpose", *synth_args(inp, out, n)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not (out / SPLIT / "000001").exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.01)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    done = sorted(p.name for p in (out / SPLIT).iterdir() if p.name.isdigit())
    assert 1 <= len(done) < 20
    for name in done:  # every chunk folder that exists is complete
        assert len(list((out / SPLIT / name / "rgb").iterdir())) == 2
    assert main(synth_args(inp, out, n)) == 1  # not empty, no --resume
    assert main(synth_args(inp, out, n, "--resume")) == 0
    ds = BopDataset(out)
    assert ds.scenes(SPLIT) == list(range(20))
    assert all(ds.image_ids(SPLIT, s) == [0, 1] for s in range(20))
    assert not list((out / SPLIT).glob(".tmp_*"))
    # the resumed run equals an uninterrupted one: global image 4 is chunk 2 / image 0
    # here and chunk 1 / image 0 in the reference run (chunks of 4)
    gt = json.loads((out / SPLIT / "000002" / "scene_gt.json").read_text())
    ref = json.loads((dataset / SPLIT / "000001" / "scene_gt.json").read_text())
    assert gt["0"] == ref["0"]


@pytest.mark.slow
def test_pyrender_backend_end_to_end(tmp_path: Path) -> None:
    """The pyrender (OSMesa) path through the CLI, in its own process (PyOpenGL keeps one
    platform per process), gives masks that match the written poses."""
    inp = write_inputs(tmp_path / "in")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "rigidpose", *synth_args(inp, out, 3, "--renderer", "pyrender-osmesa")]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    ds = BopDataset(out)
    checked = 0
    for s, im_id, k, cam, gt, info in _instances(ds):
        if info.px_count_all >= 300:
            ref = projected_mask(ds.models[gt.obj_id].mesh, gt.pose.as_matrix(), cam)
            assert iou(read_mask(ds.mask_path(SPLIT, s, im_id, k)), ref) >= 0.95
            checked += 1
    assert checked >= 1
