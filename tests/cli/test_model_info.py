"""``rigidpose model-info``: the table, --json, and one-line errors for every bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rigidpose.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "objects"))
from objects_meshes import BAD_FILES, offset_box  # noqa: E402

@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_input_one_line_exit_1(tmp_path, capsys, name):
    content, msg = BAD_FILES[name]
    path = tmp_path / (name if content is not None else "missing.ply")
    if content is not None:
        path.write_bytes(content)
    assert main(["model-info", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("rigidpose model-info: error: ") and msg in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_absurd_units_exit_1(tmp_path, capsys):
    path = tmp_path / "b.ply"
    offset_box().export(path)
    assert main(["model-info", str(path), "--units", "mm"]) == 1
    assert "outside" in capsys.readouterr().err


def test_table_and_json(tmp_path, capsys):
    path = tmp_path / "box.stl"
    mesh = offset_box()
    mesh.apply_scale(1000.0)  # a millimetre file
    mesh.export(path)
    out_json = tmp_path / "models_info.json"
    assert main(["model-info", str(path), "--keypoints", "4", "--json", str(out_json), "--obj-id", "7"]) == 0
    out = capsys.readouterr().out
    assert "units        mm (inferred from size)" in out
    assert "faces 12" in out and "0.374166 m" in out  # sqrt(0.1²+0.2²+0.3²)
    assert out.count("discrete     180.0°") == 3
    info = json.loads(out_json.read_text())["7"]
    assert info["diameter"] == pytest.approx(374.166, abs=1e-2)
    assert info["size_z"] == pytest.approx(300.0, abs=1e-3)
    assert info["min_z"] == pytest.approx(150.0, abs=1e-3)  # centre 300 mm, half-size 150 mm
    assert len(info["symmetries_discrete"]) == 3 and len(info["symmetries_discrete"][0]) == 16


def test_no_symmetry_flag(tmp_path, capsys):
    path = tmp_path / "box.glb"
    offset_box().export(path)
    assert main(["model-info", str(path), "--no-symmetry", "--units", "m"]) == 0
    assert "not detected (--no-symmetry)" in capsys.readouterr().out


def test_console_script_subprocess(tmp_path):
    """The real command: exit 1, one line on stderr, no traceback."""
    exe = Path(sys.executable).with_name("rigidpose")
    if not exe.exists():
        pytest.skip("console script not installed in this environment")
    r = subprocess.run([str(exe), "model-info", str(tmp_path / "nope.obj")], capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "no such file" in r.stderr
