"""``rigidpose model-info MESH``: units, size, diameter, keypoints and symmetries of a mesh."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "model-info",
        help="load a mesh and print its units, size, diameter, keypoints and symmetries",
        description="Load a PLY/OBJ/STL/GLB/GLTF mesh as rigidpose sees it (metres, object frame kept) "
        "and print its units, counts, diameter, extents, keypoints and detected symmetries.",
    )
    p.add_argument("mesh", metavar="MESH", help="mesh file (.ply, .obj, .stl, .glb, .gltf)")
    p.add_argument("--units", choices=["m", "cm", "mm", "in"], help="units of the file (default: infer from size)")
    p.add_argument("--keypoints", type=int, default=8, metavar="K", help="farthest-point keypoints (default 8)")
    p.add_argument("--symmetry-tol", type=float, default=None, metavar="F",
                   help="symmetry acceptance threshold, fraction of the diameter (default 0.01)")
    p.add_argument("--no-symmetry", action="store_true", help="skip symmetry detection (report none)")
    p.add_argument("--json", metavar="OUT.json", help="write a BOP models_info.json (millimetres) for this object")
    p.add_argument("--obj-id", type=int, default=1, metavar="N", help="object id for --json (default 1)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import time
    import warnings

    import numpy as np

    from rigidpose.errors import RigidposeError
    from rigidpose.objects import ObjectModel, Symmetries
    from rigidpose.objects.symmetry_detect import DEFAULT_TOL, detect_symmetries_report
    from rigidpose.objects.units import UnitsWarning

    if args.keypoints < 1:
        raise RigidposeError(f"--keypoints must be at least 1, got {args.keypoints}")
    tol = DEFAULT_TOL if args.symmetry_tol is None else args.symmetry_tol
    if not 0 < tol < 1:
        raise RigidposeError(f"--symmetry-tol must be between 0 and 1, got {tol}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnitsWarning)
        model = ObjectModel.load(args.mesh, args.units, obj_id=args.obj_id, symmetries=Symmetries())
    for w in caught:
        print(f"rigidpose model-info: warning: {w.message}", file=sys.stderr)
    t0 = time.perf_counter()
    if args.no_symmetry:
        report, sym = None, Symmetries()
    else:
        report = detect_symmetries_report(model, tol)
        sym = report.symmetries
    dt = time.perf_counter() - t0
    model = model.with_symmetries(sym)

    f3 = lambda a, s=1.0: "[" + ", ".join(f"{x * s:9.4f}" for x in a) + "]"  # noqa: E731
    print(f"model        {model.source_path}")
    print(f"units        {model.units} ({'inferred from size' if model.units_inferred else 'given'})")
    print(f"vertices     {len(model.vertices)}    faces {len(model.faces)}")
    print(f"diameter     {model.diameter:.6f} m  ({model.diameter * 1e3:.3f} mm)")
    print(f"extents  m   {f3(model.extents)}")
    print(f"bbox min m   {f3(model.bbox_min)}")
    print(f"bbox max m   {f3(model.bbox_min + model.extents)}")
    print(f"centre   m   {f3(model.centre)}")
    print(f"keypoints (m, {args.keypoints} farthest-point + centre last):")
    for i, kp in enumerate(model.keypoints(args.keypoints)):
        print(f"  {i:3d} {f3(kp)}")
    if report is None:
        print("symmetries   not detected (--no-symmetry)")
    else:
        print(f"symmetries   tol {tol:g}·d, sampling noise {report.noise:.4f}·d, detected in {dt:.2f} s")
        _print_symmetries(sym, np)
    if args.json:
        from rigidpose.bop.models_info import write_models_info

        write_models_info(args.json, {args.obj_id: model.info})
        print(f"wrote models_info entry {args.obj_id} (mm) to {args.json}")
    return 0


def _print_symmetries(sym, np) -> None:  # noqa: ANN001 - numpy module passed to keep imports lazy
    from rigidpose.geometry.rotations import matrix_to_axis_angle

    if not sym.is_symmetric:
        print("  none")
    for c in sym.continuous:
        print(f"  continuous  axis {np.round(c.axis, 4).tolist()}  through (m) {np.round(c.offset, 5).tolist()}")
    for T in sym.discrete:
        rv = matrix_to_axis_angle(T[:3, :3])
        ang = float(np.linalg.norm(rv))
        axis = rv / ang if ang > 0 else rv
        print(f"  discrete    {np.degrees(ang):6.1f}° about {np.round(axis, 4).tolist()}  t (m) {np.round(T[:3, 3], 5).tolist()}")
