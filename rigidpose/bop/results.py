"""The BOP results CSV: ``scene_id,im_id,obj_id,score,R,t,time``.

``R`` is 9 row-major values separated by spaces, ``t`` 3 values in **millimetres**
separated by spaces, ``time`` the run time in seconds for the whole image (identical for
all estimates of one image; -1 when unknown). In memory the pose is metres.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rigidpose.bop.jsonio import PathLike, read_text, write_bytes_atomic
from rigidpose.bop.units import pose_from_bop_mm, pose_to_bop_mm
from rigidpose.errors import DataError
from rigidpose.geometry import PoseEstimate

HEADER = "scene_id,im_id,obj_id,score,R,t,time"


@dataclass(frozen=True, eq=False)
class ResultRow:
    """One estimate of one image: ``estimate.pose`` is ``T_cam_obj`` in metres, ``time`` seconds."""

    scene_id: int
    im_id: int
    estimate: PoseEstimate
    time: float = -1.0


def _fmt(x: float) -> str:
    return repr(float(x))


def _check_times(rows: list[tuple[int, int, float]], where: str) -> None:
    seen: dict[tuple[int, int], float] = {}
    for scene_id, im_id, t in rows:
        prev = seen.setdefault((scene_id, im_id), t)
        if prev != t:
            raise DataError(
                f"{where}: scene {scene_id} image {im_id} has different times ({prev} and {t}); "
                "the time must be the same for all estimates of one image"
            )


def write_results_csv(path: PathLike, rows: list[ResultRow]) -> None:
    """Write results as a BOP CSV (``t`` in **mm**), atomically."""
    _check_times([(r.scene_id, r.im_id, float(r.time)) for r in rows], str(path))
    buf = io.StringIO()
    buf.write(HEADER + "\n")
    for r in rows:
        e = r.estimate
        R9, t_mm = pose_to_bop_mm(e.pose)
        buf.write(
            f"{int(r.scene_id)},{int(r.im_id)},{int(e.obj_id)},{_fmt(e.score)},"
            f"{' '.join(map(_fmt, R9))},{' '.join(map(_fmt, t_mm))},{_fmt(r.time)}\n"
        )
    text = buf.getvalue()

    def _write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    write_bytes_atomic(path, _write)


def _numbers(field: str, n: int, what: str, where: str) -> np.ndarray:
    parts = field.split()
    if len(parts) != n:
        raise DataError(f"{where}: {what} must have {n} space-separated numbers, got {len(parts)}")
    try:
        a = np.array([float(p) for p in parts])
    except ValueError:
        raise DataError(f"{where}: {what} has a value that is not a number: {field.strip()!r}") from None
    if not np.all(np.isfinite(a)):
        raise DataError(f"{where}: {what} has non-finite values")
    return a


def _int(field: str, what: str, where: str) -> int:
    try:
        return int(field.strip())
    except ValueError:
        raise DataError(f"{where}: {what} must be an integer, got {field.strip()!r}") from None


def _parse_line(line: str, where: str) -> ResultRow:
    f = line.split(",")
    if len(f) != 7:
        raise DataError(f"{where}: expected 7 comma-separated fields ({HEADER}), got {len(f)}")
    score = float(_numbers(f[3], 1, "score", where)[0])
    time = float(_numbers(f[6], 1, "time", where)[0])
    R9 = _numbers(f[4], 9, "R", where)
    t_mm = _numbers(f[5], 3, "t", where)
    est = PoseEstimate(_int(f[2], "obj_id", where), pose_from_bop_mm(R9, t_mm, where, "cam", "obj"), score)
    return ResultRow(_int(f[0], "scene_id", where), _int(f[1], "im_id", where), est, time)


def read_results_csv(path: PathLike) -> list[ResultRow]:
    """Read a BOP results CSV (``t`` in mm) → rows with poses in **metres**.

    The header line is optional, as in bop_toolkit. Every malformed line raises a
    :class:`DataError` naming the file and line.
    """
    p = Path(path)
    text = read_text(p, "results file")
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if not s or (n == 1 and s.replace(" ", "") == HEADER):
            continue
        rows.append(_parse_line(s, f"{p}: line {n}"))
    _check_times([(r.scene_id, r.im_id, r.time) for r in rows], str(p))
    return rows
