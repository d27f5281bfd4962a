""":class:`ModelInfo`: what BOP's ``models_info.json`` says about one object, in metres."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from rigidpose.objects.symmetries import Symmetries


@dataclass(frozen=True, eq=False)
class ModelInfo:
    """Size and symmetries of one object model.

    Attributes:
        diameter: largest distance between two vertices, metres.
        min_xyz: (3,) minimum corner of the axis-aligned bounding box, metres.
        size_xyz: (3,) extents of the axis-aligned bounding box, metres.
        symmetries: discrete and continuous symmetries (metres).
    """

    diameter: float
    min_xyz: NDArray[np.float64]
    size_xyz: NDArray[np.float64]
    symmetries: Symmetries = field(default_factory=Symmetries)

    def __post_init__(self) -> None:
        if not (np.isfinite(self.diameter) and self.diameter > 0):
            raise ValueError(f"diameter must be positive and finite, got {self.diameter}")
        for name in ("min_xyz", "size_xyz"):
            a = np.asarray(getattr(self, name), dtype=np.float64).reshape(3)
            if not np.all(np.isfinite(a)):
                raise ValueError(f"{name} must be finite")
            object.__setattr__(self, name, a)
        object.__setattr__(self, "diameter", float(self.diameter))
