"""Running chunks: in this process, in spawned worker processes, or as Ray tasks.

Each worker process builds one :class:`~synth.generate.ImageGenerator` (one GL context)
and renders shards (image ranges of at most :data:`MAX_SHARD` images) of the chunks into
each chunk's temporary folder, so that W workers share even a single chunk; the parent
finalises a chunk (writes its scene JSON from the shards' annotations, renames the folder)
when all its shards are done. Progress comes back image by image through a queue. Ray
tasks render whole chunks (each task builds its own renderer) and write into the same
output folder, so a cluster needs a shared filesystem.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import queue
import shutil
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from tqdm import tqdm

from rigidpose.errors import RigidposeError
from synth.run import Shard, SynthJob, render_chunk, render_shard, split_shards
from synth.writer import ShardAnnotations, finalize_chunk, make_temp_chunk_dir, temp_chunk_dir

Chunk = tuple[int, int, int]

#: Largest shard (images one worker renders in one task).
MAX_SHARD = 100

_worker: dict = {}


def _init_worker(job: SynthJob, progress_queue, workers: int) -> None:  # noqa: ANN001 - mp.Queue
    if workers > 1:  # llvmpipe rasterises in the worker's own thread (one worker = one core),
        os.environ.setdefault("LP_NUM_THREADS", "0")  # unless the user chose otherwise
    _worker["job"], _worker["q"] = job, progress_queue
    _worker["gen"] = job.generator()


def _worker_shard(shard: Shard, tmp: Path) -> tuple[Shard, ShardAnnotations]:
    q = _worker["q"]
    pid = os.getpid()
    return shard, render_shard(_worker["job"], _worker["gen"], shard, tmp,
                               progress=lambda n: q.put((pid, time.monotonic())))


def shard_size(chunks: list[Chunk], workers: int) -> int:
    """Images per shard: about a quarter of the largest chunk's share per worker (so the
    workers stay busy to the end), at most :data:`MAX_SHARD`."""
    biggest = max(stop - start for _, start, stop in chunks)
    return max(1, min(MAX_SHARD, math.ceil(biggest / (4 * workers))))


def _bar(total: int, show: bool) -> tqdm:
    return tqdm(total=total, unit="img", desc="synth", disable=not show, dynamic_ncols=True, smoothing=0.1)


def run_serial(job: SynthJob, chunks: list[Chunk], bar: tqdm) -> None:
    gen = job.generator()
    try:
        for c in chunks:
            render_chunk(job, gen, *c, progress=bar.update)
    finally:
        gen.close()


def run_processes(job: SynthJob, chunks: list[Chunk], workers: int, bar: tqdm) -> None:
    """Render ``chunks`` as shards in ``workers`` spawned processes; finalise each chunk
    here from the shards' annotations when its last shard is done (one rename each)."""
    shards = split_shards(chunks, shard_size(chunks, workers))
    tmps = {c: make_temp_chunk_dir(temp_chunk_dir(job.out, c)) for c, _, _ in chunks}
    left = Counter(s.chunk for s in shards)
    parts: dict[int, list[ShardAnnotations]] = {c: [] for c in tmps}
    camera = job.camera.without_distortion()
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    workers = min(workers, len(shards))
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                 initargs=(job, q, workers)) as ex:
            pending = {ex.submit(_worker_shard, s, tmps[s.chunk]) for s in shards}
            try:
                while pending:
                    done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                    _drain(q, bar)
                    for f in done:
                        s, part = f.result()  # re-raise a worker's error
                        parts[s.chunk].append(part)
                        left[s.chunk] -= 1
                        if left[s.chunk] == 0:
                            finalize_chunk(job.out, s.chunk, camera, job.cfg.output, tmps.pop(s.chunk),
                                           parts.pop(s.chunk))
            except BaseException:
                for f in pending:
                    f.cancel()
                raise
            _drain(q, bar)
    finally:
        for tmp in tmps.values():  # chunks not finalised (an error): leave nothing half-written
            shutil.rmtree(tmp, ignore_errors=True)


def _drain(q, bar: tqdm) -> None:  # noqa: ANN001
    """Count finished images; each message is ``(worker pid, time.monotonic())`` of one
    finished image (a ``bar`` with an ``on_image(pid, t)`` method, as the benchmark's, gets them)."""
    on_image = getattr(bar, "on_image", None)
    while True:
        try:
            pid, t = q.get_nowait()
        except queue.Empty:
            return
        bar.update(1)
        if on_image is not None:
            on_image(pid, t)


def _ray_chunk(job: SynthJob, chunk: Chunk) -> int:
    gen = job.generator()
    try:
        render_chunk(job, gen, *chunk)
    finally:
        gen.close()
    return chunk[0]


def run_ray(job: SynthJob, chunks: list[Chunk], address: str, bar: tqdm) -> None:
    """Send each chunk to Ray as a task (``address``: a cluster address or ``auto``)."""
    try:
        import ray
    except ImportError:
        raise RigidposeError("--ray needs the 'cluster' extra: pip install 'rigidpose[cluster]'") from None
    if not ray.is_initialized():
        try:
            ray.init(address=address, log_to_driver=False)
        except Exception as exc:  # noqa: BLE001 - connection problems become one line
            raise RigidposeError(f"cannot connect to the Ray cluster at {address!r}: {str(exc).splitlines()[0]}") from None
    task = ray.remote(num_cpus=1)(_ray_chunk)
    sizes = {c[0]: c[2] - c[1] for c in chunks}
    refs = [task.remote(job, c) for c in chunks]
    while refs:
        done, refs = ray.wait(refs, num_returns=1)
        for r in done:
            bar.update(sizes[ray.get(r)])


def run_chunks(job: SynthJob, chunks: list[Chunk], *, workers: int = 1, ray: str | None = None,
               show_progress: bool = True) -> None:
    """Render ``chunks`` with the chosen executor and a progress bar in images/s."""
    if workers < 1:
        raise RigidposeError(f"--workers must be at least 1, got {workers}")
    with _bar(sum(c[2] - c[1] for c in chunks), show_progress) as bar:
        if not chunks:
            return
        if ray:
            run_ray(job, chunks, ray, bar)
        elif workers == 1:
            run_serial(job, chunks, bar)
        else:
            run_processes(job, chunks, workers, bar)
