"""The training loop on a tiny BOP dataset: outputs, checkpoints, and an exact resume."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from rigidpose.errors import RigidposeError
from rigidpose.net.augment import AugmentConfig
from rigidpose.net.checkpoint import load_checkpoint
from rigidpose.net.train import TrainConfig, lr_at, train
from net_tiny_bop import write_tiny_bop


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_tiny_bop(tmp_path_factory.mktemp("tiny_train"), n_images=6, split="train_synth", models=True)


def config(data, out, **kw) -> TrainConfig:
    base = dict(data=str(data), out=str(out), width=0.25, input_size=96, num_fps_keypoints=3, epochs=2,
                batch_size=4, val_fraction=0.34, augment=AugmentConfig(p_erase=0.0), detector=False)
    return TrainConfig(**{**base, **kw})


def test_lr_schedule():
    cfg = TrainConfig(data="", out="", lr=1.0, warmup_fraction=0.1)
    assert lr_at(0.0, cfg) == 0.0 and lr_at(0.1, cfg) == pytest.approx(1.0)
    assert lr_at(1.0, cfg) == pytest.approx(0.01) and lr_at(2.0, cfg) == pytest.approx(0.01)
    assert lr_at(0.3, cfg) > lr_at(0.6, cfg) > lr_at(0.9, cfg)


@pytest.fixture(scope="module")
def straight(data, tmp_path_factory):
    """A 2-epoch run without interruption: (its folder, its metric rows)."""
    out = tmp_path_factory.mktemp("straight")
    return out, train(config(data, out), progress=False).posenet


def test_train_writes_metrics_and_loadable_checkpoints(straight):
    run, rows = straight
    assert [r["epoch"] for r in rows] == [1, 2]
    assert all(r["val_kp_px"] >= 0 and r["train_loss"] > 0 for r in rows)
    assert all(0 <= r["val_rot_deg"] <= 180 and r["val_trans_mm"] >= 0 for r in rows)
    assert all(0.0 <= r["val_mask_iou"] <= 1.0 for r in rows)
    assert all(0.0 <= r["val_add_kp"] <= 1.0 and 0.0 <= r["val_add_direct"] <= 1.0 for r in rows)
    with open(run / "metrics.csv") as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == [1, 2]
    assert (run / "training.png").stat().st_size > 1000
    loaded = load_checkpoint(run / "last", objects=[2])
    card = loaded.card
    assert card.obj_ids == [1, 2] and card.objects[0].keypoints.shape == (4, 3)
    assert card.config["num_keypoints"] == 4 and card.training["epoch"] == 2
    assert card.training["config"]["width"] == 0.25
    assert card.objects[0].info.symmetries.discrete.shape == (1, 4, 4)
    assert (run / "best.safetensors").exists()
    # best = the epoch with the lowest held-out loss of all heads (not the keypoint error alone)
    best = load_checkpoint(run / "best").card.training["epoch"]
    assert best == min(rows, key=lambda r: r["val_loss"])["epoch"]


def test_killed_run_resumes_exactly(data, straight, tmp_path):
    killed = config(data, tmp_path / "b")
    train(killed, progress=False, stop_after=1)
    assert len(list(csv.DictReader(open(tmp_path / "b" / "metrics.csv")))) == 1
    rows = train(killed, progress=False, resume=True).posenet
    assert [r["epoch"] for r in rows] == [1, 2]
    assert [r["train_loss"] for r in rows] == [r["train_loss"] for r in straight[1]]
    a = load_checkpoint(straight[0] / "last").model.state_dict()
    b = load_checkpoint(tmp_path / "b" / "last").model.state_dict()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


def test_a_run_resumes_only_with_the_mask_loss_and_weight_it_was_trained_with(data, tmp_path):
    out = tmp_path / "w"
    train(config(data, out, mask_weight=2.0), progress=False, stop_after=1)
    with pytest.raises(RigidposeError, match=r"trained with mask loss weight 2, not 5; resume with --mask-weight 2"):
        train(config(data, out), progress=False, resume=True)
    # a card from before the weight was recorded: the run was trained at 1
    card = json.loads((out / "last.json").read_text())
    del card["training"]["config"]["mask_weight"]
    (out / "last.json").write_text(json.dumps(card))
    with pytest.raises(RigidposeError, match=r"weight 1 \(its card predates the setting, which was then 1\), not 2"):
        train(config(data, out, mask_weight=2.0), progress=False, resume=True)
    card["training"]["config"]["mask_weight"] = "heavy"  # a damaged card: one line, not a traceback
    (out / "last.json").write_text(json.dumps(card))
    with pytest.raises(RigidposeError, match=r"records mask loss weight 'heavy', not a number"):
        train(config(data, out, mask_weight=1.0), progress=False, resume=True)
    del card["training"]["config"]["mask_weight"]
    (out / "last.json").write_text(json.dumps(card))
    with pytest.raises(RigidposeError, match=r"trained with mask loss bce\+dice, not bce; resume with --mask-loss bce\+dice"):
        train(config(data, out, mask_weight=1.0, mask_loss="bce"), progress=False, resume=True)
    # a card from before the mask loss was recorded: BCE alone
    del card["training"]["config"]["mask_loss"]
    (out / "last.json").write_text(json.dumps(card))
    with pytest.raises(RigidposeError, match=r"loss bce \(its card predates the setting, which was then bce\), not bce\+dice"):
        train(config(data, out, mask_weight=1.0), progress=False, resume=True)
    card["training"]["config"]["mask_loss"] = "l2"
    (out / "last.json").write_text(json.dumps(card))
    with pytest.raises(RigidposeError, match=r"records mask loss 'l2', not one of bce, bce\+dice \(the card is damaged"):
        train(config(data, out, mask_weight=1.0), progress=False, resume=True)
    card["training"]["config"]["mask_loss"] = "bce+dice"
    (out / "last.json").write_text(json.dumps(card))
    rows = train(config(data, out, mask_weight=1.0), progress=False, resume=True).posenet
    assert [r["epoch"] for r in rows] == [1, 2]
    assert train(config(data, tmp_path / "fresh", epochs=1), progress=False, resume=True).posenet  # nothing to resume


def test_loader_workers_give_the_same_run(data, straight, tmp_path):
    """Batches prepared in a worker process are the batches prepared in this one."""
    rows = train(config(data, tmp_path / "w", loader_workers=1), progress=False).posenet
    assert [r["train_loss"] for r in rows] == [r["train_loss"] for r in straight[1]]


def test_requested_object_missing(data, tmp_path):
    with pytest.raises(RigidposeError, match=r"object\(s\) \[9\]"):
        train(config(data, tmp_path / "x", objects=(1, 9)), progress=False)


def test_cli_train_and_errors(data, tmp_path, capsys):
    from rigidpose.cli import main
    from rigidpose.cli.train import parse_duration

    assert parse_duration("30m") == 1800 and parse_duration("1.5h") == 5400 and parse_duration("90") == 90
    out = tmp_path / "cli"
    args = ["train", "--data", str(data), "--out", str(out), "--width", "0.25", "--input", "96", "--epochs", "1",
            "--batch", "4", "--val-fraction", "0.34", "--no-progress"]
    assert main([*args, "--no-detector"]) == 0
    assert "1 epochs" in capsys.readouterr().out and (out / "last.safetensors").exists()
    assert not (out / "detector").exists()
    config = json.loads((out / "last.json").read_text())["training"]["config"]
    # the background swap: on for PoseNet's crops, off for the detector's whole images
    assert config["augment"]["p_background"] == 0.5 and config["detector_background_swap"] == 0.0
    assert config["mask_weight"] == 5.0 and config["mask_loss"] == "bce+dice"  # how the mask head was trained
    swap = ["--background-swap", "0.2", "--detector-background-swap", "0.3", "--mask-weight", "2",
            "--mask-loss", "bce", "--out", str(tmp_path / "swap")]
    assert main([*args, "--no-detector", *swap]) == 0
    config = json.loads((tmp_path / "swap" / "last.json").read_text())["training"]["config"]
    assert config["augment"]["p_background"] == 0.2 and config["detector_background_swap"] == 0.3
    assert config["mask_weight"] == 2.0 and config["mask_loss"] == "bce"
    for bad in ("nan", "-1", "inf"):
        assert main([*args, "--mask-weight", bad]) == 1
        assert "mask loss weight must be a finite number, 0 or more" in capsys.readouterr().err
    assert main([*args, "--detector-background-swap", "1.5"]) == 1
    assert "background swap probabilities must be in [0, 1]" in capsys.readouterr().err
    assert main([*args, "--detector-share", "1.5"]) == 1
    assert "share of the time budget" in capsys.readouterr().err
    assert main([*args[:-1], "--objects", "7", "--no-progress"]) == 1
    assert "no object(s) [7]" in capsys.readouterr().err
    assert main([*args[:5], "--width", "2.0", "--no-progress"]) == 1
    assert "width multiplier" in capsys.readouterr().err


def test_the_mask_weight_scales_the_mask_loss_in_training_and_validation(data, tmp_path):
    from rigidpose.bop import BopDataset
    from rigidpose.net.losses import POSENET_WEIGHTS
    from rigidpose.net.train import posenet_task

    assert TrainConfig(data="", out="").mask_weight == POSENET_WEIGHTS["mask"] == 5.0
    bop = BopDataset(data)
    tasks = {w: posenet_task(config(data, tmp_path / str(w), mask_weight=w), bop, [1, 2]) for w in (0.0, 1.0, 3.0)}
    batch = next(iter(torch.utils.data.DataLoader(tasks[1.0].val_ds, batch_size=4)))
    net = tasks[1.0].model.eval()
    with torch.no_grad():
        parts = {w: t.loss(net, batch) for w, t in tasks.items()}
        assert parts[1.0]["mask"] > 0
        for w in (0.0, 3.0):  # the same terms, the mask's weighed w times
            torch.testing.assert_close(parts[w]["total"], parts[1.0]["total"] + (w - 1.0) * parts[1.0]["mask"])
        loader = torch.utils.data.DataLoader(tasks[1.0].val_ds, batch_size=4)
        val = {w: t.validate(net, loader, torch.device("cpu"))["val_loss"] for w, t in tasks.items()}
    assert val[0.0] < val[1.0] < val[3.0]  # the held-out loss that picks ``best`` weighs the mask alike


def test_resume_refuses_a_half_saved_epoch(data, straight, tmp_path):
    import shutil

    run = tmp_path / "half"
    shutil.copytree(straight[0], run)
    # the weights of epoch 2 beside the training state of epoch 1: as if killed between the two writes
    killed = config(data, tmp_path / "k")
    train(killed, progress=False, stop_after=1)
    shutil.copy(tmp_path / "k" / "last.train.safetensors", run / "last.train.safetensors")
    with pytest.raises(RigidposeError, match="killed while saving"):
        train(config(data, run), progress=False, resume=True)


@pytest.mark.slow
def test_ddp_two_cpu_processes_on_gloo(data, tmp_path):
    """``torchrun --nproc_per_node 2 -m rigidpose train``: two gloo processes, rank 0 writes."""
    import os
    import subprocess
    import sys

    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "rigidpose",
           "train", "--data", str(data), "--out", str(out), "--width", "0.25", "--input", "96", "--epochs", "2",
           "--batch", "2", "--val-fraction", "0.34", "--no-progress", "--detector-epochs", "1",
           "--detector-width", "0.25", "--detector-input", "128", "--detector-batch", "2"]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("rigidpose train: 2 epochs") == 1  # only rank 0 reports
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    # 8 training instances (4 images held in) shared by 2 ranks at 2 per batch: 2 steps per epoch each
    assert [int(r["epoch"]) for r in rows] == [1, 2] and [int(r["step"]) for r in rows] == [2, 4]
    assert load_checkpoint(out / "last").card.training["epoch"] == 2
    assert res.stdout.count("rigidpose train: detector 1 epochs") == 1
    assert load_checkpoint(out / "detector" / "last", kind="detector").card.training["epoch"] == 1


def test_mask_iou_per_sample():
    from rigidpose.net.train import mask_iou

    a = torch.zeros(3, 1, 4, 4, dtype=torch.bool)
    b = torch.zeros_like(a)
    a[0, 0, :2] = True  # 8 cells
    b[0, 0, 1:3] = True  # 8 cells, 4 shared: IoU 4 / 12
    a[1, 0, 0, 0] = True  # predicted where nothing is: IoU 0
    torch.testing.assert_close(mask_iou(a, b), torch.tensor([1 / 3, 0.0, 1.0]))
