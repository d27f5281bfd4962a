"""Bad input through the CLI: a one-line error, exit 1, and nothing rendered."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigidpose.cli import main
from synth_helpers import synth_args, write_inputs


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    return write_inputs(tmp_path / "in")


def _fails(capsys, args: list[str], match: str, out: Path) -> None:  # noqa: ANN001
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("rigidpose synth: error:") and "\n" not in err, err
    assert match in err, err
    assert not (out / "train_synth").exists()


def test_broken_mesh(tmp_path, inputs, capsys) -> None:  # noqa: ANN001
    bad = tmp_path / "broken.ply"
    bad.write_bytes(b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nend_header\n1\n")
    inputs["part"] = bad
    _fails(capsys, synth_args(inputs, tmp_path / "out", 2), "broken.ply", tmp_path / "out")


def test_empty_mesh_and_missing_mesh(tmp_path, inputs, capsys) -> None:  # noqa: ANN001
    empty = tmp_path / "empty.obj"
    empty.write_text("# nothing here\n")
    inputs["part"] = empty
    _fails(capsys, synth_args(inputs, tmp_path / "out", 2), "empty.obj", tmp_path / "out")
    inputs["part"] = tmp_path / "missing.stl"
    _fails(capsys, synth_args(inputs, tmp_path / "out", 2), "missing.stl", tmp_path / "out")


def test_camera_that_does_not_parse(tmp_path, inputs, capsys) -> None:  # noqa: ANN001
    inputs["camera"].write_text("image_width: [640\n")
    _fails(capsys, synth_args(inputs, tmp_path / "out", 2), "camera file", tmp_path / "out")
    inputs["camera"].write_text("image_width: 640\nimage_height: 480\n")
    _fails(capsys, synth_args(inputs, tmp_path / "out", 2), "camera_matrix", tmp_path / "out")


def test_foreign_output_folder(tmp_path, inputs, capsys) -> None:  # noqa: ANN001
    out = tmp_path / "out"
    out.mkdir()
    (out / "thesis.tex").write_text("mine")
    _fails(capsys, synth_args(inputs, out, 2), "not empty", out)
    _fails(capsys, synth_args(inputs, out, 2, "--resume"), "holds something else", out)
    assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"]


def test_bad_config_and_counts(tmp_path, inputs, capsys) -> None:  # noqa: ANN001
    inputs["config"].write_text("lights:\n  colour: red\n")
    _fails(capsys, synth_args(inputs, tmp_path / "out", 2), "lights.colour: unknown key", tmp_path / "out")
    _fails(capsys, synth_args(write_inputs(tmp_path / "in2"), tmp_path / "out", 0), "--images", tmp_path / "out")


def test_help_is_light() -> None:
    import subprocess
    import sys

    code = "import sys; from rigidpose.cli import build_parser; build_parser(); print(sorted(m for m in ('moderngl', 'OpenGL', 'trimesh', 'ray', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "moderngl" not in out and "OpenGL" not in out and "ray" not in out and "torch" not in out
