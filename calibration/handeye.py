"""Hand-eye calibration: where the camera sits relative to the robot.

Both setups reduce to one equation. With ``G_i`` the robot pose of view ``i``,
``C_i = T_cam_board_i`` the board pose from PnP and ``X`` the unknown,
``G_i @ X @ C_i`` is the same transform for every view:

- eye-in-hand (camera on the gripper): ``G_i = T_base_gripper_i``, ``X = T_gripper_cam``,
  and ``G_i X C_i = T_base_board``;
- eye-to-hand (camera fixed, board on the gripper): ``G_i = T_gripper_base_i`` (inverse robot
  pose), ``X = T_base_cam``, and ``G_i X C_i = T_gripper_board``.

For views ``i, j``: ``A X = X B`` with ``A = G_j⁻¹ G_i`` and ``B = C_j C_i⁻¹``. The residuals
of that equation over all pairs (rotation in degrees, translation in mm) measure how
consistent a solution is with the data; the method with the lowest residuals is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from rigidpose.errors import RigidposeError
from rigidpose.geometry import Pose

SETUPS = ("eye-in-hand", "eye-to-hand")
#: Fewest views (robot pose + board pose) hand-eye calibration accepts.
MIN_HANDEYE_VIEWS = 3
HAND_EYE_METHODS = ("tsai", "park", "horaud", "andreff", "daniilidis")
ROBOT_WORLD_METHODS = ("shah", "li")


@dataclass(frozen=True)
class MethodResult:
    """One solver's answer and its AX=XB residuals (RMS over all view pairs).

    Attributes:
        name: method name, e.g. ``park`` or ``robot-world-shah``.
        X: the solved transform (``T_gripper_cam`` or ``T_base_cam``), metres.
        rot_deg: RMS rotation residual in degrees.
        trans_mm: RMS translation residual in millimetres.
    """

    name: str
    X: Pose
    rot_deg: float
    trans_mm: float


@dataclass(frozen=True)
class HandEyeResult:
    """All methods, the chosen one, and the constant transform it implies.

    Attributes:
        setup: ``eye-in-hand`` or ``eye-to-hand``.
        methods: one :class:`MethodResult` per solver, in a fixed order.
        best: the chosen method (lowest combined residual, see :func:`choose_best`).
        board: mean ``G_i X C_i`` for the best X: ``T_base_board`` (eye-in-hand) or
            ``T_gripper_board`` (eye-to-hand).
        n_views: views used.
    """

    setup: str
    methods: tuple[MethodResult, ...]
    best: MethodResult
    board: Pose
    n_views: int

    @property
    def frames(self) -> tuple[str, str]:
        """(parent, child) names of X."""
        return ("gripper", "cam") if self.setup == "eye-in-hand" else ("base", "cam")


def _check_setup(setup: str) -> None:
    if setup not in SETUPS:
        raise RigidposeError(f"unknown setup {setup!r}; use eye-in-hand or eye-to-hand")


def axxb_residuals(G: list[Pose], C: list[Pose], X: Pose) -> tuple[float, float]:
    """RMS of ``A X`` vs ``X B`` over all view pairs: (rotation deg, translation mm)."""
    rot, trans = [], []
    for i, j in combinations(range(len(G)), 2):
        A = G[j].inv() @ G[i]
        B = C[j] @ C[i].inv()
        AX, XB = A @ X, X @ B
        rot.append(np.degrees(AX.angle_to(XB)))
        trans.append(1000.0 * AX.distance_to(XB))
    return float(np.sqrt(np.mean(np.square(rot)))), float(np.sqrt(np.mean(np.square(trans))))


def mean_pose(poses: list[Pose]) -> Pose:
    """Chordal mean of rotations (SVD projection) and arithmetic mean of translations."""
    M = np.mean([p.R for p in poses], axis=0)
    U, _, Vt = np.linalg.svd(M)
    R = U @ np.diag([1.0, 1.0, np.linalg.det(U @ Vt)]) @ Vt
    return Pose(R, np.mean([p.t for p in poses], axis=0))


def choose_best(results: list[MethodResult]) -> MethodResult:
    """Lowest ``rot/min_rot + trans/min_trans``: both residuals relative to the best method's."""
    r0 = max(min(r.rot_deg for r in results), 1e-12)
    t0 = max(min(r.trans_mm for r in results), 1e-12)
    return min(results, key=lambda r: r.rot_deg / r0 + r.trans_mm / t0)


