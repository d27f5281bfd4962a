"""Labelled images per second of ``rigidpose synth`` at 640x480, and where the time goes.

Each row renders RGB + depth + masks + BOP annotations and writes them to disk, for one
object or ten objects per image, for each renderer. The baseline (pyrender on OSMesa)
runs in the same invocation. Every configuration runs in fresh spawned processes
(PyOpenGL can use one platform per process). All images of a row form one chunk, which
the workers share as shards. Worker modes:

- ``1 (1 core)``: one worker pinned to one core (``os.sched_setaffinity``) with llvmpipe
  rasterising in the worker's own thread (``LP_NUM_THREADS=0``): the per-core figure;
- ``1``: one worker as ``rigidpose synth --workers 1`` runs it (llvmpipe may rasterise
  on every core);
- ``2``: two workers (each rasterises on its own thread).

``steady img/s`` counts the images finished while every worker was rendering: after the
last worker's first image (start-up excluded) and up to the first worker's last image (the
tail, when one worker has run out of work, excluded);
``wall img/s`` includes process start, model preparation and GL context creation.
``worker CPU ms/img`` is the CPU time the workers used per image over the steady part
(from /proc; little disturbed by other load): with W workers on W free cores, steady
img/s can reach about ``1000 * W / worker CPU ms/img``. The
targets of issue 3 are checked at the end: >= 50 img/s per core for one object, and
2 workers >= 1.7x one worker on one core.

``--stages`` instead times each stage in this process (CPU time, so other load on the
machine disturbs it little) and prints milliseconds per image.

    .venv/bin/python benchmarks/synth_throughput.py [--images N] [--models A.obj B.obj]
    .venv/bin/python benchmarks/synth_throughput.py --stages [--images 100] [--objects 1 10]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import multiprocessing as mp
import os
import platform
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
YCB = REPO.parent / "shared" / "data" / "meshes" / "ycb"
DEFAULT_MODELS = [YCB / "006_mustard_bottle_textured.obj", YCB / "003_cracker_box_textured.obj"]
RENDERERS = ["pyrender-osmesa", "pyrender-egl", "moderngl"]  # baseline first
MODES = ["1c", "1", "2"]  # one worker on one core, one worker, two workers
PER_CORE_TARGET, SCALING_TARGET = 50.0, 1.7


def children_cpu() -> float:
    """CPU seconds (user + system) used so far by this process's live child processes (/proc)."""
    pids = set()
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            pids.update((task / "children").read_text().split())
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


class _Clock:
    """A progress 'bar' that records which worker finished each image and when (sent by the
    workers), and the workers' CPU time from the moment every worker had finished one image
    to the last image."""

    def __init__(self, workers: int, images: int) -> None:
        self.done: list[tuple[int, float]] = []
        self.workers, self.images = workers, images
        self.cpu0: tuple[int, float] | None = None
        self.cpu_per_image = float("nan")

    def update(self, n: int = 1) -> None:
        pass

    def on_image(self, pid: int, t: float) -> None:
        self.done.append((pid, t))
        n = len(self.done)
        if self.cpu0 is None and len({p for p, _ in self.done}) >= self.workers:
            self.cpu0 = (n, children_cpu())
        elif self.cpu0 is not None and n == self.images and n > self.cpu0[0]:
            self.cpu_per_image = (children_cpu() - self.cpu0[1]) / (n - self.cpu0[0])

    def steady_rate(self) -> float:
        """Images/s while *every* worker was rendering: from the moment the last worker
        finished its first image (start-up excluded) to the moment the first worker
        finished its last (the tail, when some workers have run out of work, excluded)."""
        by_worker: dict[int, list[float]] = collections.defaultdict(list)
        for pid, t in self.done:
            by_worker[pid].append(t)
        if len(by_worker) < self.workers:
            return float("nan")
        start = max(min(ts) for ts in by_worker.values())
        end = min(max(ts) for ts in by_worker.values())
        n = sum(start < t <= end for _, t in self.done)
        return n / (end - start) if end > start and n > 1 else float("nan")


