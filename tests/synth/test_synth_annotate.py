"""BOP visibility statistics against hand-made and independently counted cases."""

from __future__ import annotations

import numpy as np

from rigidpose.geometry import Camera
from synth.annotate import annotate_instance, bbox_xywh, ray_norms
from synth.render import RenderMesh, RenderScene, SceneObject, make_renderer
from synth_helpers import l_shape


def test_hand_made_case() -> None:
    obj = np.zeros((10, 12), np.float32)
    obj[2:6, 3:9] = 1.0  # 24 px
    scene = obj.copy()
    scene[2:6, 3:5] = 0.9  # 8 px hidden by something 10 cm in front
    scene[5, 8] = 1.004  # object 4 mm in front of the scene value: still visible (delta 5 mm)
    ann = annotate_instance(obj, scene, np.ones_like(obj))
    assert ann.info.px_count_all == 24 and ann.info.px_count_valid == 24
    assert ann.info.px_count_visib == 16 and ann.info.visib_fract == 16 / 24
    assert list(ann.info.bbox_obj) == [3, 2, 6, 4] and list(ann.info.bbox_visib) == [5, 2, 4, 4]
    assert list(bbox_xywh(np.zeros((3, 3), bool))) == [-1, -1, -1, -1]


def test_visib_fract_matches_an_independent_count() -> None:
    cam = Camera.from_fov(200, 150, 60)
    rm = RenderMesh.from_trimesh("part", l_shape())
    T0, T1 = np.eye(4), np.eye(4)
    T0[:3, 3] = [-0.04, -0.03, 0.25]
    T1[:3, 3] = [-0.02, -0.02, 0.20]
    scene = RenderScene(cam, (SceneObject(rm, T0, instance_id=0), SceneObject(rm, T1, instance_id=1)))
    r = make_renderer("moderngl")
    out = r.render(scene)
    alone = [r.render_object_depth(scene, i) for i in range(2)]
    r.close()
    norms = ray_norms(cam)
    a0 = annotate_instance(alone[0], out.depth, norms)
    a1 = annotate_instance(alone[1], out.depth, norms)
    # independent count: the pixels where the instance map shows the object
    count0 = int((out.inst == 0).sum())
    assert 0.2 < a0.info.visib_fract < 0.95
    assert abs(a0.info.px_count_visib - count0) <= 0.01 * count0
    assert np.isclose(a0.info.visib_fract, count0 / (alone[0] > 0).sum(), atol=0.01)
    assert a1.info.visib_fract == 1.0
    assert np.array_equal(a1.mask_visib, a1.mask)
