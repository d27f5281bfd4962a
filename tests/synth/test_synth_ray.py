"""Chunks as Ray tasks on a local Ray instance give the same annotations as one process."""

from __future__ import annotations

from pathlib import Path

import pytest

from synth_helpers import annotations, write_inputs


@pytest.mark.slow
def test_ray_local_matches_serial(tmp_path: Path, dataset: Path) -> None:  # noqa: F811
    ray = pytest.importorskip("ray")
    from synth.run import prepare_job, run_synth

    inp = write_inputs(tmp_path / "in")
    job, objs = prepare_job([str(inp["part"]), str(inp["can"])], tmp_path / "ray", 10, seed=11,
                            config=str(inp["config"]), camera=str(inp["camera"]))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        stats = run_synth(job, objs, [str(inp["part"]), str(inp["can"])], ray="auto", show_progress=False)
    finally:
        ray.shutdown()
    assert stats["rendered_chunks"] == 3 and stats["images_rendered"] == 10
    assert annotations(tmp_path / "ray") == annotations(dataset)
