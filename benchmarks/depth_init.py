"""Pose from depth alone: ICP from a rotation grid (the estimator's) against FPFH + RANSAC.

Renders the bracket (or ``--mesh``) at random poses 3–5.5 diameters away with 0.5 mm depth
noise, takes the depth inside the exact visible mask, and asks each method for a pose with
no prior. Each method's starts are refined by the estimator's ICP and the result the depth
agrees with best is kept; a view counts as found when its rotation is within 2° and its
translation within 0.02·d. ``--hide F`` puts a plate 0.3·d in front of the left F of each
view's silhouette box, as an occluder hides a part. Prints a Markdown table::

    .venv/bin/python benchmarks/depth_init.py [--views 40] [--hide 0.5] [--mesh part.ply]

Rows: the estimator's search of a whole mask (240 rotations, the 10 starts of the 30 best
overlaps that the depth agrees with best refined, less those it agrees with less than 0.7 ×
the best one's); the same without that cut (before session 19); the grid it had before (60 rotations,
the 3 best overlaps refined; still its search of mask pieces and re-cut masks); and open3d's
``registration_ransac_based_on_feature_matching`` on FPFH features (voxel 0.04·d, 40k
iterations, mutual filter).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rigidpose.estimate.depth_refine import FALLBACK_GRID, REFINE_STARTS, START_WITHIN, observed_points
from rigidpose.estimate.global_reg import GlobalRegConfig, ModelCloud, best_agreeing, depth_agreement, grid_hypotheses
from rigidpose.estimate.icp import refine_icp
from rigidpose.geometry import Camera, Pose, random_rotation
from rigidpose.objects.raycast import MeshRaycaster

CAM = Camera(np.array([[600.0, 0, 320], [0, 600.0, 240], [0, 0, 1]]), 640, 480)


def fpfh_ransac(vertices, faces, diameter: float, voxel_frac: float = 0.04, iterations: int = 40000):
    """The baseline: a callable observed (N, 3) → candidate poses (at most one)."""
    import open3d as o3d

    reg = o3d.pipelines.registration
    model = ModelCloud(vertices, faces, diameter, GlobalRegConfig(model_points=4000)).cloud
    voxel = voxel_frac * diameter
    model = model.voxel_down_sample(voxel)

    def fpfh(cloud):
        return reg.compute_fpfh_feature(cloud, o3d.geometry.KDTreeSearchParamHybrid(radius=5 * voxel, max_nn=100))

    model_f = fpfh(model)

    def run(observed):
        scene = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(observed)).voxel_down_sample(voxel)
        if len(scene.points) < 30:
            return []
        scene.estimate_normals(o3d.geometry.KDTreeSearchParamHybrid(radius=2 * voxel, max_nn=30))
        scene.orient_normals_towards_camera_location(np.zeros(3))
        dist = 0.05 * diameter
        res = reg.registration_ransac_based_on_feature_matching(
            model, scene, model_f, fpfh(scene), True, dist, reg.TransformationEstimationPointToPoint(False), 3,
            [reg.CorrespondenceCheckerBasedOnEdgeLength(0.9), reg.CorrespondenceCheckerBasedOnDistance(dist)],
            reg.RANSACConvergenceCriteria(iterations, 0.999))
        return [Pose.from_matrix(np.asarray(res.transformation), "cam", "obj")] if res.fitness > 0 else []

    return run


def hide(depth, hit, plate_z: float, share: float):
    """``depth`` with a plate at ``plate_z`` metres over the left ``share`` of ``hit``'s box, and the visible mask."""
    if share == 0.0:
        return depth, hit
    rows, cols = np.nonzero(hit)
    plate = np.zeros_like(hit)
    plate[rows.min() : rows.max() + 1, : int(cols.min() + share * (cols.max() + 1 - cols.min()))] = True
    return np.where(plate, plate_z, depth).astype(np.float32), hit & ~plate


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--views", type=int, default=40)
    p.add_argument("--mesh", help="mesh file in metres (default: the bundled bracket)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hide", type=float, default=0.0,
                   help="share of each silhouette's box (from the left) hidden by a plate in front (default 0)")
    args = p.parse_args()
    if not 0.0 <= args.hide < 1.0:
        p.error(f"--hide must be in [0, 1), got {args.hide}")
    import open3d as o3d

    o3d.utility.set_verbosity_level(o3d.utility.VerbosityLevel.Error)
    if args.mesh:
        import trimesh

        mesh = trimesh.load(args.mesh, force="mesh")
    else:
        from rigidpose.objects.parts import bracket

        mesh = bracket()
    caster = MeshRaycaster(mesh.vertices, mesh.faces)
    d = float(np.linalg.norm(mesh.extents))
    cloud = ModelCloud(mesh.vertices, mesh.faces, d)
    dense, old = cloud.config, FALLBACK_GRID
    methods = {
        f"{dense.grid} rotations, {REFINE_STARTS} starts by depth agreement, within {START_WITHIN} × the best (estimator)":
            lambda obs, depth, mask: best_agreeing(grid_hypotheses(cloud, obs), caster, CAM, depth, mask, d,
                                                   REFINE_STARTS, START_WITHIN),
        f"{dense.grid} rotations, {REFINE_STARTS} starts by depth agreement (before session 19)":
            lambda obs, depth, mask: best_agreeing(grid_hypotheses(cloud, obs), caster, CAM, depth, mask, d,
                                                   REFINE_STARTS),
        f"{old.grid} rotations, {old.keep} best overlaps (before; pieces and re-cuts)":
            lambda obs, depth, mask: grid_hypotheses(cloud, obs, old),
        "FPFH + RANSAC (baseline)": lambda obs, depth, mask, f=fpfh_ransac(mesh.vertices, mesh.faces, d): f(obs),
    }
    rng = np.random.default_rng(args.seed)
    views = []
    for _ in range(args.views):
        T = Pose(random_rotation(rng), [rng.uniform(-0.4, 0.4) * d, rng.uniform(-0.3, 0.3) * d, rng.uniform(3, 5.5) * d],
                 "cam", "obj")
        img = caster.render(T, CAM)
        depth = img.depth.copy()
        depth[img.hit] += rng.normal(0, 0.0005, int(img.hit.sum())).astype(np.float32)
        views.append((T, *hide(depth, img.hit, T.t[2] - 0.3 * d, args.hide)))
    print(f"{len(views)} views, diameter {d * 1000:.1f} mm, depth noise 0.5 mm, "
          f"{100 * args.hide:.0f} % of each silhouette's box hidden\n")
    print("| method | found (< 2°, < 0.02 d after ICP) | ms per view (hypotheses + ICP) |\n|---|---|---|")
    for name, method in methods.items():
        found, seconds = 0, 0.0
        for T, depth, mask in views:
            t0 = time.perf_counter()
            obs = observed_points(CAM, depth, mask, d)
            refined = [refine_icp(s, caster, d, CAM, depth, mask) for s in method(obs, depth, mask)]
            ok = [r.pose for r in refined if r.accepted]
            best = max(ok, key=lambda q: depth_agreement(q, caster, CAM, depth, mask, d)) if ok else None
            seconds += time.perf_counter() - t0
            found += best is not None and np.degrees(best.angle_to(T)) < 2 and best.distance_to(T) < 0.02 * d
        print(f"| {name} | {found} / {len(views)} | {1000 * seconds / len(views):.0f} |")


if __name__ == "__main__":
    main()
