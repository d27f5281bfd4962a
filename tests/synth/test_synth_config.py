"""Config loading and validation."""

from __future__ import annotations

import pytest

from rigidpose.errors import RigidposeError
from synth.config import SynthConfig, config_from_dict, load_config


def test_defaults_and_overrides(tmp_path) -> None:  # noqa: ANN001
    assert load_config(None) == SynthConfig()
    p = tmp_path / "scene.yaml"
    p.write_text("camera:\n  distance: [0.4, 0.9]\nlights:\n  count: [2, 2]\noutput:\n  rgb_format: png\n")
    cfg = load_config(p)
    assert cfg.camera.distance == (0.4, 0.9) and cfg.lights.count == (2.0, 2.0)
    assert cfg.output.rgb_format == "png" and cfg.scene == SynthConfig().scene


@pytest.mark.parametrize(
    ("d", "match"),
    [
        ({"scene": {"bogus": 1}}, "scene.bogus: unknown key"),
        ({"nonsense": {}}, "nonsense: unknown section"),
        ({"camera": {"distance": [1]}}, r"camera.distance: expected a \[lo, hi\]"),
        ({"camera": {"elevation_deg": [10, 95]}}, "below 89"),
        ({"scene": {"placement": "ceiling"}}, "scene.placement"),
        ({"lights": {"count": [1, 6]}}, "1 to 4 lights"),
        ({"sensor": {"blur_prob": 1.5}}, "probability"),
        ({"distractors": {"count": [0.5, 2]}}, "whole numbers"),
        ({"output": {"chunk_size": 5000}}, "1 to 1000"),
        ({"output": {"jpg_quality": "high"}}, "expected an integer"),
        ({"background": {"kinds": "noise"}}, "list of strings"),
        ({"background": {"grey_prob": 1.5}}, "background.grey_prob: is a probability"),
        ({"distractors": {"size": [0.8, 0.2]}}, "lo <= hi"),
        ([1, 2], "mapping"),
    ],
)
def test_bad_values_are_one_line_errors(d, match: str) -> None:  # noqa: ANN001
    with pytest.raises(RigidposeError, match=match) as e:
        config_from_dict(d)
    assert "\n" not in str(e.value)


def test_bad_yaml(tmp_path) -> None:  # noqa: ANN001
    p = tmp_path / "bad.yaml"
    p.write_text("scene: [unclosed\n")
    with pytest.raises(RigidposeError, match="cannot parse config file"):
        load_config(p)
    with pytest.raises(RigidposeError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_resume_check_names_the_setting_and_reads_older_manifests(tmp_path) -> None:  # noqa: ANN001
    """A run made before ``background.grey_prob`` existed rendered as grey_prob 0: it resumes with
    that setting, and with another one the error names the setting and both values."""
    import json

    from synth.run import check_output
    from synth.writer import MANIFEST

    def manifest(grey: float | None) -> dict:
        cfg = SynthConfig().to_dict() if grey is None else config_from_dict({"background": {"grey_prob": grey}}).to_dict()
        if grey is None:
            del cfg["background"]["grey_prob"]  # as an older version wrote it
        return {"format": 1, "seed": 0, "images": 4, "models": ["m.ply"], "camera": {}, "config": cfg}

    (tmp_path / MANIFEST).write_text(json.dumps(manifest(None)))
    check_output(tmp_path, manifest(0.0), resume=True)
    with pytest.raises(RigidposeError, match=r"config\.background\.grey_prob \(0\.0 there, 0\.3 here\)") as e:
        check_output(tmp_path, manifest(0.3), resume=True)
    assert "\n" not in str(e.value)
    assert (tmp_path / MANIFEST).read_text() == json.dumps(manifest(None))  # nothing written
