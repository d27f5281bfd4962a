"""``models_info.json``: object sizes and symmetries, millimetres on disk, metres in :class:`ModelInfo`.

On disk (BOP)::

    {"1": {"diameter": 102.1, "min_x": -37.9, ..., "size_z": 38.6,
           "symmetries_discrete": [[16 floats, row-major 4x4, translation in mm], ...],
           "symmetries_continuous": [{"axis": [0, 0, 1], "offset": [0, 0, 0]}]}}
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rigidpose.bop.jsonio import (
    PathLike, as_float, as_floats, get, int_key, read_json_dict, write_json_atomic,
)
from rigidpose.bop.units import m_to_mm, mm_to_m
from rigidpose.errors import DataError
from rigidpose.objects import ContinuousSymmetry, ModelInfo, Symmetries


def model_info_to_bop(info: ModelInfo) -> dict:
    """:class:`ModelInfo` (metres) → one BOP ``models_info`` entry (**millimetres**)."""
    d: dict = {"diameter": m_to_mm(info.diameter)}
    mn, sz = m_to_mm(info.min_xyz), m_to_mm(info.size_xyz)
    for i, ax in enumerate("xyz"):
        d[f"min_{ax}"] = float(mn[i])
    for i, ax in enumerate("xyz"):
        d[f"size_{ax}"] = float(sz[i])
    sym = info.symmetries
    if len(sym.discrete):
        mats = []
        for T in sym.discrete:
            T_mm = np.array(T, dtype=np.float64)
            T_mm[:3, 3] = m_to_mm(T[:3, 3])
            mats.append(T_mm.ravel().tolist())
        d["symmetries_discrete"] = mats
    if sym.continuous:
        d["symmetries_continuous"] = [
            {"axis": c.axis.tolist(), "offset": m_to_mm(c.offset).tolist()} for c in sym.continuous
        ]
    return d


def model_info_from_bop(d: dict, where: str = "models_info entry") -> ModelInfo:
    """One BOP ``models_info`` entry (**millimetres**) → :class:`ModelInfo` (metres)."""
    diameter = as_float(get(d, "diameter", where), f"{where}: diameter")
    if diameter <= 0:
        raise DataError(f"{where}: diameter must be positive, got {diameter}")
    mn = np.array([as_float(get(d, f"min_{a}", where), f"{where}: min_{a}") for a in "xyz"])
    sz = np.array([as_float(get(d, f"size_{a}", where), f"{where}: size_{a}") for a in "xyz"])
    disc = []
    raw_disc = d.get("symmetries_discrete", [])
    if not isinstance(raw_disc, list):
        raise DataError(f"{where}: symmetries_discrete must be a list of 16-value lists")
    for i, v in enumerate(raw_disc):
        T = as_floats(v, 16, f"{where}: symmetries_discrete[{i}]").reshape(4, 4)
        T[:3, 3] = mm_to_m(T[:3, 3])
        disc.append(T)
    cont = []
    raw_cont = d.get("symmetries_continuous", [])
    if not isinstance(raw_cont, list):
        raise DataError(f"{where}: symmetries_continuous must be a list of {{axis, offset}} objects")
    for i, c in enumerate(raw_cont):
        w = f"{where}: symmetries_continuous[{i}]"
        axis = as_floats(get(c, "axis", w), 3, f"{w}: axis")
        offset = as_floats(c.get("offset", [0.0, 0.0, 0.0]), 3, f"{w}: offset")
        try:
            cont.append(ContinuousSymmetry(axis, mm_to_m(offset)))
        except ValueError as exc:
            raise DataError(f"{w}: {exc}") from None
    try:
        syms = Symmetries(np.array(disc).reshape(-1, 4, 4), tuple(cont))
        return ModelInfo(mm_to_m(diameter), mm_to_m(mn), mm_to_m(sz), syms)
    except ValueError as exc:
        raise DataError(f"{where}: {exc}") from None


def read_models_info(path: PathLike) -> dict[int, ModelInfo]:
    """Read ``models_info.json`` (mm) → ``{obj_id: ModelInfo}`` in metres."""
    d = read_json_dict(path)
    return {
        int_key(k, str(path)): model_info_from_bop(v, f"{path}: object {k}") for k, v in d.items()
    }


def write_models_info(path: PathLike, infos: dict[int, ModelInfo]) -> None:
    """Write ``{obj_id: ModelInfo}`` (metres) as ``models_info.json`` in **mm**, atomically."""
    write_json_atomic(Path(path), {str(int(k)): model_info_to_bop(v) for k, v in sorted(infos.items())})