def _unpack(poses: list[Pose]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    return [p.R for p in poses], [p.t.reshape(3, 1) for p in poses]


def solve_handeye(T_base_gripper: list[Pose], T_cam_board: list[Pose], setup: str) -> HandEyeResult:
    """Solve with the five ``calibrateHandEye`` methods and both ``calibrateRobotWorldHandEye``
    methods; return them all with the best one chosen.

    Args:
        T_base_gripper: n robot poses (gripper in base frame), metres.
        T_cam_board: n board poses from PnP, in the same order.
        setup: ``eye-in-hand`` or ``eye-to-hand``.
    """
    import cv2

    _check_setup(setup)
    n = len(T_base_gripper)
    if n != len(T_cam_board):
        raise RigidposeError(f"{n} robot poses but {len(T_cam_board)} board poses")
    if n < MIN_HANDEYE_VIEWS:
        raise RigidposeError(f"hand-eye calibration needs at least {MIN_HANDEYE_VIEWS} views, got {n}")
    G = [p if setup == "eye-in-hand" else p.inv() for p in T_base_gripper]
    C = list(T_cam_board)
    RG, tG = _unpack(G)
    RC, tC = _unpack(C)
    results: list[MethodResult] = []
    for name in HAND_EYE_METHODS:
        flag = getattr(cv2, f"CALIB_HAND_EYE_{name.upper()}")
        R, t = cv2.calibrateHandEye(RG, tG, RC, tC, method=flag)
        results.append(_result(name, R, t, G, C))
    Gi = [g.inv() for g in G]
    RGi, tGi = _unpack(Gi)
    for name in ROBOT_WORLD_METHODS:
        flag = getattr(cv2, f"CALIB_ROBOT_WORLD_HAND_EYE_{name.upper()}")
        _, _, R_x_inv, t_x_inv = cv2.calibrateRobotWorldHandEye(RC, tC, RGi, tGi, method=flag)
        X_inv = Pose(_orthonormal(R_x_inv), np.reshape(t_x_inv, 3))
        results.append(_result(f"robot-world-{name}", X_inv.inv().R, X_inv.inv().t, G, C))
    best = choose_best(results)
    board = mean_pose([G[i] @ best.X @ C[i] for i in range(n)])
    return HandEyeResult(setup, tuple(results), best, board, n)


def _orthonormal(R: np.ndarray) -> np.ndarray:
    U, _, Vt = np.linalg.svd(np.asarray(R, np.float64))
    return U @ np.diag([1.0, 1.0, np.linalg.det(U @ Vt)]) @ Vt


def _result(name: str, R: np.ndarray, t: np.ndarray, G: list[Pose], C: list[Pose]) -> MethodResult:
    if R is None or not np.all(np.isfinite(R)) or not np.all(np.isfinite(t)):
        X = Pose.identity()
        return MethodResult(name, X, float("inf"), float("inf"))
    X = Pose(_orthonormal(R), np.reshape(t, 3))
    rot, trans = axxb_residuals(G, C, X)
    return MethodResult(name, X, rot, trans)


def rotation_spread_deg(T_base_gripper: list[Pose]) -> float:
    """Largest rotation angle between any two robot poses, degrees (small → ill-posed)."""
    return max(np.degrees(a.angle_to(b)) for a, b in combinations(T_base_gripper, 2))
