"""Shapes, widths and wiring of the backbone, PoseNet and the detector (tiny sizes)."""

from __future__ import annotations

import pytest
import torch

from rigidpose.net.backbone import MobileNetV2Backbone
from rigidpose.net.blocks import InvertedResidual, make_divisible
from rigidpose.net.detector import CenterNetDetector
from rigidpose.net.heads import select_object
from rigidpose.net.posenet import PoseNet, PoseNetConfig, count_parameters


def test_make_divisible():
    assert make_divisible(32 * 0.25) == 8
    assert make_divisible(6) == 8
    assert make_divisible(100) == 104
    for v in (3.0, 17.5, 95.0, 1280 * 0.35):
        m = make_divisible(v)
        assert m % 8 == 0 and m >= 0.9 * v


@pytest.mark.parametrize("width", [0.25, 0.5, 0.75, 1.0])
def test_backbone_channels_and_strides(width):
    bb = MobileNetV2Backbone(width).eval()
    assert all(c % 8 == 0 for c in bb.channels)
    with torch.no_grad():
        feats = bb(torch.zeros(1, 3, 96, 128))
    assert [tuple(f.shape[1:]) for f in feats] == [
        (c, 96 // s, 128 // s) for c, s in zip(bb.channels, (4, 8, 16, 32))
    ]


def test_inverted_residual_uses_skip_only_when_shapes_match():
    assert InvertedResidual(16, 16, 1, 6).use_residual
    assert not InvertedResidual(16, 16, 2, 6).use_residual
    assert not InvertedResidual(16, 24, 1, 6).use_residual
    # depthwise: the 3x3 conv has groups == channels
    dw = [m for m in InvertedResidual(16, 16, 1, 6).modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)]
    assert dw[0].groups == dw[0].in_channels == 96


def test_bad_configs_are_rejected():
    with pytest.raises(ValueError, match="width"):
        PoseNetConfig(width=1.5)
    with pytest.raises(ValueError, match="input size"):
        PoseNetConfig(input_size=100)
    with pytest.raises(ValueError, match="input size"):
        PoseNetConfig(input_size=288)


def test_posenet_outputs_and_object_selection():
    cfg = PoseNetConfig(num_keypoints=5, num_objects=3, width=0.25, input_size=96)
    net = PoseNet(cfg).eval()
    x = torch.randn(2, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = net(x, torch.tensor([2, 0]))
        out_b = net(x, torch.tensor([1, 0]))
    h = 96 // 4
    assert out["heatmaps"].shape == (2, 5, h, h)
    assert out["offsets"].shape == (2, 5, 2, h, h)
    assert out["mask"].shape == (2, 1, h, h)
    assert out["rot6d"].shape == (2, 6) and out["trans"].shape == (2, 3)
    # sample 1 asked for object 0 both times; sample 0 switched object → different heads
    torch.testing.assert_close(out["heatmaps"][1], out_b["heatmaps"][1])
    assert not torch.equal(out["heatmaps"][0], out_b["heatmaps"][0])
    assert not torch.equal(out["rot6d"][0], out_b["rot6d"][0])
    with pytest.raises(ValueError, match="obj_index"):
        net(x)


def test_select_object():
    t = torch.arange(2 * 3 * 4).reshape(2, 3, 4)
    assert select_object(t, torch.tensor([2, 1])).tolist() == [t[0, 2].tolist(), t[1, 1].tolist()]
    assert select_object(t[:, :1], None).tolist() == t[:, 0].tolist()


def test_initial_pose_head_predicts_identity_and_prior_depth():
    net = PoseNet(PoseNetConfig(num_keypoints=3, width=0.25, input_size=96)).eval()
    with torch.no_grad():
        out = net(torch.randn(1, 3, 96, 96))
    torch.testing.assert_close(out["rot6d"], torch.tensor([[1.0, 0, 0, 0, 1, 0]]), atol=0.05, rtol=0)
    assert abs(out["trans"][0, 2].item() - 1.5) < 0.05


def test_width_scales_parameters():
    sizes = [count_parameters(PoseNet(PoseNetConfig(width=w, input_size=96))) for w in (0.25, 0.5, 1.0)]
    assert sizes[0] < sizes[1] < sizes[2]


def test_channels_last_matches_contiguous():
    net = PoseNet(PoseNetConfig(num_keypoints=3, width=0.25, input_size=96)).eval()
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        a = net(x)
        b = net.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-4, rtol=1e-4)


def test_every_parameter_gets_a_gradient():
    """No unused parameters (DDP needs none), including both the keypoint and pose heads."""
    from rigidpose.net.losses import posenet_loss

    net = PoseNet(PoseNetConfig(num_keypoints=3, width=0.25, input_size=96))
    out = net(torch.randn(2, 3, 96, 96))
    h = 24
    batch = {
        "heatmap": torch.rand(2, 3, h, h),
        "kp_offset": torch.zeros(2, 3, 2),
        "kp_index": torch.tensor([[5, 30, 200], [0, 1, 2]]),
        "kp_valid": torch.ones(2, 3, dtype=torch.bool),
        "mask": (torch.rand(2, 1, h, h) > 0.5).float(),
        "rot": torch.eye(3).expand(2, 3, 3),
        "trans": torch.tensor([[0.0, 0.0, 1.2], [0.1, -0.1, 2.0]]),
    }
    posenet_loss(out, batch)["total"].backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())


def test_detector_outputs_non_square():
    det = CenterNetDetector(num_classes=4, width=0.25).eval()
    with torch.no_grad():
        out = det(torch.randn(1, 3, 96, 160))
    assert out["heatmap"].shape == (1, 4, 24, 40)
    assert out["size"].shape == out["offset"].shape == (1, 2, 24, 40)
