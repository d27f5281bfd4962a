"""Checkpoints: safetensors + JSON card round trips, resumable training state, clear load errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rigidpose.errors import RigidposeError
from rigidpose.net.card import CardObject, ModelCard, info_from_json, info_to_json
from rigidpose.net.checkpoint import (
    capture_rng,
    checkpoint_paths,
    load_card,
    load_checkpoint,
    load_train_state,
    restore_rng,
    save_checkpoint,
    save_train_state,
)
from rigidpose.net.posenet import PoseNet, PoseNetConfig
from rigidpose.objects import ContinuousSymmetry, ModelInfo, Symmetries

CFG = PoseNetConfig(num_keypoints=4, num_objects=2, width=0.25, input_size=96)


def make_card(cfg: PoseNetConfig = CFG) -> ModelCard:
    flip = np.eye(4)
    flip[:3, :3] = np.diag([-1.0, -1.0, 1.0])
    flip[:3, 3] = [0.0, 0.0, 0.002]
    objs = (
        CardObject(3, "mug", np.arange(12.0).reshape(4, 3) / 100,
                   ModelInfo(0.12, [-0.05, -0.05, -0.04], [0.1, 0.1, 0.08], Symmetries(flip[None])),
                   pose_centre=[0.0, 0.0, 0.001]),
        CardObject(7, "can", np.ones((4, 3)) * 0.01,
                   ModelInfo(0.2, [-0.03, -0.03, -0.09], [0.06, 0.06, 0.18],
                             Symmetries(continuous=(ContinuousSymmetry([0, 0, 1.0], [0, 0, 0.001]),)))),
    )
    return ModelCard("posenet", cfg.to_dict(), objs, training={"epochs": 3, "lr": 1e-3})


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = PoseNet(CFG).eval()
    path = save_checkpoint(tmp_path / "run" / "last", model, make_card())
    return model, path


def test_round_trip(saved, tmp_path):
    model, path = saved
    assert path.name == "last.safetensors" and path.with_suffix(".json").exists()
    loaded = load_checkpoint(path, objects=[7])
    assert loaded.object_indices == {7: 1}
    x = torch.randn(2, 3, 96, 96)
    idx = torch.tensor([1, 0])
    with torch.no_grad():
        a, b = model(x, idx), loaded.model(x, idx)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
    card = loaded.card
    assert card.obj_ids == [3, 7] and [o.name for o in card.objects] == ["mug", "can"]
    np.testing.assert_allclose(card.objects[0].keypoints, np.arange(12.0).reshape(4, 3) / 100)
    np.testing.assert_allclose(card.objects[0].pose_centre, [0.0, 0.0, 0.001])
    np.testing.assert_allclose(card.objects[1].pose_centre, np.zeros(3))  # default: the origin
    assert card.config == CFG.to_dict() and card.training["lr"] == 1e-3
    assert card.objects[0].info.symmetries.discrete.shape == (1, 4, 4)
    np.testing.assert_allclose(card.objects[0].info.symmetries.discrete[0, :3, 3], [0, 0, 0.002], atol=1e-12)
    cont = card.objects[1].info.symmetries.continuous[0]
    np.testing.assert_allclose(cont.axis, [0, 0, 1]) and np.testing.assert_allclose(cont.offset, [0, 0, 0.001], atol=1e-12)
    assert not list(path.parent.glob("*.tmp")), "temporary files left behind"


@pytest.mark.parametrize("prefer_bop", [False, True])
def test_object_info_forms_round_trip(prefer_bop):
    info = make_card().objects[0].info
    d = json.loads(json.dumps(info_to_json(info, prefer_bop=prefer_bop)))
    assert d["units"] in ("m", "bop_mm") and (prefer_bop or d["units"] == "m")
    back = info_from_json(d)
    assert back.diameter == pytest.approx(info.diameter)
    np.testing.assert_allclose(back.symmetries.discrete, info.symmetries.discrete, atol=1e-9)
    np.testing.assert_allclose(back.min_xyz, info.min_xyz, atol=1e-9)


def test_loading_never_unpickles(saved, monkeypatch):
    _, path = saved

    def forbidden(*args, **kwargs):
        raise AssertionError("torch.load must not be used")

    monkeypatch.setattr(torch, "load", forbidden)
    load_checkpoint(path)


def drop_hash(path):
    """Remove the weights hash from the card, so the loader has to find problems on its own."""
    card_path = path.with_suffix(".json")
    d = json.loads(card_path.read_text())
    d["weights_sha256"] = None
    card_path.write_text(json.dumps(d))


def test_corrupt_weights(saved):
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(RigidposeError, match="do not match the card"):
        load_checkpoint(path)
    # without a recorded hash the parser itself must reject it
    drop_hash(path)
    with pytest.raises(RigidposeError, match="corrupt or not a safetensors"):
        load_checkpoint(path)
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(RigidposeError, match="corrupt or not a safetensors"):
        load_checkpoint(path)


def test_missing_files(saved):
    _, path = saved
    path.with_suffix(".json").unlink()
    with pytest.raises(RigidposeError, match="model card not found"):
        load_checkpoint(path)
    with pytest.raises(RigidposeError, match="model card not found"):
        load_checkpoint(path.with_name("nothing.safetensors"))


def test_bad_cards(saved):
    _, path = saved
    card_path = path.with_suffix(".json")
    good = card_path.read_text()
    card_path.write_text(good[:40])
    with pytest.raises(RigidposeError, match="not valid JSON"):
        load_checkpoint(path)
    d = json.loads(good)
    d["format_version"] = 99
    card_path.write_text(json.dumps(d))
    with pytest.raises(RigidposeError, match="format version 99"):
        load_checkpoint(path)
    d = json.loads(good)
    del d["objects"]
    card_path.write_text(json.dumps(d))
    with pytest.raises(RigidposeError, match="missing the field 'objects'"):
        load_card(path)


def test_card_weights_mismatch(saved, tmp_path):
    """Weights from another architecture under this card: a hash mismatch, or a shape report."""
    _, path = saved
    other = PoseNet(PoseNetConfig(num_keypoints=4, num_objects=2, width=0.5, input_size=96))
    other_path = save_checkpoint(tmp_path / "other", other, make_card(other.config))
    path.write_bytes(other_path.read_bytes())
    with pytest.raises(RigidposeError, match="do not match the card"):
        load_checkpoint(path)
    drop_hash(path)
    with pytest.raises(RigidposeError, match="do not fit the architecture.*wrong shape"):
        load_checkpoint(path)


def test_missing_object(saved):
    _, path = saved
    with pytest.raises(RigidposeError, match=r"trained for objects \[3, 7\], not for \[5\]"):
        load_checkpoint(path, objects=[3, 5])
    with pytest.raises(RigidposeError, match="not for object 9"):
        load_card(path).object_index(9)


def test_failed_write_keeps_the_previous_file(saved, monkeypatch):
    model, path = saved
    before = path.read_bytes()
    import rigidpose.net.checkpoint as ck

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(ck.os, "replace", boom)
    with pytest.raises(OSError):
        save_checkpoint(path, PoseNet(CFG), make_card())
    assert path.read_bytes() == before
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def _step(model, opt, sched, gen):
    x = torch.randn(2, 3, 96, 96, generator=gen)
    out = model(x, torch.tensor([0, 1]))
    loss = out["heatmaps"].pow(2).mean() + out["rot6d"].pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    return torch.rand(3)  # a draw from the global torch RNG, to check it is restored


def test_resume_is_exact(tmp_path):
    """Train 2 steps, save, train 2 more; a fresh process-like restore reproduces steps 3–4 exactly."""
    def fresh():
        torch.manual_seed(1)
        m = PoseNet(CFG).train()
        o = torch.optim.AdamW(m.parameters(), lr=1e-2, betas=(0.9, 0.99), weight_decay=0.01)
        return m, o, torch.optim.lr_scheduler.OneCycleLR(o, max_lr=1e-2, total_steps=10)

    model, opt, sched = fresh()
    np_rng = np.random.default_rng(5)
    gen = torch.Generator().manual_seed(3)
    for _ in range(2):
        _step(model, opt, sched, gen)
    save_checkpoint(tmp_path / "ck", model, make_card())
    save_train_state(tmp_path / "ck", {"epoch": 1, "step": 2, "optimizer": opt.state_dict(),
                                       "scheduler": sched.state_dict(), "rng": capture_rng(np_rng),
                                       "data_gen": gen.get_state()})
    expected = [_step(model, opt, sched, gen) for _ in range(2)] + [np_rng.random()]
    expected_params = {k: v.clone() for k, v in model.state_dict().items()}

    model2, opt2, sched2 = fresh()
    model2.load_state_dict(load_checkpoint(tmp_path / "ck").model.state_dict())
    model2.train()
    state = load_train_state(tmp_path / "ck.safetensors")
    opt2.load_state_dict(state["optimizer"])
    sched2.load_state_dict(state["scheduler"])
    np_rng2 = np.random.default_rng(999)
    restore_rng(state["rng"], np_rng2)
    gen2 = torch.Generator()
    gen2.set_state(state["data_gen"])
    assert (state["epoch"], state["step"]) == (1, 2)
    got = [_step(model2, opt2, sched2, gen2) for _ in range(2)] + [np_rng2.random()]
    for a, b in zip(expected[:2], got[:2]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert expected[2] == got[2]
    for k, v in model2.state_dict().items():
        torch.testing.assert_close(v, expected_params[k], rtol=0, atol=0)


def test_train_state_round_trip_types(tmp_path):
    state = {"a": (1, 2.5, None), "b": {3: torch.arange(4), 4: [True, "x"]}, "c": np.int64(7)}
    save_train_state(tmp_path / "s", state)
    got = load_train_state(tmp_path / "s")
    assert got["a"] == (1, 2.5, None) and got["c"] == 7
    assert set(got["b"]) == {3, 4} and got["b"][3].tolist() == [0, 1, 2, 3] and got["b"][4] == [True, "x"]
    assert checkpoint_paths(tmp_path / "s.train.safetensors")[2] == tmp_path / "s.train.safetensors"
    with pytest.raises(RigidposeError, match="training state not found"):
        load_train_state(tmp_path / "nothing")


def test_detector_checkpoint_round_trip(tmp_path):
    from rigidpose.net.detector import CenterNetDetector

    det = CenterNetDetector(num_classes=2, width=0.25).eval()
    card = ModelCard("centernet", {"num_classes": 2, "width": 0.25}, make_card().objects)
    loaded = load_checkpoint(save_checkpoint(tmp_path / "det", det, card))
    assert isinstance(loaded.model, CenterNetDetector) and loaded.card.arch == "centernet"
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        torch.testing.assert_close(det(x)["heatmap"], loaded.model(x)["heatmap"], rtol=0, atol=0)


def test_card_validation():
    objs = make_card().objects
    with pytest.raises(ValueError, match="duplicate object ids"):
        ModelCard("posenet", CFG.to_dict(), (objs[0], objs[0]))
    with pytest.raises(ValueError, match="arch"):
        ModelCard("resnet", CFG.to_dict(), objs)
    with pytest.raises(ValueError, match="keypoints"):
        CardObject(1, "x", np.zeros((4, 2)), objs[0].info)


def test_saved_files_follow_the_umask(saved):
    import os
    import stat

    _, path = saved
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
