"""A second depth hypothesis that does not need the RGB pose: ICP from a grid of rotations.

ICP (:mod:`.icp`) only corrects a pose that is already close (it rejects turns over 30°).
When the RGB stages get the rotation wrong but the object's mask and depth are good, the
shape alone can still place the model. The observed points inside the mask are aligned
to the model's surface by point-to-plane ICP from each rotation of a grid
(:func:`rotation_grid`: 240 by default, every rotation within about 34° of one of them,
well inside ICP's basin for most parts), the translation started at the points' centroid pushed back along the
viewing ray. The distinct starts that end with the best overlap are returned; the caller
keeps those the depth image and mask agree with best (:func:`best_agreeing`), refines them
and ranks the results by that agreement (:func:`depth_agreement`).

This was chosen over FPFH features + RANSAC (open3d's ``registration_ransac_based_on_
feature_matching``) by measurement (``benchmarks/depth_init.py``, 40 random views of the
bracket 3–5.5 diameters away, 0.5 mm depth noise, each result refined by the same ICP):
the grid of 60 found 39 of 40 poses in 103 ms per view, FPFH + RANSAC 18 of 40 in 77 ms.
A partial view that far away leaves too few voxels for reliable FPFH matches. The same
benchmark with half of each view hidden (``--hide 0.5``) measured the denser grid
(docs/benchmarks.md, session 16).

Distances are fractions of the object diameter, so one configuration fits every object.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rigidpose.geometry import Camera, Pose
from rigidpose.objects.raycast import MeshRaycaster

F64 = NDArray[np.float64]

#: How much a silhouette pixel that something nearer hides counts in :func:`depth_agreement`
#: (0 = as a contradiction, 1 = as support). Half: an occluded pixel neither confirms nor
#: contradicts the pose. With 0, a partly hidden instance's right pose scored below poses
#: that fit its visible part and nothing else; on the bracket benchmark 0.5 took the depth
#: row with GT boxes from 84.8 to 87.9 % (docs/benchmarks.md).
OCCLUDED_WEIGHT = 0.5


#: :func:`depth_agreement` counts every second pixel in both directions: a fraction of the
#: silhouette's pixels needs no more, and ray-casting costs per pixel (docs/benchmarks.md, session 19).
AGREEMENT_STRIDE = 2

#: ... unless that samples fewer of the silhouette's pixels than this: a small or far part's
#: silhouette is then counted at every pixel. (In the bracket benchmark's images 0, 1, 2 and 5
#: every sample held more than 600.)
MIN_AGREEMENT_SAMPLES = 250


@dataclass(frozen=True)
class GlobalRegConfig:
    """Settings of :func:`grid_hypotheses`; lengths × the object diameter.

    Attributes:
        model_points: surface points sampled on the model (with face normals).
        max_points: observed points are subsampled to at most this many.
        min_points: fewer observed points → no hypothesis.
        corr_dists: correspondence distances of the coarse stage (every start) and the fine
            stage (the ``survivors`` best-overlapping coarse results).
        iterations: ICP iterations per stage.
        survivors: how many coarse results go on to the fine stage.
        push_back: the start translation is the observed centroid moved this far along its ray
            (the visible surface is in front of the object's centre).
        keep: how many of the best-overlapping starts are returned.
        grid: rotations in the grid (:func:`rotation_grid`; 60 is the icosahedral group).
        distinct_deg / distinct: a start within this many degrees and this share of the
            diameter (of the model's centre) of a better-overlapping one is dropped: many grid
            rotations end in the same place.
    """

    model_points: int = 1500
    max_points: int = 150
    min_points: int = 30
    corr_dists: tuple[float, ...] = (0.15, 0.05)
    iterations: int = 8
    survivors: int = 30
    push_back: float = 0.15
    keep: int = 30
    grid: int = 240
    distinct_deg: float = 5.0
    distinct: float = 0.05

    def __post_init__(self) -> None:
        counts = (self.model_points, self.max_points, self.min_points, self.iterations, self.survivors, self.keep,
                  self.grid)
        if min(counts) < 1 or not self.corr_dists or not all(c > 0 for c in self.corr_dists):
            raise ValueError(f"invalid grid search settings {self}: counts and distances must be positive")
        if not (self.distinct_deg >= 0 and self.distinct >= 0 and np.isfinite(self.push_back)):
            raise ValueError(f"invalid grid search settings {self}: distinct_deg, distinct and push_back")


def rotation_grid(count: int = 60) -> F64:
    """(count, 3, 3) rotations spread evenly over SO(3).

    60: the icosahedral group (neighbours about 45° apart). Otherwise a super-Fibonacci
    spiral (Alexa, CVPR 2022): ``count`` unit quaternions, each the next turn of two
    incommensurable spirals, spread nearly as evenly as an optimal packing for any count.
    """
    from scipy.spatial.transform import Rotation

    if count < 1:
        raise ValueError(f"the rotation grid needs at least one rotation, got {count}")
    if count == 60:
        return Rotation.create_group("I").as_matrix()
    phi, psi = np.sqrt(2.0), 1.533751168755204288118041  # psi: the real root of x**4 = x + 4
    s = np.arange(count) + 0.5
    r, R = np.sqrt(s / count), np.sqrt(1.0 - s / count)
    alpha, beta = 2.0 * np.pi * s / phi, 2.0 * np.pi * s / psi
    q = np.stack([r * np.sin(alpha), r * np.cos(alpha), R * np.sin(beta), R * np.cos(beta)], axis=1)
    return Rotation.from_quat(q).as_matrix()


class ModelCloud:
    """The model's surface points (object frame, metres) with face normals, for :func:`grid_hypotheses`."""

    def __init__(self, vertices: NDArray, faces: NDArray, diameter: float, config: GlobalRegConfig = GlobalRegConfig()):
        import open3d as o3d
        import trimesh

        mesh = trimesh.Trimesh(np.asarray(vertices, np.float64), np.asarray(faces), process=False)
        pts, face = trimesh.sample.sample_surface(mesh, config.model_points, seed=0)
        self.cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.asarray(pts, np.float64)))
        self.cloud.normals = o3d.utility.Vector3dVector(np.asarray(mesh.face_normals[face], np.float64))
        self.centre = 0.5 * (mesh.bounds[0] + mesh.bounds[1])
        self.diameter, self.config = float(diameter), config


