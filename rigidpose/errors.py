"""User-facing errors.

Every failure caused by bad input (a missing file, a broken mesh, wrong units,
malformed JSON, NaN depth, ...) raises a :class:`RigidposeError` with a one-line,
specific message. The CLI prints that message and exits non-zero; it never shows a
traceback for these.
"""

from __future__ import annotations


class RigidposeError(Exception):
    """Bad input or an impossible request, described in one line for the user."""


class MeshError(RigidposeError):
    """A mesh file that is missing, unreadable, empty, degenerate or non-finite."""


class UnitsError(RigidposeError):
    """Units that are unknown, or that do not fit the data."""


class DataError(RigidposeError):
    """A dataset, JSON, CSV or image file that is missing or malformed."""
