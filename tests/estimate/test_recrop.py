"""RGB only: a second crop where the fitted pose's silhouette and the detection box disagree."""

from __future__ import annotations

import numpy as np
import pytest

from fakes import CAM, GtCropStage, gt_box, make_objects, render_depth, render_rgb
from rigidpose.estimate.estimator import Estimator
from rigidpose.estimate.recrop import box_iou, silhouette_box
from rigidpose.estimate.silhouette import SilhouetteSearch
from rigidpose.geometry import Pose
from rigidpose.objects.raycast import MeshRaycaster

T1 = Pose.from_rvec_tvec([2.0, 0.3, -0.4], [0.02, -0.01, 0.45], "cam", "obj")


@pytest.fixture(scope="module")
def objects():
    return make_objects()


@pytest.fixture(scope="module")
def search():
    """One silhouette search for every estimator here: its template bank is built once."""
    return SilhouetteSearch()


def test_box_iou():
    a = np.array([10.0, 20.0, 40.0, 30.0])
    assert box_iou(a, a) == pytest.approx(1.0)
    assert box_iou(a, a + [40.0, 0, 0, 0]) == 0.0  # touching edges
    assert box_iou(a, a + [20.0, 0, 0, 0]) == pytest.approx(1.0 / 3.0)  # half of each overlaps
    assert box_iou(a, [0.0, 0.0, 0.0, 0.0]) == 0.0 and box_iou([0, 0, 0, 0], [0, 0, 0, 0]) == 0.0


def test_the_silhouette_box_is_the_rendered_part(objects):
    _, meshes = objects
    caster = MeshRaycaster(meshes[1].vertices, meshes[1].faces)
    box = silhouette_box(caster, T1, CAM)
    assert box_iou(box, gt_box(meshes, 1, T1)) > 0.95
    away = Pose(T1.R, T1.t + [3.0, 0.0, 0.0], "cam", "obj")
    assert silhouette_box(caster, away, CAM) is None


def _measure(objects, search, rng, box, depth: bool, recrop_iou: float = 0.8):
    cards, meshes = objects
    gt = [(1, T1)]
    crop = GtCropStage(cards, meshes, rng)
    crop.gt = gt
    est = Estimator(crop, None, cards, meshes, score_threshold=0.0, recrop_iou=recrop_iou)
    est.silhouette = search
    d = render_depth(meshes, gt) if depth else None
    (m,) = est.measure(render_rgb(meshes, gt, rng), CAM, d, boxes=[(1, box)])
    return m, crop.calls


def test_a_box_that_cuts_the_part_is_cropped_again_at_the_fit(objects, search, rng):
    """A box over the left 55 % of the part: its mask is cut, and the fit scores low. The fit's
    silhouette box overlaps it by 0.54, so the part is cropped again there, and that
    measurement, whose mask is whole, scores higher and is kept with its box."""
    cards, meshes = objects
    full = gt_box(meshes, 1, T1)
    cut = full * [1.0, 1.0, 0.55, 1.0]
    once, calls = _measure(objects, search, rng, cut, depth=False, recrop_iou=0.0)
    assert calls == 1
    again, calls = _measure(objects, search, rng, cut, depth=False)
    assert calls == 2
    assert again.estimate.score > once.estimate.score
    assert box_iou(again.estimate.bbox, full) > 0.9 and box_iou(once.estimate.bbox, cut) == pytest.approx(1.0)
    assert again.box_score == 1.0  # a user's box: the second crop carries its score over


def test_no_second_crop_for_a_good_box_or_with_depth(objects, search, rng):
    cards, meshes = objects
    full = gt_box(meshes, 1, T1)
    _, calls = _measure(objects, search, rng, full, depth=False)
    assert calls == 1
    _, calls = _measure(objects, search, rng, full * [1.0, 1.0, 0.55, 1.0], depth=True)
    assert calls == 1


def test_the_cli_switch_reaches_the_estimator(monkeypatch, tmp_path, capsys):
    """``rigidpose predict`` asks for the second crop by default and not with ``--no-recrop``."""
    from rigidpose.cli import main
    from rigidpose.errors import RigidposeError

    seen = []

    def fake(*args, **kwargs):
        seen.append(kwargs["recrop_iou"])
        raise RigidposeError("stop before loading")

    monkeypatch.setattr(Estimator, "from_checkpoint", staticmethod(fake))
    for flags in ([], ["--no-recrop"]):
        argv = ["predict", "--checkpoint", str(tmp_path), "--dataset", str(tmp_path), "--out", str(tmp_path / "r.csv")]
        assert main(argv + flags) == 1
        assert "stop before loading" in capsys.readouterr().err
    assert seen == [0.8, 0.0]


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_a_recrop_iou_outside_0_1_is_refused(objects, bad):
    from rigidpose.errors import RigidposeError

    cards, meshes = objects
    with pytest.raises(RigidposeError, match="recrop_iou must be a box overlap in"):
        Estimator(lambda *a: [], None, cards, meshes, recrop_iou=bad)
