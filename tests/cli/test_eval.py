"""End to end: ``rigidpose eval`` on a tiny BOP dataset with perfect and perturbed estimates."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from rigidpose import cli
from rigidpose.bop import BopDataset, ResultRow, write_results_csv
from rigidpose.eval import pose_error as pe
from rigidpose.eval.recall import VSD_THRESHOLDS
from rigidpose.geometry import Pose, PoseEstimate

from _tiny_bop import CAMERA, EXTENTS, TinyBop, build_tiny_bop

DIAM = float(np.linalg.norm(EXTENTS))
OFFSET = np.array([0.012, 0.0, 0.0])  # < 0.1·d = 12.33 mm


@pytest.fixture
def tiny_bop(tmp_path) -> TinyBop:
    return build_tiny_bop(tmp_path / "bop")


@pytest.fixture(autouse=True)
def only_eval_command(monkeypatch):
    # Test this subcommand through cli.main without depending on the other subcommands.
    monkeypatch.setattr(cli, "COMMANDS", ("rigidpose.cli.eval_cmd",))


def _rows(bop):
    p = bop.poses
    off = Pose(p[1].R, p[1].t + OFFSET)
    far = Pose(np.eye(3), [2.0, 0.0, 0.5])
    return [
        ResultRow(1, 0, PoseEstimate(1, p[0], 0.9), 0.1),
        ResultRow(1, 1, PoseEstimate(1, off, 0.8), 0.1),
        ResultRow(1, 1, PoseEstimate(1, p[1], 0.1), 0.1),  # beyond the n_targets best: ignored
        ResultRow(1, 2, PoseEstimate(1, p[3], 0.95), 0.2),  # on the non-target GT: wrong for the target
        ResultRow(1, 2, PoseEstimate(1, far, 0.7), 0.2),
        ResultRow(9, 0, PoseEstimate(1, p[0], 0.9), 0.1),  # no such scene: ignored
    ]


def test_eval_end_to_end_recalls(tiny_bop, tmp_path, capsys):
    res = tmp_path / "res.csv"
    write_results_csv(res, _rows(tiny_bop))
    out = tmp_path / "report.json"
    rc = cli.main(["eval", "--results", str(res), "--dataset", str(tiny_bop.root), "--split", "test",
                   "--out", str(out), "--no-progress"])
    text = capsys.readouterr().out
    assert rc == 0
    rep = json.loads(out.read_text())
    o = rep["overall"]
    assert o["n_targets"] == 3 and rep["n_images"] == 3 and rep["n_estimates_evaluated"] == 3
    # ADD: im 0 exact, im 1 offset 12 mm < 12.33 mm, im 2 miss.
    assert o["add"] == pytest.approx(2 / 3, rel=1e-9)
    # MSSD = 12 mm on im 1: fails 0.05 d only → 9 of 10 levels.
    assert o["mssd"] == pytest.approx((10 + 9 + 0) / 30, rel=1e-9)
    # MSPD on im 1: 300 px · 12 mm / 0.28 m = 12.86 px, thresholds 10…100 px at width 320 → 9 of 10.
    assert pe.mspd(np.eye(3), OFFSET + [0, 0, 0.3], np.eye(3), [0, 0, 0.3], CAMERA.K,
                   tiny_bop.model.mesh.vertices, None) == pytest.approx(300 * 0.012 / 0.28, rel=1e-9)
    assert o["mspd"] == pytest.approx((10 + 9 + 0) / 30, rel=1e-9)
    # VSD: im 0 all 100 (τ, θ) pairs correct, im 2 none, im 1 as the VSD function says.
    ds = BopDataset(tiny_bop.root)
    from rigidpose.eval import DepthRenderer

    r = DepthRenderer(tiny_bop.model.vertices, tiny_bop.model.faces)
    p = tiny_bop.poses[1]
    e1 = pe.vsd(p.R, p.t + OFFSET, p.R, p.t, ds.read_depth("test", 1, 1), CAMERA, r, DIAM)
    n1 = int(sum((e < VSD_THRESHOLDS).sum() for e in e1))
    assert 0 < n1 < 100
    assert o["vsd"] == pytest.approx((100 + n1) / 300, rel=1e-9)
    assert o["ar"] == pytest.approx(np.mean([o["vsd"], o["mssd"], o["mspd"]]), rel=1e-12)
    assert rep["objects"]["1"]["add"] == o["add"] and rep["objects"]["1"]["symmetric"] is False
    assert rep["timing"]["vsd_seconds_per_estimate"] > 0
    # The printed table: one object row and the overall row, in percent.
    lines = text.splitlines()
    assert lines[0].split() == ["object", "targets", "ADD(-S)", "AR_MSSD", "AR_MSPD", "AR_VSD", "AR"]
    assert lines[1].split()[:5] == ["1", "3", "66.7", "63.3", "63.3"]
    assert lines[2].split()[0] == "all"
    # ADD(-S) by how much of each target is in view: all three targets are fully in view.
    assert rep["add_by_visibility"]["targets"] == [0, 0, 0, 0, 3]
    assert rep["add_by_visibility"]["matched"] == [0, 0, 0, 0, 2]
    assert rep["add_by_visibility"]["recall"] == [None, None, None, None, pytest.approx(2 / 3)]
    assert lines[5].split() == ["visible", "10-30", "%", "30-50", "%", "50-70", "%", "70-90", "%", "90-100", "%"]
    assert lines[7].split() == ["ADD(-S)", "-", "-", "-", "-", "66.7"]
    # Every estimate judged (rigidpose.eval.reliability): 0.9 right (im 0); 0.8 right and 0.1 wrong,
    # its instance taken (im 1); 0.95 right about the non-target, so ignored, and 0.7 wrong (im 2).
    by_score = rep["add_by_score"]
    assert by_score["n_targets"] == 3 and by_score["ignored"] == 1
    at = {lv: k for k, lv in enumerate(by_score["levels"])}
    assert [by_score["kept"][at[v]] for v in (0.0, 0.5, 0.8, 0.9)] == [4, 3, 2, 1]
    assert [by_score["right"][at[v]] for v in (0.0, 0.5, 0.8, 0.9)] == [2, 2, 2, 1]
    assert by_score["precision"][at[0.0]] == pytest.approx(0.5) and by_score["precision"][at[0.8]] == 1.0
    assert by_score["recall"][at[0.9]] == pytest.approx(1 / 3)
    assert lines[10].split()[:2] == ["score", ">="] and lines[12].split()[:3] == ["precision", "50.0", "50.0"]


def test_eval_recall_by_visibility_follows_the_ground_truths_visible_fraction(tiny_bop, tmp_path, capsys):
    from rigidpose.bop import read_scene_gt_info, write_scene_gt_info

    path = tiny_bop.root / "test" / "000001" / "scene_gt_info.json"
    infos = read_scene_gt_info(path)
    infos[1][0] = replace(infos[1][0], visib_fract=0.4)  # the offset, still correct estimate
    infos[2][0] = replace(infos[2][0], visib_fract=0.25)  # the missed one
    write_scene_gt_info(path, infos)
    res = tmp_path / "res.csv"
    write_results_csv(res, _rows(tiny_bop))
    out = tmp_path / "report.json"
    assert cli.main(["eval", "--results", str(res), "--dataset", str(tiny_bop.root), "--no-vsd",
                     "--metrics", "add", "--out", str(out), "--no-progress"]) == 0
    vis = json.loads(out.read_text())["add_by_visibility"]
    assert vis["edges"] == [0.1, 0.3, 0.5, 0.7, 0.9, 1.0]
    assert vis["targets"] == [1, 1, 0, 0, 1] and vis["matched"] == [0, 1, 0, 0, 1]
    assert capsys.readouterr().out.splitlines()[6].split() == ["targets", "1", "1", "0", "0", "1"]


def test_eval_counts_a_pose_of_an_object_missing_from_the_image_as_wrong(tiny_bop, tmp_path):
    from rigidpose.eval import evaluate

    rows = _rows(tiny_bop)[:1]
    ghost = ResultRow(1, 0, PoseEstimate(2, tiny_bop.poses[0], 0.6), 0.1)  # object 2 is in no image
    result = evaluate(BopDataset(tiny_bop.root), "test", [*rows, ghost], ("add",))
    assert result.counts["add"].average_recall() == pytest.approx(1 / 3)  # the recall ignores it
    t = result.add_by_score.at([0.0, 0.7])
    assert t["kept"].tolist() == [2, 1] and t["right"].tolist() == [1, 1]
    np.testing.assert_allclose(t["precision"], [0.5, 1.0])


def test_eval_no_vsd_and_metric_subset(tiny_bop, tmp_path, capsys):
    res = tmp_path / "res.csv"
    write_results_csv(res, _rows(tiny_bop))
    out = tmp_path / "r.json"
    assert cli.main(["eval", "--results", str(res), "--dataset", str(tiny_bop.root), "--no-vsd",
                     "--metrics", "add,mssd", "--out", str(out), "--no-progress"]) == 0
    rep = json.loads(out.read_text())
    assert rep["metrics"] == ["add", "mssd"] and "vsd" not in rep["overall"]
    assert rep["overall"]["ar"] == pytest.approx(19 / 30) and rep["overall"]["ar_metrics"] == ["mssd"]
    assert rep["timing"]["vsd_seconds_per_estimate"] is None


def _run_err(args, capsys):
    rc = cli.main(["eval", *args, "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("rigidpose eval: error: ")
    return err


def test_eval_bad_inputs(tiny_bop, tmp_path, capsys):
    res = tmp_path / "res.csv"
    write_results_csv(res, _rows(tiny_bop))
    root = tiny_bop.root
    base = ["--dataset", str(root)]
    assert "results file not found" in _run_err(["--results", str(tmp_path / "none.csv"), *base], capsys)
    assert "dataset directory not found" in _run_err(["--results", str(res), "--dataset", str(tmp_path / "x")], capsys)
    assert "split 'val' not found" in _run_err(["--results", str(res), *base, "--split", "val"], capsys)
    assert "unknown metric(s) foo" in _run_err(["--results", str(res), *base, "--metrics", "add,foo"], capsys)

    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("scene_id,im_id,obj_id,score,R,t,time\n1,0,1,0.9,1 0 0 0 1 0,0 0 500,0.1\n")
    assert "line 2: R must have 9" in _run_err(["--results", str(bad_csv), *base], capsys)

    gt = root / "test" / "000001" / "scene_gt.json"
    good = gt.read_text()
    gt.write_text(good[:-20])
    assert "malformed JSON in" in _run_err(["--results", str(res), *base], capsys)
    gt.write_text(good)

    info = root / "models" / "models_info.json"
    info.write_text(json.dumps({"1": {"diameter": 100.0}}))
    assert "missing key 'min_x'" in _run_err(["--results", str(res), *base], capsys)


def test_eval_mismatched_depth_size(tiny_bop, tmp_path, capsys):
    from rigidpose.bop import write_depth

    res = tmp_path / "res.csv"
    write_results_csv(res, _rows(tiny_bop))
    write_depth(tiny_bop.root / "test" / "000001" / "depth" / "000001.png", np.ones((100, 120)), 0.1)
    err = _run_err(["--results", str(res), "--dataset", str(tiny_bop.root)], capsys)
    assert "image is 120x100 but the camera is 320x240" in err


def test_eval_recall_curves_plot(tiny_bop, tmp_path, capsys):
    """ADD(-S) at every curve threshold: 12 mm (im 1) counts from 0.1·d = 12.33 mm on; the PNG is written."""
    import cv2

    from rigidpose.eval import evaluate
    from rigidpose.eval.plots import recall_curves
    from rigidpose.eval.recall import ADD_CURVE_THRESHOLDS, MSSD_THRESHOLDS

    rows = _rows(tiny_bop)
    result = evaluate(BopDataset(tiny_bop.root), "test", rows, ("add", "mssd", "mspd"))
    curves = recall_curves(result)
    assert set(curves) == {"add", "mssd", "mspd"}
    ths, add = curves["add"]
    np.testing.assert_array_equal(ths, ADD_CURVE_THRESHOLDS)
    np.testing.assert_allclose(add["all"], np.where(ADD_CURVE_THRESHOLDS * DIAM > 0.012, 2 / 3, 1 / 3))
    np.testing.assert_array_equal(add["obj_1"], add["all"])
    assert add["all"][list(ADD_CURVE_THRESHOLDS).index(0.1)] == pytest.approx(2 / 3)
    np.testing.assert_allclose(curves["mssd"][1]["all"], np.where(MSSD_THRESHOLDS * DIAM > 0.012, 2 / 3, 1 / 3))

    res = tmp_path / "res.csv"
    write_results_csv(res, rows)
    png = tmp_path / "plots" / "recall.png"
    assert cli.main(["eval", "--results", str(res), "--dataset", str(tiny_bop.root), "--no-vsd",
                     "--plot", str(png), "--no-progress"]) == 0
    assert f"wrote {png}" in capsys.readouterr().out
    img = cv2.imread(str(png))
    assert img is not None and img.shape[1] > 2 * img.shape[0]  # three panels side by side


def test_where_lost_on_the_tiny_dataset(tiny_bop):
    """Each target's outcome (rigidpose.eval.misses) from real ADD errors on the tiny dataset."""
    from rigidpose.eval.misses import where_lost

    ds = BopDataset(tiny_bop.root)
    infos = ds.gt_info("test", 1)
    p, far = tiny_bop.poses, Pose(np.eye(3), [2.0, 0.0, 0.5])
    box = lambda im: np.asarray(infos[im][0].bbox_visib, float)  # noqa: E731
    rows = [
        ResultRow(1, 0, PoseEstimate(1, p[0], 0.9, bbox=box(0)), 0.1),  # found
        ResultRow(1, 1, PoseEstimate(1, far, 0.9, bbox=box(1)), 0.1),  # the n = 1 best is wrong ...
        ResultRow(1, 1, PoseEstimate(1, p[1], 0.1, bbox=box(1)), 0.1),  # ... and the right one ranked out
        ResultRow(1, 2, PoseEstimate(1, p[3], 0.95, bbox=box(2)), 0.2),  # the non-target's pose in the target's box
    ]
    lost = where_lost(ds, "test", rows)
    assert lost.counts.sum(axis=0).tolist() == [1, 1, 1, 0]  # 3 targets; im 2's second instance is not one
    rows[-1] = ResultRow(1, 2, PoseEstimate(1, p[3], 0.95, bbox=np.array([0.0, 0.0, 5.0, 5.0])), 0.2)
    assert where_lost(ds, "test", rows).counts.sum(axis=0).tolist() == [1, 1, 0, 1]
    assert where_lost(ds, "test", rows[:1]).counts.sum(axis=0).tolist() == [1, 0, 0, 2]  # no estimate: no box


def test_where_lost_refuses_an_object_without_models_info(tiny_bop):
    from rigidpose.bop import write_models_info
    from rigidpose.errors import DataError
    from rigidpose.eval.misses import where_lost

    write_models_info(tiny_bop.root / "models" / "models_info.json", {2: tiny_bop.model.info})
    with pytest.raises(DataError, match="object 1 is annotated but missing from .*models_info.json"):
        where_lost(BopDataset(tiny_bop.root), "test", [])


def test_where_lost_refuses_gt_info_that_disagrees_with_the_gt(tiny_bop):
    from rigidpose.errors import DataError
    from rigidpose.eval.misses import where_lost

    path = tiny_bop.root / "test" / "000001" / "scene_gt_info.json"
    info = json.loads(path.read_text())
    info["2"] = info["2"][:1]  # image 2 has two GT instances
    path.write_text(json.dumps(info))
    with pytest.raises(DataError, match="image 2 needs 2 entries to match scene_gt.json, found 1"):
        where_lost(BopDataset(tiny_bop.root), "test", [])
