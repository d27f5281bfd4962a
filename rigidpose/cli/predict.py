"""``rigidpose predict``: estimate poses in images, a video or a BOP split; write a BOP results CSV and overlays."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "predict", help="estimate object poses in images, a video or a BOP dataset split",
        description="Run the estimator (detector, pose network, PnP, silhouette fit, ICP with depth, optional tracking) and write "
        "a BOP results CSV (t in mm, time per image in s) and, with --overlay, overlay images (and a video).")
    p.add_argument("--checkpoint", required=True, metavar="RUN", help="run folder (RUN/best.*, RUN/detector/best.*) or checkpoint")
    p.add_argument("--camera", metavar="YAML", help="ROS camera_info YAML or BOP camera.json (default for --dataset: its cameras)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--image", nargs="+", metavar="PATH", help="image files")
    src.add_argument("--video", metavar="FILE", help="a video file (frames are im_id 0, 1, ...)")
    src.add_argument("--dataset", metavar="DIR", help="a BOP dataset (with --split)")
    p.add_argument("--split", default="test", help="split of --dataset (default test)")
    p.add_argument("--depth", nargs="*", metavar="PATH",
                   help="depth PNGs for --image (uint16, see --depth-scale); with --dataset, no paths: use its depth")
    p.add_argument("--depth-scale", type=float, default=1.0, help="millimetres per depth PNG unit (default 1.0)")
    p.add_argument("--icp", action=argparse.BooleanOptionalAction, default=True, help="refine with ICP when depth is given")
    p.add_argument("--depth-search", action=argparse.BooleanOptionalAction, default=True,
                   help="with depth: when ICP from the RGB pose is rejected or disagrees with the depth, also run ICP "
                   "from a grid of 240 rotations on the mask's depth, its pieces and other masks, and keep the result "
                   "the depth, mask and image edges agree with best (seconds per image on 2 cores)")
    # the estimator's default, depth_refine.CLUSTERS (not imported here: --help stays fast; a test checks)
    p.add_argument("--depth-clusters", type=int, default=3, metavar="N",
                   help="with --depth-search: when nothing else agrees, also search up to N things standing around "
                   "each detection box, each on its own (default 3; 0 is faster: 92.4 %% instead of 98.5 %% on the "
                   "bracket benchmark, docs/benchmarks.md, session 17)")
    p.add_argument("--silhouette", choices=["rgb", "always", "off"], default="rgb",
                   help="fit the model's silhouette to the network's mask sharpened with GrabCut, and keep the best "
                   "fit (needs the meshes, see --models; 0.2-0.4 s per object on 2 cores): on images without depth "
                   "(rgb, the default), on every image (always), or never (off: the network's heads alone)")
    p.add_argument("--recrop", action=argparse.BooleanOptionalAction, default=True,
                   help="on images without depth, crop an object again at its fitted silhouette's box where that box "
                   "overlaps the detector's by less than 0.8 IoU, and keep the better estimate (on the benchmarks "
                   "+1.5 to +4.6 points RGB-only for 1.3-1.6x the time; --no-recrop for speed)")
    p.add_argument("--track", action=argparse.BooleanOptionalAction, default=False, help="track over frames")
    p.add_argument("--detector", action=argparse.BooleanOptionalAction, default=True,
                   help="--no-detector: estimate in the GT boxes of --dataset instead (evaluation of the pose stage only)")
    p.add_argument("--models", metavar="DIR", help="BOP models folder for ICP/overlays (default: the training data's)")
    p.add_argument("--objects", type=int, nargs="+", metavar="ID", help="objects to estimate (default: all)")
    p.add_argument("--fusion", choices=["fused", "keypoints", "direct", "dense"], default="fused",
                   help="RGB pose stage: PnP on the dense coordinates (or, for networks without that head, the "
                   "keypoints) fused with the direct head (default), or one of them alone")
    p.add_argument("--detector-input", type=int, nargs="+", metavar="PX",
                   help="the detector's input long side(s) in pixels, multiples of 32; with several, it runs at each and "
                   "the boxes are merged (default: the size it was trained at and 1.5 times it); larger finds smaller "
                   "objects at more cost")
    p.add_argument("--score-threshold", type=float, default=0.3, help="minimum score (default 0.3)")
    p.add_argument("--out", required=True, metavar="CSV", help="BOP results CSV")
    p.add_argument("--overlay", metavar="OUTDIR", help="write overlay images (and overlay.mp4 for --video) here")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="show a progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from rigidpose.bop.results import ResultRow, write_results_csv
    from rigidpose.cli.predict_io import OverlaySink, frames, load_camera
    from rigidpose.errors import RigidposeError
    from rigidpose.estimate import Estimator

    if args.dataset is None and args.camera is None:
        raise RigidposeError("--camera is required with --image and --video")
    if not args.detector and args.dataset is None:
        raise RigidposeError("--no-detector needs --dataset (its GT boxes stand in for the detector)")
    camera = load_camera(args.camera) if args.camera else None
    use_depth = args.depth is not None
    est = Estimator.from_checkpoint(
        args.checkpoint, objects=args.objects, score_threshold=args.score_threshold, use_depth=use_depth,
        icp=args.icp, tracking=args.track, detector="auto" if args.detector else None,
        models=args.models or "auto", fusion=args.fusion, global_init=args.depth_search, depth_clusters=args.depth_clusters,
        detector_input=args.detector_input, silhouette=args.silhouette, recrop_iou=0.8 if args.recrop else 0.0)
    sink = OverlaySink(args.overlay, est, video=args.video is not None) if args.overlay else None
    rows: list[ResultRow] = []
    try:
        for f in tqdm(frames(args, camera), desc="predict", disable=not args.progress, unit="img"):
            ests = est.estimate(f.rgb, f.camera, f.depth, boxes=f.boxes)
            seconds = est.timings["total"] / 1000.0
            rows.extend(ResultRow(f.scene_id, f.im_id, e, seconds) for e in ests)
            if sink is not None:
                sink.add(f, ests)
    finally:
        if sink is not None:
            sink.close()
    write_results_csv(args.out, rows)
    ms = est.mean_timings()
    print(f"rigidpose predict: {est.frames} images, {len(rows)} estimates -> {args.out}; ms per image: "
          + ", ".join(f"{k} {v:.1f}" for k, v in ms.items()))
    return 0
