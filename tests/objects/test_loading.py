"""Loading meshes: formats, the object frame, units, and every broken-input case."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import trimesh

from rigidpose.errors import MeshError, UnitsError
from rigidpose.objects import ObjectModel, UnitsWarning
from rigidpose.objects.units import infer_units

from objects_meshes import BAD_FILES, offset_box


@pytest.mark.parametrize("ext", ["ply", "obj", "stl", "glb", "gltf"])
def test_each_format_loads_in_metres_and_keeps_frame(tmp_path, ext):
    box_mesh = offset_box()
    path = tmp_path / f"box.{ext}"
    box_mesh.export(path)
    m = ObjectModel.load(path, units="m", obj_id=3)
    assert m.obj_id == 3 and m.name == "box" and m.source_path == path
    np.testing.assert_allclose(m.extents, [0.1, 0.2, 0.3], atol=1e-6)
    np.testing.assert_allclose(m.centre, [0.05, -0.02, 0.3], atol=1e-6)  # not recentred
    np.testing.assert_allclose(m.bbox_min, [0.0, -0.12, 0.15], atol=1e-6)
    assert m.vertices.dtype == np.float64 and m.vertices.shape[1] == 3
    assert len(m.faces) == 12


def test_scene_is_concatenated_with_node_transforms(tmp_path):
    scene = trimesh.Scene()
    scene.add_geometry(trimesh.creation.box([0.1, 0.1, 0.1]),
                       transform=trimesh.transformations.translation_matrix([0.5, 0.0, 0.0]))
    scene.add_geometry(trimesh.creation.box([0.1, 0.1, 0.1]),
                       transform=trimesh.transformations.translation_matrix([0.0, 0.0, 0.2]))
    path = tmp_path / "two.glb"
    scene.export(path)
    m = ObjectModel.load(path, units="m")
    assert len(m.faces) == 24
    np.testing.assert_allclose(m.bbox_min, [-0.05, -0.05, -0.05], atol=1e-6)
    np.testing.assert_allclose(m.bbox_min + m.extents, [0.55, 0.05, 0.25], atol=1e-6)


@pytest.mark.parametrize(("unit", "scale"), [("mm", 1000.0), ("cm", 100.0), ("in", 1 / 0.0254), ("m", 1.0)])
def test_explicit_units_scale_about_the_origin(tmp_path, unit, scale):
    mesh = offset_box()
    mesh.apply_scale(scale)
    path = tmp_path / "b.ply"
    mesh.export(path)
    m = ObjectModel.load(path, units=unit)
    assert m.units == unit and not m.units_inferred
    np.testing.assert_allclose(m.extents, [0.1, 0.2, 0.3], rtol=1e-5)
    np.testing.assert_allclose(m.centre, [0.05, -0.02, 0.3], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("scale", "unit"), [(1.0, "m"), (1000.0, "mm")])
def test_units_inferred_without_warning_when_clear(tmp_path, scale, unit):
    mesh = offset_box()
    mesh.apply_scale(scale)
    path = tmp_path / "b.stl"
    mesh.export(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnitsWarning)
        m = ObjectModel.load(path)
    assert m.units == unit and m.units_inferred
    np.testing.assert_allclose(m.extents.max(), 0.3, rtol=1e-5)


def test_ambiguous_units_warn(tmp_path):
    # largest extent 40: 4 cm in mm or 40 cm in cm; both typical object sizes
    mesh = trimesh.creation.box([10.0, 20.0, 40.0])
    path = tmp_path / "amb.ply"
    mesh.export(path)
    with pytest.warns(UnitsWarning, match="ambiguous"):
        m = ObjectModel.load(path)
    assert m.units == "mm"


def test_infer_units_table():
    assert infer_units(0.2) == ("m", None)
    assert infer_units(213.0) == ("mm", None)
    assert infer_units(3.0)[0] == "m" and infer_units(3.0)[1]  # 3 m or 3 cm?
    with pytest.raises(UnitsError):
        infer_units(1e6)
    with pytest.raises(UnitsError):
        infer_units(1e-4)


def test_absurd_explicit_units_raise(tmp_path):
    box_mesh = offset_box()
    path = tmp_path / "b.ply"
    box_mesh.export(path)  # 0.3 across in file units
    with pytest.raises(UnitsError, match="outside"):
        ObjectModel.load(path, units="mm")  # 0.3 mm
    with pytest.raises(UnitsError, match="unknown units"):
        ObjectModel.load(path, units="furlong")


def write_bad(tmp_path, name):
    content, _ = BAD_FILES[name]
    path = tmp_path / (name if name != "missing" else "missing.ply")
    if content is not None:
        path.write_bytes(content)
    return path


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_raise_mesh_error(tmp_path, name):
    with pytest.raises(MeshError, match=BAD_FILES[name][1]) as exc:
        ObjectModel.load(write_bad(tmp_path, name), units="m")
    assert "\n" not in str(exc.value)


def test_obj_with_missing_texture_loads(tmp_path):
    (tmp_path / "t.mtl").write_text("newmtl m0\nmap_Kd missing.png\n")
    (tmp_path / "t.obj").write_text(
        "mtllib t.mtl\nusemtl m0\nv 0 0 0\nv 0.1 0 0\nv 0 0.1 0\nv 0 0 0.1\nvt 0 0\nvt 1 0\nvt 0 1\n"
        "f 1/1 2/2 3/3\nf 1/1 2/2 4/3\nf 1/1 3/2 4/3\nf 2/1 3/2 4/3\n"
    )
    m = ObjectModel.load(tmp_path / "t.obj", units="m")
    assert len(m.faces) == 4
