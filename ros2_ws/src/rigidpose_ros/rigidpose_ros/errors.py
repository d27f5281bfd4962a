"""Specific errors for malformed ROS messages.

Every error carries a short ``kind`` (e.g. ``"data_size"``), used as the key for
counting rejected messages and for throttling the node's warnings per kind.
They derive from :class:`rigidpose.errors.RigidposeError`: bad input, one line.
"""

from __future__ import annotations

from rigidpose.errors import RigidposeError


class MessageError(RigidposeError):
    """A ROS message that cannot be used. ``kind`` names the defect."""

    kind = "malformed"

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class UnsupportedEncoding(MessageError):
    """An image encoding the node does not read (or a big-endian multi-byte image)."""

    kind = "encoding"


class MalformedImage(MessageError):
    """An Image whose size, step or data length are inconsistent."""

    kind = "image_layout"


class BadCameraInfo(MessageError):
    """A CameraInfo that does not describe a calibrated pinhole camera."""

    kind = "camera_info"


class SizeMismatch(MessageError):
    """Image, depth and camera_info that disagree on the image size."""

    kind = "size_mismatch"


class BadParameter(RigidposeError):
    """A node parameter with an invalid value (the node refuses to start)."""