def grid_hypotheses(model: ModelCloud, observed: F64, config: GlobalRegConfig | None = None) -> list[Pose]:
    """Up to ``config.keep`` candidate ``T_cam_obj`` for ``observed`` (N, 3) camera-frame points,
    best overlap first; empty when there are too few points. ``config``: the model's own when None."""
    import open3d as o3d

    reg = o3d.pipelines.registration
    cfg, d = config or model.config, model.diameter
    obs = np.asarray(observed, np.float64)
    if len(obs) < cfg.min_points:
        return []
    if len(obs) > cfg.max_points:
        obs = obs[np.linspace(0, len(obs) - 1, cfg.max_points).astype(int)]
    src = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(obs))
    c = obs.mean(axis=0)
    c = c + cfg.push_back * d * c / max(np.linalg.norm(c), 1e-9)

    def icp(start: F64, frac: float):
        dist = frac * d
        return reg.registration_icp(src, model.cloud, dist, start,
                                    reg.TransformationEstimationPointToPlane(reg.TukeyLoss(k=dist)),
                                    reg.ICPConvergenceCriteria(max_iteration=cfg.iterations))

    def rank(results) -> list:
        return sorted(results, key=lambda r: (r.fitness, -r.inlier_rmse), reverse=True)

    # coarse: every grid rotation; fine: the best `survivors` of those
    coarse = []
    for R in rotation_grid(cfg.grid):
        T_obj_cam = np.eye(4)  # ICP moves the observed points (camera frame) onto the model (object frame)
        T_obj_cam[:3, :3] = R.T
        T_obj_cam[:3, 3] = model.centre - R.T @ c
        coarse.append(icp(T_obj_cam, cfg.corr_dists[0]))
    fine = [icp(np.asarray(r.transformation), cfg.corr_dists[1]) for r in rank(coarse)[: cfg.survivors]]
    poses = [Pose.from_matrix(np.linalg.inv(np.asarray(r.transformation)), "cam", "obj") for r in rank(fine)]
    return distinct_poses(poses, model.centre, cfg.distinct_deg, cfg.distinct * d)[: cfg.keep]


def distinct_poses(poses: list[Pose], centre: F64, min_deg: float, min_shift: float) -> list[Pose]:
    """``poses`` (``T_cam_obj``) in their order, less each one within ``min_deg`` degrees and
    ``min_shift`` metres (of the object point ``centre`` (3,)) of one kept before it."""
    kept: list[Pose] = []
    for p in poses:
        c = p.transform(centre[None])[0]
        if all(np.degrees(p.angle_to(k)) > min_deg or np.linalg.norm(c - k.transform(centre[None])[0]) > min_shift
               for k in kept):
            kept.append(p)
    return kept


