"""Automatic detection of rotational symmetries by the symmetric surface distance.

A candidate symmetry is a rotation by an angle about an axis through the surface
centroid ``c``. It is scored by how far the rotated surface lies from the original:
with ``P`` a query sample and ``Q`` an independent dense reference sample of the
surface (KD-tree), the score of rotation ``S`` is::

    score(S) = ½ (mean_p d(S p, Q) + mean_p d(S⁻¹ p, Q)) − mean_p d(p, Q)

i.e. the symmetric mean nearest-neighbour distance in excess of the sampling noise
(the last term, the score of the identity). ``S`` is accepted when
``score(S) ≤ tol · diameter``; the default ``tol`` is :data:`DEFAULT_TOL` = 1 % of the
diameter. Candidate axes are the principal axes of the surface's second moment, the
object frame's axes and their diagonal combinations; orders 2…8 are tried on each,
and an axis that passes a sweep of angles that no low-order group contains
(multiples of 2π/17) is continuous. Perpendicular 180° flips are then searched
for around continuous and ≥3-fold axes, and the accepted rotations are closed into
a group. Output is in BOP form (:class:`Symmetries`): rotations about the axis
through ``c``, so the object stays in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from rigidpose.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from rigidpose.objects.diameter import diameter as mesh_diameter
from rigidpose.objects.sampling import sample_surface
from rigidpose.objects.symmetries import ContinuousSymmetry, Symmetries
from rigidpose.objects.symmetry_group import close_group, dedupe_axes, in_plane_axes

F64 = NDArray[np.float64]

#: Default acceptance threshold: excess symmetric surface distance / diameter.
DEFAULT_TOL = 0.01
#: Discrete orders tried on each candidate axis.
ORDERS = (2, 3, 4, 5, 6, 7, 8)
#: An axis is continuous when rotations by 2πj/17, j = 1…8, all pass (17 is prime and
#: above the largest discrete order tried, so no finite group in ORDERS contains them).
_CONT_DIV = 17
_N_QUERY = 1500
_N_COARSE = 300
#: Coarse checks and candidate axes pass at this multiple of ``tol``; refined ones at ``tol``.
_COARSE_FACTOR = 2.0
_ICP_ITERS = 8
#: A refined candidate must also keep the excess 98th-percentile distance within
#: ``_TAIL_FACTOR * tol``, so small asymmetric features (a handle, a notch) are not
#: averaged away by the mean.
_TAIL_Q = 98.0
_TAIL_FACTOR = 2.0
#: Two axes within 5° are the same axis.
_SAME_AXIS_COS = float(np.cos(np.deg2rad(5.0)))
_MAX_REFINE_TILT = np.deg2rad(10.0)
_N_REF = 20000
_REF_SEED = 7
_QUERY_SEED = 11
_FLIP_SCAN_STEP = np.deg2rad(1.0)


@dataclass(frozen=True)
class AxisFinding:
    """What the detector concluded about one axis (through the centroid).

    Attributes:
        axis: (3,) unit vector.
        order: the discrete order (n for rotations by 2π/n) or 0 for continuous.
        score: relative score (excess mean distance / diameter), the worst over the
            rotations tested for this order.
    """

    axis: F64
    order: int
    score: float


@dataclass(frozen=True)
class SymmetryReport:
    """The detected symmetries with the evidence for them.

    Attributes:
        symmetries: the result in BOP form.
        centre: (3,) metres, the surface centroid all axes pass through.
        findings: one entry per accepted axis (order 0 = continuous), with its refined score.
        tol: the threshold used (relative to the diameter).
        noise: the identity's mean NN distance (sampling noise) / diameter.
    """

    symmetries: Symmetries
    centre: F64
    findings: tuple[AxisFinding, ...]
    tol: float
    noise: float


class _Scorer:
    """Scores rigid transforms of the centred surface against a KD-tree of it."""

    def __init__(self, mesh: trimesh.Trimesh, diameter: float) -> None:
        ref = sample_surface(mesh, _N_REF, seed=_REF_SEED)
        self.centre = ref.mean(axis=0)
        self.ref = ref - self.centre
        self.tree = cKDTree(self.ref)
        self.query = sample_surface(mesh, _N_QUERY, seed=_QUERY_SEED) - self.centre
        self.coarse = self.query[:: max(1, _N_QUERY // _N_COARSE)]
        self.diameter = diameter
        self.noise = self._mean_nn(self.query)
        self.coarse_noise = self._mean_nn(self.coarse)
        self.noise_tail = float(np.percentile(self.tree.query(self.query, k=1)[0], _TAIL_Q))

    def _mean_nn(self, pts: F64) -> float:
        return float(self.tree.query(pts, k=1)[0].mean())

    def score(self, R: F64, t: F64 | None = None, coarse: bool = False) -> float:
        """Excess symmetric mean NN distance of ``x ↦ R x + t`` (centred frame), relative to the diameter."""
        p, noise = (self.coarse, self.coarse_noise) if coarse else (self.query, self.noise)
        t = np.zeros(3) if t is None else t
        fwd = self._mean_nn(p @ R.T + t)
        back = self._mean_nn((p - t) @ R)
        return (0.5 * (fwd + back) - noise) / self.diameter

    def tail(self, R: F64, t: F64) -> float:
        """Excess 98th percentile of the symmetric NN distances of ``x ↦ R x + t``, relative to the diameter."""
        fwd = self.tree.query(self.query @ R.T + t, k=1)[0]
        back = self.tree.query((self.query - t) @ R, k=1)[0]
        return float(np.percentile(np.concatenate([fwd, back]), _TAIL_Q) - self.noise_tail) / self.diameter

    def refine(self, R: F64, iters: int = _ICP_ITERS) -> tuple[F64, F64]:
        """Point-to-point ICP from ``R``: the rigid transform (R, t) that best maps the surface onto itself."""
        t = np.zeros(3)
        p = self.query
        for _ in range(iters):
            _, idx = self.tree.query(p @ R.T + t, k=1)
            R, t = kabsch(p, self.ref[idx])
        return R, t


def kabsch(src: F64, dst: F64) -> tuple[F64, F64]:
    """Least-squares rigid transform (R (3, 3), t (3,)) with ``dst ≈ src @ R.T + t``."""
    cs, cd = src.mean(axis=0), dst.mean(axis=0)
    U, _, Vt = np.linalg.svd((src - cs).T @ (dst - cd))
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(Vt.T @ U.T))])
    R = Vt.T @ D @ U.T
    return R, cd - R @ cs


def _rot(axis: F64, angle: float) -> F64:
    return axis_angle_to_matrix(np.asarray(axis) * angle)


def candidate_axes(points: F64) -> F64:
    """Candidate symmetry axes (A, 3) for centred points (N, 3): principal, frame and diagonal axes."""
    _, vecs = np.linalg.eigh(points.T @ points / len(points))
    axes: list[F64] = []
    for e in (vecs.T, np.eye(3)):
        axes.extend(e)
        for i, j in ((0, 1), (0, 2), (1, 2)):
            axes.extend([(e[i] + e[j]) / np.sqrt(2), (e[i] - e[j]) / np.sqrt(2)])
        for s1 in (1, -1):
            for s2 in (1, -1):
                axes.append((e[0] + s1 * e[1] + s2 * e[2]) / np.sqrt(3))
    return dedupe_axes(np.asarray(axes), cos_tol=np.cos(np.deg2rad(1.0)))


def _passes(scorer: _Scorer, axis: F64, angles: list[float], tol: float) -> float:
    """Worst score over rotations by ``angles`` about ``axis``; inf once a coarse check fails."""
    worst = 0.0
    for a in angles:
        if scorer.score(_rot(axis, a), coarse=True) > _COARSE_FACTOR * tol:
            return np.inf
    for a in angles:
        worst = max(worst, scorer.score(_rot(axis, a)))
        if worst > _COARSE_FACTOR * tol:
            return worst
    return worst


def _analyse_axis(scorer: _Scorer, axis: F64, tol: float) -> list[AxisFinding]:
    """Loosely passing candidates on ``axis``: continuous (order 0) and every passing discrete order."""
    out: list[AxisFinding] = []
    cont = _passes(scorer, axis, [2 * np.pi * j / _CONT_DIV for j in range(1, _CONT_DIV // 2 + 1)], tol)
    if cont <= _COARSE_FACTOR * tol:
        out.append(AxisFinding(axis, 0, cont))
    for n in ORDERS:
        s = _passes(scorer, axis, [2 * np.pi * k / n for k in range(1, n // 2 + 1)], tol)
        if s <= _COARSE_FACTOR * tol:
            out.append(AxisFinding(axis, n, s))
    return out


def _refine(scorer: _Scorer, f: AxisFinding) -> _Generator | None:
    """ICP-refine a candidate, snap its angle back to 2π/order and re-score it exactly."""
    angle = np.pi / 2 if f.order == 0 else 2 * np.pi / f.order
    R, t = scorer.refine(_rot(f.axis, angle))
    rv = matrix_to_axis_angle(R)
    if np.linalg.norm(rv) < 1e-6:
        return None
    axis = rv / np.linalg.norm(rv)
    axis = axis if axis @ f.axis > 0 else -axis
    if axis @ f.axis < np.cos(_MAX_REFINE_TILT):
        return None
    # the point on the axis nearest the centroid: least squares of (I - R) x = t
    point = np.linalg.lstsq(np.eye(3) - R, t, rcond=None)[0]
    point -= axis * (axis @ point)
    angles = [np.pi / 2, 2 * np.pi / _CONT_DIV, 1.0] if f.order == 0 else [2 * np.pi * k / f.order for k in range(1, f.order // 2 + 1)]
    worst = max(scorer.score(*_about(axis, point, a)) for a in angles)
    tail = max(scorer.tail(*_about(axis, point, a)) for a in angles)
    return _Generator(axis, point, f.order, worst, tail)


def _about(axis: F64, point: F64, angle: float) -> tuple[F64, F64]:
    """(R, t) of the rotation by ``angle`` about the line through ``point`` along ``axis``."""
    R = _rot(axis, angle)
    return R, point - R @ point


@dataclass(frozen=True)
class _Generator:
    axis: F64
    point: F64
    order: int
    score: float
    tail: float

    def ok(self, tol: float) -> bool:
        return self.score <= tol and self.tail <= _TAIL_FACTOR * tol


def _find_flip(scorer: _Scorer, g: _Generator, tol: float) -> _Generator | None:
    """A 180° axis perpendicular to ``g`` (continuous or ≥3-fold), refined, or None."""
    period = np.pi if g.order == 0 else np.pi / g.order
    steps = 2 if g.order == 0 else max(1, int(np.ceil(period / _FLIP_SCAN_STEP)))
    cands = in_plane_axes(g.axis, np.arange(steps) * (period / steps))
    coarse = [scorer.score(*_about(a, g.point, np.pi), coarse=True) for a in cands]
    best = int(np.argmin(coarse))
    if coarse[best] > _COARSE_FACTOR * tol:
        return None
    flip = _refine(scorer, AxisFinding(cands[best], 2, coarse[best]))
    return flip if flip is not None and flip.ok(tol) else None


def _as_matrix(R: F64, t: F64, centre: F64) -> F64:
    """4x4 in the object frame of ``x ↦ R x + t`` acting on centred coordinates (x - centre)."""
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = centre + t - R @ centre
    return T


def detect_symmetries_report(model, tol: float = DEFAULT_TOL) -> SymmetryReport:
    """Detect the rotational symmetries of ``model`` (an ObjectModel or a metres Trimesh).

    Args:
        model: an object with ``.mesh`` (trimesh.Trimesh), or a Trimesh.
        tol: acceptance threshold on the excess symmetric mean surface distance,
            relative to the diameter (default 0.01 = 1 %).

    Returns:
        a :class:`SymmetryReport`: the symmetries plus the per-axis evidence.
    """
    if not tol > 0:
        raise ValueError(f"symmetry tolerance must be positive, got {tol}")
    mesh = getattr(model, "mesh", model)
    d = float(getattr(model, "diameter", 0.0)) or mesh_diameter(mesh.vertices)
    scorer = _Scorer(mesh, d)
    findings = [f for a in candidate_axes(scorer.ref) for f in _analyse_axis(scorer, a, tol)]
    accepted: list[_Generator] = []
    for f in sorted(findings, key=lambda f: (f.order != 0, -f.order, f.score)):
        if any(abs(f.axis @ g.axis) > _SAME_AXIS_COS for g in accepted):
            continue  # this axis already has a continuous or higher-order symmetry
        g = _refine(scorer, f)
        if g is not None and g.ok(tol) and all(abs(g.axis @ h.axis) <= _SAME_AXIS_COS for h in accepted):
            accepted.append(g)
    continuous = [g for g in accepted if g.order == 0]
    gens = [] if continuous else [g for g in accepted if g.order >= 2]
    main = continuous[:1] or [g for g in gens if g.order >= 3][:1]
    for g in main:
        has_flip = any(abs(h.axis @ g.axis) < 0.05 and h.order % 2 == 0 for h in gens)
        flip = None if has_flip else _find_flip(scorer, g, tol)
        if flip is not None:
            gens.append(flip)
    c = scorer.centre
    mats = [_as_matrix(*_about(g.axis, g.point, 2 * np.pi / (g.order or 2)), c) for g in gens]
    discrete = close_group(mats, scale=d) if mats else np.zeros((0, 4, 4))
    cont = tuple(ContinuousSymmetry(g.axis, c + g.point) for g in continuous[:1])
    summary = tuple(AxisFinding(g.axis, g.order, g.score) for g in accepted)
    return SymmetryReport(Symmetries(discrete, cont), c, summary, tol, scorer.noise / d)


def detect_symmetries(model, tol: float = DEFAULT_TOL) -> Symmetries:
    """The rotational symmetries of ``model``; see :func:`detect_symmetries_report`."""
    return detect_symmetries_report(model, tol).symmetries
