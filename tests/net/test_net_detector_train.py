"""Detector training: full-image samples, box geometry, AP, the run layout, an exact resume, the kind check."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from rigidpose.bop.dataset import BopDataset
from rigidpose.errors import RigidposeError
from rigidpose.net.augment import AugmentConfig
from rigidpose.net.checkpoint import load_card, load_checkpoint
from rigidpose.net.detector import decode_detections
from rigidpose.net.detector_data import (
    DetectionDataset, DetectorDataConfig, clip_boxes, letterbox, letterbox_geometry, place, scale_affine, transform_boxes,
)
from rigidpose.net.detector_train import average_precision, detector_task, init_from_posenet, match_detections
from rigidpose.net.detector import Detection
from rigidpose.net.train import TrainConfig, split_image_keys, train
from net_tiny_bop import write_tiny_bop


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_tiny_bop(tmp_path_factory.mktemp("tiny_det"), n_images=6, split="train_synth", models=True)


def config(data, out, **kw) -> TrainConfig:
    base = dict(data=str(data), out=str(out), width=0.25, input_size=96, num_fps_keypoints=3, epochs=1,
                batch_size=4, val_fraction=0.34, augment=AugmentConfig(p_erase=0.0), detector_epochs=2,
                detector_width=0.25, detector_input=128, detector_batch=2)
    return TrainConfig(**{**base, **kw})


def test_letterbox_geometry_and_box_round_trip():
    s, (H, W) = letterbox_geometry(640, 480, 256)
    assert s == pytest.approx(0.4) and (H, W) == (192, 256)
    s, (H, W) = letterbox_geometry(320, 240, 128)
    assert (H, W) == (96, 128)
    img, s2 = letterbox(np.zeros((240, 320, 3), np.uint8), 128)
    assert img.shape == (96, 128, 3) and s2 == pytest.approx(0.4)
    # a box through the network's scale and back through decode_detections' mapping is unchanged
    box = np.array([[100.0, 50.0, 40.0, 30.0]])
    b = transform_boxes(box, scale_affine(s))
    cx, cy = b[0, 0] + (b[0, 2] - 1) / 2, b[0, 1] + (b[0, 3] - 1) / 2
    back_cx, back_cy = (cx + 0.5) / s - 0.5, (cy + 0.5) / s - 0.5
    np.testing.assert_allclose([back_cx - (40 - 1) / 2, back_cy - (30 - 1) / 2, b[0, 2] / s, b[0, 3] / s], box[0])
    # a zoomed, shifted placement (partly off the canvas) moves a box exactly like its pixels
    img = np.zeros((120, 160), np.uint8)
    img[40:60, 80:120] = 255  # box x=80, y=40, w=40, h=20
    canvas, A = place(img, 0.5, (-5, 7), (64, 64))
    x, y, w, h = transform_boxes([[80, 40, 40, 20]], A)[0]
    ys, xs = np.nonzero(canvas > 127)
    np.testing.assert_allclose([xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1], [x, y, w, h])
    clipped, kept = clip_boxes([[-10.0, 0.0, 20.0, 10.0]], 100, 100)
    np.testing.assert_allclose(clipped[0], [0.0, 0.0, 10.0, 10.0]) and np.testing.assert_allclose(kept, [0.5])


def test_targets_decode_to_the_annotated_boxes(data):
    """Perfect network outputs built from a sample's targets decode to its GT boxes in image pixels."""
    bop = BopDataset(data)
    ds = DetectionDataset(bop, ["train_synth"], [1, 2], DetectorDataConfig(input_size=128))
    s = ds[0]
    assert s["image"].shape == (3, 96, 128) and s["heatmap"].shape == (2, 24, 32)
    valid = s["valid"].numpy()
    assert valid.sum() == 2 and s["gt_valid"].sum() == 2
    size = torch.zeros(1, 2, 24 * 32)
    off = torch.zeros(1, 2, 24 * 32)
    for m in np.flatnonzero(valid):
        size[0, :, s["index"][m]] = s["size"][m]
        off[0, :, s["index"][m]] = s["offset"][m]
    heat = s["heatmap"][None].clamp(1e-4, 1 - 1e-4)
    dets = decode_detections({"heatmap": heat, "size": size.view(1, 2, 24, 32), "offset": off.view(1, 2, 24, 32)},
                             logits=False, score_threshold=0.5, scale=float(s["scale"]))[0]
    got = sorted((d.class_index, *d.bbox) for d in dets)
    want = sorted((int(c), *b) for c, b in zip(s["gt_classes"][:2].tolist(), s["gt_boxes"][:2].numpy()))
    np.testing.assert_allclose(np.array(got), np.array(want), atol=1e-3)


