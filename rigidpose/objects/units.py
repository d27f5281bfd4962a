"""Length units of mesh files: the scale to metres, and inference from the mesh size.

Inside rigidpose everything is in metres. A mesh file carries no unit, so
:func:`resolve_units` either checks the unit the user gave or guesses it from the
largest extent of the mesh, assuming a graspable object between
:data:`PLAUSIBLE_SIZE_M` (5 mm to 5 m).
"""

from __future__ import annotations

import warnings

from rigidpose.errors import UnitsError

#: Metres per file unit.
UNIT_SCALE: dict[str, float] = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254}

#: Largest extent, metres, that an inferred unit may give (5 mm to 5 m).
PLAUSIBLE_SIZE_M = (0.005, 5.0)

#: Largest extent, metres, of a typical object (2 cm to 1 m). When the inferred unit
#: gives a size outside it, or another unit would also give a typical size, the guess
#: is called ambiguous and a :class:`UnitsWarning` is issued.
TYPICAL_SIZE_M = (0.02, 1.0)

#: Largest extent, metres, beyond which an explicitly given unit is rejected as absurd.
ABSURD_SIZE_M = (1e-3, 10.0)

#: Units tried by inference, in order of preference (inches are never guessed).
_INFER_ORDER = ("m", "mm", "cm")


class UnitsWarning(UserWarning):
    """The units of a mesh were guessed and the guess may be wrong: pass them explicitly."""


def _in_range(x: float, lo_hi: tuple[float, float]) -> bool:
    return lo_hi[0] <= x <= lo_hi[1]


def infer_units(max_extent: float) -> tuple[str, str | None]:
    """Guess the unit of a mesh from its largest extent, in file units.

    Metres are taken when the size is plausible in metres (0.005 ≤ ``max_extent`` ≤ 5),
    otherwise millimetres (5 < ``max_extent`` ≤ 5000); inches are never guessed.

    Returns:
        ``(unit, ambiguity)``: ``ambiguity`` is None for a confident guess, otherwise a
        sentence saying what else the size could mean.

    Raises:
        UnitsError: no unit gives a plausible object size.
    """
    plausible = [u for u in _INFER_ORDER if _in_range(max_extent * UNIT_SCALE[u], PLAUSIBLE_SIZE_M)]
    if not plausible:
        raise UnitsError(
            f"cannot infer units: largest extent {max_extent:.6g} is not a 5 mm to 5 m object in m, cm "
            "or mm; pass the units explicitly (--units m|cm|mm|in)"
        )
    unit = plausible[0]
    typical = [u for u in _INFER_ORDER if _in_range(max_extent * UNIT_SCALE[u], TYPICAL_SIZE_M)]
    if typical == [unit]:
        return unit, None
    others = [u for u in typical if u != unit]
    size = max_extent * UNIT_SCALE[unit]
    alt = ", ".join(f"{max_extent * UNIT_SCALE[u]:.3g} m in {u}" for u in others) or "no typical size"
    return unit, (
        f"units inferred as {unit!r} from the largest extent {max_extent:.4g} ({size:.3g} m), "
        f"but the guess is ambiguous ({alt}); pass units explicitly"
    )


def resolve_units(max_extent: float, units: str | None, *, source: str = "mesh") -> tuple[str, bool]:
    """The unit of a mesh whose largest extent is ``max_extent`` file units.

    Args:
        max_extent: largest bounding-box extent in the file's units.
        units: "m", "cm", "mm", "in", or None to infer (warning with
            :class:`UnitsWarning` when the guess is ambiguous).
        source: name used in messages (usually the file name).

    Returns:
        ``(unit, inferred)``.

    Raises:
        UnitsError: an unknown unit, an explicit unit giving an absurd size
            (outside :data:`ABSURD_SIZE_M`), or a size no unit explains.
    """
    if units is None:
        unit, ambiguity = infer_units(max_extent)
        if ambiguity:
            warnings.warn(f"{source}: {ambiguity}", UnitsWarning, stacklevel=3)
        return unit, True
    if units not in UNIT_SCALE:
        raise UnitsError(f"unknown units {units!r}; expected one of {', '.join(UNIT_SCALE)}")
    size = max_extent * UNIT_SCALE[units]
    if not _in_range(size, ABSURD_SIZE_M):
        raise UnitsError(
            f"{source}: with units {units!r} the object is {size:.4g} m across, outside "
            f"{ABSURD_SIZE_M[0]:g}–{ABSURD_SIZE_M[1]:g} m; check the units"
        )
    return units, False
