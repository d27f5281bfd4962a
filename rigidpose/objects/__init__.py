"""Object models: unit-checked meshes with diameter, keypoints and symmetries."""

from rigidpose.objects.info import ModelInfo
from rigidpose.objects.symmetries import BOP_MAX_SYM_DISC_STEP, ContinuousSymmetry, Symmetries

__all__ = ["BOP_MAX_SYM_DISC_STEP", "ContinuousSymmetry", "ModelInfo", "Symmetries"]
