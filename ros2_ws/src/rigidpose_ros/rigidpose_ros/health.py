"""Counters of what the node received, rejected and published, and per-kind log throttling.

The node publishes :meth:`Health.snapshot` as JSON on ``~/status`` once a second, so
anyone can check that it is alive and see why frames were rejected. Pure Python and
thread-safe (callbacks and the worker both write to it).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Callable


class Throttle:
    """Allows one event per key every ``period_s`` seconds; counts the suppressed ones."""

    def __init__(self, period_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.period_s = float(period_s)
        self._clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: Counter[str] = Counter()
        self._lock = threading.Lock()

    def allow(self, key: str) -> tuple[bool, int]:
        """``(allowed, suppressed_since_last_allowed)`` for one event of ``key``."""
        now = self._clock()
        with self._lock:
            last = self._last.get(key)
            if last is None or now - last >= self.period_s:
                self._last[key] = now
                n = self._suppressed.pop(key, 0)
                return True, n
            self._suppressed[key] += 1
            return False, 0


class Health:
    """Thread-safe counters: messages received and rejected per topic, frames processed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.received: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()  # key "topic:kind"
        self.frames: Counter[str] = Counter()  # processed, estimated, published_estimates, errors
        self.last_error = ""

    def got(self, topic: str) -> None:
        with self._lock:
            self.received[topic] += 1

    def reject(self, topic: str, kind: str, message: str) -> None:
        with self._lock:
            self.rejected[f"{topic}:{kind}"] += 1
            self.last_error = f"{topic}: {message}"

    def count(self, what: str, n: int = 1) -> None:
        with self._lock:
            self.frames[what] += n

    def snapshot(self, **extra: object) -> dict:
        """A JSON-ready dict of all counters, plus ``extra`` fields."""
        with self._lock:
            out = {
                "received": dict(self.received),
                "rejected": dict(self.rejected),
                "rejected_total": sum(self.rejected.values()),
                "frames": dict(self.frames),
                "last_error": self.last_error,
            }
        out.update(extra)
        return out
