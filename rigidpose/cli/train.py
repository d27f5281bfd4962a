"""``rigidpose train``: train the pose network and the detector on a BOP dataset (e.g. from ``rigidpose synth``)."""

from __future__ import annotations

import argparse
import re


def parse_duration(text: str) -> float:
    """``"90s"``, ``"30m"``, ``"1.5h"`` or plain seconds → seconds."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([smh]?)\s*", text)
    if not m or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive duration like 90s, 30m or 1.5h, got {text!r}")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train the pose network and the detector on a BOP dataset",
        description="Train PoseNet (keypoint heatmaps + offsets, mask, direct 6D pose, dense object coordinates) "
        "on crops of a BOP "
        "dataset, then the CenterNet detector on the downscaled whole images. Writes RUN/last.* and RUN/best.* "
        "(safetensors + JSON card), metrics.csv and training.png for PoseNet, and the same files in RUN/detector/.",
    )
    p.add_argument("--data", required=True, metavar="DIR", help="BOP dataset folder")
    p.add_argument("--out", required=True, metavar="RUN", help="run folder for checkpoints and metrics")
    p.add_argument("--objects", type=int, nargs="+", metavar="ID", help="object ids (default: all in models_info.json)")
    p.add_argument("--splits", nargs="+", default=["train_synth"], help="dataset splits to read (default train_synth)")
    p.add_argument("--width", type=float, default=0.5, help="width multiplier, 0.25-1.0 (default 0.5)")
    p.add_argument("--input", type=int, default=128, help="crop size, a multiple of 32 in 96-256 (default 128)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--epochs", type=int, default=None, help="number of epochs (default 10)")
    budget.add_argument("--time-budget", type=parse_duration, metavar="T",
                        help="train for this long (e.g. 30m); the LR schedule follows the elapsed time")
    p.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (default 2e-3)")
    p.add_argument("--val-fraction", type=float, default=0.1, help="fraction of images held out (default 0.1)")
    p.add_argument("--mask-weight", type=float, default=None, metavar="W",
                   help="weight of the visible-mask loss against the other heads' 1 (default 5: RGB-only and the "
                   "depth search take the pose from the mask; on the bracket benchmark 5 gave held-out mask IoU "
                   "0.82 against 0.74 with 1, docs/benchmarks.md)")
    p.add_argument("--mask-loss", choices=("bce", "bce+dice"), default="bce+dice",
                   help="the visible mask's loss: binary cross-entropy alone, or plus a soft Dice term that weighs "
                   "a crop's mask errors against the mask's size (default bce+dice: on the bracket benchmark it gave "
                   "held-out mask IoU 0.87 against 0.82, docs/benchmarks.md)")
    p.add_argument("--coords", action=argparse.BooleanOptionalAction, default=False,
                   help="also train a dense-coordinate head (per-cell model points for PnP-RANSAC; targets from the "
                   "dataset's depth images). Off by default: on 2 cores it costs training steps and, in 11 minutes, "
                   "gave fewer right poses than the keypoints (docs/benchmarks.md)")
    p.add_argument("--detector", action=argparse.BooleanOptionalAction, default=True,
                   help="also train the detector into RUN/detector (default yes)")
    p.add_argument("--detector-share", type=float, default=0.25, metavar="F",
                   help="the detector's share of --time-budget; PoseNet gets the rest (default 0.25)")
    p.add_argument("--detector-epochs", type=int, default=None, metavar="E",
                   help="the detector's epochs without a time budget (default: --epochs)")
    p.add_argument("--detector-width", type=float, default=None,
                   help="the detector's width multiplier (default: --width)")
    p.add_argument("--detector-input", type=int, default=256, metavar="PX",
                   help="long image side at the detector's input (default 256)")
    p.add_argument("--detector-batch", type=int, default=16, help="the detector's batch size (default 16)")
    p.add_argument("--detector-init", choices=("posenet", "scratch"), default="posenet",
                   help="the detector's encoder and decoder start from the trained PoseNet's (default; needs "
                   "--detector-width equal to --width) or from random weights")
    p.add_argument("--background-swap", type=float, default=0.5, metavar="P",
                   help="PoseNet: probability of replacing everything outside the object's visible mask in a "
                   "training crop with a smooth procedural background (default 0.5)")
    p.add_argument("--detector-background-swap", type=float, default=0.0, metavar="P",
                   help="the detector: the same on whole training images (default 0: there it also removes "
                   "distractors and occluders, and detectors trained with 0.5 boxed fewer test objects)")
    p.add_argument("--loader-workers", type=int, default=0, metavar="N",
                   help="processes that prepare batches beside training (default 0: on 2 cores a worker "
                   "competes with the training threads and was 11%% slower; use it where cores are spare)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=False,
                   help="continue the run in RUN from its last checkpoint")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="show a progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rigidpose.errors import RigidposeError
    from rigidpose.net.augment import AugmentConfig
    from rigidpose.net.detector import CenterNetDetector
    from rigidpose.net.posenet import PoseNetConfig
    from rigidpose.net.train import TrainConfig, train

    if args.epochs is not None and args.epochs < 1:
        raise RigidposeError(f"--epochs must be at least 1, got {args.epochs}")
    epochs = args.epochs if args.epochs is not None else (10_000 if args.time_budget else 10)
    detector_width = args.detector_width if args.detector_width is not None else args.width
    try:
        cfg = TrainConfig(
            data=args.data, out=args.out, objects=tuple(args.objects) if args.objects else None,
            splits=tuple(args.splits), width=args.width, input_size=args.input, epochs=epochs,
            time_budget_s=args.time_budget, batch_size=args.batch, lr=args.lr, val_fraction=args.val_fraction,
            seed=args.seed, loader_workers=args.loader_workers, coords=args.coords, detector=args.detector,
            **({} if args.mask_weight is None else {"mask_weight": args.mask_weight}), mask_loss=args.mask_loss,
            detector_share=args.detector_share,
            detector_epochs=args.detector_epochs, detector_width=detector_width,
            detector_input=args.detector_input, detector_batch=args.detector_batch,
            detector_init=args.detector_init, augment=AugmentConfig(p_background=args.background_swap),
            detector_background_swap=args.detector_background_swap,
        )
        PoseNetConfig(width=args.width, input_size=args.input)  # validate early, with a clear message
        if args.detector:
            CenterNetDetector(1, detector_width, input_size=args.detector_input)
    except ValueError as exc:
        raise RigidposeError(str(exc)) from None
    result = train(cfg, resume=args.resume, progress=args.progress, device=args.device)
    if result.posenet:
        last = result.posenet[-1]
        print(f"rigidpose train: {last['epoch']} epochs, val keypoint error {last['val_kp_px']:.2f} px -> {args.out}")
    if result.detector:
        last = result.detector[-1]
        print(f"rigidpose train: detector {last['epoch']} epochs, val AP50 {last['val_ap50']:.3f} "
              f"-> {args.out}/detector")
    return 0
