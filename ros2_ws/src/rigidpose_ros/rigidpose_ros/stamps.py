"""Which frames the node estimates, by stamp: each instant once, and never back in time.

Cameras and bridges re-send frames (a reliable QoS retrying, a driver republishing its last
image), and frames from several sources can arrive out of order. Estimating a frame whose
stamp is not later than that of the last estimated one would publish transforms older than
those already on ``/tf`` (tf2 listeners warn about and drop such data), and, when tracking,
step the tracker's constant-velocity prediction again for an instant it has already seen.

A stamp far earlier than the last (more than ``reset_after_s``) means the clock jumped back:
a bag replayed from its start, a restarted camera driver, simulated time reset. Such a frame
is estimated, and the node starts over from it.
"""

from __future__ import annotations

NEW, REPEAT, OLD, RESET = "new", "repeat", "old", "reset"


class StampGate:
    """The stamp of the last estimated frame, and the verdict on the next one.

    Args:
        reset_after_s: a stamp more than this many seconds before the last estimated one is a
            clock reset (:data:`RESET`), not an out-of-order frame (:data:`OLD`).
    """

    def __init__(self, reset_after_s: float = 1.0) -> None:
        if not reset_after_s >= 0:
            raise ValueError(f"reset_after_s must be >= 0, got {reset_after_s}")
        self.reset_after_ns = int(round(reset_after_s * 1e9))
        self.last_ns: int | None = None

    def check(self, stamp_ns: int) -> str:
        """:data:`NEW` (later than the last estimated frame, or the first), :data:`REPEAT` (its
        stamp again: a re-sent frame), :data:`OLD` (earlier by at most ``reset_after_s``: out of
        order) or :data:`RESET` (earlier by more: the clock jumped back). REPEAT and OLD frames
        are not to be estimated."""
        if self.last_ns is None or stamp_ns > self.last_ns:
            return NEW
        if stamp_ns == self.last_ns:
            return REPEAT
        return OLD if self.last_ns - stamp_ns <= self.reset_after_ns else RESET

    def done(self, stamp_ns: int) -> None:
        """Record that the frame stamped ``stamp_ns`` (ns) was estimated."""
        self.last_ns = int(stamp_ns)
