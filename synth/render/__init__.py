"""Renderers behind one small interface: ``render(scene) -> RenderOutput``.

Backends: ``moderngl`` (EGL, one pass writing RGB + id + depth) and ``pyrender``
(pyrender2 on EGL or OSMesa). :func:`make_renderer` builds one by name.
"""

from __future__ import annotations

import functools
import os

from rigidpose.errors import RigidposeError
from synth.render.types import Light, Renderer, RenderMesh, RenderOutput, RenderScene, SceneObject

#: Names accepted by ``--renderer``. ``auto`` = the default backend.
RENDERERS = ("auto", "moderngl", "pyrender", "pyrender-egl", "pyrender-osmesa")
DEFAULT_RENDERER = "moderngl"


#: GL_RENDERER substrings of software rasterisers (Mesa's llvmpipe and friends).
SOFTWARE_GL = ("llvmpipe", "softpipe", "swrast", "software")


@functools.lru_cache(maxsize=1)
def egl_device() -> str | None:
    """GL_RENDERER of a headless EGL context, or None when EGL does not work (probed
    through glcontext, not PyOpenGL, so no platform is fixed in this process)."""
    try:
        import moderngl

        ctx = moderngl.create_standalone_context(backend="egl")
        name = str(ctx.info.get("GL_RENDERER", ""))
        ctx.release()
        return name
    except Exception:  # noqa: BLE001 - any failure means no usable EGL
        return None


def egl_is_gpu() -> bool:
    """True when EGL works on a hardware GPU (not a software rasteriser)."""
    name = egl_device()
    return name is not None and not any(s in name.lower() for s in SOFTWARE_GL)


def resolve_renderer(name: str) -> str:
    """The concrete backend for ``name``: ``moderngl``, ``pyrender-egl`` or ``pyrender-osmesa``.

    ``pyrender`` honours ``PYOPENGL_PLATFORM`` when set, else picks EGL when EGL runs on a
    GPU and OSMesa on a CPU (where Mesa's OSMesa measured faster than its EGL for pyrender).
    """
    if name not in RENDERERS:
        raise RigidposeError(f"unknown renderer {name!r}; use one of {', '.join(RENDERERS)}")
    if name == "auto":
        name = DEFAULT_RENDERER
    if name == "pyrender":
        env = os.environ.get("PYOPENGL_PLATFORM", "").lower()
        if env in ("egl", "osmesa"):
            return f"pyrender-{env}"
        return "pyrender-egl" if egl_is_gpu() else "pyrender-osmesa"
    return name


def make_renderer(name: str = "auto") -> Renderer:
    """A new renderer (it owns a GL context: one per process)."""
    name = resolve_renderer(name)
    try:
        if name == "moderngl":
            from synth.render.moderngl_backend import ModernglRenderer

            return ModernglRenderer()
        from synth.render.pyrender_backend import PyrenderRenderer

        return PyrenderRenderer(name.split("-", 1)[1])
    except RigidposeError:
        raise
    except Exception as exc:  # noqa: BLE001 - GL/driver failures become one clear line
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RigidposeError(f"cannot start the {name} renderer: {msg}") from None


__all__ = [
    "DEFAULT_RENDERER",
    "RENDERERS",
    "Light",
    "RenderMesh",
    "RenderOutput",
    "RenderScene",
    "Renderer",
    "SceneObject",
    "egl_device",
    "egl_is_gpu",
    "make_renderer",
    "resolve_renderer",
]
