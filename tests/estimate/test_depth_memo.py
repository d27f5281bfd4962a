"""The depth search's per-frame memo: which earlier searches and results stand in for a new search."""

from __future__ import annotations

import numpy as np

from rigidpose.estimate.depth_memo import EXPLAINED_SHARE, Explained, FrameMemo, Refined, Search
from rigidpose.geometry import Pose


def _mask(x0: int, x1: int, shape=(20, 40)) -> np.ndarray:
    m = np.zeros(shape, bool)
    m[5:15, x0:x1] = True
    return m


def _result(x: float) -> Refined:
    return Refined(Pose(np.eye(3), np.array([x, 0.0, 1.0]), "cam", "obj"), np.eye(6), "depth+icp", 0.9, 0.9)


def test_a_search_stands_in_for_a_nearly_identical_mask_searched_no_more_densely():
    memo = FrameMemo()
    memo.start(np.ones((20, 40), np.float32))
    done = Search(1, _mask(0, 20), 240, [_result(0.0)], [0.8], True)
    memo.searches.append(done)
    assert memo.search(1, _mask(0, 19), 60) is done  # IoU 0.95, a sparser grid
    assert memo.search(1, _mask(0, 19), 240) is done
    assert memo.search(1, _mask(0, 15), 60) is None  # IoU 0.75
    assert memo.search(2, _mask(0, 20), 60) is None  # another object
    memo.searches[0] = Search(1, _mask(0, 20), 60, [], [], False)
    assert memo.search(1, _mask(0, 20), 240) is None  # the earlier search was sparser


def test_the_best_scored_result_explaining_most_of_a_mask_stands_in_for_its_search():
    memo = FrameMemo()
    depth = np.ones((20, 40), np.float32)
    memo.start(depth)
    weak, strong, elsewhere = (Explained(1, _result(x), s, _mask(a, b)) for x, s, a, b in
                               ((0.0, 0.5, 0, 20), (0.01, 0.7, 2, 20), (0.5, 0.9, 20, 40)))
    memo.explained += [weak, strong, elsewhere]
    assert EXPLAINED_SHARE == 0.8
    assert memo.explaining(1, _mask(2, 20)) is strong  # both explain all of it: the better score
    assert memo.explaining(1, _mask(0, 20)) is strong  # strong explains 18 of its 20 columns
    assert memo.explaining(1, _mask(0, 8)) is weak  # strong explains 6 of 8 columns: too few
    assert memo.explaining(1, _mask(10, 30)) is None  # half in one, half in another: neither
    assert memo.explaining(2, _mask(2, 20)) is None
    assert memo.explaining(1, np.zeros((20, 40), bool)) is None


def test_a_new_frame_forgets_and_the_same_frame_keeps():
    memo = FrameMemo()
    depth = np.ones((20, 40), np.float32)
    memo.start(depth)
    memo.searches.append(Search(1, _mask(0, 20), 240))
    memo.start(depth.copy())  # byte-identical: the same frame
    assert len(memo.searches) == 1
    depth[3, 3] = 0.5
    memo.start(depth)
    assert memo.searches == [] and memo.explained == []
