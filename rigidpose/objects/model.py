""":class:`ObjectModel`: a unit-checked mesh in metres with its diameter, keypoints and symmetries."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np
import trimesh
from numpy.typing import NDArray

from rigidpose.objects.diameter import diameter as _diameter
from rigidpose.objects.info import ModelInfo
from rigidpose.objects.loading import read_mesh, validate_mesh
from rigidpose.objects.sampling import farthest_point_sampling, sample_surface
from rigidpose.objects.symmetries import Symmetries
from rigidpose.objects.units import UNIT_SCALE, resolve_units

F64 = NDArray[np.float64]

#: Size of the dense surface sample that keypoints are chosen from.
KEYPOINT_POOL = 20000


class ObjectModel:
    """A rigid object's mesh in metres, in the user's object frame (never recentred).

    Attributes:
        mesh: trimesh.Trimesh in metres (treat as read-only; derived values are cached).
        obj_id: BOP object id, or None.
        name: a human-readable name (defaults to the file stem).
        source_path: the file it was loaded from, or None.
        units: the unit of the source file ("m", "cm", "mm", "in").
        units_inferred: True when ``units`` was guessed from the size.
    """

    def __init__(
        self,
        mesh: trimesh.Trimesh,
        *,
        obj_id: int | None = None,
        name: str | None = None,
        symmetries: Symmetries | None = None,
        source_path: Path | None = None,
        units: str = "m",
        units_inferred: bool = False,
    ) -> None:
        """Wrap a mesh that is already in metres; validates it (:class:`MeshError` if broken)."""
        validate_mesh(mesh, name or "mesh")
        self.mesh = mesh
        self.obj_id = obj_id
        self.name = name
        self.source_path = source_path
        self.units = units
        self.units_inferred = units_inferred
        self._symmetries = symmetries
        self._keypoints: dict[int, F64] = {}
        self._surface: dict[int, F64] = {}

    @classmethod
    def load(
        cls,
        path: str | Path,
        units: str | None = None,
        *,
        obj_id: int | None = None,
        name: str | None = None,
        symmetries: Symmetries | None = None,
    ) -> ObjectModel:
        """Load a PLY, OBJ, STL, GLB or GLTF file.

        Args:
            path: the mesh file; scenes are concatenated in the file's root frame.
            units: "m", "cm", "mm" or "in"; None infers them from the largest extent
                (an ambiguous guess warns with :class:`UnitsWarning`).
            obj_id: BOP object id.
            name: defaults to the file stem.
            symmetries: None detects them lazily on first access; ``Symmetries()`` for none.

        Raises:
            MeshError: missing, unknown-format, unreadable, empty, degenerate or non-finite mesh.
            UnitsError: unknown units, or units giving an absurd object size.
        """
        p = Path(path)
        mesh = read_mesh(p)
        unit, inferred = resolve_units(float(mesh.extents.max()), units, source=p.name)
        scale = UNIT_SCALE[unit]
        if scale != 1.0:
            mesh.apply_scale(scale)  # scales about the origin: the object frame is kept
        return cls(
            mesh,
            obj_id=obj_id,
            name=name or p.stem,
            symmetries=symmetries,
            source_path=p,
            units=unit,
            units_inferred=inferred,
        )

    def with_symmetries(self, symmetries: Symmetries) -> ObjectModel:
        """A copy sharing the mesh, with ``symmetries`` instead of the current ones."""
        return ObjectModel(
            self.mesh,
            obj_id=self.obj_id,
            name=self.name,
            symmetries=symmetries,
            source_path=self.source_path,
            units=self.units,
            units_inferred=self.units_inferred,
        )

    @property
    def source_scale(self) -> float:
        """Metres per unit of the source file (e.g. 0.001 for a millimetre PLY)."""
        return UNIT_SCALE[self.units]

    @property
    def vertices(self) -> F64:
        """(N, 3) vertices, metres."""
        return np.asarray(self.mesh.vertices, dtype=np.float64)

    @property
    def faces(self) -> NDArray[np.int64]:
        """(F, 3) vertex indices of the triangles."""
        return np.asarray(self.mesh.faces, dtype=np.int64)

    @cached_property
    def diameter(self) -> float:
        """Largest distance between two vertices, metres (exact)."""
        return _diameter(self.vertices)

    @cached_property
    def bbox_min(self) -> F64:
        """(3,) minimum corner of the axis-aligned bounding box, metres."""
        return self.vertices.min(axis=0)

    @cached_property
    def extents(self) -> F64:
        """(3,) size of the axis-aligned bounding box, metres."""
        return self.vertices.max(axis=0) - self.bbox_min

    @property
    def centre(self) -> F64:
        """(3,) centre of the axis-aligned bounding box, metres."""
        return self.bbox_min + 0.5 * self.extents

    @property
    def symmetries(self) -> Symmetries:
        """The given symmetries, or those detected (once, cached) with the default tolerance."""
        if self._symmetries is None:
            from rigidpose.objects.symmetry_detect import detect_symmetries

            self._symmetries = detect_symmetries(self)
        return self._symmetries

    @property
    def info(self) -> ModelInfo:
        """Diameter, bounding box and symmetries, metres (what BOP's models_info.json holds)."""
        return ModelInfo(self.diameter, self.bbox_min, self.extents, self.symmetries)

    def keypoints(self, k: int = 8) -> F64:
        """(k+1, 3) metres: ``k`` farthest-point-sampled surface points, then the bbox centre last.

        Deterministic: the pool is a fixed-seed surface sample and the first point is the
        one farthest from the centre.
        """
        if k < 1:
            raise ValueError(f"number of keypoints must be positive, got {k}")
        if k not in self._keypoints:
            pool = sample_surface(self.mesh, KEYPOINT_POOL)
            fps = farthest_point_sampling(pool, k, start=self.centre)
            self._keypoints[k] = np.vstack([fps, self.centre[None]])
        return self._keypoints[k].copy()

    def surface_points(self, n: int = 2000) -> F64:
        """(n, 3) metres, area-uniform points on the surface, deterministic (fixed seed)."""
        if n not in self._surface:
            self._surface[n] = sample_surface(self.mesh, n)
        return self._surface[n].copy()

    def __repr__(self) -> str:
        return (
            f"ObjectModel(name={self.name!r}, obj_id={self.obj_id}, vertices={len(self.mesh.vertices)}, "
            f"faces={len(self.mesh.faces)}, extents_m={np.round(self.extents, 4).tolist()})"
        )
