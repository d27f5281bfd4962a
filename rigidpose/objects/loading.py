"""Reading mesh files with trimesh and rejecting broken ones with a clear :class:`MeshError`.

Scenes (GLB/GLTF with several nodes, OBJ with several groups) are concatenated into
one mesh with their scene-graph transforms applied, so the result is in the file's
root frame: nothing is recentred or reoriented. Materials are skipped (textures such
as YCB's PNGs may be missing), but per-vertex colours are kept where the format has them.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import trimesh

from rigidpose.errors import MeshError

#: File extensions ObjectModel reads, mapped to trimesh's file types.
MESH_FORMATS: dict[str, str] = {".ply": "ply", ".obj": "obj", ".stl": "stl", ".glb": "glb", ".gltf": "gltf"}

#: A face is degenerate when its area is below this fraction of (largest extent)².
_DEGENERATE_AREA_REL = 1e-12


def read_mesh(path: str | Path) -> trimesh.Trimesh:
    """Read a PLY, OBJ, STL, GLB or GLTF file into one Trimesh, in the file's units and frame.

    Raises:
        MeshError: a missing file, an unknown extension, an unreadable file, or a mesh
            that fails :func:`validate_mesh`.
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in MESH_FORMATS:
        raise MeshError(
            f"{p.name}: unknown mesh format {ext or '(no extension)'!r}; expected one of "
            f"{', '.join(sorted(MESH_FORMATS))}"
        )
    if not p.exists():
        raise MeshError(f"{p}: no such file")
    if not p.is_file():
        raise MeshError(f"{p}: not a file")
    if p.stat().st_size == 0:
        raise MeshError(f"{p}: file is empty")
    mesh = _load_concatenated(p, MESH_FORMATS[ext])
    validate_mesh(mesh, p.name)
    return mesh


def _load_concatenated(p: Path, file_type: str) -> trimesh.Trimesh:
    log = logging.getLogger("trimesh")
    level = log.level
    log.setLevel(logging.CRITICAL)  # trimesh logs (rather than raises) on some broken files
    try:
        scene = trimesh.load_scene(str(p), file_type=file_type, skip_materials=True, process=False)
        geoms = [g for g in scene.dump(concatenate=False) if isinstance(g, trimesh.Trimesh)]
    except MeshError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure is a broken file to the user
        text = str(exc).strip().splitlines()
        msg = f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__
        raise MeshError(f"{p.name}: cannot read {file_type.upper()} file ({msg})") from None
    finally:
        log.setLevel(level)
    geoms = [g for g in geoms if len(g.faces) > 0]
    if not geoms:
        raise MeshError(f"{p.name}: the file contains no triangles (empty mesh or point cloud)")
    if len(geoms) == 1:
        return geoms[0]
    return trimesh.util.concatenate(geoms)


def validate_mesh(mesh: trimesh.Trimesh, name: str = "mesh") -> None:
    """Check that ``mesh`` has finite vertices, in-range faces and a non-zero size.

    Raises:
        MeshError: no faces, NaN/inf vertices, face indices out of range, zero extent,
            or every face degenerate (zero area).
    """
    v = np.asarray(mesh.vertices)
    f = np.asarray(mesh.faces)
    if len(f) == 0 or len(v) == 0:
        raise MeshError(f"{name}: the mesh is empty (no faces)")
    bad = ~np.isfinite(v).all(axis=1)
    if bad.any():
        raise MeshError(f"{name}: {int(bad.sum())} of {len(v)} vertices are NaN or infinite")
    if f.min() < 0 or f.max() >= len(v):
        raise MeshError(f"{name}: faces index vertices that do not exist")
    used = v[np.unique(f)]
    size = float(np.ptp(used, axis=0).max())
    if size <= 0.0:
        raise MeshError(f"{name}: degenerate mesh (all vertices at one point)")
    tri = v[f]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    if not (area > _DEGENERATE_AREA_REL * size * size).any():
        raise MeshError(f"{name}: degenerate mesh (all {len(f)} faces have zero area)")
