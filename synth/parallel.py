"""Running chunks: in this process, in spawned worker processes, or as Ray tasks.

Each worker process builds one :class:`~synth.generate.ImageGenerator` (one GL context)
and renders whole chunks; progress comes back image by image through a queue.
Ray tasks write into the same output folder, so a cluster needs a shared filesystem.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from tqdm import tqdm

from rigidpose.errors import RigidposeError
from synth.run import SynthJob, render_chunk

Chunk = tuple[int, int, int]

_worker: dict = {}


def _init_worker(job: SynthJob, progress_queue, workers: int) -> None:  # noqa: ANN001 - mp.Queue
    if workers > 1:  # one llvmpipe raster thread per worker, unless the user chose otherwise
        os.environ.setdefault("LP_NUM_THREADS", "1")
    _worker["job"], _worker["q"] = job, progress_queue
    _worker["gen"] = job.generator()


def _worker_chunk(chunk: Chunk) -> int:
    q = _worker["q"]
    render_chunk(_worker["job"], _worker["gen"], *chunk, progress=lambda n: q.put(time.monotonic()))
    return chunk[0]


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
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(job, q, workers)) as ex:
        pending = {ex.submit(_worker_chunk, c) for c in chunks}
        try:
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                _drain(q, bar)
                for f in done:
                    f.result()  # re-raise a worker's error
        except BaseException:
            for f in pending:
                f.cancel()
            raise
        _drain(q, bar)


def _drain(q, bar: tqdm) -> None:  # noqa: ANN001
    """Count finished images; each message is the ``time.monotonic()`` when one finished
    (a ``bar`` with an ``on_image(t)`` method, as the benchmark's, gets the times)."""
    on_image = getattr(bar, "on_image", None)
    while True:
        try:
            t = q.get_nowait()
        except queue.Empty:
            return
        bar.update(1)
        if on_image is not None:
            on_image(t)


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
        elif workers == 1 or len(chunks) == 1:
            if workers > 1:
                bar.write(f"note: one chunk to render, so one process works; lower output.chunk_size "
                          f"(now {job.cfg.output.chunk_size}) to use {workers} workers")
            run_serial(job, chunks, bar)
        else:
            run_processes(job, chunks, min(workers, len(chunks)), bar)
