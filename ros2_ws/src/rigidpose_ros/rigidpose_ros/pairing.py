"""Depth↔image pairing by stamp, and the latest-frame slot (pure Python, thread-safe).

message_filters is not on PyPI, so the approximate-time pairing is written here.
Stamps are integer nanoseconds. The node keeps only the newest frame: a newer frame
replaces an unprocessed one in :class:`LatestSlot`, and the replaced one is counted
as dropped, so latency never builds up behind a slow estimator.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Paired:
    """An image and the depth paired with it (``depth`` is None when depth is not used)."""

    stamp_ns: int
    image: Any
    depth: Any = None
    depth_stamp_ns: int | None = None


class StampPairer:
    """Pairs each image with the depth frame closest in stamp, within ``tolerance_ns``.

    Both streams are buffered (at most ``max_buffer`` each). When a pair is found, the
    pair is returned and everything up to it is discarded: older unpaired frames are
    stale. Images or depths that never find a partner fall out of the buffer, and the
    counter ``unpaired`` records them.

    Args:
        tolerance_ns: largest allowed ``|stamp_image - stamp_depth|`` in nanoseconds.
        use_depth: when False, :meth:`add_image` returns every image at once, unpaired.
        max_buffer: frames kept per stream while waiting for a partner.
    """

    def __init__(self, tolerance_ns: int, use_depth: bool = True, max_buffer: int = 8) -> None:
        if tolerance_ns < 0:
            raise ValueError(f"tolerance must be >= 0 ns, got {tolerance_ns}")
        if max_buffer < 1:
            raise ValueError(f"max_buffer must be >= 1, got {max_buffer}")
        self.tolerance_ns = int(tolerance_ns)
        self.use_depth = use_depth
        self._images: deque[tuple[int, Any]] = deque()
        self._depths: deque[tuple[int, Any]] = deque()
        self._max = max_buffer
        self._lock = threading.Lock()
        self.unpaired = 0

    def add_image(self, stamp_ns: int, image: Any) -> Paired | None:
        """Offer an image; returns the pair it completes, or None while it waits for depth."""
        if not self.use_depth:
            return Paired(int(stamp_ns), image)
        with self._lock:
            return self._add(self._images, self._depths, int(stamp_ns), image, image_first=True)

    def add_depth(self, stamp_ns: int, depth: Any) -> Paired | None:
        """Offer a depth frame; returns the pair it completes, or None."""
        if not self.use_depth:
            return None
        with self._lock:
            return self._add(self._depths, self._images, int(stamp_ns), depth, image_first=False)

    def _add(self, mine: deque, other: deque, stamp: int, item: Any, image_first: bool) -> Paired | None:
        best = None
        for i, (s, _) in enumerate(other):
            dt = abs(s - stamp)
            if dt <= self.tolerance_ns and (best is None or dt < abs(other[best][0] - stamp)):
                best = i
        if best is None:
            mine.append((stamp, item))
            while len(mine) > self._max:
                mine.popleft()
                self.unpaired += 1
            return None
        s_other, partner = other[best]
        # Everything in the other stream up to the partner is now stale; so is
        # everything already buffered in this stream that is older than this item.
        self.unpaired += best
        for _ in range(best + 1):
            other.popleft()
        stale = [e for e in mine if e[0] <= stamp]
        self.unpaired += len(stale)
        for e in stale:
            mine.remove(e)
        if image_first:
            return Paired(stamp, item, partner, s_other)
        return Paired(s_other, partner, item, stamp)

    def clear(self) -> None:
        with self._lock:
            self._images.clear()
            self._depths.clear()


class LatestSlot(Generic[T]):
    """A one-item mailbox between the callback thread and the worker.

    :meth:`put` replaces an item that was not taken yet (counted in ``dropped``);
    :meth:`take` blocks until an item arrives, the timeout passes, or :meth:`close`.
    """

    def __init__(self) -> None:
        self._item: T | None = None
        self._cond = threading.Condition()
        self._closed = False
        self.dropped = 0
        self.put_count = 0

    def put(self, item: T) -> None:
        with self._cond:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self.put_count += 1
            self._cond.notify()

    def take(self, timeout: float | None = None) -> T | None:
        """The newest item (removing it), or None on timeout or after :meth:`close`."""
        with self._cond:
            self._cond.wait_for(lambda: self._item is not None or self._closed, timeout)
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        """Wake every waiting :meth:`take`; later takes return what is left, then None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed
