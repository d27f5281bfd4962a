"""Where the estimator finds its networks and object meshes.

A run folder ``RUN`` (from ``rigidpose train``) holds the pose network as ``RUN/best.*``
(or ``RUN/last.*``) and the detector as ``RUN/detector/best.*`` (or ``last``). The
meshes (needed for ICP, the visible fraction and overlays) are the BOP model PLYs
(millimetres) of the training dataset, ``<data>/models/obj_NNNNNN.ply``, whose folder
the model card's training config records, or a folder the user names.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from rigidpose.errors import RigidposeError
from rigidpose.net.card import ModelCard
from rigidpose.objects import ObjectModel


def _exists(stem: Path) -> bool:
    return stem.with_name(stem.name + ".safetensors").is_file() and stem.with_name(stem.name + ".json").is_file()


def _strip(path: Path) -> Path:
    for suffix in (".safetensors", ".json"):
        if path.name.endswith(suffix):
            return path.with_name(path.name[: -len(suffix)])
    return path


def resolve_posenet(path: str | Path) -> Path:
    """The pose network's checkpoint stem for a run folder or a checkpoint path."""
    p = Path(path)
    if p.is_dir():
        for name in ("best", "last"):
            if _exists(p / name):
                return p / name
        raise RigidposeError(f"no pose-network checkpoint in {p} (expected best.safetensors + best.json from `rigidpose train`)")
    stem = _strip(p)
    if not _exists(stem):
        raise RigidposeError(f"checkpoint not found: {stem}.safetensors and {stem.name}.json")
    return stem


def resolve_detector(posenet: Path, detector: str | Path | None) -> Path | None:
    """The detector's checkpoint stem: ``"auto"`` looks in the run's ``detector/`` folder."""
    if detector is None:
        return None
    if str(detector) != "auto":
        stem = _strip(Path(detector))
        if Path(detector).is_dir():
            stem = next((Path(detector) / n for n in ("best", "last") if _exists(Path(detector) / n)), Path(detector) / "best")
        if not _exists(stem):
            raise RigidposeError(f"detector checkpoint not found: {stem}.safetensors and {stem.name}.json")
        return stem
    folder = posenet.parent / "detector"
    for name in ("best", "last"):
        if _exists(folder / name):
            return folder / name
    raise RigidposeError(
        f"no detector checkpoint in {folder} (expected best.safetensors + best.json from detector training); "
        "train the detector, or pass detector=None (CLI: --no-detector) and give the object boxes yourself"
    )


def load_meshes(card: ModelCard, obj_ids: list[int], models: str | Path | Mapping[int, ObjectModel] | None,
                required: bool) -> dict[int, ObjectModel] | None:
    """``{obj_id: ObjectModel}`` (metres) for ``obj_ids``, or None when not found and not ``required``.

    ``models`` is ``"auto"`` (the training dataset's ``models/``), a folder of BOP model
    PLYs in millimetres, a mapping, or None (no meshes).
    """
    if isinstance(models, Mapping):
        missing = [o for o in obj_ids if o not in models]
        if missing:
            raise RigidposeError(f"no mesh given for object(s) {missing}")
        return {o: models[o] for o in obj_ids}
    if models is None:
        folder = None
    elif str(models) == "auto":
        data = (card.training.get("config") or {}).get("data")
        folder = Path(data) / "models" if data else None
    else:
        folder = Path(models)
    paths = {o: folder / f"obj_{o:06d}.ply" for o in obj_ids} if folder is not None else {}
    if folder is None or not all(p.is_file() for p in paths.values()):
        if required:
            where = f"in {folder}" if folder is not None else "(none given)"
            raise RigidposeError(
                f"ICP needs the object meshes, but obj_NNNNNN.ply for {obj_ids} are not all {where}; "
                "pass models=DIR (CLI: --models DIR) or icp=False"
            )
        return None
    objs = {o.obj_id: o for o in card.objects}
    return {o: ObjectModel.load(paths[o], "mm", obj_id=o, name=objs[o].name, symmetries=objs[o].info.symmetries)
            for o in obj_ids}
