"""The JSON model card that travels with every checkpoint.

A card records what is needed to rebuild and use a network without unpickling
anything: the architecture and its config, the objects (ids, names, keypoints in
metres, size and symmetries), the input normalisation, the training config and the
SHA-256 of the weights file it belongs to.

Object size and symmetries are stored in BOP's ``models_info.json`` form (millimetres,
key ``"units": "bop_mm"``) through ``rigidpose.bop.models_info.model_info_to_bop`` when that
module is available; otherwise in the same layout in metres (``"units": "m"``):
``diameter``, ``min_xyz`` (3), ``size_xyz`` (3), ``symmetries_discrete`` (list of 16
row-major floats, translation in m) and ``symmetries_continuous``
(``[{"axis": [3], "offset": [3 m]}]``). Both forms are read back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rigidpose.errors import RigidposeError
from rigidpose.objects import ContinuousSymmetry, ModelInfo, Symmetries

CARD_FORMAT = "rigidpose-model-card"
CARD_VERSION = 1
ARCHS = ("posenet", "centernet")
#: What each architecture is for: the card's ``kind`` ("posenet": crops → keypoints and pose;
#: "detector": full images → boxes). Cards written before ``kind`` existed get it from ``arch``.
ARCH_KINDS = {"posenet": "posenet", "centernet": "detector"}
KINDS = ("posenet", "detector")

#: ImageNet statistics for RGB in [0, 1]: ``x = (rgb / 255 - mean) / std``.
IMAGENET_NORMALISATION = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "scale": 1.0 / 255.0}


def info_to_json(info: ModelInfo, *, prefer_bop: bool = True) -> dict:
    """``ModelInfo`` → JSON dict, BOP form (mm) when available and preferred, else metres."""
    if prefer_bop:
        try:
            from rigidpose.bop.models_info import model_info_to_bop
        except ImportError:
            pass
        else:
            return {"units": "bop_mm", **model_info_to_bop(info)}
    sym = info.symmetries
    return {
        "units": "m",
        "diameter": info.diameter,
        "min_xyz": info.min_xyz.tolist(),
        "size_xyz": info.size_xyz.tolist(),
        "symmetries_discrete": [T.reshape(16).tolist() for T in sym.discrete],
        "symmetries_continuous": [{"axis": c.axis.tolist(), "offset": c.offset.tolist()} for c in sym.continuous],
    }


def info_from_json(d: dict) -> ModelInfo:
    """The inverse of :func:`info_to_json` (either form). Raises ``ValueError`` on bad content."""
    units = d.get("units")
    if units == "bop_mm":
        try:
            from rigidpose.bop.models_info import model_info_from_bop
        except ImportError:
            raise ValueError("the card stores object info in BOP form but rigidpose.bop is unavailable") from None
        return model_info_from_bop({k: v for k, v in d.items() if k != "units"})
    if units != "m":
        raise ValueError(f"object info units must be 'bop_mm' or 'm', got {units!r}")
    disc = np.asarray(d.get("symmetries_discrete", []), dtype=np.float64).reshape(-1, 4, 4)
    cont = tuple(ContinuousSymmetry(c["axis"], c.get("offset", [0, 0, 0])) for c in d.get("symmetries_continuous", []))
    return ModelInfo(float(d["diameter"]), np.asarray(d["min_xyz"]), np.asarray(d["size_xyz"]), Symmetries(disc, cont))


@dataclass(frozen=True, eq=False)
class CardObject:
    """One object a network was trained for.

    Attributes:
        obj_id: BOP object id.
        name: human-readable name.
        keypoints: (K, 3) keypoints in the object frame, metres (FPS points, centre last).
        info: diameter, bounding box and symmetries (metres).
        pose_centre: (3,) the object-frame point whose position the direct pose head codes
            (``centre_obj`` of :func:`rigidpose.net.pose_coding.decode_pose`), metres;
            the origin for cards written before it was recorded.
    """

    obj_id: int
    name: str
    keypoints: NDArray[np.float64]
    info: ModelInfo
    pose_centre: NDArray[np.float64] = field(default_factory=lambda: np.zeros(3))

    def __post_init__(self) -> None:
        kp = np.asarray(self.keypoints, dtype=np.float64)
        if kp.ndim != 2 or kp.shape[1] != 3 or not np.all(np.isfinite(kp)):
            raise ValueError(f"keypoints must be a finite (K, 3) array, got shape {kp.shape}")
        c = np.asarray(self.pose_centre, dtype=np.float64)
        if c.shape != (3,) or not np.all(np.isfinite(c)):
            raise ValueError(f"pose_centre must be a finite (3,) array, got shape {c.shape}")
        object.__setattr__(self, "keypoints", kp)
        object.__setattr__(self, "pose_centre", c)
        object.__setattr__(self, "obj_id", int(self.obj_id))

    def to_json(self, prefer_bop: bool = True) -> dict:
        return {
            "obj_id": self.obj_id,
            "name": self.name,
            "keypoints_m": self.keypoints.tolist(),
            "pose_centre_m": self.pose_centre.tolist(),
            "info": info_to_json(self.info, prefer_bop=prefer_bop),
        }

    @classmethod
    def from_json(cls, d: dict) -> CardObject:
        return cls(int(d["obj_id"]), str(d["name"]), np.asarray(d["keypoints_m"]), info_from_json(d["info"]),
                   np.asarray(d.get("pose_centre_m", [0.0, 0.0, 0.0])))


@dataclass(frozen=True, eq=False)
class ModelCard:
    """Everything about a checkpoint except its weights.

    Attributes:
        arch: ``"posenet"`` or ``"centernet"``; :attr:`kind` (``"posenet"`` / ``"detector"``)
            follows from it.
        config: architecture config (``PoseNetConfig.to_dict()``, or the detector's kwargs).
        objects: the objects, in the order of the network's object (or class) index.
        normalisation: ``mean``/``std`` (RGB, after ``scale``) of the input images.
        training: the training config and progress (free-form JSON).
        weights_sha256: hash of the weights file this card belongs to (set on save).
        format_version: card layout version.
    """

    arch: str
    config: dict
    objects: tuple[CardObject, ...]
    normalisation: dict = field(default_factory=lambda: dict(IMAGENET_NORMALISATION))
    training: dict = field(default_factory=dict)
    weights_sha256: str | None = None
    format_version: int = CARD_VERSION

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, got {self.arch!r}")
        objs = tuple(self.objects)
        if not objs:
            raise ValueError("a model card needs at least one object")
        ids = [o.obj_id for o in objs]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate object ids in card: {ids}")
        object.__setattr__(self, "objects", objs)

    @property
    def kind(self) -> str:
        """``"posenet"`` or ``"detector"`` (follows from ``arch``; stored in the JSON as ``kind``)."""
        return ARCH_KINDS[self.arch]

    @property
    def obj_ids(self) -> list[int]:
        return [o.obj_id for o in self.objects]

    def object_index(self, obj_id: int) -> int:
        """Index of ``obj_id`` in the network's outputs; ``RigidposeError`` if the card lacks it."""
        ids = self.obj_ids
        if obj_id not in ids:
            raise RigidposeError(f"the checkpoint was trained for objects {ids}, not for object {obj_id}")
        return ids.index(obj_id)

    def with_weights_sha(self, sha: str) -> ModelCard:
        return ModelCard(self.arch, self.config, self.objects, self.normalisation, self.training, sha, self.format_version)

    def to_json(self, prefer_bop: bool = True) -> dict[str, Any]:
        return {
            "format": CARD_FORMAT,
            "format_version": self.format_version,
            "kind": self.kind,
            "arch": self.arch,
            "config": self.config,
            "objects": [o.to_json(prefer_bop) for o in self.objects],
            "normalisation": self.normalisation,
            "training": self.training,
            "weights_sha256": self.weights_sha256,
        }

    @classmethod
    def from_json(cls, d: Any, source: str = "model card") -> ModelCard:
        """Parse and validate; every problem becomes a one-line ``RigidposeError`` naming ``source``."""
        if not isinstance(d, dict) or d.get("format") != CARD_FORMAT:
            raise RigidposeError(f"{source} is not a rigidpose model card (no \"format\": \"{CARD_FORMAT}\")")
        version = d.get("format_version")
        if version != CARD_VERSION:
            raise RigidposeError(f"{source} has card format version {version}; this rigidpose reads {CARD_VERSION}")
        kind = d.get("kind")  # absent in cards written before it existed: follows from arch
        if kind is not None and (kind not in KINDS or ARCH_KINDS.get(d.get("arch")) != kind):
            raise RigidposeError(f"{source} has kind {kind!r}, which does not match its arch {d.get('arch')!r}")
        try:
            return cls(
                arch=d["arch"],
                config=dict(d["config"]),
                objects=tuple(CardObject.from_json(o) for o in d["objects"]),
                normalisation=dict(d.get("normalisation", IMAGENET_NORMALISATION)),
                training=dict(d.get("training", {})),
                weights_sha256=d.get("weights_sha256"),
                format_version=version,
            )
        except KeyError as exc:
            raise RigidposeError(f"{source} is missing the field {exc.args[0]!r}") from None
        except (TypeError, ValueError, RigidposeError) as exc:
            raise RigidposeError(f"{source} is invalid: {exc}") from None
