"""``rigidpose demo`` runs the whole chain (tiny settings) and guards its output folder."""

from __future__ import annotations

import json

import pytest

from rigidpose.cli import main


@pytest.mark.slow
def test_demo_runs_the_whole_chain(tmp_path, capsys):
    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "--train-images", "24", "--test-images", "3",
                 "--epochs", "1", "--width", "0.25", "--workers", "1", "--no-progress"])
    assert code == 0
    text = capsys.readouterr().out
    for step in ("synthetic training set", "train", "predict, rgb", "eval, rgb+depth+icp", "summary"):
        assert f"== {step}" in text
    for name in ("rgb", "rgb_depth_icp"):
        report = json.loads((out / f"report_{name}.json").read_text())
        assert 0.0 <= report["overall"]["add"] <= 1.0
        assert (out / f"results_{name}.csv").is_file() and (out / f"recall_{name}.png").is_file()
    summary = text[text.index("== summary"):]
    assert summary.count("are right") + summary.count("no pose scores 0.3 or more") == 2
    assert (out / "run" / "best.safetensors").is_file() and (out / "run" / "detector" / "best.json").is_file()
    # A second run must not silently replace the first.
    assert main(["demo", "--out", str(out), "--epochs", "1"]) == 1
    assert "--overwrite" in capsys.readouterr().err


def test_demo_refuses_a_foreign_folder(tmp_path, capsys):
    (tmp_path / "precious.txt").write_text("keep me")
    assert main(["demo", "--out", str(tmp_path)]) == 1
    assert "not a demo folder" in capsys.readouterr().err
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_demo_summary_says_how_many_confident_poses_are_right():
    from rigidpose.cli.demo import _trust

    rep = {"add_by_score": {"levels": [0.0, 0.3, 0.5], "kept": [10, 4, 0], "precision": [0.5, 0.75, None]}}
    assert _trust(rep) == "of the 4 poses scoring 0.3 or more, 75.0 % are right"
    assert _trust(rep, 0.5) == "no pose scores 0.5 or more"
