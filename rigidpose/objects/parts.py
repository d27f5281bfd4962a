"""Procedurally generated CAD parts: the bundled default object of the demo.

:func:`bracket` builds an asymmetric industrial angle bracket with constructive solid
geometry (trimesh booleans through manifold3d), so the mesh is watertight and has no
rotational symmetry: every face of the part is distinguishable, which makes it a fair
test of full 6-DoF pose estimation. Dimensions are in metres; the object frame has its
origin at the centre of the base plate's bottom face, x along the plate's length, z up.
"""

from __future__ import annotations

import numpy as np
import trimesh


def _box(size_mm: tuple[float, float, float], centre_mm: tuple[float, float, float]) -> trimesh.Trimesh:
    return trimesh.creation.box(np.array(size_mm) / 1000.0, trimesh.transformations.translation_matrix(np.array(centre_mm) / 1000.0))


def _cylinder(radius_mm: float, height_mm: float, centre_mm, axis: str = "z") -> trimesh.Trimesh:
    rot = {"z": np.eye(4), "x": trimesh.transformations.rotation_matrix(np.pi / 2, [0, 1, 0]),
           "y": trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0])}[axis]
    T = trimesh.transformations.translation_matrix(np.array(centre_mm) / 1000.0) @ rot
    return trimesh.creation.cylinder(radius_mm / 1000.0, height_mm / 1000.0, sections=48, transform=T)


def bracket() -> trimesh.Trimesh:
    """An asymmetric angle bracket, about 90 x 50 x 55 mm, watertight, in metres.

    Features: a base plate with two holes of different sizes at different positions,
    an upright plate at one end, a triangular gusset on one side only, a round boss on
    the upright, and a notch cut from one corner of the base.
    """
    base = _box((90, 50, 8), (0, 0, 4))
    upright = _box((8, 50, 55), (-41, 0, 27.5))
    gusset_pts = np.array([[-37, 17, 8], [-37, 25, 8], [-37, 17, 40], [-37, 25, 40], [-5, 17, 8], [-5, 25, 8]]) / 1000.0
    gusset = trimesh.convex.convex_hull(gusset_pts)
    boss = _cylinder(9, 12, (-51, -8, 38), axis="x")
    body = trimesh.boolean.union([base, upright, gusset, boss], engine="manifold")
    cuts = [
        _cylinder(6, 20, (20, 10, 4)),
        _cylinder(3.5, 20, (-12, -14, 4)),
        _box((16, 14, 20), (40, -20, 4)),
        _cylinder(4, 30, (-45, -8, 38), axis="x"),
    ]
    part = trimesh.boolean.difference([body, *cuts], engine="manifold")
    part.merge_vertices()
    if not part.is_watertight:  # pragma: no cover - manifold output is watertight
        raise RuntimeError("procedural bracket is not watertight")
    return part
