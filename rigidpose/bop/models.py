"""Object model files of a BOP dataset: ``models/obj_NNNNNN.ply`` in **millimetres**.

BOP has no object names; rigidpose keeps them beside the models in ``models_names.json``
(``{"1": "bracket"}``), a file BOP tools ignore. Names travel from there into the model
card, and from the card to the ROS node's TF frames.

The :class:`~rigidpose.objects.model.ObjectModel` is imported inside the functions so that
``rigidpose.bop`` imports without the mesh stack loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rigidpose.bop.jsonio import PathLike, read_json, write_bytes_atomic, write_json_atomic
from rigidpose.bop.models_info import read_models_info
from rigidpose.bop.units import MM_PER_M
from rigidpose.errors import DataError

if TYPE_CHECKING:
    from rigidpose.objects.model import ObjectModel


NAMES_FILE = "models_names.json"


def write_model_names(models_dir: PathLike, names: dict[int, str]) -> None:
    """Write ``{obj_id: name}`` to ``models_dir/models_names.json`` atomically."""
    write_json_atomic(Path(models_dir) / NAMES_FILE, {str(int(k)): str(v) for k, v in sorted(names.items())})


def read_model_names(models_dir: PathLike) -> dict[int, str]:
    """``{obj_id: name}`` from ``models_dir/models_names.json``; empty when the file is absent."""
    path = Path(models_dir) / NAMES_FILE
    if not path.is_file():
        return {}
    d = read_json(path)
    if not isinstance(d, dict) or not all(isinstance(v, str) and v.strip() for v in d.values()):
        raise DataError(f"{path} must map object ids to non-empty names, e.g. {{\"1\": \"bracket\"}}")
    try:
        return {int(k): v.strip() for k, v in d.items()}
    except ValueError:
        raise DataError(f"{path}: object ids must be integers, got {sorted(d)}") from None


def model_filename(obj_id: int) -> str:
    """BOP's model file name for ``obj_id``: ``obj_000001.ply``."""
    return f"obj_{int(obj_id):06d}.ply"


def write_model_ply(path: PathLike, model: ObjectModel) -> None:
    """Write ``model`` (metres inside) as a binary PLY in **millimetres**, atomically."""
    mesh_mm = model.mesh.copy()
    mesh_mm.apply_scale(MM_PER_M)
    data = mesh_mm.export(file_type="ply")

    def _write(tmp: Path) -> None:
        tmp.write_bytes(data)

    write_bytes_atomic(path, _write)


def load_dataset_models(models_dir: PathLike) -> dict[int, ObjectModel]:
    """Load every object listed in ``models_dir/models_info.json`` → ``{obj_id: ObjectModel}``.

    The PLYs are read with ``units="mm"`` (converted to metres by ``ObjectModel.load``),
    and each model takes its symmetries from ``models_info.json`` (metres after reading).
    """
    from rigidpose.objects.model import ObjectModel

    d = Path(models_dir)
    if not d.is_dir():
        raise DataError(f"models directory not found: {d}")
    infos = read_models_info(d / "models_info.json")
    names = read_model_names(d)
    models = {}
    for obj_id, info in sorted(infos.items()):
        p = d / model_filename(obj_id)
        if not p.is_file():
            raise DataError(f"{d / 'models_info.json'} lists object {obj_id} but {p} is missing")
        models[obj_id] = ObjectModel.load(p, units="mm", obj_id=obj_id, name=names.get(obj_id),
                                          symmetries=info.symmetries)
    return models
