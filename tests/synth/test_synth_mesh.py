"""``RenderMesh.from_trimesh``: CAD parts keep sharp edges; textured scans are left alone; mesh names are unique."""

from __future__ import annotations

import numpy as np
import trimesh

from synth.render import RenderMesh


def test_untextured_part_is_split_along_creases() -> None:
    """Every corner of a box gets the normal of its own face, so faces shade flat.

    Averaged vertex normals would tilt each corner's normal 54.7° off every face it touches,
    and the renderer would shade the box as a blob.
    """
    box = trimesh.creation.box((0.04, 0.03, 0.02))
    rm = RenderMesh.from_trimesh("box", box)
    tri = rm.vertices[rm.faces].astype(np.float64)  # (F, 3 corners, 3)
    face_normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    face_normals /= np.linalg.norm(face_normals, axis=1, keepdims=True)
    corner_normals = rm.normals[rm.faces]
    cos = np.einsum("fcd,fd->fc", corner_normals, face_normals)
    assert cos.min() > 0.999
    assert len(rm.vertices) == 24  # 6 faces × 4 corners


def test_smooth_surfaces_stay_smooth() -> None:
    """A sphere has no crease above 30°: its normals stay averaged (radial)."""
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=0.05)
    rm = RenderMesh.from_trimesh("sphere", sphere)
    radial = rm.vertices / np.linalg.norm(rm.vertices, axis=1, keepdims=True)
    assert np.einsum("nd,nd->n", rm.normals, radial).min() > 0.99


def test_textured_mesh_is_not_split() -> None:
    """Vertex colours (a scan's texture) keep the mesh as it is."""
    box = trimesh.creation.box((0.04, 0.03, 0.02))
    box.visual.vertex_colors = np.tile([200, 10, 10, 255], (len(box.vertices), 1))
    rm = RenderMesh.from_trimesh("box", box)
    assert len(rm.vertices) == len(box.vertices)
    assert rm.colors is not None


def test_shared_mesh_names_are_made_unique() -> None:
    """Two meshes called part.ply (from two folders) must not share TF frames downstream."""
    from synth.writer import unique_names

    assert unique_names({1: "part", 2: "part", 3: "bracket"}) == {1: "part_1", 2: "part_2", 3: "bracket"}
    assert unique_names({}) == {}
