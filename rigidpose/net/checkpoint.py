"""Checkpoints: safetensors weights + a JSON model card, and resumable training state.

Layout for a checkpoint ``RUN/name``:

- ``RUN/name.safetensors``: the model's ``state_dict``;
- ``RUN/name.json``: the :class:`~rigidpose.net.card.ModelCard`, holding the SHA-256 of
  the weights file, so a card and weights from different saves are detected;
- ``RUN/name.train.safetensors`` (optional): optimiser, scheduler, epoch/step and RNG
  state. Tensors are stored as tensors; everything else as JSON in the safetensors
  metadata (key ``"state"``), where a tensor leaf is ``{"__tensor__": key}``, a tuple
  ``{"__tuple__": [...]}`` and a dict with non-string keys ``{"__items__": [[k, v], ...]}``.

Nothing is ever unpickled. Every file is written to a temporary file in the same folder
and moved into place with ``os.replace``; the card is moved last, so a crash between the
two leaves a detectable mismatch rather than a silently wrong pair.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from rigidpose.errors import RigidposeError
from rigidpose.net.card import KINDS, ModelCard

TRAIN_STATE_FORMAT = "rigidpose-train-state-1"


def checkpoint_paths(path: str | os.PathLike) -> tuple[Path, Path, Path]:
    """``(weights, card, train_state)`` paths for a checkpoint given by any of them or by its stem."""
    p = Path(path)
    name = p.name
    for suffix in (".train.safetensors", ".safetensors", ".json"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    stem = p.with_name(name)
    return stem.with_name(name + ".safetensors"), stem.with_name(name + ".json"), stem.with_name(name + ".train.safetensors")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # os.open with 0o666 honours the umask (mkstemp would make the file private, 0o600)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise RigidposeError(f"{what} not found: {path}") from None
    except OSError as exc:
        raise RigidposeError(f"cannot read {what} {path}: {exc.strerror}") from None


def _parse_safetensors(data: bytes, path: Path) -> dict[str, torch.Tensor]:
    try:
        return st_load(data)
    except Exception as exc:  # the safetensors parser raises its own error types
        raise RigidposeError(f"{path} is corrupt or not a safetensors file ({type(exc).__name__}: {exc})") from None


def safetensors_metadata(data: bytes) -> dict[str, str]:
    """The ``__metadata__`` of safetensors bytes (header: u64 little-endian length + JSON)."""
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8 : 8 + n].decode("utf-8")).get("__metadata__") or {}


# --- model weights + card --------------------------------------------------------------
def build_model(card: ModelCard) -> nn.Module:
    """A freshly initialised network of the card's architecture and config."""
    try:
        if card.arch == "posenet":
            from rigidpose.net.posenet import PoseNet, PoseNetConfig

            return PoseNet(PoseNetConfig.from_dict(card.config))
        from rigidpose.net.detector import CenterNetDetector

        return CenterNetDetector(**card.config)
    except (TypeError, ValueError) as exc:
        raise RigidposeError(f"the model card's {card.arch} config is invalid: {exc}") from None


def save_checkpoint(path: str | os.PathLike, model: nn.Module, card: ModelCard) -> Path:
    """Save ``model``'s weights and ``card`` (with the weights' hash filled in). Returns the weights path."""
    weights_path, card_path, _ = checkpoint_paths(path)
    module = getattr(model, "module", model)  # unwrap DistributedDataParallel
    tensors = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    data = st_save(tensors, metadata={"format": "rigidpose-weights-1", "arch": card.arch})
    card = card.with_weights_sha(hashlib.sha256(data).hexdigest())
    atomic_write_bytes(weights_path, data)
    atomic_write_bytes(card_path, (json.dumps(card.to_json(), indent=1) + "\n").encode())
    return weights_path


