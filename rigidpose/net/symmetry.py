"""Symmetry handling for training targets.

Two mechanisms (issue 4):

- **Keypoint targets** are canonicalised: of all symmetry-equivalent poses
  ``T_cam_obj @ S`` the one whose (allocentric) rotation is closest to a fixed
  reference ``R_ref`` (default the identity) is used, so equal-looking crops get equal
  keypoint targets.
- **The rotation loss** takes the minimum over the symmetry set; :func:`symmetry_table`
  packs each object's symmetry rotations into one padded tensor for batching.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from rigidpose.geometry import Pose
from rigidpose.net.pose_coding import view_rotation
from rigidpose.objects import BOP_MAX_SYM_DISC_STEP, Symmetries

#: Default discretisation step (rad) of continuous symmetries for the rotation loss:
#: coarser than BOP's 0.01 to keep the table small (≈126 rotations), within 1.5° of exact.
LOSS_SYM_STEP = 0.05


def symmetry_rotations(sym: Symmetries, max_step: float = LOSS_SYM_STEP) -> NDArray[np.float64]:
    """The rotations (S, 3, 3) of all symmetry transforms, the identity first."""
    return np.ascontiguousarray(sym.transforms(max_step)[:, :3, :3])


def symmetry_table(syms: Sequence[Symmetries], max_step: float = LOSS_SYM_STEP) -> torch.Tensor:
    """(O, S_max, 3, 3) float32 symmetry rotations per object, padded with the identity.

    Padding with the identity is harmless for a minimum over the set. Index it with
    each sample's object index to get the (B, S_max, 3, 3) input of
    :func:`rigidpose.net.losses.symmetric_rotation_loss`.
    """
    rots = [symmetry_rotations(s, max_step) for s in syms]
    S = max(r.shape[0] for r in rots)
    out = np.tile(np.eye(3), (len(rots), S, 1, 1))
    for i, r in enumerate(rots):
        out[i, : r.shape[0]] = r
    return torch.from_numpy(out.astype(np.float32))


def canonical_symmetry(
    T_cam_obj: Pose,
    sym: Symmetries,
    R_ref: ArrayLike | None = None,
    *,
    allocentric: bool = True,
    max_step: float = BOP_MAX_SYM_DISC_STEP,
    centre_obj: ArrayLike = (0.0, 0.0, 0.0),
) -> NDArray[np.float64]:
    """The symmetry transform ``S`` (4, 4) making ``T_cam_obj @ S`` closest to the reference.

    With ``allocentric=True`` the comparison uses the allocentric rotation
    ``R_view^T R`` (see :mod:`rigidpose.net.pose_coding`; the view ray goes through
    ``centre_obj``), so that the choice depends on how the object looks in its crop, not
    on where the crop is in the image.
    """
    R_ref = np.eye(3) if R_ref is None else np.asarray(R_ref, dtype=np.float64)
    if not sym.is_symmetric:
        return np.eye(4)
    R = view_rotation(T_cam_obj.transform(centre_obj)).T @ T_cam_obj.R if allocentric else T_cam_obj.R
    return sym.closest(R_ref, R, max_step)


def canonicalise_pose(
    T_cam_obj: Pose,
    sym: Symmetries,
    R_ref: ArrayLike | None = None,
    *,
    allocentric: bool = True,
    max_step: float = BOP_MAX_SYM_DISC_STEP,
    centre_obj: ArrayLike = (0.0, 0.0, 0.0),
) -> Pose:
    """The symmetry-equivalent pose ``T_cam_obj @ S`` used for keypoint targets."""
    S = canonical_symmetry(T_cam_obj, sym, R_ref, allocentric=allocentric, max_step=max_step, centre_obj=centre_obj)
    return T_cam_obj @ Pose.from_matrix(S, T_cam_obj.child, T_cam_obj.child)
