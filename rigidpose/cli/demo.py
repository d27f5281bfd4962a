"""``rigidpose demo``: the whole chain on the bundled part, from CAD model to scored poses.

Each step is one of the ``rigidpose`` subcommands, run in-process with the arguments
printed first, so the demo doubles as a worked example of the CLI:

1. write the procedural asymmetric bracket (``rigidpose.objects.parts.bracket``) as PLY;
2. ``rigidpose synth``: a training set, and a test set with another seed;
3. ``rigidpose train`` within a time budget, half for the pose network and half for the
   detector (on the bracket the detector reached AP50 0.53 after 4.8 minutes and 0.21 after
   2.4). In four minutes the pose network's mask head learns to separate the part (held-out
   mask IoU about 0.6), which the depth search and the silhouette fit need; its keypoint and
   rotation heads do not learn the bracket's orientation in that time (README);
4. ``rigidpose predict`` on the test set, RGB only (the pose from fitting the model's
   silhouette to the mask) and with depth + ICP, with overlays, at score threshold 0.05 (a
   detector trained for 4 minutes scores its peaks below the default 0.3);
5. ``rigidpose eval``: ADD(-S) recall, AR_MSSD, AR_MSPD and AR_VSD.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

MARKER = "rigidpose-demo.json"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="run the end-to-end demo on the bundled part (synth, train, predict, eval)",
        description=__doc__.split("\n\n")[0] + " Defaults take about 10 minutes on 2 CPU cores.",
    )
    p.add_argument("--out", default="demo_out", metavar="DIR", help="output folder (default demo_out)")
    p.add_argument("--train-images", type=int, default=1500, metavar="N", help="training images (default 1500)")
    p.add_argument("--test-images", type=int, default=40, metavar="N", help="test images (default 40)")
    p.add_argument("--time-budget", default="8m", metavar="T", help="training time, e.g. 8m or 90s (default 8m)")
    p.add_argument("--epochs", type=int, default=None, help="train for this many epochs instead of a time budget")
    p.add_argument("--width", type=float, default=0.5, help="network width multiplier (default 0.5)")
    p.add_argument("--workers", type=int, default=2, help="synth worker processes (default 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the training set; the test set uses seed+1")
    p.add_argument("--overwrite", action=argparse.BooleanOptionalAction, default=False,
                   help="replace the output folder of an earlier demo run")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="show progress bars")
    p.set_defaults(run=run)


def _prepare(out: Path, overwrite: bool) -> None:
    from rigidpose.errors import RigidposeError

    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise RigidposeError(f"{out} exists and is not a demo folder; choose another --out")
        if not overwrite:
            raise RigidposeError(f"{out} holds an earlier demo run; pass --overwrite to replace it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def _step(title: str, argv: list[str]) -> float:
    from rigidpose.cli import main
    from rigidpose.errors import RigidposeError

    print(f"\n== {title}\n$ rigidpose {' '.join(argv)}", flush=True)
    start = time.perf_counter()
    code = main(argv)
    if code != 0:
        raise RigidposeError(f"the demo step '{title}' failed (exit code {code}); see the message above")
    return time.perf_counter() - start


def _trust(report: dict, level: float = 0.3) -> str:
    """How many of the poses scoring at least ``level`` (``rigidpose predict``'s default
    threshold) are right, from an eval report's ``add_by_score``."""
    b = report["add_by_score"]
    k = min(range(len(b["levels"])), key=lambda i: abs(b["levels"][i] - level))
    if b["precision"][k] is None:
        return f"no pose scores {b['levels'][k]:g} or more"
    return (f"of the {b['kept'][k]} poses scoring {b['levels'][k]:g} or more, "
            f"{100 * b['precision'][k]:.1f} % are right")


def run(args: argparse.Namespace) -> int:
    from rigidpose.objects.parts import bracket

    out = Path(args.out)
    _prepare(out, args.overwrite)
    (out / MARKER).write_text(json.dumps({"demo": "rigidpose", "args": vars(args) | {"run": None}}, default=str))
    part = out / "bracket.ply"
    bracket().export(part)
    progress = [] if args.progress else ["--no-progress"]
    budget = ["--epochs", str(args.epochs)] if args.epochs else ["--time-budget", args.time_budget]
    times = {}
    times["synth train"] = _step("synthetic training set", [
        "synth", "--model", str(part), "--out", str(out / "train"), "--images", str(args.train_images),
        "--seed", str(args.seed), "--workers", str(args.workers), *progress])
    times["synth test"] = _step("synthetic test set (another seed)", [
        "synth", "--model", str(part), "--out", str(out / "test"), "--images", str(args.test_images),
        "--seed", str(args.seed + 1), "--workers", "1", *progress])
    times["train"] = _step("train", [
        "train", "--data", str(out / "train"), "--out", str(out / "run"), "--width", str(args.width),
        *budget, "--detector-share", "0.5", "--seed", str(args.seed), *progress])
    reports = {}
    for name, extra in (("rgb", ["--no-icp"]), ("rgb+depth+icp", ["--depth", "--icp"])):
        tag = name.replace("+", "_")
        times[f"predict {name}"] = _step(f"predict, {name}", [
            "predict", "--checkpoint", str(out / "run"), "--dataset", str(out / "test"), "--split", "train_synth",
            *extra, "--score-threshold", "0.05", "--out", str(out / f"results_{tag}.csv"),
            "--overlay", str(out / f"overlay_{tag}"), *progress])
        _step(f"eval, {name}", [
            "eval", "--results", str(out / f"results_{tag}.csv"), "--dataset", str(out / "test"),
            "--split", "train_synth", "--out", str(out / f"report_{tag}.json"),
            "--plot", str(out / f"recall_{tag}.png"), *progress])
        reports[name] = json.loads((out / f"report_{tag}.json").read_text())
    print("\n== summary (test set: %d images, seed %d)" % (args.test_images, args.seed + 1))
    for name, rep in reports.items():
        r = rep["overall"]
        print(f"  {name:15s} ADD(-S)@0.1d {100 * r['add']:5.1f} %   AR {100 * r['ar']:5.1f} %   {_trust(rep)}")
    for k, v in times.items():
        print(f"  {k:22s} {v:7.1f} s")
    overlays = sorted((out / "overlay_rgb_depth_icp").glob("*.png"))
    if overlays:
        print(f"  overlay image: {overlays[0]}")
    print(f"  recall curves: {out / 'recall_rgb_depth_icp.png'}")
    return 0
