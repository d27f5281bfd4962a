"""JSON files for the BOP format: atomic writes and reads with clear :class:`DataError` s.

Also the small, shared checks that turn loose JSON values into typed numbers
(``as_int``, ``as_float``, ``as_floats``), so every reader reports the file, the
key and what is wrong in one line.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
from numpy.typing import NDArray

from rigidpose.errors import DataError

PathLike = str | os.PathLike


def write_bytes_atomic(path: PathLike, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then ``os.replace`` it.

    The temporary file keeps ``path``'s suffix, so writers that pick the format from the
    extension (OpenCV, trimesh) work. On any error the temporary file is removed and
    ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json_atomic(path: PathLike, obj: Any, indent: int | None = 2) -> None:
    """Write ``obj`` as JSON to ``path`` through a temporary file and ``os.replace``."""
    text = json.dumps(obj, indent=indent, sort_keys=False, allow_nan=False)

    def _write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())

    write_bytes_atomic(path, _write)


def read_text(path: PathLike, what: str = "file") -> str:
    """A UTF-8 text file's content; missing or unreadable raises :class:`DataError` naming ``what``."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        raise DataError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise DataError(f"expected a {what} but found a directory: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {what} {path}: {exc}") from None


def read_json(path: PathLike) -> Any:
    """Read a JSON file; a missing, unreadable or malformed file raises :class:`DataError`."""
    text = read_text(path, "file")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise DataError(f"malformed JSON in {path}: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:
        raise DataError(f"malformed JSON in {path}: {exc}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name}")


def read_json_dict(path: PathLike) -> dict:
    """Read a JSON file whose top level must be an object (dict)."""
    d = read_json(path)
    if not isinstance(d, dict):
        raise DataError(f"{path}: expected a JSON object at the top level, got {type(d).__name__}")
    return d


def int_key(key: str, where: str) -> int:
    """A BOP id key such as ``"12"`` → 12."""
    try:
        return int(key)
    except (TypeError, ValueError):
        raise DataError(f"{where}: key {key!r} is not an integer id") from None


def get(d: Any, key: str, where: str) -> Any:
    """``d[key]`` or a :class:`DataError` naming the missing key."""
    if not isinstance(d, dict):
        raise DataError(f"{where}: expected an object, got {type(d).__name__}")
    if key not in d:
        raise DataError(f"{where}: missing key {key!r}")
    return d[key]


def as_int(v: Any, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or float(v) != int(v):
        raise DataError(f"{where}: expected an integer, got {v!r}")
    return int(v)


def as_float(v: Any, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise DataError(f"{where}: expected a number, got {v!r}")
    if not np.isfinite(v):
        raise DataError(f"{where}: non-finite value {v!r}")
    return float(v)


def as_floats(v: Any, n: int, where: str) -> NDArray[np.float64]:
    """A list of exactly ``n`` finite numbers → (n,) float64."""
    if not isinstance(v, (list, tuple)) or len(v) != n:
        got = f"{len(v)} values" if isinstance(v, (list, tuple)) else type(v).__name__
        raise DataError(f"{where}: expected a list of {n} numbers, got {got}")
    return np.array([as_float(x, where) for x in v], dtype=np.float64)