def scene_config(n_objects: int, chunk: int = 1000) -> dict:
    """Exactly ``n_objects`` annotated instances (1 = one model; 10 = two models × 5), no
    distractors or floor, so that rows differ only in what they measure."""
    objs, inst = (1, 1) if n_objects == 1 else (2, n_objects // 2)
    return {
        "scene": {"objects_per_scene": [objs, objs], "instances_per_object": [inst, inst],
                  "spread": 1.5 if n_objects == 1 else 2.5, "plane_render_prob": 0.0},
        "distractors": {"count": [0, 0]},
        "output": {"chunk_size": chunk, "preview_images": 0},
    }


def _job(models: list[str], renderer: str, n_objects: int, images: int, tmp: Path):  # noqa: ANN202
    from synth.run import prepare_job
    from synth.writer import write_dataset_files

    d = Path(tempfile.mkdtemp(dir=tmp))
    (d / "scene.yaml").write_text(yaml.safe_dump(scene_config(n_objects, max(images, 1))))
    use = models[:1] if n_objects == 1 else models[:2]
    job, objs = prepare_job(use, d / "out", images, seed=1, config=str(d / "scene.yaml"), renderer=renderer)
    write_dataset_files(job.out, objs, job.camera, job.cfg.output.depth_scale)
    return job


@contextlib.contextmanager
def _one_core():
    """Spawned children inherit: affinity to one core, and LP_NUM_THREADS=0."""
    old_aff, old_lp = os.sched_getaffinity(0), os.environ.get("LP_NUM_THREADS")
    os.sched_setaffinity(0, {max(old_aff)})
    os.environ["LP_NUM_THREADS"] = "0"
    try:
        yield
    finally:
        os.sched_setaffinity(0, old_aff)
        if old_lp is None:
            os.environ.pop("LP_NUM_THREADS", None)
        else:
            os.environ["LP_NUM_THREADS"] = old_lp


def measure(models: list[str], renderer: str, n_objects: int, mode: str, images: int,
            tmp: Path) -> tuple[float, float, float]:
    """(steady, wall) images/s and the workers' CPU ms per image (steady part) of one row;
    ``mode`` is one of :data:`MODES`."""
    from synth.parallel import run_processes

    job = _job(models, renderer, n_objects, images, tmp)
    workers = 1 if mode.startswith("1") else int(mode)
    clock = _Clock(workers, images)
    with _one_core() if mode == "1c" else contextlib.nullcontext():
        t0 = time.perf_counter()
        run_processes(job, job.chunks(), workers, clock)
        wall = images / (time.perf_counter() - t0)
    return clock.steady_rate(), wall, clock.cpu_per_image * 1e3


# --- per-stage timings ----------------------------------------------------------------------
#: (module, attribute, label): functions timed by --stages (nested ones are included in their parents).
STAGES = [
    ("synth.generate", "ImageGenerator.generate", "generate (all below)"),
    ("synth.generate", "sample_scene", "  scene sampling"),
    ("synth.generate", "sample_lights", "  lights"),
    ("synth.generate", "sample_background", "  background"),
    ("synth.render.moderngl_backend", "ModernglRenderer.render", "  render (scene pass)"),
    ("synth.render.pyrender_backend", "PyrenderRenderer.render", "  render (scene pass)"),
    ("synth.generate", "apply_sensor", "  sensor effects"),
    ("synth.generate", "ImageGenerator._object_depths", "  full silhouettes (all)"),
    ("synth.render.moderngl_backend", "ModernglRenderer.render_object_depths", "    extra depth passes"),
    ("synth.render.pyrender_backend", "PyrenderRenderer.render_object_depths", "    extra depth passes"),
    ("synth.generate", "annotate_instance", "  annotation"),
    ("synth.writer", "ChunkWriter.add", "write image (all below)"),
    ("synth.writer", "write_rgb", "  rgb (jpg)"),
    ("synth.writer", "write_depth", "  depth png"),
    ("synth.writer", "encode_mask", "  mask png encoding"),
    ("synth.writer", "write_file_bytes", "  mask file writes"),
    ("synth.writer", "write_mask", "  masks (encode + atomic write)"),  # before the shard writer
    ("synth.writer", "ChunkWriter.commit", "scene JSON + chunk rename"),
]


def _timed(totals: dict, label: str, f):  # noqa: ANN001, ANN202
    @functools.wraps(f)
    def g(*a, **k):  # noqa: ANN002, ANN003, ANN202
        t = time.process_time()
        try:
            return f(*a, **k)
        finally:
            totals[label] += time.process_time() - t

    return g


def stages(models: list[str], renderer: str, n_objects: int, images: int, tmp: Path) -> None:
    """Render ``images`` in this process and print CPU milliseconds per image per stage."""
    import importlib

    from synth.run import render_chunk

    job = _job(models, renderer, n_objects, images, tmp)
    t0 = time.perf_counter()
    gen = job.generator()
    init = time.perf_counter() - t0
    render_chunk(job, gen, 1, images, images + 3)  # warm-up (shader compile, buffers)
    totals: dict = collections.defaultdict(float)
    for mod_name, attr, label in STAGES:
        owner_name, _, name = attr.rpartition(".")
        if mod_name.startswith("synth.render.") and owner_name != type(gen.renderer).__name__:
            continue  # the other backend (PyOpenGL allows one platform per process)
        mod = importlib.import_module(mod_name)
        owner = getattr(mod, owner_name) if owner_name else mod
        if not hasattr(owner, name):
            continue
        setattr(owner, name, _timed(totals, label, getattr(owner, name)))
    t0, w0 = time.process_time(), time.perf_counter()
    render_chunk(job, gen, 0, 0, images)
    cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    gen.close()
    print(f"\n## {renderer}, {n_objects} object(s), {images} images, LP_NUM_THREADS="
          f"{os.environ.get('LP_NUM_THREADS', 'unset')}, load {os.getloadavg()[0]:.2f}; renderer start {init * 1e3:.0f} ms")
    print("| stage | CPU ms/img |\n|---|---|")
    for _, _, label in STAGES:
        if label in totals:
            print(f"| {label} | {totals.pop(label) / images * 1e3:.2f} |")
    print(f"| **total (CPU)** | **{cpu / images * 1e3:.2f}** ({images / cpu:.1f} img/s per CPU-second) |")
    print(f"| total (wall) | {wall / images * 1e3:.2f} |")


def _report(rows: list[tuple]) -> None:
    base = {(n, m): s for n, r, m, s, _, _ in rows if r == RENDERERS[0]}
    core = {(n, r): s for n, r, m, s, _, _ in rows if m == "1c"}
    print("\n| objects | renderer | workers | steady img/s | wall img/s | worker CPU ms/img | vs pyrender-osmesa "
          "| vs 1 worker on 1 core |")
    print("|---|---|---|---|---|---|---|---|")
    for n, r, m, s, wall, cpu in rows:
        b, c = base.get((n, m)), core.get((n, r))
        label = "1 (1 core)" if m == "1c" else m
        print(f"| {n} | {r} | {label} | {s:.1f} | {wall:.1f} | {cpu:.1f} | {f'{s / b:.2f}x' if b else '-'} | "
              f"{f'{s / c:.2f}x' if c else '-'} |")
    for r in sorted({row[1] for row in rows}):
        per_core = core.get((1, r))
        two = {n: s for n, rr, m, s, _, _ in rows if rr == r and m == "2"}
        if per_core:
            print(f"# {r}: 1 object, per core {per_core:.1f} img/s (target >= {PER_CORE_TARGET:.0f}): "
                  f"{'MET' if per_core >= PER_CORE_TARGET else 'NOT MET'}")
        for n, s in sorted(two.items()):
            if core.get((n, r)):
                x = s / core[(n, r)]
                print(f"# {r}: {n} object(s), 2 workers {x:.2f}x 1 worker on 1 core (target >= {SCALING_TARGET}x): "
                      f"{'MET' if x >= SCALING_TARGET else 'NOT MET'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=None,
                    help="images per configuration (default 600 for 1 object, 120 for 10: a 1-object row "
                    "of 120 images lasts about a second, shorter than a worker's start-up)")
    ap.add_argument("--models", nargs="+", default=[str(p) for p in DEFAULT_MODELS])
    ap.add_argument("--renderers", nargs="+", default=RENDERERS)
    ap.add_argument("--objects", nargs="+", type=int, default=[1, 10])
    ap.add_argument("--modes", nargs="+", default=MODES, choices=MODES,
                    help="1c = one worker on one core, 1 = one worker, 2 = two workers")
    ap.add_argument("--stages", action="store_true", help="per-stage CPU ms per image, in this process")
    args = ap.parse_args()
    if len(args.models) < 2:
        args.models = args.models * 2
    print(f"# synth {'stages' if args.stages else 'throughput'}, 640x480, "
          f"{args.images or '600 (1 object) / 120 (10 objects)'} images per row; "
          f"{platform.node()} {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
    print(f"# models: {', '.join(Path(m).name for m in args.models[:2])}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n_obj in args.objects:
            for renderer in args.renderers:
                images = args.images or (600 if n_obj == 1 else 120)
                if args.stages:  # in a fresh process: one PyOpenGL platform per process
                    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as ex:
                        ex.submit(stages, args.models, renderer, n_obj, images, Path(tmp)).result()
                    continue
                for m in args.modes:
                    steady, wall, cpu = measure(args.models, renderer, n_obj, m, images, Path(tmp))
                    rows.append((n_obj, renderer, m, steady, wall, cpu))
                    print(f"  done: {n_obj} obj, {renderer}, workers {m}: {steady:.1f} img/s "
                          f"(load {os.getloadavg()[0]:.2f})", flush=True)
    if rows:
        _report(rows)
    print(f"\n# load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
