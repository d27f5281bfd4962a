"""How well detectors box the objects of a BOP test split: several detectors, one table.

For every GT instance with ``visib_fract ≥ 0.1`` the best-overlapping detection (score ≥
``--score-threshold``, the estimator's default in ``benchmarks/accuracy.py``) is found; the
table gives, per detector, the median of that IoU with the instance's ``bbox_visib``, the
share of instances boxed at IoU > 0.5 and > 0.7, AP at IoU 0.5 (the training validation's
matching and AP), detections per image and ms per image (2 cores here). The first
detector is the baseline the others are read against. Each detector is measured at its
training input size alone and with the estimator's default pyramid (that size and 1.5 times
it, boxes merged; ``rigidpose.estimate.detect``), or at the ``--inputs`` given::

    .venv/bin/python benchmarks/detector_boxes.py --test /tmp/acc/test \\
        --detectors /tmp/acc_scratch/run/detector /tmp/acc/run/detector

The detectors compared in ``docs/net.md`` (random init against PoseNet init, 7.5 to 12
minutes, on one PoseNet) were trained alone with a scratch script around
``rigidpose.net.detector_train.detector_task`` that is not in the repository; to compare
the two inits end to end, run ``benchmarks/accuracy.py --detector-init scratch`` and the
default into two folders.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--test", required=True, help="BOP dataset with the test images (split train_synth)")
    p.add_argument("--split", default="train_synth")
    p.add_argument("--detectors", nargs="+", required=True, help="detector checkpoints or RUN/detector folders")
    p.add_argument("--score-threshold", type=float, default=0.05)
    p.add_argument("--inputs", type=_sizes, nargs="+", metavar="PX[,PX...]",
                   help="measure each detector at these input long sides; '256,384' runs both and merges the boxes "
                   "(default: the size it was trained at, then the estimator's default pyramid)")
    return p.parse_args(argv)


def _sizes(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected pixels like 256 or 256,384, got {text!r}") from None


def measure(path: str, ds, split: str, threshold: float, sizes: tuple[int, ...] | str = "trained") -> dict:
    """Box quality of the detector at ``path`` on every image of ``split``, at input long
    sides ``sizes`` (pixels), its training size (``"trained"``) or the estimator's default
    (``"default"``)."""
    from rigidpose.estimate.detect import DetectStage
    from rigidpose.estimate.models import resolve_detector
    from rigidpose.eval.recall import MIN_VISIB_FRACT
    from rigidpose.net.checkpoint import load_checkpoint
    from rigidpose.geometry.boxes import box_iou
    from rigidpose.net.detector_train import average_precision, match_detections

    loaded = load_checkpoint(resolve_detector(Path(path), path), kind="detector")
    trained_at = int(loaded.card.config.get("input_size", 256))
    stage = DetectStage(loaded.model, loaded.card, score_threshold=threshold,
                        input_sizes={"trained": trained_at, "default": None}.get(sizes, sizes))
    best_iou, dets, gts, classes, seconds, images = [], [], [], [], 0.0, 0
    for scene in ds.scenes(split):
        gt, info = ds.gt(split, scene), ds.gt_info(split, scene)
        for im in ds.image_ids(split, scene):
            rgb = ds.read_rgb(split, scene, im)
            t = time.perf_counter()
            boxes = stage(rgb)
            seconds, images = seconds + time.perf_counter() - t, images + 1
            keep = [(g, i) for g, i in zip(gt[im], info[im]) if i.visib_fract >= MIN_VISIB_FRACT]
            target = np.array([i.bbox_visib for _, i in keep], np.float64).reshape(-1, 4)
            ious = box_iou(np.array([b.bbox for b in boxes]).reshape(-1, 4), target)
            best_iou.extend(ious.max(axis=0) if len(boxes) else np.zeros(len(keep)))
            dets.append([_as_detection(b, loaded.card) for b in boxes])
            gts.append(target), classes.append(np.array([loaded.card.object_index(g.obj_id) for g, _ in keep]))
    scores, tp, n_gt = match_detections(dets, gts, classes)
    iou = np.asarray(best_iou)
    label = f"{path} @ {'+'.join(str(s) for s in stage.input_sizes)} px"
    return {"detector": label, "median_iou": float(np.median(iou)), "iou50": float(np.mean(iou > 0.5)),
            "iou70": float(np.mean(iou > 0.7)), "ap50": average_precision(tp, n_gt),
            "per_image": len(scores) / max(images, 1), "ms": 1000 * seconds / max(images, 1), "targets": len(iou)}


def _as_detection(box, card):
    from rigidpose.net.detector import Detection

    return Detection(card.object_index(box.obj_id), box.score, box.bbox)


def main(argv: list[str] | None = None) -> int:
    from rigidpose.bop import BopDataset

    args = parse_args(argv)
    ds = BopDataset(args.test)
    sizes = args.inputs or ["trained", "default"]
    rows = [measure(d, ds, args.split, args.score_threshold, size) for d in args.detectors for size in sizes]
    print(f"\n{args.test}, split {args.split}: {rows[0]['targets']} targets (visib_fract >= 0.1), "
          f"score >= {args.score_threshold}\n")
    print("| detector | median best-box IoU | boxed at IoU > 0.5 (%) | boxed at IoU > 0.7 (%) | AP50 | detections / image "
          "| ms / image |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['detector']} | {r['median_iou']:.2f} | {100 * r['iou50']:.0f} | {100 * r['iou70']:.0f} | "
              f"{r['ap50']:.2f} | {r['per_image']:.1f} | {r['ms']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
