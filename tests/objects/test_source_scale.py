"""The scale from a model file's units to metres (used for ROS mesh markers)."""

from __future__ import annotations

import trimesh

from rigidpose.objects import ObjectModel


def test_source_scale_follows_the_file_units(tmp_path):
    path = tmp_path / "part_mm.stl"
    trimesh.creation.box([40.0, 30.0, 20.0]).export(path)
    model = ObjectModel.load(path, units="mm")
    assert model.source_scale == 0.001
    assert abs(model.extents.max() - 0.04) < 1e-9
    assert ObjectModel.load(path, units="cm").source_scale == 0.01