def load_card(path: str | os.PathLike) -> ModelCard:
    """Read the model card of a checkpoint (given by the weights, card or stem path)."""
    _, card_path, _ = checkpoint_paths(path)
    if not card_path.exists():
        raise RigidposeError(f"model card not found: {card_path} (a checkpoint is NAME.safetensors plus NAME.json)")
    try:
        d = json.loads(_read_bytes(card_path, "model card").decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RigidposeError(f"model card {card_path} is not valid JSON: {exc}") from None
    return ModelCard.from_json(d, source=f"model card {card_path}")


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A network in eval mode, its card and the requested objects' indices into its outputs."""

    model: nn.Module
    card: ModelCard
    object_indices: dict[int, int]


def load_checkpoint(
    path: str | os.PathLike,
    objects: list[int] | None = None,
    *,
    device: str | torch.device = "cpu",
    kind: str | None = None,
) -> LoadedModel:
    """Load a checkpoint without unpickling; check the card, the weights and the objects.

    ``kind`` (``"posenet"`` or ``"detector"``), when given, is the kind of network the
    caller expects; a checkpoint of the other kind is refused.

    Raises ``RigidposeError`` for a missing or corrupt file, a missing or invalid card,
    a checkpoint of the wrong kind, weights that do not belong to the card, and requested
    ``objects`` the card lacks.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    weights_path, card_path, _ = checkpoint_paths(path)
    card = load_card(path)
    if kind is not None and card.kind != kind:
        hint = " (a run folder keeps the detector in RUN/detector/)" if kind == "detector" else ""
        raise RigidposeError(f"checkpoint {weights_path} is a {card.kind} network, not a {kind}{hint}")
    missing_objs = [o for o in (objects or []) if o not in card.obj_ids]
    if missing_objs:
        raise RigidposeError(
            f"checkpoint {weights_path.name} was trained for objects {card.obj_ids}, not for {missing_objs}"
        )
    data = _read_bytes(weights_path, "checkpoint weights")
    if card.weights_sha256 is not None and hashlib.sha256(data).hexdigest() != card.weights_sha256:
        raise RigidposeError(
            f"checkpoint weights {weights_path} do not match the card {card_path.name} "
            "(different SHA-256: the files come from different saves, or one is damaged)"
        )
    tensors = _parse_safetensors(data, weights_path)
    model = build_model(card)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    wrong = [k for k in expected if k in tensors and tensors[k].shape != expected[k].shape]
    if missing or extra or wrong:
        detail = "; ".join(
            f"{what} {keys[:3]}{' ...' if len(keys) > 3 else ''}"
            for what, keys in (("missing", missing), ("unexpected", extra), ("wrong shape", wrong))
            if keys
        )
        raise RigidposeError(f"checkpoint weights {weights_path.name} do not fit the architecture in its card: {detail}")
    model.load_state_dict(tensors)
    model.to(device).eval()
    ids = objects if objects else card.obj_ids
    return LoadedModel(model, card, {o: card.object_index(o) for o in ids})


# --- training state --------------------------------------------------------------------
def split_tensors(obj: Any, tensors: dict[str, torch.Tensor], prefix: str = "t") -> Any:
    """Replace tensors in a nested dict/list/tuple by references, collecting them in ``tensors``."""
    if isinstance(obj, torch.Tensor):
        key = f"{prefix}.{len(tensors)}"
        tensors[key] = obj.detach().cpu().contiguous()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: split_tensors(v, tensors, prefix) for k, v in obj.items()}
        return {"__items__": [[k, split_tensors(v, tensors, prefix)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [split_tensors(v, tensors, prefix) for v in obj]}
    if isinstance(obj, list):
        return [split_tensors(v, tensors, prefix) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot store a {type(obj).__name__} in a training state")


def join_tensors(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """The inverse of :func:`split_tensors`."""
    if isinstance(obj, dict):
        if set(obj) == {"__tensor__"}:
            return tensors[obj["__tensor__"]]
        if set(obj) == {"__tuple__"}:
            return tuple(join_tensors(v, tensors) for v in obj["__tuple__"])
        if set(obj) == {"__items__"}:
            return {k: join_tensors(v, tensors) for k, v in obj["__items__"]}
        return {k: join_tensors(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [join_tensors(v, tensors) for v in obj]
    return obj


def capture_rng(np_rng: np.random.Generator | None = None) -> dict:
    """Torch (CPU and CUDA) and numpy-generator RNG states, ready for :func:`save_train_state`."""
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if np_rng is not None:
        state["numpy"] = np_rng.bit_generator.state
    return state


def restore_rng(state: dict, np_rng: np.random.Generator | None = None) -> None:
    """Restore what :func:`capture_rng` captured (the numpy part into ``np_rng``)."""
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(list(state["cuda"]))
    if np_rng is not None and "numpy" in state:
        np_rng.bit_generator.state = state["numpy"]


def save_train_state(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Save a nested dict (optimizer/scheduler ``state_dict()``, epoch, step, RNG, ...) without pickle."""
    _, _, train_path = checkpoint_paths(path)
    tensors: dict[str, torch.Tensor] = {}
    meta = json.dumps(split_tensors(state, tensors))
    atomic_write_bytes(train_path, st_save(tensors, metadata={"format": TRAIN_STATE_FORMAT, "state": meta}))
    return train_path


def load_train_state(path: str | os.PathLike) -> dict[str, Any]:
    """Read what :func:`save_train_state` wrote; ``RigidposeError`` if missing or corrupt."""
    _, _, train_path = checkpoint_paths(path)
    data = _read_bytes(train_path, "training state")
    tensors = _parse_safetensors(data, train_path)
    try:
        meta = safetensors_metadata(data)
        if meta.get("format") != TRAIN_STATE_FORMAT:
            raise ValueError(f"format {meta.get('format')!r}")
        return join_tensors(json.loads(meta["state"]), tensors)
    except (KeyError, ValueError) as exc:
        raise RigidposeError(f"training state {train_path} is invalid: {exc}") from None