def best_agreeing(poses: list[Pose], caster: MeshRaycaster, camera: Camera, depth: NDArray, mask: NDArray | None,
                  diameter: float, count: int, within: float = 0.0) -> list[Pose]:
    """The ``count`` of ``poses`` that the depth and ``mask`` agree with best (:func:`depth_agreement`),
    best first, less those it agrees with less than ``within`` × the best one; with ``within``
    0, all of them in their order when there are no more than ``count``.

    A grid start is ranked by its overlap with the model, and a small visible patch (a part
    mostly hidden) overlaps the model fully at many wrong poses; how well the model rendered
    there explains the depth image tells them apart before the costlier ICP refinement."""
    if len(poses) <= 1 or (len(poses) <= count and within <= 0):
        return list(poses)
    agree = np.asarray([depth_agreement(p, caster, camera, depth, mask, diameter) for p in poses])
    order = np.argsort(-agree, kind="stable")[:count]
    return [poses[i] for i in order if agree[i] >= within * agree[order[0]]]


def _rendered_against_depth(pose: Pose, caster: MeshRaycaster, camera: Camera, depth: NDArray, diameter: float,
                            tol: float, stride: int = 1):
    """The model rendered at ``pose`` against ``depth``, every ``stride``-th pixel: (image, hit,
    close, front), the last three bool arrays the shape of the ray-cast ``image``'s; ``close``:
    silhouette pixels whose observed depth is within ``tol``·diameter of the model's, ``front``:
    those it lies further in front of."""
    img = caster.render(pose, camera, caster.footprint(pose, camera), normals=False, stride=stride)
    d_obs = np.asarray(img.sample(depth), np.float64)
    hit = img.hit
    close = np.isfinite(d_obs) & (np.abs(d_obs - img.depth) < tol * diameter) & hit
    front = np.isfinite(d_obs) & (d_obs > 0) & (d_obs < img.depth - tol * diameter) & hit
    return img, hit, close, front


def depth_agreement(pose: Pose, caster: MeshRaycaster, camera: Camera, depth: NDArray, mask: NDArray | None,
                    diameter: float, tol: float = 0.03, occluded_weight: float = OCCLUDED_WEIGHT,
                    stride: int = AGREEMENT_STRIDE) -> float:
    """How well the model at ``pose`` explains the depth image and the mask, in [0, 1].

    The mean of two fractions over the model's rendered silhouette: pixels whose observed
    depth (H, W, metres, 0 = invalid) is within ``tol``·diameter of the model's, and pixels
    inside ``mask`` (H, W bool, the visible mask; this half is 1 without a mask). A
    silhouette pixel whose observed depth lies more than ``tol``·diameter *in front of* the
    model's is occluded: it counts ``occluded_weight`` in both fractions (a pixel seen
    *behind* the model's surface contradicts the pose and counts 0). The fractions are taken
    over every ``stride``-th pixel in both directions, or over every pixel where that samples
    fewer than :data:`MIN_AGREEMENT_SAMPLES` of the silhouette.
    """
    img, hit, close, front = _rendered_against_depth(pose, caster, camera, depth, diameter, tol, stride)
    n = int(hit.sum())
    if n < MIN_AGREEMENT_SAMPLES and stride > 1:
        img, hit, close, front = _rendered_against_depth(pose, caster, camera, depth, diameter, tol)
        n = int(hit.sum())
    if n == 0:
        return 0.0
    nf = occluded_weight * np.count_nonzero(front)
    seen = hit & ~front
    inside = 1.0 if mask is None else (np.count_nonzero(img.sample(np.asarray(mask, bool)) & seen) + nf) / n
    return 0.5 * ((np.count_nonzero(close) + nf) / n + inside)


def explained_pixels(pose: Pose, caster: MeshRaycaster, camera: Camera, depth: NDArray, diameter: float,
                     tol: float = 0.03) -> NDArray[np.bool_]:
    """(H, W) bool: the pixels whose observed ``depth`` (H, W, metres) the model at ``pose``
    explains, its silhouette where the depth is within ``tol``·diameter of the model's
    (the agreeing pixels of :func:`depth_agreement`)."""
    img, _, close, _ = _rendered_against_depth(pose, caster, camera, depth, diameter, tol)
    x, y, w, h = img.roi
    out = np.zeros(np.shape(depth), bool)
    out[y : y + h, x : x + w] = close
    return out
