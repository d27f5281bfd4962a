"""The whole chain on one object: synth → train (time budget) → predict → eval, eight ways.

For one CAD model (the bundled bracket by default, or any mesh file) it renders a training
set, trains PoseNet and the detector within ``--time-budget``, renders a test set with
another seed *and* other randomisation (other backgrounds, lights and distances, see
``TEST_SCENE``), and runs the estimator on it in eight configurations:

1. ``keypoints``: PnP-RANSAC on the keypoint head alone;
2. ``dense``: PnP-RANSAC on the dense-coordinate head alone (left out for a network
   without that head: ``rigidpose train --coords`` adds it);
3. ``direct``: the direct rotation/translation head alone;
4. ``fused``: the dense coordinates (else the keypoints) and the direct head, chosen or
   fused by reprojection error;
5. ``fused+silhouette``: 4. and render-and-compare on the GrabCut-sharpened mask
   (``rigidpose.estimate.silhouette``), the best silhouette fit wins: the RGB-only default;
6. ``fused+ICP``: 4. refined against the rendered depth: ICP, and where that fails or
   disagrees with the depth, ICP from a grid of rotations (``--depth-search``): the default
   with depth (the silhouette stage runs only without depth unless asked to);
7. ``fused+silhouette+ICP``: 6. with the silhouette stage too (``silhouette="always"``);
8. ``fused+ICP, no depth search``: 6. with ICP from the RGB pose only.

It prints one Markdown table, a row per configuration: ADD(-S)-0.1d recall, AR_MSSD,
AR_MSPD, mean rotation and translation errors of the matched estimates, and milliseconds
per 640×480 frame by stage (detect, crop net, PnP, silhouette, ICP, total). A second
table breaks ADD(-S)-0.1d down by how much of each target is in view (the test scenes'
floating distractors hide parts of the object; RGB-only fits lose most of their misses
there). A third says where each configuration lost its targets (``rigidpose.eval.misses``):
no estimate in a box on the target, a wrong pose in its box, or a right pose that the
ranking left out. A fourth gives, for a few score thresholds, the precision and recall of
every estimate scoring at least that much (``rigidpose.eval.reliability``): how many of the
poses a robot acting above the threshold would get wrong::

    .venv/bin/python benchmarks/accuracy.py --out /tmp/acc_bracket [--time-budget 30m]
    .venv/bin/python benchmarks/accuracy.py --model ../shared/data/meshes/ycb/005_tomato_soup_can_textured.obj \\
        --out /tmp/acc_soup --time-budget 30m

Steps whose outputs exist are reused with ``--reuse`` (e.g. to re-score a trained run).
``--no-detector`` estimates in the GT boxes instead (the pose stages alone). Errors are
taken per GT target against the estimate of that object nearest to it in the image; a
target without an estimate counts in the recall as a miss but not in the mean errors
(the ``matched`` column says how many had one).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

#: (row name, fusion mode, depth + ICP, depth search, silhouette mode)
ROWS = (("keypoints", "keypoints", False, False, "off"), ("dense", "dense", False, False, "off"),
        ("direct", "direct", False, False, "off"), ("fused", "fused", False, False, "off"),
        ("fused+silhouette", "fused", False, False, "rgb"), ("fused+ICP", "fused", True, True, "rgb"),
        ("fused+silhouette+ICP", "fused", True, True, "always"), ("fused+ICP, no depth search", "fused", True, False, "rgb"))

#: Score thresholds of the precision / recall table (the benchmark keeps estimates from 0.05 on,
#: ``rigidpose predict`` from 0.3).
SCORE_LEVELS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7)
#: The test set's randomisation, unlike training's defaults (synth/config.py): the camera
#: farther (2.0–4.5 → 3.0–5.5 diameters) and steeper, more and brighter lights, the real
#: OpenCV calibration photos as backgrounds where ../shared/data exists.
TEST_SCENE = {
    "camera": {"distance_rel": [3.0, 5.5], "elevation_deg": [30.0, 80.0]},
    "lights": {"count": [2, 4], "intensity": [0.6, 1.3], "ambient": [0.2, 0.5]},
    "background": {"kinds": ["gradient", "tiles"], "grey_prob": 0.0},
}
PHOTOS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "calibration" / "opencv_chessboard"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="bracket", help="mesh file, or 'bracket' for the bundled part (default)")
    p.add_argument("--out", required=True, help="work folder (datasets, run, results)")
    p.add_argument("--train-images", type=int, default=2000)
    p.add_argument("--test-images", type=int, default=50)
    p.add_argument("--time-budget", default="30m", help="training time, PoseNet and detector together (default 30m)")
    p.add_argument("--width", type=float, default=0.5)
    p.add_argument("--input", type=int, default=128)
    p.add_argument("--workers", type=int, default=2, help="synth workers")
    p.add_argument("--detector", action=argparse.BooleanOptionalAction, default=True,
                   help="--no-detector: estimate in the GT boxes (the pose stages alone)")
    p.add_argument("--coords", action="store_true",
                   help="train PoseNet with the dense-coordinate head too (rigidpose train --coords), for the "
                   "dense row")
    p.add_argument("--detector-input", type=int, nargs="+", metavar="PX",
                   help="the detector's input long side(s) when predicting (default: the size it was trained at and "
                   "1.5 times it)")
    p.add_argument("--detector-init", choices=("posenet", "scratch"), default="posenet",
                   help="the detector starts from PoseNet's weights (default) or from random ones (the old baseline)")
    p.add_argument("--score-threshold", type=float, default=0.05,
                   help="estimates scoring less are dropped (default 0.05; the CLI's 0.3 hides a weak network's poses)")
    p.add_argument("--reuse", action="store_true", help="keep datasets and the run that already exist in --out")
    p.add_argument("--json", help="also write the rows as JSON here")
    p.add_argument("--rows", nargs="+", metavar="NAME", choices=[r[0] for r in ROWS],
                   help="run only these rows (default: all)")
    return p.parse_args(argv)


def cli(argv: list[str]) -> None:
    """One ``rigidpose`` subcommand in-process, printed first; a failure ends the benchmark."""
    from rigidpose.cli import main

    print("$ rigidpose " + " ".join(argv), flush=True)
    if main(argv) != 0:
        raise SystemExit(f"rigidpose {argv[0]} failed")


def prepare(args: argparse.Namespace, out: Path) -> tuple[Path, Path, Path]:
    """Synth the train and test sets and train, skipping what exists with ``--reuse``."""
    import yaml

    out.mkdir(parents=True, exist_ok=True)
    model = Path(args.model)
    if args.model == "bracket":
        from rigidpose.objects.parts import bracket

        model = out / "bracket.ply"
        bracket().export(model)
    train, test, run = out / "train", out / "test", out / "run"
    quiet = ["--no-progress"]
    if not (args.reuse and (train / "synth_manifest.json").is_file()):
        cli(["synth", "--model", str(model), "--out", str(train), "--images", str(args.train_images), "--seed", "0",
             "--workers", str(args.workers), *quiet])
    if not (args.reuse and (test / "synth_manifest.json").is_file()):
        scene = json.loads(json.dumps(TEST_SCENE))
        if PHOTOS.is_dir():
            scene["background"].update(images_dir=str(PHOTOS.resolve()), image_prob=0.7)
        (out / "test_scene.yaml").write_text(yaml.safe_dump(scene))
        cli(["synth", "--model", str(model), "--out", str(test), "--images", str(args.test_images), "--seed", "1",
             "--workers", str(args.workers), "--config", str(out / "test_scene.yaml"), *quiet])
    if not (args.reuse and (run / "best.json").is_file()):
        cli(["train", "--data", str(train), "--out", str(run), "--time-budget", args.time_budget,
             "--width", str(args.width), "--input", str(args.input), "--detector-init", args.detector_init,
             *([] if args.detector else ["--no-detector"]), *(["--coords"] if args.coords else []),
             *quiet])
    return train, test, run


def predict(run: Path, test: Path, fusion: str, icp: bool, search: bool, args: argparse.Namespace,
            silhouette: str = "rgb"):
    """Results rows and mean ms per frame by stage on the test split."""
    from rigidpose.bop import BopDataset, ResultRow
    from rigidpose.estimate import Estimator

    ds = BopDataset(test)
    detector = args.detector
    est = Estimator.from_checkpoint(run, use_depth=icp, icp=icp, fusion=fusion, global_init=search,
                                    score_threshold=args.score_threshold, detector="auto" if detector else None,
                                    detector_input=getattr(args, "detector_input", None),
                                    models=test / "models", silhouette=silhouette)
    rows = []
    for scene in ds.scenes("train_synth"):
        gts, infos = ds.gt("train_synth", scene), ds.gt_info("train_synth", scene)
        for im in ds.image_ids("train_synth", scene):
            boxes = None if detector else [(g.obj_id, i.bbox_visib) for g, i in zip(gts[im], infos[im])
                                           if i.bbox_visib[2] > 0]
            depth = ds.read_depth("train_synth", scene, im) if icp else None
            camera = ds.image_camera("train_synth", scene, im).camera
            ests = est.estimate(ds.read_rgb("train_synth", scene, im), camera, depth, boxes=boxes)
            rows.extend(ResultRow(scene, im, e, est.timings["total"] / 1000.0) for e in ests)
    return ds, rows, est.mean_timings()


def mean_errors(ds, rows) -> tuple[float, float, int, int]:
    """Mean rotation error (°, over symmetries) and translation error (mm) of the estimate
    nearest each GT target (visib_fract ≥ 0.1); also the matched and total target counts."""
    from rigidpose.eval.recall import MIN_VISIB_FRACT

    by_image: dict = {}
    for r in rows:
        by_image.setdefault((r.scene_id, r.im_id, r.estimate.obj_id), []).append(r.estimate.pose)
    infos = ds.models_info
    rot, trans, targets = [], [], 0
    for scene in ds.scenes("train_synth"):
        gts, ginfo = ds.gt("train_synth", scene), ds.gt_info("train_synth", scene)
        for im, insts in gts.items():
            for g, gi in zip(insts, ginfo[im]):
                if gi.visib_fract < MIN_VISIB_FRACT:
                    continue
                targets += 1
                cands = by_image.get((scene, im, g.obj_id), [])
                if not cands:
                    continue
                pose = min(cands, key=lambda p: np.linalg.norm(p.t - g.pose.t))
                syms = infos[g.obj_id].symmetries.transforms()[:, :3, :3]
                cos = (np.einsum("ij,sij->s", pose.R, g.pose.R @ syms) - 1.0) / 2.0
                rot.append(np.degrees(np.arccos(np.clip(cos.max(), -1.0, 1.0))))
                trans.append(1000.0 * np.linalg.norm(pose.t - g.pose.t))
    mean = (lambda v: float(np.mean(v)) if v else float("nan"))
    return mean(rot), mean(trans), len(rot), targets


def score(ds, rows) -> dict:
    """ADD(-S), AR_MSSD and AR_MSPD recalls, and ADD(-S) by visible fraction (JSON values)."""
    from rigidpose.eval.evaluate import evaluate
    from rigidpose.eval.report import scores, visibility_json

    result = evaluate(ds, "train_synth", rows, metrics=("add", "mssd", "mspd"))
    s = scores(result)
    return {"add": s["add"], "mssd": s["mssd"], "mspd": s["mspd"],
            "by_visibility": visibility_json(result.add_by_visibility),
            "by_score": result.add_by_score.to_json(SCORE_LEVELS)}


def losses(ds, rows) -> dict:
    """Where the targets were lost (:mod:`rigidpose.eval.misses`; JSON values): each outcome's
    share and the number of targets, of all targets and of those at least 90 % in view."""
    from rigidpose.eval.misses import where_lost

    lost = where_lost(ds, "train_synth", rows)
    listed = {key: lost.shares(v) for key, v in (("all", 0.0), ("visible", 0.9))}
    return {**{k: [shares.tolist(), n] for k, (shares, n) in listed.items()}, "counts": lost.to_json()}


def table(results: list[dict]) -> str:
    head = ("| configuration | ADD(-S)-0.1d (%) | AR_MSSD (%) | AR_MSPD (%) | rotation error, mean (°) "
            "| translation error, mean (mm) | matched / targets | detect (ms) | crop net (ms) | PnP (ms) "
            "| silhouette (ms) | ICP (ms) | total (ms) |")
    lines = [head, "|" + "---|" * 13]
    for r in results:
        ms = r["ms"]
        lines.append(f"| {r['name']} | {100 * r['add']:.1f} | {100 * r['mssd']:.1f} | {100 * r['mspd']:.1f} | "
                     f"{r['rot_deg']:.1f} | {r['trans_mm']:.1f} | {r['matched']} / {r['targets']} | "
                     f"{ms['detect']:.1f} | {ms['crop']:.1f} | {ms['pnp']:.1f} | {ms['silhouette']:.1f} | {ms['icp']:.1f} | "
                     f"{ms['total']:.1f} |")
    return "\n".join(lines)


def visibility_table(results: list[dict]) -> str:
    """ADD(-S)-0.1d per visible-fraction bin, one row per configuration."""
    vis = results[0]["by_visibility"]
    edges, targets = vis["edges"], vis["targets"]
    bins = [f"{100 * a:.0f}-{100 * b:.0f} % visible ({n})" for a, b, n in zip(edges[:-1], edges[1:], targets)]
    lines = ["| configuration | " + " | ".join(bins) + " |", "|" + "---|" * (len(bins) + 1)]
    for r in results:
        rec = r["by_visibility"]["recall"]
        lines.append(f"| {r['name']} | " + " | ".join("-" if v is None else f"{100 * v:.1f}" for v in rec) + " |")
    return "\n".join(lines)


def score_table(results: list[dict]) -> str:
    """Precision / recall (%) of the estimates scoring at least each of :data:`SCORE_LEVELS`."""
    lines = ["| configuration | " + " | ".join(f"score ≥ {v:g}" for v in SCORE_LEVELS) + " |",
             "|" + "---|" * (len(SCORE_LEVELS) + 1)]
    for r in results:
        b = r["by_score"]
        cells = ["-" if p is None else f"{100 * p:.1f} / {100 * q:.1f}" for p, q in zip(b["precision"], b["recall"])]
        lines.append(f"| {r['name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def losses_table(results: list[dict]) -> str:
    """Where each configuration lost its targets (:mod:`rigidpose.eval.misses`), in % of the
    targets: all of them, and those at least 90 % in view."""
    from rigidpose.eval.misses import OUTCOMES

    lines = ["| configuration | targets | " + " | ".join(OUTCOMES) + " |", "|" + "---|" * (len(OUTCOMES) + 2)]
    for r in results:
        for label, key in (("all", "all"), ("90-100 % visible", "visible")):
            shares, n = r["lost"][key]
            lines.append(f"| {r['name']} | {label} ({n}) | " + " | ".join(f"{100 * v:.1f}" for v in shares) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    t0 = time.perf_counter()
    _, test, run = prepare(args, out)
    card = json.loads((run / "best.json").read_text())
    has_coords = bool(card["config"].get("coords", False))
    results = []
    for name, fusion, icp, search, silhouette in ROWS:
        if fusion == "dense" and not has_coords:
            continue  # a network without the coordinate head (rigidpose train --coords) has no dense row
        if args.rows and name not in args.rows:
            continue
        ds, rows, ms = predict(run, test, fusion, icp, search, args, silhouette)
        rot, trans, matched, targets = mean_errors(ds, rows)
        results.append({"name": name, **score(ds, rows), "rot_deg": rot, "trans_mm": trans, "matched": matched,
                        "targets": targets, "ms": ms, "estimates": len(rows), "lost": losses(ds, rows)})
    budget_s = card.get("training", {}).get("config", {}).get("time_budget_s")  # a reused run's own
    budget = f"{budget_s / 60:g} min" if budget_s else args.time_budget
    print(f"\nmodel {args.model}: {args.train_images} training images, budget {budget}, "
          f"PoseNet width {card['config']['width']} input {card['config']['input_size']}, "
          f"{'detector' if args.detector else 'GT boxes'}; test: {args.test_images} images, other seed and "
          f"randomisation; {time.perf_counter() - t0:.0f} s in all\n")
    print(table(results))
    if results:
        print("\nADD(-S)-0.1d (%) by how much of each target is in view (targets per bin):\n")
        print(visibility_table(results))
        print("\nWhere the targets were lost (% of the targets; rigidpose.eval.misses):\n")
        print(losses_table(results))
        print("\nPrecision / recall (%) of the estimates scoring at least s (ADD(-S)-0.1d; "
              "rigidpose.eval.reliability):\n")
        print(score_table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
