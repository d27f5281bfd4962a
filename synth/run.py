"""``rigidpose synth`` as a library call: check every input, then render chunks.

All inputs (meshes, camera, config, output folder, renderer) are checked before any
rendering starts; each problem is a one-line :class:`RigidposeError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from rigidpose.errors import RigidposeError
from rigidpose.geometry import Camera
from synth.config import SynthConfig, load_config
from synth.generate import ImageGenerator, ModelSpec, make_targets
from synth.scene import Target
from synth.writer import MANIFEST, ChunkWriter, ShardAnnotations, is_complete, remove_stale_temps, write_dataset_files, write_manifest

MANIFEST_FORMAT = "rigidpose-synth/1"


def default_camera() -> Camera:
    """640x480, 60 degrees horizontal field of view, principal point at the centre."""
    return Camera.from_fov(640, 480, 60.0)


@dataclass(frozen=True, eq=False)
class SynthJob:
    """Everything a worker needs to render chunks (plain data: it is sent to processes)."""

    out: Path
    models: list[ModelSpec]
    camera: Camera
    cfg: SynthConfig
    seed: int
    images: int
    renderer: str = "auto"
    distractors: list[ModelSpec] = field(default_factory=list)
    #: ``make_targets(models)``, computed once here and sent to workers (None: each computes them).
    targets: list[Target] | None = None

    def chunks(self) -> list[tuple[int, int, int]]:
        """``(chunk, start, stop)`` image-index ranges of at most ``chunk_size`` images."""
        cs = self.cfg.output.chunk_size
        return [(c, s, min(s + cs, self.images)) for c, s in enumerate(range(0, self.images, cs))]

    def generator(self) -> ImageGenerator:
        return ImageGenerator(self.models, self.camera, self.cfg, self.renderer, self.distractors, self.targets)


def _render_into(job: SynthJob, gen: ImageGenerator, w: ChunkWriter, start: int, lo: int, hi: int,
                 progress: Callable[[int], None] | None) -> None:
    """Images ``lo..hi-1`` of the run into ``w`` (chunk starting at image ``start``)."""
    for i in range(lo, hi):
        w.add(i - start, gen.generate(job.seed, i))
        if progress is not None:
            progress(1)


def render_chunk(job: SynthJob, gen: ImageGenerator, chunk: int, start: int, stop: int,
                 progress: Callable[[int], None] | None = None) -> Path:
    """Render images ``start..stop-1`` into chunk ``chunk`` (temp folder, then rename)."""
    w = ChunkWriter(job.out, chunk, gen.camera, job.cfg.output)
    try:
        _render_into(job, gen, w, start, start, stop, progress)
        return w.commit()
    except BaseException:
        w.abort()
        raise


def render_shard(job: SynthJob, gen: ImageGenerator, shard: Shard, tmp: Path,
                 progress: Callable[[int], None] | None = None) -> ShardAnnotations:
    """Render one shard (images ``lo..hi-1`` of chunk ``chunk``) into the chunk's temporary
    folder ``tmp`` and return its annotations, for :func:`synth.writer.finalize_chunk`."""
    w = ChunkWriter(job.out, shard.chunk, gen.camera, job.cfg.output, tmp=tmp)
    _render_into(job, gen, w, shard.start, shard.lo, shard.hi, progress)
    return w.annotations()


@dataclass(frozen=True)
class Shard:
    """Images ``lo..hi-1`` of chunk ``chunk``, which holds images ``start..``."""

    chunk: int
    start: int
    lo: int
    hi: int


def split_shards(chunks: list[tuple[int, int, int]], size: int) -> list[Shard]:
    """Each ``(chunk, start, stop)`` cut into shards of at most ``size`` images, in image order."""
    return [Shard(c, start, lo, min(lo + size, stop)) for c, start, stop in chunks for lo in range(start, stop, size)]


def load_models(paths: list[str], units: str | None = None) -> list:
    """ObjectModels with obj_ids 1..n (mesh errors are one-line MeshErrors)."""
    from rigidpose.objects.model import ObjectModel

    if not paths:
        raise RigidposeError("give at least one --model")
    return [ObjectModel.load(p, units, obj_id=i + 1) for i, p in enumerate(paths)]


def _manifest(job: SynthJob, sources: list[str]) -> dict:
    return {
        "format": MANIFEST_FORMAT,
        "seed": job.seed,
        "images": job.images,
        "models": [str(Path(s).resolve()) for s in sources],
        "camera": job.camera.to_ros_dict(),
        "config": job.cfg.to_dict(),
    }


def _jsonable(x):  # noqa: ANN001, ANN202 - normalise tuples to lists for comparison
    import json

    return json.loads(json.dumps(x))


def check_output(out: Path, manifest: dict, resume: bool) -> None:
    """An output folder must be new/empty, or (with ``resume``) one this same run made."""
    from rigidpose.bop.jsonio import read_json

    if out.exists() and not out.is_dir():
        raise RigidposeError(f"output {out} exists and is not a folder")
    if not out.exists() or not any(out.iterdir()):
        return
    if not resume:
        raise RigidposeError(f"output folder {out} is not empty; pass --resume to continue a run there, or choose a new folder")
    if not (out / MANIFEST).is_file():
        raise RigidposeError(f"output folder {out} holds something else (no {MANIFEST}); choose a new folder")
    old = read_json(out / MANIFEST)
    background = (old.get("config") or {}).get("background")
    if isinstance(background, dict):  # made before grey_prob existed, which renders as grey_prob 0
        background.setdefault("grey_prob", 0.0)
    for key in ("format", "seed", "images", "models", "camera", "config"):
        if _jsonable(old.get(key)) != _jsonable(manifest[key]):
            where = _first_difference(_jsonable(old.get(key)), _jsonable(manifest[key]), key)
            raise RigidposeError(f"cannot resume in {out}: its {where} differs from this run's; use the same arguments "
                                 "or a new folder")


def _first_difference(old, new, path: str) -> str:  # noqa: ANN001
    """``path`` extended to the first key where two JSON values differ, with both values
    when they are scalars: what the user must change to resume."""
    if isinstance(old, dict) and isinstance(new, dict):
        for k in sorted(set(old) | set(new)):
            if old.get(k) != new.get(k):
                return _first_difference(old.get(k), new.get(k), f"{path}.{k}")
    if isinstance(old, (dict, list)) or isinstance(new, (dict, list)):
        return path
    return f"{path} ({old!r} there, {new!r} here)"


def prepare_job(models: list[str], out: str | Path, images: int, *, seed: int = 0, config: str | None = None,
                camera: str | None = None, renderer: str = "auto", resume: bool = False,
                units: str | None = None) -> tuple[SynthJob, list]:
    """Check all inputs and build the job; nothing is written and nothing rendered yet."""
    from synth.render import resolve_renderer

    if images < 1:
        raise RigidposeError(f"--images must be at least 1, got {images}")
    cfg = load_config(config)
    cam = Camera.from_ros_yaml(camera) if camera else default_camera()
    if cam.K[0, 1] != 0.0:
        raise RigidposeError(f"camera {camera}: BOP cannot store a skewed K (K[0, 1] = {cam.K[0, 1]})")
    renderer = resolve_renderer(renderer)
    objs = load_models(models, units)
    distractors = [load_models([p])[0] for p in cfg.distractors.meshes]
    from synth.randomize import list_background_images

    list_background_images(cfg.background.images_dir)
    specs = [ModelSpec.from_model(m) for m in objs]
    job = SynthJob(Path(out), specs, cam, cfg, int(seed), int(images), renderer,
                   [ModelSpec.from_model(d) for d in distractors])
    check_output(job.out, _manifest(job, models), resume)
    return replace(job, targets=make_targets(specs)), objs  # stable poses once, for all workers


def run_synth(job: SynthJob, objs: list, sources: list[str], *, workers: int = 1, ray: str | None = None,
              show_progress: bool = True) -> dict:
    """Write the dataset files, render all incomplete chunks, write the preview.

    Returns ``{"rendered_chunks", "skipped_chunks", "images_rendered", "seconds"}``.
    """
    import time

    from synth.parallel import run_chunks
    from synth.preview import write_preview

    job.out.mkdir(parents=True, exist_ok=True)
    write_dataset_files(job.out, objs, job.camera, job.cfg.output.depth_scale)
    write_manifest(job.out, _manifest(job, sources))
    remove_stale_temps(job.out)
    pending = [c for c in job.chunks() if not is_complete(job.out, c[0])]
    n = sum(stop - start for _, start, stop in pending)
    t0 = time.perf_counter()
    run_chunks(job, pending, workers=workers, ray=ray, show_progress=show_progress)
    seconds = time.perf_counter() - t0
    write_preview(job.out, objs, job.cfg.output.preview_images)
    return {"rendered_chunks": len(pending), "skipped_chunks": len(job.chunks()) - len(pending),
            "images_rendered": n, "seconds": seconds}
