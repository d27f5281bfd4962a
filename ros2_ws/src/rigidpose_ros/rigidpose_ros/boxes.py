"""Object boxes from an external 2D detector (``use_boxes``): vision_msgs/Detection2DArray → estimator boxes.

With ``use_boxes`` the node does not run rigidpose's own detector: it estimates poses in
the boxes published on ``boxes`` for the same image (same stamp, within
``depth_tolerance_s``). ``Detection2D.results[0].hypothesis.class_id`` names the object
(its name in the model card, or its BOP id); ``bbox`` is centre and size in pixels
(axis-aligned: ``theta`` must be 0).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from typing import Mapping

from rigidpose_ros.errors import MessageError

#: [(obj_id, (x, y, w, h) pixels)], as ``Estimator.estimate(..., boxes=...)`` takes them.
Boxes = list[tuple[int, tuple[float, float, float, float]]]


def detections_to_boxes(msg, objects: Mapping[int, str], width: int, height: int) -> Boxes:
    """A Detection2DArray → boxes; raises :class:`MessageError` for unknown classes or bad boxes."""
    by_name = {name: oid for oid, name in objects.items() if name}
    out: Boxes = []
    for det in msg.detections:
        if not det.results:
            raise MessageError("a Detection2D has no results (class hypothesis)", "no_class")
        cls = det.results[0].hypothesis.class_id
        oid = by_name.get(cls)
        if oid is None and cls.isdigit() and int(cls) in objects:
            oid = int(cls)
        if oid is None:
            raise MessageError(f"class_id {cls!r} is not an object of the checkpoint {sorted(by_name)}", "unknown_class")
        b = det.bbox
        vals = (b.center.position.x, b.center.position.y, b.size_x, b.size_y, b.center.theta)
        if not all(math.isfinite(v) for v in vals):
            raise MessageError("a Detection2D box contains NaN or infinite values", "box_nan")
        cx, cy, w, h, theta = vals
        if theta != 0.0:
            raise MessageError(f"rotated boxes are not supported (theta = {theta})", "box_rotated")
        if w <= 0 or h <= 0 or cx < 0 or cy < 0 or cx > width or cy > height:
            raise MessageError(f"box centre ({cx}, {cy}) size ({w}, {h}) is empty or outside the {width}x{height} image",
                               "box_outside")
        out.append((oid, (cx - w / 2, cy - h / 2, w, h)))
    return out


class BoxCache:
    """The latest box lists by stamp (ns); :meth:`wait_for` blocks until a list for a stamp arrives."""

    def __init__(self, keep: int = 30) -> None:
        self._boxes: OrderedDict[int, Boxes] = OrderedDict()
        self._keep = int(keep)
        self._cond = threading.Condition()
        self._closed = False

    def put(self, stamp_ns: int, boxes: Boxes) -> None:
        with self._cond:
            self._boxes[stamp_ns] = boxes
            while len(self._boxes) > self._keep:
                self._boxes.popitem(last=False)
            self._cond.notify_all()

    def _match(self, stamp_ns: int, tolerance_ns: int) -> Boxes | None:
        if not self._boxes:
            return None
        best = min(self._boxes, key=lambda s: abs(s - stamp_ns))
        return self._boxes[best] if abs(best - stamp_ns) <= tolerance_ns else None

    def wait_for(self, stamp_ns: int, tolerance_ns: int, timeout_s: float) -> Boxes | None:
        """The boxes whose stamp is closest to ``stamp_ns`` within the tolerance, waiting up to ``timeout_s``."""
        with self._cond:
            self._cond.wait_for(lambda: self._closed or self._match(stamp_ns, tolerance_ns) is not None, timeout_s)
            return self._match(stamp_ns, tolerance_ns)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

