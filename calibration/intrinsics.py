"""The intrinsics pipeline: detect the board in images or a video, calibrate, write outputs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from calibration.board import BoardSpec
from calibration.coverage import Coverage, compute_coverage, write_coverage_png
from calibration.detect import BoardDetector, Detection, legacy_hint, to_gray
from calibration.frames import FrameSelector
from calibration.io import (expand_glob, iter_video, read_image, video_frame_count,
                            write_bop_camera_json, write_camera_yaml, write_undistorted_preview)
from calibration.solve import MIN_VIEWS, Calibration, SolveOptions, calibrate
from rigidpose.errors import DataError, RigidposeError

Progress = Callable[[Iterable, int], Iterable]


def _no_progress(it: Iterable, total: int) -> Iterable:
    return it


@dataclass
class DetectionRun:
    """Detections over an image set or a video.

    Attributes:
        views: detections kept for calibration.
        missed: names of images/frames where the board was not found.
        image_size: (W, H) shared by all images.
        first_image: an HxWx3 RGB image with the board (for previews), or None.
        skipped_similar: video frames with a board that added no coverage.
    """

    views: list[Detection] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    image_size: tuple[int, int] = (0, 0)
    first_image: NDArray[np.uint8] | None = None
    skipped_similar: int = 0

    def _add(self, name: str, rgb: NDArray[np.uint8], det: Detection | None) -> None:
        size = (rgb.shape[1], rgb.shape[0])
        if self.image_size == (0, 0):
            self.image_size = size
        elif size != self.image_size:
            raise DataError(f"{name} is {size[0]}x{size[1]} but earlier images are "
                            f"{self.image_size[0]}x{self.image_size[1]}; calibrate one camera mode at a time")
        if det is None:
            self.missed.append(name)
            return
        if self.first_image is None:
            self.first_image = rgb
        self.views.append(det)


def detect_images(pattern: str, spec: BoardSpec, chessboard_detector: str = "classic",
                  progress: Progress = _no_progress) -> DetectionRun:
    """Detect the board in every file matching the glob ``pattern``."""
    paths = expand_glob(pattern)
    detector = BoardDetector(spec, chessboard_detector)
    run = DetectionRun()
    for p in progress(paths, len(paths)):
        rgb = read_image(p)
        run._add(p.name, rgb, detector.detect(to_gray(rgb), p.name))
    return run


def detect_video(path: str | Path, spec: BoardSpec, every: int = 1, chessboard_detector: str = "classic",
                 min_distance: float = 0.08, max_frames: int = 60,
                 progress: Progress = _no_progress) -> DetectionRun:
    """Detect the board in every ``every``-th frame and keep frames that add coverage."""
    detector = BoardDetector(spec, chessboard_detector)
    run = DetectionRun()
    selector: FrameSelector | None = None
    total = video_frame_count(path) // max(every, 1)
    for i, rgb in progress(iter_video(path, every), total):
        name = f"{Path(path).name}#{i}"
        det = detector.detect(to_gray(rgb), name)
        if det is not None:
            selector = selector or FrameSelector((rgb.shape[1], rgb.shape[0]), min_distance, max_frames)
            if not selector.offer(det):
                run.skipped_similar += 1
                continue
        run._add(name, rgb, det)
    return run


def check_enough(run: DetectionRun, spec: BoardSpec) -> None:
    """Raise a one-line error if fewer than ``MIN_VIEWS`` views show the board."""
    n, total = len(run.views), len(run.views) + len(run.missed)
    if n >= MIN_VIEWS:
        return
    hint = legacy_hint(spec) if n == 0 else ""
    what = "inner corners" if spec.kind == "chessboard" else "squares"
    raise RigidposeError(f"the board {spec} ({spec.cols}x{spec.rows} {what}) was found in {n} of {total} "
                         f"images; calibration needs at least {MIN_VIEWS}{hint}")


def run_intrinsics(run: DetectionRun, spec: BoardSpec, opt: SolveOptions, reject_factor: float = 3.0,
                   folds: int = 5) -> tuple[Calibration, Coverage]:
    """Calibrate from the detections and measure coverage of the kept views."""
    check_enough(run, spec)
    cal = calibrate(run.views, run.image_size, opt, reject_factor=reject_factor, folds=folds)
    uv = np.concatenate([v.image_points for v in cal.views])
    return cal, compute_coverage(uv, run.image_size)


def format_report(cal: Calibration, cov: Coverage, run: DetectionRun) -> str:
    """The text report: views, RMS, per-view errors, parameters ± std, CV, coverage."""
    s, cam = cal.solution, cal.camera
    lines = [f"views: {len(cal.views)} used, {len(cal.rejected)} rejected as outliers, "
             f"{len(run.missed)} without a board" +
             (f", {run.skipped_similar} video frames skipped as near-duplicates" if run.skipped_similar else "")]
    if run.missed:
        lines.append("  board not found in: " + ", ".join(run.missed))
    for name, err in cal.rejected:
        lines.append(f"  rejected {name}: RMS {err:.3f} px")
    lines.append(f"model: {cal.options.model}" + (" (fixed aspect)" if cal.options.fix_aspect else "")
                 + (" (zero tangential)" if cal.options.zero_tangent else ""))
    lines.append(f"RMS reprojection error: {s.rms:.4f} px over {sum(len(v) for v in cal.views)} corners")
    lines.append("per-view RMS (px): " + ", ".join(f"{v.name} {e:.3f}" for v, e in zip(cal.views, s.per_view)))
    values = {"fx": cam.fx, "fy": cam.fy, "cx": cam.cx, "cy": cam.cy}
    names = ("k1", "k2", "k3", "k4") if cam.distortion_model == "equidistant" else (
        "k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6")
    values.update(zip(names, cam.dist.tolist()))
    lines.append("parameters (value ± 1 std; fixed ones have no std):")
    for k, v in values.items():
        std = s.std.get(k)
        lines.append(f"  {k:>3} = {v:12.6g}" + (f" ± {std:.3g}" if std is not None else "  (fixed)"))
    if cal.cv is not None:
        cv = cal.cv
        lines.append(f"{cv.k}-fold cross-validation: held-out RMS {cv.heldout_rms:.4f} px "
                     f"(training RMS {s.rms:.4f} px); per fold "
                     + ", ".join(f"{e:.3f}" for e in cv.fold_rms) + f"; fx spread across folds {cv.fx_spread:.2f} px")
    else:
        lines.append(f"cross-validation skipped: needs at least {MIN_VIEWS + 1} views")
    lines.append(f"coverage: {cov.summary()}")
    return "\n".join(lines)


def write_outputs(cal: Calibration, cov: Coverage, run: DetectionRun, out_yaml: str | Path,
                  camera_name: str = "camera", bop_json: str | Path | None = None,
                  coverage_png: str | Path | None = None, preview: str | Path | None = None) -> list[Path]:
    """Write the camera_info YAML and the optional extra files; returns the paths written."""
    out_yaml = Path(out_yaml)
    if not out_yaml.parent.is_dir():
        raise DataError(f"output folder does not exist: {out_yaml.parent}")
    s = cal.solution
    comment = (f"rigidpose calibrate intrinsics: {len(cal.views)} views, RMS {s.rms:.4f} px"
               + (f", {cal.cv.k}-fold held-out RMS {cal.cv.heldout_rms:.4f} px" if cal.cv else "")
               + "\n" + "std: " + ", ".join(f"{k} {v:.3g}" for k, v in s.std.items()))
    write_camera_yaml(cal.camera, out_yaml, camera_name, comment)
    written = [out_yaml]
    if bop_json:
        write_bop_camera_json(cal.camera, bop_json)
        written.append(Path(bop_json))
    if coverage_png:
        uv = np.concatenate([v.image_points for v in cal.views])
        write_coverage_png(cov, uv, coverage_png, run.first_image)
        written.append(Path(coverage_png))
    if preview and run.first_image is not None:
        write_undistorted_preview(cal.camera, run.first_image, preview)
        written.append(Path(preview))
    return written
