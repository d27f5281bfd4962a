"""PoseNet size, FLOPs and training throughput for several widths and input sizes.

Training throughput is forward + backward + AdamW step on a batch of random images with
random targets for all heads (``posenet_loss``), in images/s from the fastest of
``--steps`` timed steps, with the default contiguous (NCHW) memory format as the
baseline and ``channels_last`` beside it (the two alternate step by step).
FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` for one image's
forward pass (a multiply-add counts as 2 FLOPs).

    .venv/bin/python benchmarks/net_throughput.py [--widths 0.25 0.5 1.0] [--inputs 96 128 192]
        [--batch 32] [--steps 3] [--threads 2] [--out table.md]
"""

from __future__ import annotations

import argparse
import platform
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from rigidpose.net.losses import posenet_loss
from rigidpose.net.posenet import OUTPUT_STRIDE, PoseNet, PoseNetConfig, count_parameters


def random_batch(n: int, cfg: PoseNetConfig, gen: torch.Generator) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    h = cfg.input_size // OUTPUT_STRIDE
    K = cfg.num_keypoints
    batch = {
        "heatmap": torch.rand(n, K, h, h, generator=gen),
        "kp_offset": torch.rand(n, K, 2, generator=gen) - 0.5,
        "kp_index": torch.randint(0, h * h, (n, K), generator=gen),
        "kp_valid": torch.ones(n, K, dtype=torch.bool),
        "mask": (torch.rand(n, 1, h, h, generator=gen) > 0.5).float(),
        "rot": torch.eye(3).expand(n, 3, 3).contiguous(),
        "trans": torch.rand(n, 3, generator=gen),
    }
    return torch.randn(n, 3, cfg.input_size, cfg.input_size, generator=gen), batch


def forward_flops(model: PoseNet, size: int) -> int:
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, size, size))
    return int(counter.get_total_flops())


def make_trainer(cfg: PoseNetConfig, batch: int, channels_last: bool):
    """A closure running one forward + backward + AdamW step on a fixed random batch."""
    gen = torch.Generator().manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = PoseNet(cfg).train().to(memory_format=fmt)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x, targets = random_batch(batch, cfg, gen)
    x = x.contiguous(memory_format=fmt)

    def step() -> float:
        t0 = time.perf_counter()
        loss = posenet_loss(model(x), targets)["total"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return time.perf_counter() - t0

    return step


def train_throughput(cfg: PoseNetConfig, batch: int, steps: int) -> tuple[float, float]:
    """Images/s (NCHW, channels_last) from the fastest of ``steps`` timed steps each.

    The two variants alternate step by step, so both see the same load from other
    processes; the fastest step is the least disturbed estimate on a shared machine.
    """
    runs = [make_trainer(cfg, batch, cl) for cl in (False, True)]
    for run in runs:
        run()  # warm-up (allocator, kernel selection)
    best = [float("inf"), float("inf")]
    for _ in range(steps):
        for i, run in enumerate(runs):
            best[i] = min(best[i], run())
    return batch / best[0], batch / best[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    ap.add_argument("--inputs", type=int, nargs="+", default=[96, 128, 192])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=3, help="timed steps after one warm-up step")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keypoints", type=int, default=9)
    ap.add_argument("--out", help="also write the markdown table here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    lines = [
        f"torch {torch.__version__}, {args.threads} threads, {platform.processor() or platform.machine()}, "
        f"batch {args.batch}, best of {args.steps} timed steps, K = {args.keypoints}",
        "",
        "| width | input | params (M) | GFLOPs / image (fwd) | train img/s (NCHW) | train img/s (channels_last) | speed-up |",
        "|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    t_start = time.perf_counter()
    for w in args.widths:
        for s in args.inputs:
            cfg = PoseNetConfig(num_keypoints=args.keypoints, width=w, input_size=s)
            model = PoseNet(cfg)
            params, flops = count_parameters(model), forward_flops(model, s)
            base, cl = train_throughput(cfg, args.batch, args.steps)
            row = f"| {w} | {s} | {params / 1e6:.2f} | {flops / 1e9:.3f} | {base:.1f} | {cl:.1f} | {cl / base:.2f}× |"
            lines.append(row)
            print(row, flush=True)
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s", flush=True)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
