"""The BOP results CSV: round trip (t in mm on disk) and malformed files."""

from __future__ import annotations

import numpy as np
import pytest

from rigidpose.bop import ResultRow, read_results_csv, write_results_csv
from rigidpose.errors import DataError
from rigidpose.geometry import Pose, PoseEstimate, random_rotation

GOOD = "1,2,3,0.5,1 0 0 0 1 0 0 0 1,10 20 300,0.25"


def test_results_round_trip(tmp_path, rng):
    rows = [
        ResultRow(1, im, PoseEstimate(obj, Pose(random_rotation(rng), rng.uniform(-1, 1, 3)), rng.random()), t)
        for im, t in ((0, 0.5), (3, -1.0)) for obj in (1, 5)
    ]
    p = tmp_path / "res.csv"
    write_results_csv(p, rows)
    lines = p.read_text().splitlines()
    assert lines[0] == "scene_id,im_id,obj_id,score,R,t,time"
    t_mm = [float(v) for v in lines[1].split(",")[5].split()]
    np.testing.assert_allclose(t_mm, rows[0].estimate.pose.t * 1000.0, rtol=1e-15)
    back = read_results_csv(p)
    assert len(back) == 4
    for a, b in zip(rows, back):
        assert (a.scene_id, a.im_id, a.time, a.estimate.obj_id) == (b.scene_id, b.im_id, b.time, b.estimate.obj_id)
        assert b.estimate.score == a.estimate.score
        assert b.estimate.pose.allclose(a.estimate.pose, atol=1e-12)


def test_results_reads_metres_without_header(tmp_path):
    p = tmp_path / "res.csv"
    p.write_text(GOOD + "\n")
    (r,) = read_results_csv(p)
    np.testing.assert_allclose(r.estimate.pose.t, [0.01, 0.02, 0.3])
    assert (r.scene_id, r.im_id, r.estimate.obj_id, r.time) == (1, 2, 3, 0.25)


@pytest.mark.parametrize("line, msg", [
    ("1,2,3,0.5,1 0 0 0 1 0 0 0 1,10 20 300", "line 2: expected 7 comma-separated fields"),
    ("1,2,3,0.5,1 0 0 0 1 0 0 0,10 20 300,0.2", "line 2: R must have 9"),
    ("1,2,3,0.5,1 0 0 0 1 0 0 0 1,10 x 300,0.2", "line 2: t has a value that is not a number"),
    ("1,2,3,nan,1 0 0 0 1 0 0 0 1,10 20 300,0.2", "line 2: score has non-finite"),
    ("a,2,3,0.5,1 0 0 0 1 0 0 0 1,10 20 300,0.2", "line 2: scene_id must be an integer"),
    ("1,2,3,0.5,2 0 0 0 1 0 0 0 1,10 20 300,0.2", "line 2: the 9 values are not a rotation"),
    ("1,2,3,0.5,1 0 0 0 1 0 0 0 1,10 20 300,0.3", "different times"),
])
def test_malformed_results(tmp_path, line, msg):
    p = tmp_path / "res.csv"
    lines = ["scene_id,im_id,obj_id,score,R,t,time", line]
    if "different" in msg:
        lines = [GOOD, line]
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=msg) as exc:
        read_results_csv(p)
    assert "\n" not in str(exc.value)


def test_missing_results(tmp_path):
    with pytest.raises(DataError, match="results file not found"):
        read_results_csv(tmp_path / "none.csv")


def test_writer_rejects_inconsistent_times(tmp_path):
    e = PoseEstimate(1, Pose.identity())
    with pytest.raises(DataError, match="different times"):
        write_results_csv(tmp_path / "r.csv", [ResultRow(0, 0, e, 0.1), ResultRow(0, 0, e, 0.2)])
    assert not (tmp_path / "r.csv").exists()
