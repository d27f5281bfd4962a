"""Grasp frames: named poses in an object's frame, read from a YAML file next to the model card.

The file (``RUN/grasps.yaml`` by default, or the ``grasps`` parameter) looks like::

    # metres; quaternions scalar-last (x y z w), as tf2 writes them
    grasps:
      bracket:                     # object name as in the model card, or its BOP id
        top_pinch: {xyz: [0.0, 0.0, 0.06], quat: [1.0, 0.0, 0.0, 0.0]}
        side:      {xyz: [0.03, -0.03, 0.004], quat: [0.0, 0.0, 0.0, 1.0]}
      2:
        centre:    {xyz: [0.0, 0.0, 0.02]}      # quat omitted: identity

Each grasp ``g`` of object instance ``<label>_<k>`` is published on /tf as the child
frame ``<label>_<k>/<g>`` of ``<label>_<k>`` (``T_obj_grasp``). Every mistake in the file
is a :class:`BadParameter` naming the file and the entry, so the node refuses to start.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import yaml

from rigidpose.geometry import Pose
from rigidpose_ros.errors import BadParameter

GRASP_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")

#: obj_id → [(grasp name, T_obj_grasp)]
Grasps = dict[int, list[tuple[str, Pose]]]


def default_grasps_path(checkpoint: str) -> Path | None:
    """``grasps.yaml`` in the run folder of ``checkpoint`` (a folder or a checkpoint file), if it exists."""
    if not checkpoint:
        return None
    p = Path(checkpoint)
    folder = p if p.is_dir() else p.parent
    path = folder / "grasps.yaml"
    return path if path.is_file() else None


def _numbers(where: str, value: Any, n: int) -> np.ndarray:
    if not isinstance(value, (list, tuple)) or len(value) != n:
        raise BadParameter(f"{where} must be a list of {n} numbers, got {value!r}")
    try:
        v = np.array([float(x) for x in value])
    except (TypeError, ValueError):
        raise BadParameter(f"{where} must be a list of {n} numbers, got {value!r}") from None
    if not np.all(np.isfinite(v)):
        raise BadParameter(f"{where} contains NaN or infinite values")
    return v


def _grasp(where: str, spec: Any) -> Pose:
    if not isinstance(spec, dict) or not set(spec) <= {"xyz", "quat"} or "xyz" not in spec:
        raise BadParameter(f"{where} must be a mapping with 'xyz' (3 numbers, m) and optional 'quat' (x y z w), got {spec!r}")
    xyz = _numbers(f"{where}.xyz", spec["xyz"], 3)
    if np.max(np.abs(xyz)) > 10.0:
        raise BadParameter(f"{where}.xyz = {xyz.tolist()} is more than 10 m from the object: the file is in metres")
    q = _numbers(f"{where}.quat", spec.get("quat", [0.0, 0.0, 0.0, 1.0]), 4)
    if abs(np.linalg.norm(q) - 1.0) > 1e-3:
        raise BadParameter(f"{where}.quat must have unit norm, got |q| = {np.linalg.norm(q):.4f}")
    return Pose.from_quat(q / np.linalg.norm(q), xyz, "obj", "grasp")


def _object_id(where: str, key: Any, objects: Mapping[int, str]) -> int:
    by_name = {name: oid for oid, name in objects.items() if name}
    if str(key) in by_name:
        return by_name[str(key)]
    if isinstance(key, int) or str(key).isdigit():
        if int(key) in objects:
            return int(key)
    known = ", ".join(f"{name or '?'} ({oid})" for oid, name in sorted(objects.items()))
    raise BadParameter(f"{where}: unknown object {key!r}; the checkpoint has {known}")


def parse_grasps(data: Any, objects: Mapping[int, str], source: str = "grasps") -> Grasps:
    """The loaded YAML → ``{obj_id: [(name, T_obj_grasp), ...]}``.

    Args:
        data: the parsed YAML document.
        objects: obj_id → name of the checkpoint's objects (keys may be either).
        source: the file name, for messages.
    """
    if not isinstance(data, dict) or set(data) != {"grasps"} or not isinstance(data["grasps"], dict):
        raise BadParameter(f"{source}: expected one top-level key 'grasps' mapping objects to named grasps")
    out: Grasps = {}
    for key, grasps in data["grasps"].items():
        oid = _object_id(f"{source}: grasps.{key}", key, objects)
        if oid in out:
            raise BadParameter(f"{source}: object {key!r} is listed twice (by name and by id)")
        if not isinstance(grasps, dict) or not grasps:
            raise BadParameter(f"{source}: grasps.{key} must map grasp names to poses")
        out[oid] = []
        for name, spec in grasps.items():
            if not GRASP_NAME.match(str(name)):
                raise BadParameter(f"{source}: grasp name {name!r} of {key!r} must be letters, digits, '_' or '-'")
            out[oid].append((str(name), _grasp(f"{source}: grasps.{key}.{name}", spec)))
    return out


def load_grasps(path: str | Path, objects: Mapping[int, str]) -> Grasps:
    """Read and validate a grasps YAML file (see the module docstring)."""
    p = Path(path)
    if not p.is_file():
        raise BadParameter(f"grasps file {p} does not exist")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadParameter(f"grasps file {p} is not valid YAML: {first}") from None
    return parse_grasps(data, objects, str(p))
