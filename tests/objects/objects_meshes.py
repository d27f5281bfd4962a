"""Small meshes and YCB names shared by the objects and CLI tests (a helper module, not a conftest)."""

from __future__ import annotations

import trimesh


def offset_box(extents=(0.1, 0.2, 0.3), offset=(0.05, -0.02, 0.3)) -> trimesh.Trimesh:
    """A box whose centre is away from the origin (to check the object frame is kept)."""
    return trimesh.creation.box(extents, transform=trimesh.transformations.translation_matrix(offset))


def box_with_bump() -> trimesh.Trimesh:
    """A clearly asymmetric shape: a box with a cube stuck on one corner."""
    bump = trimesh.creation.box([0.05] * 3, transform=trimesh.transformations.translation_matrix([0.05, 0.1, 0.15]))
    return trimesh.util.concatenate([trimesh.creation.box([0.1, 0.2, 0.3]), bump])


YCB_NAMES = [
    "003_cracker_box", "004_sugar_box", "005_tomato_soup_can",
    "006_mustard_bottle", "009_gelatin_box", "010_potted_meat_can",
]


def ycb_path(ycb_dir, name):
    return ycb_dir / f"{name}_textured.obj"


#: Broken mesh files: name -> (bytes, or None for a missing file; expected message fragment).
BAD_FILES = {
    "missing": (None, "no such file"),
    "unknown.xyz3": (b"whatever", "unknown mesh format"),
    "corrupt.ply": (b"ply\nformat ascii 1.0\nelement vertex 3\ngarbage", "cannot read PLY"),
    "corrupt.glb": (b"glTF\x02\x00\x00\x00garbage", "cannot read GLB"),
    "empty.obj": (b"v 0 0 0\nv 1 0 0\nv 0 1 0\n", "no triangles"),
    "zero.stl": (b"", "file is empty"),
    "nan.obj": (b"v nan 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "NaN or infinite"),
    "inf.obj": (b"v inf 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "NaN or infinite"),
    "flat.obj": (b"v 0 0 0\nv 1 0 0\nv 2 0 0\nf 1 2 3\n", "degenerate"),
    "point.obj": (b"v 1 1 1\nv 1 1 1\nv 1 1 1\nf 1 2 3\n", "degenerate"),
}


__all__ = ["BAD_FILES", "YCB_NAMES", "box_with_bump", "offset_box", "ycb_path"]