def test_training_samples_are_augmented_and_seeded(data):
    bop = BopDataset(data)
    ds = DetectionDataset(bop, ["train_synth"], [1, 2], DetectorDataConfig(input_size=128), AugmentConfig(), seed=3)
    a, b = ds[1], ds[1]
    torch.testing.assert_close(a["image"], b["image"])  # same epoch, same sample: same draw
    ds.set_epoch(1)
    assert not torch.equal(a["image"], ds[1]["image"])
    assert a["heatmap"].max() == 1.0


def test_held_out_images_match_posenet(data):
    bop = BopDataset(data)
    ds = DetectionDataset(bop, ["train_synth"], [1, 2])
    keys = [r.key for r in ds.images]
    held = split_image_keys(keys, 0.34, 0)
    assert len(held) == 2
    assert len(ds.subset(held, None)) == 2 and len(ds.subset(held, None, inside=False)) == 4


def test_match_and_average_precision_by_hand():
    gt = [np.array([[0, 0, 10, 10], [20, 20, 10, 10]], float), np.array([[0, 0, 10, 10]], float)]
    cls = [np.array([0, 0]), np.array([0])]
    dets = [[Detection(0, 0.9, np.array([0, 0, 10, 10.0])), Detection(0, 0.8, np.array([50, 50, 10, 10.0]))],
            [Detection(1, 0.7, np.array([0, 0, 10, 10.0])), Detection(0, 0.6, np.array([1, 0, 10, 10.0]))]]
    scores, tp, n = match_detections(dets, gt, cls)
    assert n == 3 and scores.tolist() == [0.9, 0.8, 0.7, 0.6] and tp.tolist() == [True, False, False, True]
    # precision 1, 1/2, 1/3, 1/2 at recall 1/3, 1/3, 1/3, 2/3 → interpolated AP = 1/3·1 + 1/3·1/2
    assert average_precision(tp, n) == pytest.approx(0.5)
    assert average_precision(np.zeros(0, bool), 2) == 0.0


def test_time_budget_split():
    cfg = TrainConfig(data="d", out="r", time_budget_s=800, detector_share=0.25)
    assert cfg.loop("posenet").time_budget_s == 600 and cfg.loop("detector").time_budget_s == 200
    assert str(cfg.loop("detector").out) == "r/detector"
    solo = TrainConfig(data="d", out="r", time_budget_s=800, detector=False)
    assert solo.loop("posenet").time_budget_s == 800
    with pytest.raises(ValueError, match="share"):
        TrainConfig(data="d", out="r", detector_share=1.0)


def test_detector_init_choices():
    assert TrainConfig(data="d", out="r").detector_init == "posenet"
    with pytest.raises(ValueError, match="same width"):
        TrainConfig(data="d", out="r", width=0.5, detector_width=0.25)
    TrainConfig(data="d", out="r", width=0.5, detector_width=0.25, detector_init="scratch")  # allowed
    TrainConfig(data="d", out="r", width=0.5, detector_width=0.25, detector=False)  # no detector: no constraint
    with pytest.raises(ValueError, match="detector init"):
        TrainConfig(data="d", out="r", detector_init="imagenet")


