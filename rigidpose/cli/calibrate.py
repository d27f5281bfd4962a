"""``rigidpose calibrate``: printable boards, camera intrinsics and hand-eye calibration.

A thin adapter over the ``calibration`` package: parse, call, print.
"""

from __future__ import annotations

import argparse

SPEC_HELP = """board spec formats (lengths in metres):
  chessboard:COLSxROWS:SQUARE_M
      COLS x ROWS *inner corners* (OpenCV patternSize), e.g. chessboard:9x6:0.025
      is 10 x 7 squares of 25 mm. Use cols+rows odd for hand-eye (unambiguous pose).
  charuco:COLSxROWS:SQUARE_M:MARKER_M:DICT[:legacy]
      COLS x ROWS *squares*, e.g. charuco:5x7:0.04:0.02:DICT_6X6_250. Add :legacy for
      boards made with OpenCV < 4.6 (matters when ROWS is even)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "calibrate", help="calibrate a camera: printable boards, intrinsics, hand-eye",
        description="Camera calibration: print a board, estimate intrinsics with uncertainty, "
        "cross-validation and coverage, and solve hand-eye calibration.",
        epilog=SPEC_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="calibrate_command", metavar="STEP")
    p.set_defaults(run=lambda args: (p.print_help(), 2)[1])
    _register_board(sub)
    _register_intrinsics(sub)
    _register_handeye(sub)


def _parser(sub, name: str, help_: str, description: str) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help_, description=description, epilog=SPEC_HELP,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _add_progress(p: argparse.ArgumentParser) -> None:
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                   help="show a progress bar over the images (default on)")


def _register_board(sub) -> None:
    p = _parser(sub, "board", "write a printable board (PNG at a DPI, PDF at exact size)",
                "Render a calibration board as a PNG (DPI stored in the file) and/or a PDF whose page "
                "is the board at its exact physical size plus margins. Print at 100 %% and measure "
                "a square. Prints the spec string to pass to the other steps.")
    p.add_argument("--board", required=True, metavar="SPEC", help="board spec (see below)")
    p.add_argument("--png", metavar="FILE", help="write a PNG here")
    p.add_argument("--pdf", metavar="FILE", help="write a PDF here")
    p.add_argument("--dpi", type=float, default=300.0, help="PNG resolution in dots per inch (default 300)")
    p.add_argument("--margin-mm", type=float, default=10.0, help="white margin around the board, mm (default 10)")
    p.set_defaults(run=run_board)


def _register_intrinsics(sub) -> None:
    p = _parser(sub, "intrinsics", "estimate K and distortion from board images or a video",
                "Detect the board, calibrate (OpenCV calibrateCameraExtended), reject outlier views "
                "and re-solve, and report RMS, per-view errors, the std of every parameter, k-fold "
                "cross-validation (error on held-out views) and image coverage. Writes ROS "
                "camera_info YAML, and optionally BOP camera.json, a coverage heatmap and an "
                "undistorted preview.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--images", metavar="GLOB", help="quoted glob of images, e.g. 'calib/*.jpg'")
    src.add_argument("--video", metavar="FILE", help="a video; frames that add coverage are kept")
    p.add_argument("--every", type=int, default=1, metavar="N", help="video: look at every N-th frame (default 1)")
    p.add_argument("--max-frames", type=int, default=60, help="video: keep at most this many frames (default 60)")
    p.add_argument("--board", required=True, metavar="SPEC", help="board spec (see below)")
    p.add_argument("--model", choices=("plumb_bob", "rational_polynomial", "fisheye"), default="plumb_bob",
                   help="lens model: plumb_bob (k1 k2 p1 p2 k3, default), rational_polynomial "
                   "(+ k4 k5 k6, wide lenses), fisheye (equidistant k1..k4)")
    p.add_argument("--fix-aspect", action=argparse.BooleanOptionalAction, default=False,
                   help="force fx = fy (square pixels)")
    p.add_argument("--zero-tangent", action=argparse.BooleanOptionalAction, default=False,
                   help="force p1 = p2 = 0")
    p.add_argument("--detector", choices=("classic", "sb"), default="classic",
                   help="chessboard detector tried first: classic (findChessboardCorners + "
                   "cornerSubPix, default) or sb (findChessboardCornersSB); the other is the fallback")
    p.add_argument("--reject", type=float, default=3.0, metavar="FACTOR",
                   help="reject views whose RMS exceeds FACTOR x the median (and 0.5 px), then "
                   "re-solve; 0 disables (default 3)")
    p.add_argument("--folds", type=int, default=5, help="k for k-fold cross-validation; <2 disables (default 5)")
    p.add_argument("--out", required=True, metavar="camera.yaml", help="ROS camera_info YAML to write")
    p.add_argument("--camera-name", default="camera", help="camera_name in the YAML (default camera)")
    p.add_argument("--bop", metavar="camera.json", help="also write a BOP camera.json")
    p.add_argument("--coverage", metavar="PNG", help="write the coverage heatmap here")
    p.add_argument("--preview", metavar="IMAGE", help="write an original | undistorted preview here")
    _add_progress(p)
    p.set_defaults(run=run_intrinsics)


def _register_handeye(sub) -> None:
    p = _parser(sub, "handeye", "solve hand-eye calibration (AX=XB) from robot poses and board images",
                "Find the board pose in every image by PnP, solve hand-eye calibration with all five "
                "cv2.calibrateHandEye methods and both calibrateRobotWorldHandEye methods, report the "
                "AX=XB residuals of each (rotation deg, translation mm), choose the most consistent, "
                "and write it as YAML with a static_transform_publisher line and ROS parameters. "
                "eye-in-hand solves T_gripper_cam; eye-to-hand solves T_base_cam.")
    p.add_argument("--setup", choices=("eye-in-hand", "eye-to-hand"), required=True,
                   help="eye-in-hand: camera on the gripper; eye-to-hand: fixed camera, board on the gripper")
    p.add_argument("--robot-poses", required=True, metavar="poses.yaml",
                   help="gripper-in-base poses, one per image in sorted image order, metres: a list of "
                   "{xyz: [x,y,z], quat: [qx,qy,qz,qw]} or {matrix: 4x4}")
    p.add_argument("--images", required=True, metavar="GLOB", help="quoted glob of board images")
    p.add_argument("--camera", required=True, metavar="camera.yaml", help="ROS camera_info YAML (intrinsics)")
    p.add_argument("--board", required=True, metavar="SPEC", help="board spec (see below)")
    p.add_argument("--out", required=True, metavar="handeye.yaml", help="YAML to write")
    p.add_argument("--parent-frame", help="tf parent frame (default tool0 for eye-in-hand, base_link otherwise)")
    p.add_argument("--child-frame", default="camera_optical_frame", help="tf child frame (default camera_optical_frame)")
    p.add_argument("--node-name", default="rigidpose_node", help="node name in the ROS parameter snippet")
    _add_progress(p)
    p.set_defaults(run=run_handeye)


def _progress(enabled: bool, desc: str):
    from tqdm import tqdm

    return lambda it, total: tqdm(it, total=total or None, desc=desc, unit="img", disable=not enabled,
                                  leave=False)


def run_board(args: argparse.Namespace) -> int:
    from calibration.board import parse_board_spec, write_pdf, write_png
    from rigidpose.errors import RigidposeError

    spec = parse_board_spec(args.board)
    if not args.png and not args.pdf:
        raise RigidposeError("nothing to write: give --png FILE and/or --pdf FILE")
    if args.margin_mm < 0:
        raise RigidposeError(f"--margin-mm must be >= 0, got {args.margin_mm}")
    margin = args.margin_mm / 1000.0
    w, h = spec.size_m
    sc, sr = spec.squares
    print(f"board: {sc}x{sr} squares, {w * 1000:.1f} x {h * 1000:.1f} mm, {spec.n_corners} corners")
    if spec.symmetric:
        print("note: this chessboard looks the same rotated 180 degrees; fine for intrinsics, "
              "ambiguous for hand-eye (use cols+rows odd)")
    if args.png:
        W, H = write_png(spec, args.png, args.dpi, margin)
        print(f"wrote {args.png} ({W}x{H} px at {args.dpi:g} dpi)")
    if args.pdf:
        pw, ph = write_pdf(spec, args.pdf, margin)
        print(f"wrote {args.pdf} (page {pw * 1000:.1f} x {ph * 1000:.1f} mm; print at 100 %)")
    print(f"spec: {spec}")
    return 0


def run_intrinsics(args: argparse.Namespace) -> int:
    from calibration.board import parse_board_spec
    from calibration.intrinsics import detect_images, detect_video, format_report, run_intrinsics as solve
    from calibration.intrinsics import write_outputs
    from calibration.solve import SolveOptions

    spec = parse_board_spec(args.board)
    opt = SolveOptions(args.model, args.fix_aspect, args.zero_tangent)
    bar = _progress(args.progress, "detecting")
    if args.images:
        run = detect_images(args.images, spec, args.detector, bar)
    else:
        run = detect_video(args.video, spec, args.every, args.detector, max_frames=args.max_frames, progress=bar)
    cal, cov = solve(run, spec, opt, args.reject, args.folds)
    print(format_report(cal, cov, run))
    print(f"camera: {cal.camera}")
    for path in write_outputs(cal, cov, run, args.out, args.camera_name, args.bop, args.coverage, args.preview):
        print(f"wrote {path}")
    return 0


def run_handeye(args: argparse.Namespace) -> int:
    import numpy as np

    from calibration.board import parse_board_spec
    from calibration.handeye import MIN_HANDEYE_VIEWS, rotation_spread_deg, solve_handeye
    from calibration.handeye_io import board_poses_from_images, load_robot_poses, write_handeye_yaml
    from calibration.io import expand_glob
    from rigidpose.errors import RigidposeError
    from rigidpose.geometry import Camera

    spec = parse_board_spec(args.board)
    camera = Camera.from_ros_yaml(args.camera)
    robot = load_robot_poses(args.robot_poses)
    paths = expand_glob(args.images)
    if len(robot) != len(paths):
        raise RigidposeError(f"{len(robot)} robot poses in {args.robot_poses} but {len(paths)} images match "
                             f"{args.images!r}; give exactly one pose per image, in sorted image order")
    boards, errs = board_poses_from_images(paths, spec, camera, _progress(args.progress, "board poses"))
    keep = [i for i, b in enumerate(boards) if b is not None]
    for i in set(range(len(paths))) - set(keep):
        print(f"board not found in {paths[i].name}: view skipped")
    if len(keep) < MIN_HANDEYE_VIEWS:
        raise RigidposeError(f"the board was found in {len(keep)} of {len(paths)} images; "
                             f"hand-eye calibration needs at least {MIN_HANDEYE_VIEWS}")
    print(f"board PnP reprojection RMS: median {np.nanmedian(errs):.3f} px, worst {np.nanmax(errs):.3f} px")
    robot_kept = [robot[i] for i in keep]
    spread = rotation_spread_deg(robot_kept)
    if spread < 30.0:
        print(f"warning: robot rotations span only {spread:.1f} deg; use larger, varied rotations")
    result = solve_handeye(robot_kept, [boards[i] for i in keep], args.setup)
    print(f"{'method':<20} {'rot RMS (deg)':>14} {'trans RMS (mm)':>15}   AX=XB over all view pairs")
    for r in result.methods:
        mark = "  <- chosen" if r is result.best else ""
        print(f"{r.name:<20} {r.rot_deg:14.4f} {r.trans_mm:15.3f}{mark}")
    parent = args.parent_frame or ("tool0" if args.setup == "eye-in-hand" else "base_link")
    d = write_handeye_yaml(result, args.out, parent, args.child_frame, args.node_name)
    print(f"{d['transform']} ({result.best.name}): t = {np.round(d['translation'], 5).tolist()} m, "
          f"q_xyzw = {np.round(d['quaternion_xyzw'], 6).tolist()}")
    print(d["static_transform_publisher"])
    print(d["ros_parameters"], end="")
    print(f"wrote {args.out}")
    return 0
