"""The whole chain on real data: synth renders the bracket, a tiny PoseNet trains for one
epoch (its accuracy is poor by design: these tests check structure and contracts), then
``Estimator.from_checkpoint`` and ``rigidpose predict`` run on it, errors included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rigidpose.errors import RigidposeError
from rigidpose.geometry import Camera, PoseEstimate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> tuple[Path, Path]:
    """(dataset, run): 24 rendered images of the bracket and a 1-epoch width-0.25, 96-px PoseNet
    with the dense-coordinate head (so the chain below runs its dense stage too)."""
    from rigidpose.net.train import TrainConfig, train
    from rigidpose.objects.parts import bracket
    from synth.run import prepare_job, run_synth

    d = tmp_path_factory.mktemp("estimate_run")
    bracket().export(d / "bracket.ply")
    Camera.from_fov(320, 240, 60.0).to_ros_yaml(d / "cam.yaml")
    job, objs = prepare_job([str(d / "bracket.ply")], d / "ds", 24, seed=3, camera=str(d / "cam.yaml"), units="m")
    run_synth(job, objs, [str(d / "bracket.ply")], show_progress=False)
    train(TrainConfig(data=str(d / "ds"), out=str(d / "run"), width=0.25, input_size=96, epochs=1, batch_size=16,
                      val_fraction=0.2, detector_width=0.25, detector_input=128, coords=True), progress=False)
    return d / "ds", d / "run"


def _frame(ds_root):
    from rigidpose.bop.dataset import BopDataset

    ds = BopDataset(ds_root)
    scene = ds.scenes("train_synth")[0]
    im = ds.image_ids("train_synth", scene)[0]
    gt, info = ds.gt("train_synth", scene)[im], ds.gt_info("train_synth", scene)[im]
    boxes = [(g.obj_id, i.bbox_visib) for g, i in zip(gt, info) if i.bbox_visib[2] > 0]
    return ds.read_rgb("train_synth", scene, im), ds.image_camera("train_synth", scene, im).camera, \
        ds.read_depth("train_synth", scene, im), boxes


def test_from_checkpoint_estimate_contract(tiny_run):
    from rigidpose.estimate import Estimator

    ds, run = tiny_run
    with pytest.raises(RigidposeError, match=r"trained for objects \[1\], not for \[5\]"):
        Estimator.from_checkpoint(run, objects=[5], detector=None)
    est = Estimator.from_checkpoint(run, objects=[1], score_threshold=0.0, use_depth=True, icp=True,
                                    tracking=False, detector=None)
    rgb, cam, depth, boxes = _frame(ds)
    out = est.estimate(rgb, cam, depth, boxes=boxes)
    assert len(out) == len(boxes) and all(isinstance(e, PoseEstimate) for e in out)
    e = out[0]
    assert e.obj_id == 1 and e.name and e.covariance.shape == (6, 6) and e.bbox.shape == (4,)
    assert e.pose.parent == "cam" and e.pose.child == "obj" and 0 <= e.visible_fraction <= 1
    assert all(est.timings[k] >= 0 for k in ("detect", "crop", "pnp", "icp", "total")) and est.timings["crop"] > 0
    assert set(est.object_boxes) == {1}
    from rigidpose.estimate.crop_predict import CropRequest

    dense = est.crop(rgb, cam, [CropRequest(1, np.asarray(boxes[0][1], np.float64))])[0].dense
    n = len(dense.weights)  # cells the 1-epoch mask head puts at probability >= 0.5
    assert n <= 400 and dense.points_obj.shape == (n, 3) and dense.pixels.shape == (n, 2) and np.all(dense.weights >= 0.5)
    with pytest.raises(RigidposeError, match="image is 160x120 but the camera is 320x240"):
        est.estimate(rgb[::2, ::2], cam, boxes=boxes)
    with pytest.raises(RigidposeError, match="depth looks like millimetres"):
        est.estimate(rgb, cam, (depth * 1000).astype(np.uint16), boxes=boxes)
    with pytest.raises(RigidposeError, match="no detector"):
        est.estimate(rgb, cam)


def test_silhouette_stage_modes(tiny_run, caplog):
    """"rgb" runs the silhouette fit on frames without depth only, "always" on every frame, "off"
    never; its poses say so in their source. Without meshes the stage is off, with a warning."""
    from rigidpose.estimate import Estimator

    ds, run = tiny_run
    rgb, cam, depth, boxes = _frame(ds)
    est = Estimator.from_checkpoint(run, score_threshold=0.0, use_depth=True, icp=True, detector=None)
    assert est.silhouette_mode == "rgb"
    rgb_only = est.measure(rgb, cam, None, boxes=boxes)
    assert est.timings["silhouette"] > 0 and rgb_only
    for m in rgb_only:  # the 1-epoch network's masks may be too poor to fit; where a fit won, it is well-formed
        if m.source == "silhouette":
            assert 0.0 <= m.estimate.score <= 1.0 and np.isfinite(m.reprojection_px)
            assert np.all(np.isfinite(m.estimate.covariance)) and m.estimate.T_cam_obj.t[2] > 0
    est.measure(rgb, cam, depth, boxes=boxes)
    assert est.timings["silhouette"] == 0.0  # "rgb": with depth, the depth search does this job
    always = Estimator.from_checkpoint(run, score_threshold=0.0, use_depth=True, icp=True, detector=None,
                                       silhouette="always")
    ms = always.measure(rgb, cam, depth, boxes=boxes)
    assert always.timings["silhouette"] > 0 and all(m.source != "silhouette" or m.depth_agreement is None for m in ms)
    off = Estimator.from_checkpoint(run, score_threshold=0.0, icp=False, detector=None, silhouette="off")
    assert all(m.source != "silhouette" for m in off.measure(rgb, cam, None, boxes=boxes))
    assert off.timings["silhouette"] == 0.0
    with pytest.raises(RigidposeError, match="silhouette must be one of"):
        Estimator.from_checkpoint(run, icp=False, detector=None, silhouette="yes")
    with caplog.at_level("WARNING"):
        bare = Estimator.from_checkpoint(run, icp=False, detector=None, models=None)
    assert bare.silhouette_mode == "off" and "silhouette stage is off" in caplog.text


@pytest.fixture
def run_without_detector(tiny_run, tmp_path) -> Path:
    import shutil

    run2 = tmp_path / "run_nodet"
    shutil.copytree(tiny_run[1], run2, ignore=shutil.ignore_patterns("detector"))
    return run2


def test_detector_of_the_run(tiny_run, run_without_detector):
    from rigidpose.estimate import Estimator

    ds, run = tiny_run
    with pytest.raises(RigidposeError, match="no detector checkpoint in .*detector"):
        Estimator.from_checkpoint(run_without_detector)
    est = Estimator.from_checkpoint(run, icp=False, score_threshold=0.99)
    assert est.detector is not None and est.detector.input_sizes == (128, 192)  # trained at 128, and 1.5 times it
    rgb, cam, _, _ = _frame(ds)
    assert est.estimate(rgb, cam) == []  # nothing scores 0.99 after one epoch: an empty list, not an error
    assert est.timings["detect"] > 0
    est = Estimator.from_checkpoint(run, icp=False, score_threshold=0.0)
    out = est.estimate(rgb, cam)
    assert all(e.obj_id == 1 and e.bbox is not None for e in out)
    larger = Estimator.from_checkpoint(run, icp=False, score_threshold=0.0, detector_input=[192])  # trained at 128
    assert larger.detector.input_sizes == (192,)
    assert all(e.obj_id == 1 for e in larger.estimate(rgb, cam))


def test_cli_predict_writes_results_and_overlays(tiny_run, run_without_detector, tmp_path, capsys):
    from rigidpose.bop.results import read_results_csv
    from rigidpose.cli import main

    ds, run = tiny_run
    out = tmp_path / "r.csv"
    rc = main(["predict", "--checkpoint", str(run), "--dataset", str(ds), "--split", "train_synth", "--no-detector",
               "--depth", "--score-threshold", "0", "--out", str(out), "--overlay", str(tmp_path / "ov"), "--no-progress"])
    assert rc == 0
    rows = read_results_csv(out)
    assert rows and {r.estimate.obj_id for r in rows} == {1}
    times = {}
    for r in rows:
        assert times.setdefault((r.scene_id, r.im_id), r.time) == r.time and r.time > 0
    assert len(list((tmp_path / "ov").glob("*.png"))) == 24
    # errors: one line, exit 1
    capsys.readouterr()
    assert main(["predict", "--checkpoint", str(run_without_detector), "--dataset", str(ds), "--split",
                 "train_synth", "--out", str(out), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert "no detector checkpoint" in err and "\n" not in err
    Camera.from_fov(640, 480, 60.0).to_ros_yaml(tmp_path / "big.yaml")
    img = sorted((ds / "train_synth" / "000000" / "rgb").iterdir())[0]
    assert main(["predict", "--checkpoint", str(run), "--camera", str(tmp_path / "big.yaml"), "--image", str(img),
                 "--no-detector", "--out", str(out)]) == 1
    assert "--no-detector needs --dataset" in capsys.readouterr().err
    assert main(["predict", "--checkpoint", str(run), "--camera", str(tmp_path / "big.yaml"), "--image", str(img),
                 "--no-icp", "--objects", "9", "--out", str(out)]) == 1
    assert "not for [9]" in capsys.readouterr().err
    assert main(["predict", "--checkpoint", str(run), "--dataset", str(ds), "--split", "train_synth",
                 "--detector-input", "128", "100", "--out", str(out), "--no-progress"]) == 1
    assert "detector input sizes must be multiples of 32 and at least 64, got [128, 100]" in capsys.readouterr().err
    assert main(["predict", "--checkpoint", str(run), "--dataset", str(ds), "--split", "train_synth",
                 "--depth", "--depth-clusters", "-1", "--out", str(out), "--no-progress"]) == 1
    assert "depth_clusters must be 0 (off) or more" in capsys.readouterr().err


def test_cli_predict_on_a_video_writes_an_overlay_video(tiny_run, tmp_path, capsys):
    import cv2

    from rigidpose.bop.results import read_results_csv
    from rigidpose.cli import main

    ds, run = tiny_run
    frames = sorted((ds / "train_synth" / "000000" / "rgb").iterdir())[:6]
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (320, 240))
    for f in frames:
        writer.write(cv2.imread(str(f)))
    writer.release()
    Camera.from_fov(320, 240, 60.0).to_ros_yaml(tmp_path / "cam.yaml")
    out = tmp_path / "v.csv"
    rc = main(["predict", "--checkpoint", str(run), "--camera", str(tmp_path / "cam.yaml"), "--video", str(video),
               "--no-icp", "--score-threshold", "0", "--out", str(out), "--overlay", str(tmp_path / "ov"),
               "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    assert "6 images" in capsys.readouterr().out
    assert all(r.scene_id == 0 and 0 <= r.im_id < 6 for r in read_results_csv(out))
    overlay = list((tmp_path / "ov").glob("*.mp4")) + list((tmp_path / "ov").glob("*.avi"))
    assert overlay, "an overlay video must be written for --video input"
    cap = cv2.VideoCapture(str(overlay[0]))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 6
    assert main(["predict", "--checkpoint", str(run), "--camera", str(tmp_path / "cam.yaml"), "--video",
                 str(tmp_path / "missing.avi"), "--out", str(out)]) == 1
    assert "video not found" in capsys.readouterr().err


def test_covariance_benchmark_prints_its_three_rows_and_refuses_a_missing_run(tiny_run, tmp_path, capsys):
    """``benchmarks/covariance.py`` on the tiny run, 4 targets: the table's baseline, middle and
    default rows, each counting the right estimates among the 4 targets (the tiny network is
    seldom right; the count is what is checked); a run that does not exist is a clear error."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "covariance.py"
    spec = importlib.util.spec_from_file_location("covariance_benchmark", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    ds, run = tiny_run
    assert bench.main(["--run", str(run), "--test", str(ds), "--limit", "4"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and " / 4 |" in line]
    assert [r.split(" | ")[0] for r in rows] == ["| contour fit (+ polish move), baseline",
                                                  "| + correlation along the outline", "| + outline shift 1 px (default)"]
    assert bench.main(["--run", str(tmp_path / "missing"), "--test", str(ds)]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
