"""Model PLYs in mm on disk, ObjectModels in metres after load_dataset_models."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from rigidpose.bop import load_dataset_models, model_filename, write_model_ply, write_models_info
from rigidpose.errors import DataError
from rigidpose.objects import ObjectModel, Symmetries


def _box_model(obj_id=1):
    return ObjectModel(trimesh.creation.box(extents=[0.1, 0.06, 0.04]), obj_id=obj_id, name="box",
                       symmetries=Symmetries())


def test_model_ply_round_trip_mm_on_disk(tmp_path):
    m = _box_model()
    sym = Symmetries(np.diag([-1.0, -1.0, 1.0, 1.0])[None])
    write_model_ply(tmp_path / model_filename(1), m)
    raw = trimesh.load(tmp_path / "obj_000001.ply", process=False)
    np.testing.assert_allclose(raw.extents, [100.0, 60.0, 40.0], rtol=1e-6)  # millimetres
    write_models_info(tmp_path / "models_info.json", {1: m.with_symmetries(sym).info})
    back = load_dataset_models(tmp_path)[1]
    assert back.obj_id == 1
    np.testing.assert_allclose(back.extents, [0.1, 0.06, 0.04], rtol=1e-6)
    np.testing.assert_allclose(back.vertices, m.vertices, atol=1e-9)
    np.testing.assert_allclose(back.symmetries.discrete, sym.discrete)


def test_missing_models(tmp_path):
    with pytest.raises(DataError, match="models directory not found"):
        load_dataset_models(tmp_path / "models")
    write_models_info(tmp_path / "models_info.json", {2: _box_model(2).info})
    with pytest.raises(DataError, match="lists object 2 but .*obj_000002.ply is missing"):
        load_dataset_models(tmp_path)


def test_model_names_travel_beside_the_models(tmp_path):
    from rigidpose.bop.models import read_model_names, write_model_names

    m = _box_model()
    write_model_ply(tmp_path / model_filename(1), m)
    write_models_info(tmp_path / "models_info.json", {1: m.info})
    assert load_dataset_models(tmp_path)[1].name == "obj_000001"  # no names file: the file stem
    write_model_names(tmp_path, {1: "box bracket"})
    assert read_model_names(tmp_path) == {1: "box bracket"}
    assert load_dataset_models(tmp_path)[1].name == "box bracket"
    for bad in ('{"1": ""}', '{"one": "box"}', '["box"]', "{"):
        (tmp_path / "models_names.json").write_text(bad)
        with pytest.raises(DataError, match="models_names.json"):
            load_dataset_models(tmp_path)
