"""Whether the RGB-only estimates' covariances match their errors, on a trained network's masks.

Every target of a test set (visible fraction ≥ 0.1) is estimated without depth in its
ground-truth box (``Estimator.measure`` with the box given: crop net, silhouette fit,
polish, second crop). Among the estimates within ADD(-S) 0.1 d of the truth (the wrong ones
are outliers no covariance describes), each axis of the error
``(t − t_true, rotation vector of R R_trueᵀ)`` (camera frame, metres and radians, the
covariance's order) is compared with the predicted std: their RMS values, the median of
abs(error) / std (0.67 for a calibrated Gaussian; above, the covariance is optimistic), and
the share of estimates within 2 predicted std on all six axes (74 % for a calibrated Gaussian).
The baseline row, run beside the default, is the contour fit's Gauss–Newton covariance
alone (``SilhouetteConfig(correlated=False, outline_shift_px=0)``); the middle row adds the
residuals' correlation along the outline, the last the outline shift::

    .venv/bin/python benchmarks/covariance.py --run RUN --test TEST_DATASET [--limit N]

``RUN`` and ``TEST_DATASET`` are a ``benchmarks/accuracy.py`` work folder's ``run`` and ``test``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

AXES = ("x", "y", "z", "rx", "ry", "rz")


def errors(run: Path, test: Path, correlated: bool, outline_shift_px: float, limit: int
           ) -> tuple[np.ndarray, np.ndarray, int]:
    """(N, 6) errors and (N, 6) predicted variances of the right estimates, and the target count."""
    from rigidpose.bop import BopDataset
    from rigidpose.estimate import Estimator
    from rigidpose.estimate.silhouette import SilhouetteConfig, SilhouetteSearch
    from rigidpose.eval.pose_error import add, adi
    from rigidpose.eval.recall import MIN_VISIB_FRACT
    from rigidpose.errors import RigidposeError
    from rigidpose.estimate.covariance import pose_difference
    from rigidpose.estimate.symmetry import stable_pose

    ds = BopDataset(test)
    est = Estimator.from_checkpoint(run, use_depth=False, icp=False, detector=None, models=test / "models",
                                    score_threshold=0.0)
    est.silhouette = SilhouetteSearch(SilhouetteConfig(correlated=correlated, outline_shift_px=outline_shift_px))
    infos, meshes = ds.models_info, est.meshes
    if meshes is None:
        raise RigidposeError(f"no object meshes in {test / 'models'}: the silhouette fit needs them")
    errs, variances, n = [], [], 0
    for scene in ds.scenes("train_synth"):
        gts, gt_infos = ds.gt("train_synth", scene), ds.gt_info("train_synth", scene)
        for im in ds.image_ids("train_synth", scene):
            rgb, camera = ds.read_rgb("train_synth", scene, im), ds.image_camera("train_synth", scene, im).camera
            for g, gi in zip(gts[im], gt_infos[im]):
                if gi.visib_fract < MIN_VISIB_FRACT or (limit and n >= limit):
                    continue
                n += 1
                ms = est.measure(rgb, camera, None, boxes=[(g.obj_id, np.asarray(gi.bbox_visib, float))])
                if not ms or ms[0].estimate.covariance is None:
                    continue
                e, T = ms[0].estimate, g.pose
                info, pts = infos[g.obj_id], meshes[g.obj_id].vertices
                metric = adi if info.symmetries.is_symmetric else add
                if metric(e.pose.R, e.pose.t, T.R, T.t, pts) >= 0.1 * info.diameter:
                    continue
                # a symmetric object's error is to the symmetry-equivalent truth closest to the estimate
                errs.append(pose_difference(stable_pose(T, info.symmetries, e.pose), e.pose))
                variances.append(np.diag(e.covariance))
    return np.array(errs).reshape(-1, 6), np.array(variances).reshape(-1, 6), n


def main(argv: list[str] | None = None) -> int:
    from rigidpose.errors import RigidposeError

    try:
        return table(argv)
    except RigidposeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def table(argv: list[str] | None) -> int:
    """Parse ``argv``, run the three rows and print the table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", required=True, help="a rigidpose train run folder")
    p.add_argument("--test", required=True, help="a BOP test dataset (split train_synth) with its models")
    p.add_argument("--limit", type=int, default=0, help="at most this many targets (default: all)")
    args = p.parse_args(argv)
    head = ("| covariance | right / targets | "
            + " | ".join(f"{a}: RMS error, predicted std, median abs(error) / std" for a in AXES)
            + " | within 2 std on all axes (%) |")
    lines = [head, "|" + "---|" * (len(AXES) + 3)]
    rows = (("contour fit (+ polish move), baseline", False, 0.0), ("+ correlation along the outline", True, 0.0),
            ("+ outline shift 1 px (default)", True, 1.0))
    for name, correlated, shift in rows:
        e, var, n = errors(Path(args.run), Path(args.test), correlated, shift, args.limit)
        if not len(e):
            lines.append(f"| {name} | 0 / {n} |" + " — |" * (len(AXES) + 1))
            continue
        rms, std = np.sqrt(np.mean(e**2, axis=0)), np.sqrt(np.mean(var, axis=0))
        z = np.abs(e) / np.sqrt(var)
        units = [1e3] * 3 + [np.degrees(1.0)] * 3  # mm and degrees
        cells = [f"{r * u:.2f}, {s * u:.2f}, {m:.2f}" for r, s, u, m in zip(rms, std, units, np.median(z, axis=0))]
        within = 100.0 * np.mean(np.all(z <= 2.0, axis=1))
        lines.append(f"| {name} | {len(e)} / {n} | " + " | ".join(cells) + f" | {within:.0f} |")
    print("translation in mm, rotation in degrees; a calibrated Gaussian gives a median abs(error) / std of 0.67 "
          "and 74 % within 2 std on all six axes\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
