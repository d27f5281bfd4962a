"""``rigidpose synth``: render a labelled synthetic BOP dataset from CAD models."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "synth",
        help="render a synthetic BOP dataset from CAD models",
        description="Render randomised scenes of the given models and write a BOP dataset: "
        "models/ (PLY in mm), camera.json, train_synth/NNNNNN/ chunks and preview.png.",
    )
    p.add_argument("--model", action="append", required=True, metavar="MESH",
                   help="a PLY/OBJ/STL/GLB/GLTF model; repeat for several objects (obj_id 1, 2, ...)")
    p.add_argument("--units", choices=["m", "cm", "mm", "in"], default=None,
                   help="units of the model files (default: inferred from their size)")
    p.add_argument("--out", required=True, metavar="DIR", help="output dataset folder")
    p.add_argument("--images", type=int, required=True, metavar="N", help="number of images")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--workers", type=int, default=1, metavar="W", help="parallel processes (default 1)")
    p.add_argument("--config", metavar="YAML", help="scene and randomisation settings (see docs/synth.md)")
    p.add_argument("--camera", metavar="YAML", help="ROS camera_info YAML (default 640x480, 60 deg)")
    p.add_argument("--renderer", default="auto",
                   choices=["auto", "moderngl", "pyrender", "pyrender-egl", "pyrender-osmesa"],
                   help="rendering backend (default: auto = moderngl)")
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=False,
                   help="continue a run in DIR, skipping complete chunks")
    p.add_argument("--ray", metavar="ADDRESS", help="send chunks to a Ray cluster ('auto' or an address)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="show a progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from synth.run import prepare_job, run_synth

    job, objs = prepare_job(args.model, args.out, args.images, seed=args.seed, config=args.config,
                            camera=args.camera, renderer=args.renderer, resume=args.resume, units=args.units)
    stats = run_synth(job, objs, args.model, workers=args.workers, ray=args.ray, show_progress=args.progress)
    rate = stats["images_rendered"] / stats["seconds"] if stats["seconds"] > 0 else 0.0
    print(f"rigidpose synth: {stats['images_rendered']} images in {stats['rendered_chunks']} chunks "
          f"({stats['skipped_chunks']} already complete), {rate:.1f} img/s -> {job.out}")
    return 0
