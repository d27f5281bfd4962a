"""Labelled images per second of ``rigidpose synth`` at 640x480.

Each row renders RGB + depth + masks + BOP annotations and writes them to disk, for one
object or ten objects per image, with 1 and 2 worker processes, for each renderer. The
baseline (pyrender on OSMesa) runs in the same invocation. Every configuration runs in
fresh spawned processes (PyOpenGL can use one platform per process).

``steady img/s`` counts images after each worker's first one (start-up excluded);
``wall img/s`` includes process start, model preparation and GL context creation.

    .venv/bin/python benchmarks/synth_throughput.py [--images 120] [--models A.obj B.obj]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
YCB = REPO.parent / "shared" / "data" / "meshes" / "ycb"
DEFAULT_MODELS = [YCB / "006_mustard_bottle_textured.obj", YCB / "003_cracker_box_textured.obj"]
RENDERERS = ["pyrender-osmesa", "pyrender-egl", "moderngl"]  # baseline first


class _Clock:
    """A progress 'bar' that records when each image finished (times sent by the workers)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def update(self, n: int = 1) -> None:
        pass

    def on_image(self, t: float) -> None:
        self.times.append(t)


def scene_config(n_objects: int, chunk: int) -> dict:
    """Exactly ``n_objects`` annotated instances (1 = one model; 10 = two models × 5), no
    distractors or floor, so that rows differ only in what they measure."""
    objs, inst = (1, 1) if n_objects == 1 else (2, n_objects // 2)
    return {
        "scene": {"objects_per_scene": [objs, objs], "instances_per_object": [inst, inst],
                  "spread": 1.5 if n_objects == 1 else 2.5, "plane_render_prob": 0.0},
        "distractors": {"count": [0, 0]},
        "output": {"chunk_size": chunk, "preview_images": 0},
    }


def measure(models: list[str], renderer: str, n_objects: int, workers: int, images: int, tmp: Path) -> tuple[float, float]:
    from synth.parallel import run_processes
    from synth.run import prepare_job
    from synth.writer import write_dataset_files

    d = Path(tempfile.mkdtemp(dir=tmp))
    chunk = max(1, images // (2 * workers))
    (d / "scene.yaml").write_text(yaml.safe_dump(scene_config(n_objects, chunk)))
    use = models[:1] if n_objects == 1 else models[:2]
    job, objs = prepare_job(use, d / "out", images, seed=1, config=str(d / "scene.yaml"), renderer=renderer)
    write_dataset_files(job.out, objs, job.camera, job.cfg.output.depth_scale)
    clock = _Clock()
    t0 = time.perf_counter()
    run_processes(job, job.chunks(), workers, clock)
    wall = images / (time.perf_counter() - t0)
    ts = sorted(clock.times)[workers:]  # drop each worker's first image (start-up)
    first_done = sorted(clock.times)[workers - 1]
    steady = len(ts) / (ts[-1] - first_done) if len(ts) > 1 else float("nan")
    return steady, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=120, help="images per configuration")
    ap.add_argument("--models", nargs="+", default=[str(p) for p in DEFAULT_MODELS])
    ap.add_argument("--renderers", nargs="+", default=RENDERERS)
    ap.add_argument("--objects", nargs="+", type=int, default=[1, 10])
    ap.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    args = ap.parse_args()
    if len(args.models) < 2:
        args.models = args.models * 2
    print(f"# synth throughput, 640x480, {args.images} images per row; {platform.node()} "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
    print(f"# models: {', '.join(Path(m).name for m in args.models[:2])}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n_obj in args.objects:
            for renderer in args.renderers:
                for w in args.workers:
                    steady, wall = measure(args.models, renderer, n_obj, w, args.images, Path(tmp))
                    rows.append((n_obj, renderer, w, steady, wall))
                    print(f"  done: {n_obj} obj, {renderer}, {w} worker(s): {steady:.1f} img/s", flush=True)
    base = {(n, w): s for n, r, w, s, _ in rows if r == RENDERERS[0]}
    one = {(n, r): s for n, r, w, s, _ in rows if w == 1}
    print()
    print("| objects | renderer | workers | steady img/s | wall img/s | vs pyrender-osmesa | vs 1 worker |")
    print("|---|---|---|---|---|---|---|")
    for n, r, w, s, wall in rows:
        b = base.get((n, w))
        print(f"| {n} | {r} | {w} | {s:.1f} | {wall:.1f} | {s / b:.2f}x | {s / one[(n, r)]:.2f}x |" if b else
              f"| {n} | {r} | {w} | {s:.1f} | {wall:.1f} | - | {s / one[(n, r)]:.2f}x |")
    print(f"\n# load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
