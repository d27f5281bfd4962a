"""Object models: unit-checked meshes with diameter, keypoints and symmetries."""

from rigidpose.objects.info import ModelInfo
from rigidpose.objects.model import ObjectModel
from rigidpose.objects.symmetries import BOP_MAX_SYM_DISC_STEP, ContinuousSymmetry, Symmetries
from rigidpose.objects.symmetry_detect import detect_symmetries
from rigidpose.objects.units import UnitsWarning

__all__ = [
    "BOP_MAX_SYM_DISC_STEP",
    "ContinuousSymmetry",
    "ModelInfo",
    "ObjectModel",
    "Symmetries",
    "UnitsWarning",
    "detect_symmetries",
]