@pytest.fixture(scope="module")
def straight(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("det_straight")
    return out, train(config(data, out), progress=False)


def test_run_folder_layout_and_metrics(straight):
    run, result = straight
    assert [r["epoch"] for r in result.posenet] == [1] and [r["epoch"] for r in result.detector] == [1, 2]
    for name in ("last", "best"):
        for ext in (".safetensors", ".json"):
            assert (run / f"{name}{ext}").exists() and (run / "detector" / f"{name}{ext}").exists()
    assert (run / "detector" / "last.train.safetensors").exists()
    with open(run / "detector" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert all(0.0 <= float(r["val_recall50"]) <= 1.0 and 0.0 <= float(r["val_ap50"]) <= 1.0 for r in rows)
    card = load_card(run / "detector" / "best")
    assert card.kind == "detector" and card.obj_ids == [1, 2] and card.config["input_size"] == 128
    assert json.loads((run / "detector" / "last.json").read_text())["kind"] == "detector"
    assert json.loads((run / "last.json").read_text())["kind"] == "posenet"


def test_detector_starts_from_posenets_encoder(data, straight, tmp_path):
    """The trained detector's first epoch began at PoseNet's best encoder and decoder."""
    run = straight[0]
    cfg = config(data, run)
    bop = BopDataset(data)
    fresh = detector_task(cfg, bop, [1, 2]).model
    posenet = load_checkpoint(run / "best", kind="posenet").model
    assert init_from_posenet(fresh, run) == run / "best"
    for name in ("backbone", "decoder"):
        mine, theirs = getattr(fresh, name).state_dict(), getattr(posenet, name).state_dict()
        assert mine.keys() == theirs.keys()
        for k in mine:
            torch.testing.assert_close(mine[k], theirs[k], rtol=0, atol=0)
    untouched = detector_task(cfg, bop, [1, 2]).model  # the heads keep their initialisation
    for k, v in untouched.heatmap.state_dict().items():
        torch.testing.assert_close(fresh.heatmap.state_dict()[k], v, rtol=0, atol=0)
    # and it makes a difference: a scratch detector trains to other weights
    scratch = train(config(data, run.parent / "scratch_run", detector_init="scratch"), progress=False)
    assert [r["train_loss"] for r in scratch.detector] != [r["train_loss"] for r in straight[1].detector]
    wide = detector_task(config(data, run, detector_width=0.5, detector_init="scratch"), bop, [1, 2]).model
    with pytest.raises(RigidposeError, match="different width"):
        init_from_posenet(wide, run)
    # a run without ``best`` (no finite validation loss): PoseNet's last
    import shutil

    for ext in (".safetensors", ".json"):
        shutil.copy(run / f"last{ext}", tmp_path / f"last{ext}")
    assert init_from_posenet(fresh, tmp_path) == tmp_path / "last"
    with pytest.raises(RigidposeError):
        init_from_posenet(fresh, tmp_path / "nothing")


def test_detector_resumes_exactly_after_a_kill(data, straight, tmp_path):
    killed = config(data, tmp_path / "k")
    first = train(killed, progress=False, stop_after=2)  # PoseNet's epoch and the detector's first
    assert len(first.posenet) == 1 and len(first.detector) == 1
    again = train(killed, progress=False, resume=True)
    assert [r["epoch"] for r in again.posenet] == [1]  # finished: not trained again
    assert [r["train_loss"] for r in again.detector] == [r["train_loss"] for r in straight[1].detector]
    # killed before the detector began: the resumed detector starts from PoseNet's best all the same
    before = config(data, tmp_path / "b")
    train(before, progress=False, stop_after=1)
    assert not (tmp_path / "b" / "detector").exists()
    assert [r["train_loss"] for r in train(before, progress=False, resume=True).detector] == \
        [r["train_loss"] for r in straight[1].detector]
    a = load_checkpoint(straight[0] / "detector" / "last").model.state_dict()
    b = load_checkpoint(tmp_path / "k" / "detector" / "last").model.state_dict()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


def test_kind_check(straight, tmp_path):
    run = straight[0]
    assert load_checkpoint(run / "detector" / "last", kind="detector").card.kind == "detector"
    assert load_checkpoint(run / "last", kind="posenet").card.kind == "posenet"
    with pytest.raises(RigidposeError, match="is a detector network, not a posenet"):
        load_checkpoint(run / "detector" / "last", kind="posenet")
    with pytest.raises(RigidposeError, match=r"is a posenet network, not a detector .*RUN/detector"):
        load_checkpoint(run / "last", kind="detector")
    # cards written before "kind" existed load, their kind following from the architecture
    import shutil

    for ext in (".safetensors", ".json"):
        shutil.copy(run / "detector" / f"last{ext}", tmp_path / f"old{ext}")
    card = json.loads((tmp_path / "old.json").read_text())
    del card["kind"]
    (tmp_path / "old.json").write_text(json.dumps(card))
    assert load_checkpoint(tmp_path / "old", kind="detector").card.kind == "detector"
    card["kind"] = "posenet"  # contradicts arch "centernet"
    (tmp_path / "old.json").write_text(json.dumps(card))
    with pytest.raises(RigidposeError, match="does not match its arch"):
        load_checkpoint(tmp_path / "old")


def test_the_detector_has_its_own_background_swap(data, tmp_path):
    """PoseNet's ``augment.p_background`` does not reach the detector's training images; its
    own ``detector_background_swap`` (0 by default) does. Evaluation never augments."""
    bop = BopDataset(data)
    default = detector_task(config(data, tmp_path / "a", augment=AugmentConfig(p_background=0.9)), bop, [1, 2])
    assert default.train_ds.augment_config.p_background == 0.0 and default.val_ds.augment_config is None
    swapped = detector_task(config(data, tmp_path / "b", detector_background_swap=0.4), bop, [1, 2])
    assert swapped.train_ds.augment_config.p_background == 0.4
