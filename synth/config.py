"""Scene and randomisation settings: dataclasses loaded from YAML (``yaml.safe_load``).

Every section and key is checked: unknown keys, wrong types and bad ranges raise a
one-line :class:`~rigidpose.errors.RigidposeError`. Omitted keys keep their defaults.
Ranges are ``[lo, hi]`` lists; lengths are metres, angles degrees (converted at use).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rigidpose.errors import RigidposeError

Range = tuple[float, float]


@dataclass(frozen=True)
class SceneConfig:
    """Which objects appear and how they are placed (``placement``: plane, float or mixed)."""

    objects_per_scene: Range = (1, 3)
    instances_per_object: Range = (1, 2)
    placement: str = "plane"
    float_prob: float = 0.0
    spread: float = 1.2
    plane_render_prob: float = 0.3


@dataclass(frozen=True)
class DistractorConfig:
    """Procedural shapes (box, cylinder, sphere) and user meshes that are not annotated."""

    count: Range = (0, 4)
    shapes: tuple[str, ...] = ("box", "cylinder", "sphere")
    size: Range = (0.2, 0.7)
    meshes: tuple[str, ...] = ()
    occluder_prob: float = 0.3


@dataclass(frozen=True)
class CameraConfig:
    """A camera on a shell around the objects. ``distance`` in metres, or ``null`` to use
    ``distance_rel`` × the largest object diameter."""

    distance: Range | None = None
    distance_rel: Range = (2.0, 4.5)
    elevation_deg: Range = (15.0, 75.0)
    roll_deg: Range = (-20.0, 20.0)
    look_jitter: float = 0.15


@dataclass(frozen=True)
class LightConfig:
    count: Range = (1, 4)
    intensity: Range = (0.4, 1.1)
    color_jitter: float = 0.25
    ambient: Range = (0.1, 0.4)


@dataclass(frozen=True)
class MaterialConfig:
    """Random albedo for untextured meshes; colour jitter for textured ones."""

    albedo: Range = (0.15, 0.95)
    textured_jitter: float = 0.15


@dataclass(frozen=True)
class BackgroundConfig:
    """Procedural ``kinds`` or photos from ``images_dir``; ``grey_prob``: the chance that a
    procedural background is drawn grey (its luminance only), as a monochrome photo or a grey
    workshop is, while the objects and distractors keep their colours."""

    kinds: tuple[str, ...] = ("noise", "gradient", "tiles", "leaves")
    images_dir: str | None = None
    image_prob: float = 0.7
    grey_prob: float = 0.3


@dataclass(frozen=True)
class SensorConfig:
    """Effects applied to RGB only; ``noise_std`` in 8-bit grey levels."""

    noise_std: Range = (0.0, 6.0)
    blur_prob: float = 0.3
    blur_sigma: Range = (0.3, 1.2)
    exposure: Range = (0.75, 1.25)


@dataclass(frozen=True)
class OutputConfig:
    rgb_format: str = "jpg"
    jpg_quality: int = 95
    depth_scale: float = 0.1
    chunk_size: int = 1000
    preview_images: int = 12


@dataclass(frozen=True)
class SynthConfig:
    scene: SceneConfig = field(default_factory=SceneConfig)
    distractors: DistractorConfig = field(default_factory=DistractorConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    lights: LightConfig = field(default_factory=LightConfig)
    material: MaterialConfig = field(default_factory=MaterialConfig)
    background: BackgroundConfig = field(default_factory=BackgroundConfig)
    sensor: SensorConfig = field(default_factory=SensorConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    def __post_init__(self) -> None:
        validate(self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


_CHOICES = {
    "scene.placement": ("plane", "float", "mixed"),
    "distractors.shapes": ("box", "cylinder", "sphere"),
    "background.kinds": ("noise", "gradient", "tiles", "leaves"),
    "output.rgb_format": ("jpg", "png"),
}
_INT_RANGES = {"scene.objects_per_scene", "scene.instances_per_object", "distractors.count", "lights.count"}
_SIGNED = {"camera.roll_deg"}
_PROBS = {"scene.float_prob", "scene.plane_render_prob", "distractors.occluder_prob",
          "background.image_prob", "background.grey_prob", "sensor.blur_prob"}


def _bad(where: str, msg: str) -> RigidposeError:
    return RigidposeError(f"config {where}: {msg}")


def validate(cfg: SynthConfig) -> None:
    """Check values and ranges; raise :class:`RigidposeError` naming the key."""
    for sec in dataclasses.fields(cfg):
        section = getattr(cfg, sec.name)
        for f in dataclasses.fields(section):
            where, v = f"{sec.name}.{f.name}", getattr(section, f.name)
            if where in _CHOICES:
                allowed = _CHOICES[where]
                items = v if isinstance(v, tuple) else (v,)
                bad = [x for x in items if x not in allowed]
                if bad or (isinstance(v, tuple) and not v and where != "distractors.shapes"):
                    raise _bad(where, f"{bad or v!r} not allowed; use {', '.join(allowed)}")
            elif f.type in ("Range", "Range | None") and v is not None:
                lo, hi = v
                if not lo <= hi or (lo < 0 and where not in _SIGNED):
                    raise _bad(where, f"need 0 <= lo <= hi, got [{lo}, {hi}]")
                if where in _INT_RANGES and (lo != int(lo) or hi != int(hi)):
                    raise _bad(where, f"needs whole numbers, got [{lo}, {hi}]")
            elif where in _PROBS and not 0.0 <= v <= 1.0:
                raise _bad(where, f"is a probability, got {v}")
    if cfg.scene.objects_per_scene[0] < 1 or cfg.scene.instances_per_object[0] < 1:
        raise _bad("scene", "objects_per_scene and instances_per_object must be at least 1")
    if not 1 <= cfg.lights.count[1] <= 4:
        raise _bad("lights.count", f"1 to 4 lights are supported, got {list(cfg.lights.count)}")
    if cfg.camera.elevation_deg[1] > 89.0:
        raise _bad("camera.elevation_deg", "must stay below 89 degrees")
    if cfg.camera.distance is not None and cfg.camera.distance[0] <= 0:
        raise _bad("camera.distance", "must be positive metres")
    if not 1 <= cfg.output.chunk_size <= 1000:
        raise _bad("output.chunk_size", f"BOP chunks hold 1 to 1000 images, got {cfg.output.chunk_size}")
    if not cfg.output.depth_scale > 0:
        raise _bad("output.depth_scale", f"must be positive, got {cfg.output.depth_scale}")


def _coerce(where: str, f: dataclasses.Field, v: Any) -> Any:
    t = str(f.type)
    if t.startswith("Range"):
        if v is None and "None" in t:
            return None
        if not (isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)):
            raise _bad(where, f"expected a [lo, hi] pair of numbers, got {v!r}")
        return (float(v[0]), float(v[1]))
    if t.startswith("tuple"):
        if isinstance(v, str) or not isinstance(v, (list, tuple)) or not all(isinstance(x, str) for x in v):
            raise _bad(where, f"expected a list of strings, got {v!r}")
        return tuple(v)
    if t == "float":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _bad(where, f"expected a number, got {v!r}")
        return float(v)
    if t == "int":
        if isinstance(v, bool) or not isinstance(v, int):
            raise _bad(where, f"expected an integer, got {v!r}")
        return v
    if not (isinstance(v, str) or (v is None and "None" in t)):
        raise _bad(where, f"expected a string, got {v!r}")
    return v


def config_from_dict(d: dict | None) -> SynthConfig:
    """Build a :class:`SynthConfig` from nested dicts (as parsed from YAML)."""
    d = {} if d is None else d
    if not isinstance(d, dict):
        raise RigidposeError("config: top level must be a mapping of sections")
    sections = {f.name: f for f in dataclasses.fields(SynthConfig)}
    kwargs = {}
    for name, body in d.items():
        if name not in sections:
            raise _bad(str(name), f"unknown section; use {', '.join(sections)}")
        if not isinstance(body, dict):
            raise _bad(name, "must be a mapping")
        cls = sections[name].default_factory
        fields = {f.name: f for f in dataclasses.fields(cls)}
        vals = {}
        for key, v in body.items():
            if key not in fields:
                raise _bad(f"{name}.{key}", f"unknown key; use {', '.join(fields)}")
            vals[key] = _coerce(f"{name}.{key}", fields[key], v)
        kwargs[name] = cls(**vals)
    return SynthConfig(**kwargs)


def load_config(path: str | Path | None) -> SynthConfig:
    """Read a YAML config file; ``None`` gives the defaults."""
    if path is None:
        return SynthConfig()
    try:
        text = Path(path).read_text(encoding="utf-8")
        d = yaml.safe_load(text)
    except FileNotFoundError:
        raise RigidposeError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RigidposeError(f"cannot parse config file {path}: {str(exc).splitlines()[0]}") from None
    return config_from_dict(d)
