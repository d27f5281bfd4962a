"""Intrinsic calibration: solve, reject outlier views, parameter uncertainty, cross-validation.

All errors are reprojection errors in pixels. The RMS of a set of views is
``sqrt(mean over all corners of |uv_observed - uv_projected|²)``, as OpenCV reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from calibration.detect import Detection
from calibration.fisheye import fisheye_std
from rigidpose.errors import RigidposeError
from rigidpose.geometry import Camera

F64 = NDArray[np.float64]
MODELS = ("plumb_bob", "rational_polynomial", "fisheye")
#: Fewest views with a detected board that a calibration accepts.
MIN_VIEWS = 3
#: Parameter names in the order of ``calibrateCameraExtended``'s ``stdDeviationsIntrinsics``.
_PARAM_NAMES = ("fx", "fy", "cx", "cy", "k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6",
                "s1", "s2", "s3", "s4", "tx", "ty")
_FISHEYE_NAMES = ("fx", "fy", "cx", "cy", "k1", "k2", "k3", "k4")
#: Levenberg-Marquardt stopping rule. OpenCV's default (30 iterations) stops short of the
#: minimum on weakly constrained problems: on OpenCV's 4 ChArUco photos it leaves fx at 480
#: instead of 457 px (RMS 0.189 vs 0.188).
_CRITERIA = (3, 1000, 1e-14)  # TERM_CRITERIA_COUNT + TERM_CRITERIA_EPS


@dataclass(frozen=True)
class SolveOptions:
    """What to estimate.

    Attributes:
        model: ``plumb_bob`` (k1 k2 p1 p2 k3), ``rational_polynomial`` (+ k4 k5 k6) or ``fisheye``.
        fix_aspect: keep fx/fy fixed (at 1 unless a guess is given): square pixels.
        zero_tangent: fix p1 = p2 = 0.
    """

    model: str = "plumb_bob"
    fix_aspect: bool = False
    zero_tangent: bool = False

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise RigidposeError(f"unknown camera model {self.model!r}; use one of {', '.join(MODELS)}")
        if self.model == "fisheye" and (self.fix_aspect or self.zero_tangent):
            raise RigidposeError("--fix-aspect and --zero-tangent apply to plumb_bob and "
                                 "rational_polynomial, not to the fisheye model")


@dataclass
class Solution:
    """One solve over a set of views.

    Attributes:
        camera: the estimated camera.
        rms: overall RMS reprojection error, px.
        per_view: (n,) RMS error of each view, px.
        std: standard deviation of each free intrinsic parameter (fixed ones omitted),
            in the parameter's unit (px for fx fy cx cy, unitless for distortion).
        rvecs, tvecs: (n, 3) board poses ``T_cam_board`` (axis-angle rad, metres).
    """

    camera: Camera
    rms: float
    per_view: F64
    std: dict[str, float]
    rvecs: F64
    tvecs: F64


@dataclass
class CrossValidation:
    """k-fold cross-validation: each fold's views are held out, the rest calibrate.

    Attributes:
        k: number of folds.
        heldout_rms: RMS error over all held-out corners, px (board pose re-fit by PnP).
        fold_rms: (k,) held-out RMS of each fold, px.
        fx_spread: standard deviation of fx across the k training solves, px.
    """

    k: int
    heldout_rms: float
    fold_rms: F64
    fx_spread: float


@dataclass
class Calibration:
    """The final result: the solution on the kept views, plus what was rejected and CV."""

    solution: Solution
    views: list[Detection]
    rejected: list[tuple[str, float]] = field(default_factory=list)
    cv: CrossValidation | None = None
    options: SolveOptions = field(default_factory=SolveOptions)

    @property
    def camera(self) -> Camera:
        return self.solution.camera


def _flags(opt: SolveOptions) -> int:
    import cv2

    flags = 0
    if opt.model == "rational_polynomial":
        flags |= cv2.CALIB_RATIONAL_MODEL
    if opt.fix_aspect:
        flags |= cv2.CALIB_FIX_ASPECT_RATIO
    if opt.zero_tangent:
        flags |= cv2.CALIB_ZERO_TANGENT_DIST
    return flags


def _per_view_rms(views: list[Detection], camera: Camera, rvecs: F64, tvecs: F64) -> F64:
    from rigidpose.geometry import Pose

    out = np.empty(len(views))
    for i, v in enumerate(views):
        p_cam = Pose.from_rvec_tvec(rvecs[i], tvecs[i]).transform(v.object_points)
        out[i] = np.sqrt(np.mean(np.sum((camera.project(p_cam) - v.image_points) ** 2, axis=1)))
    return out


def solve(views: list[Detection], image_size: tuple[int, int], opt: SolveOptions) -> Solution:
    """Calibrate from ``views`` taken at ``image_size`` (W, H). Needs ``MIN_VIEWS`` views."""
    import cv2

    if len(views) < MIN_VIEWS:
        raise RigidposeError(f"{len(views)} views with a detected board; calibration needs at least {MIN_VIEWS}")
    W, H = image_size
    obj = [v.object_points.astype(np.float32).reshape(-1, 1, 3) for v in views]
    img = [v.image_points.astype(np.float32).reshape(-1, 1, 2) for v in views]
    try:
        if opt.model == "fisheye":
            return _solve_fisheye(views, image_size)
        rms, K, dist, rvecs, tvecs, std_i, _, per_view = cv2.calibrateCameraExtended(
            obj, img, (W, H), None, None, flags=_flags(opt), criteria=_CRITERIA)
    except cv2.error as exc:
        raise RigidposeError(f"OpenCV could not calibrate from these views: {str(exc).strip().splitlines()[-1]}") from None
    K[1, 0] = K[2, 0] = K[2, 1] = 0.0
    dist = np.asarray(dist, np.float64).reshape(-1)
    camera = Camera(K, W, H, opt.model, dist)
    std_all = np.asarray(std_i, np.float64).reshape(-1)
    std = {}
    for name, s in zip(_PARAM_NAMES[: 4 + dist.size], std_all):
        if s > 0:
            std[name] = float(s)
    if opt.fix_aspect and "fy" in std:  # fx = a * fy, so its std scales with fy's
        std["fx"] = std["fy"] * K[0, 0] / K[1, 1]
    return Solution(camera, float(rms), np.asarray(per_view, np.float64).reshape(-1), dict(
        sorted(std.items(), key=lambda kv: _PARAM_NAMES.index(kv[0]))),
        np.asarray(rvecs, np.float64).reshape(-1, 3), np.asarray(tvecs, np.float64).reshape(-1, 3))


def _solve_fisheye(views: list[Detection], image_size: tuple[int, int]) -> Solution:
    import cv2

    W, H = image_size
    obj = [v.object_points.reshape(1, -1, 3).astype(np.float64) for v in views]
    img = [v.image_points.reshape(1, -1, 2).astype(np.float64) for v in views]
    flags = cv2.fisheye.CALIB_RECOMPUTE_EXTRINSIC | cv2.fisheye.CALIB_FIX_SKEW
    rms, K, D, rvecs, tvecs = cv2.fisheye.calibrate(obj, img, (W, H), None, None, flags=flags, criteria=_CRITERIA)
    camera = Camera(K, W, H, "equidistant", np.asarray(D).reshape(-1))
    rvecs = np.asarray(rvecs, np.float64).reshape(-1, 3)
    tvecs = np.asarray(tvecs, np.float64).reshape(-1, 3)
    per_view = _per_view_rms(views, camera, rvecs, tvecs)
    std = dict(zip(_FISHEYE_NAMES, fisheye_std(views, camera, rvecs, tvecs)))
    return Solution(camera, float(rms), per_view, std, rvecs, tvecs)


def board_pose(view: Detection, camera: Camera) -> tuple[F64, F64]:
    """PnP pose ``T_cam_board`` (rvec (3,), tvec (3,)) of one view, distortion removed first."""
    import cv2

    rays = np.ascontiguousarray(camera.rays(view.image_points)[:, :2])
    ok, rvec, tvec = cv2.solvePnP(view.object_points, rays.reshape(-1, 1, 2), np.eye(3), None,
                                  flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        raise RigidposeError(f"{view.name}: PnP failed for the board pose")
    return rvec.reshape(3), tvec.reshape(3)


def reprojection_rms(view: Detection, camera: Camera) -> F64:
    """Per-corner reprojection errors (N,) in px of one view after a PnP pose fit."""
    from rigidpose.geometry import Pose

    rvec, tvec = board_pose(view, camera)
    proj = camera.project(Pose.from_rvec_tvec(rvec, tvec).transform(view.object_points))
    return np.linalg.norm(proj - view.image_points, axis=1)


def cross_validate(views: list[Detection], image_size: tuple[int, int], opt: SolveOptions,
                   k: int = 5) -> CrossValidation | None:
    """k-fold cross-validation; view ``i`` is in fold ``i % k``. ``None`` if too few views.

    Each training set must keep ``MIN_VIEWS`` views, so ``k`` is lowered to fit. The
    held-out error is the honest number: it says how well the intrinsics predict views
    they were not fitted to (a board pose is still fitted to each held-out view by PnP).
    """
    n = len(views)
    if n < MIN_VIEWS + 1:
        return None
    k = min(max(k, 2), n)
    while n - int(np.ceil(n / k)) < MIN_VIEWS:  # ends at k = n (leave one out)
        k += 1
    sq_sum, count, fold_rms, fxs = 0.0, 0, [], []
    for f in range(k):
        train = [v for i, v in enumerate(views) if i % k != f]
        test = [v for i, v in enumerate(views) if i % k == f]
        sol = solve(train, image_size, opt)
        fxs.append(sol.camera.fx)
        err = np.concatenate([reprojection_rms(v, sol.camera) for v in test])
        sq_sum += float(np.sum(err**2))
        count += err.size
        fold_rms.append(float(np.sqrt(np.mean(err**2))))
    return CrossValidation(k, float(np.sqrt(sq_sum / count)), np.array(fold_rms), float(np.std(fxs)))


def calibrate(views: list[Detection], image_size: tuple[int, int], opt: SolveOptions,
              reject_factor: float = 3.0, min_reject_px: float = 0.5, folds: int = 5) -> Calibration:
    """Solve; while the worst view's RMS is above ``reject_factor`` x the median (and above
    ``min_reject_px``), drop it and re-solve; then cross-validate on the kept views.

    ``reject_factor <= 0`` disables rejection; ``folds < 2`` disables cross-validation.
    """
    views = list(views)
    sol = solve(views, image_size, opt)
    rejected: list[tuple[str, float]] = []
    while reject_factor > 0:
        thr = max(reject_factor * float(np.median(sol.per_view)), min_reject_px)
        worst = int(np.argmax(sol.per_view))
        if sol.per_view[worst] <= thr or len(views) - 1 < MIN_VIEWS:
            break
        # one view at a time: a bad view drags the fit and inflates the others' errors
        rejected.append((views[worst].name, float(sol.per_view[worst])))
        views = views[:worst] + views[worst + 1 :]
        sol = solve(views, image_size, opt)
    cv = cross_validate(views, image_size, opt, folds) if folds >= 2 else None
    return Calibration(sol, views, rejected, cv, opt)
