"""Validation keypoint error against training time, from the ``metrics.csv`` of training runs.

Reads one or more ``rigidpose train`` run folders and prints Markdown tables: for each
run, every epoch's training time, validation keypoint error (image pixels) and direct-head
rotation / translation errors; then, side by side, the best keypoint error each run had
reached by fixed training times (the first run is the baseline the others are compared to).
With ``--data``, it also prints the error of a predictor that ignores the image: every
keypoint at its mean crop position over the training crops, on the run's held-out crops.

    .venv/bin/python benchmarks/keypoint_error_vs_time.py --run acceptance=/tmp/acc/run \\
        [--run other=/tmp/acc/other] [--data /tmp/acc/data] [--marks 2 4 8 12] [--out table.md]

Training time is ``elapsed_s`` of ``metrics.csv``: time spent in training steps (data
loading included, validation and checkpointing excluded), carried across ``--resume``.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path


def read_rows(run: Path) -> list[dict[str, float]]:
    path = run / "metrics.csv"
    if not path.is_file():
        raise SystemExit(f"no metrics.csv in {run}")
    with open(path) as f:
        return [{k: float(v) for k, v in r.items() if v not in ("", None)} for r in csv.DictReader(f)]


def fmt(x: float | None, digits: int = 2) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def run_table(label: str, rows: list[dict[str, float]]) -> list[str]:
    out = [f"### {label}", "", "| epoch | training time (min) | val keypoint error (px) | direct rotation, median (°) "
           "| direct rotation, mean (°) | direct translation, median (mm) |", "|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {int(r['epoch'])} | {r['elapsed_s'] / 60:.1f} | {fmt(r.get('val_kp_px'))} | "
                   f"{fmt(r.get('val_rot_deg'), 1)} | {fmt(r.get('val_rot_deg_mean'), 1)} | "
                   f"{fmt(r.get('val_trans_mm'), 1)} |")
    return out + [""]


def best_by(rows: list[dict[str, float]], minutes: float) -> float | None:
    done = [r["val_kp_px"] for r in rows if r["elapsed_s"] <= minutes * 60 + 1e-6 and "val_kp_px" in r]
    return min(done) if done else None


def constant_baseline(data: Path, run: Path, samples: int = 512) -> float:
    """Mean held-out keypoint error (image px) of the image-blind mean-position predictor."""
    import numpy as np
    import torch

    from rigidpose.bop.dataset import BopDataset
    from rigidpose.net.checkpoint import load_card
    from rigidpose.net.data import CropConfig, PoseCropDataset
    from rigidpose.net.train import split_images

    card = load_card(run / "last")
    cfg = card.training["config"]
    kps = {o.obj_id: o.keypoints for o in card.objects}
    full = PoseCropDataset(BopDataset(data), cfg["splits"], card.obj_ids, kps,
                           CropConfig(input_size=card.config["input_size"]), None, cfg["seed"])
    train_idx, val_idx = split_images(full, cfg["val_fraction"], cfg["seed"])

    def crops(idx):
        b = next(iter(torch.utils.data.DataLoader(full.subset(idx[:samples], None), batch_size=samples)))
        return b["kp_uv"].numpy(), b["kp_valid"].numpy(), (b["image"].shape[-1] / b["box"][:, 2]).numpy()

    uv, valid, _ = crops(train_idx)
    mean = np.stack([uv[valid[:, k], k].mean(axis=0) for k in range(uv.shape[1])])
    uv, valid, zoom = crops(val_idx)
    return float((np.linalg.norm(uv - mean, axis=-1) / zoom[:, None])[valid].mean())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", action="append", required=True, metavar="LABEL=DIR", help="a run folder (repeatable)")
    p.add_argument("--marks", type=float, nargs="+", help="training times in minutes (default: 5 evenly spaced)")
    p.add_argument("--data", type=Path, help="the runs' dataset: also print the image-blind baseline")
    p.add_argument("--out", type=Path, help="also write the tables to this Markdown file")
    args = p.parse_args(argv)
    runs = []
    for spec in args.run:
        label, _, d = spec.partition("=")
        runs.append((label if d else Path(label).name, read_rows(Path(d or label))))
    longest = max((r[-1]["elapsed_s"] for _, r in runs if r), default=0.0) / 60
    marks = args.marks or [round(longest * (i + 1) / 5, 1) for i in range(5)]
    lines: list[str] = []
    for label, rows in runs:
        lines += run_table(label, rows)
    lines += ["### best validation keypoint error (px) reached by a training time", "",
              "| training time (min) | " + " | ".join(label for label, _ in runs) + " |",
              "|---" * (len(runs) + 1) + "|"]
    for m in marks:
        lines.append(f"| {m:g} | " + " | ".join(fmt(best_by(rows, m)) for _, rows in runs) + " |")
    if args.data:
        first = Path(args.run[0].partition("=")[2] or args.run[0])
        lines += ["", f"Image-blind baseline (mean keypoint position, held-out crops of {first.name}): "
                  f"{constant_baseline(args.data, first):.2f} px"]
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
