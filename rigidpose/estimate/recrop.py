"""RGB only: a second crop where the fitted pose's silhouette and the detector's box disagree.

A detector trained for minutes boxes a part loosely: it cuts a flange off or takes in a
neighbour. The crop network's mask follows the box, and the silhouette fit follows the mask.
When the fitted pose's silhouette box overlaps the detection box by less than
``Estimator(recrop_iou=...)``, the part is cropped again at the silhouette's box and
measured again, and the better-scored of the two measurements is kept. On the bracket
benchmark this took RGB-only from 27 to 30 of 66 targets (docs/benchmarks.md, session 14).

With depth it does not run: there the depth search already tries the box's own depth and a
re-cut mask (:mod:`.depth_refine`), and a second crop gained one target for 60 % more time
(docs/benchmarks.md, session 12).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rigidpose.geometry import Camera, Pose
from rigidpose.geometry.boxes import box_iou as boxes_iou


def silhouette_box(caster, pose: Pose, camera: Camera) -> NDArray[np.float64] | None:
    """(4,) x, y, w, h (pixels) of the model's silhouette at ``pose`` (``T_cam_obj``) in
    ``camera``'s image, clipped to the image; None when none of it is in view."""
    img = caster.render(pose, camera, caster.footprint(pose, camera), normals=False)
    v, u = np.nonzero(img.hit)
    if len(u) == 0:
        return None
    x, y = img.roi[:2]
    return np.array([u.min() + x, v.min() + y, u.max() - u.min() + 1, v.max() - v.min() + 1], np.float64)


def box_iou(a: NDArray, b: NDArray) -> float:
    """Intersection over union of two boxes (4,) x, y, w, h; 0 when either is empty."""
    return float(boxes_iou(a, b)[0, 0])
