"""Report tables (text) and JSON for an :class:`~rigidpose.eval.evaluate.EvalResult`.

Recalls are fractions in [0, 1]. ``add`` is ADD for objects without symmetries and
ADD-S for symmetric ones, at 0.1·d; ``mssd``/``mspd``/``vsd`` are average recalls over
their BOP thresholds; ``ar`` is the mean of those three that were computed. With ADD(-S),
the report also breaks it down by how much of each target is in view
(:class:`~rigidpose.eval.recall.VisibilityRecall`), and gives the precision and recall of the
estimates above a range of score thresholds (:mod:`~rigidpose.eval.reliability`).
"""

from __future__ import annotations

import numpy as np

from rigidpose.bop.jsonio import PathLike, write_json_atomic
from rigidpose.eval.evaluate import EvalResult
from rigidpose.eval.reliability import format_reliability
from rigidpose.eval.recall import (
    ADD_THRESHOLD, AR_METRICS, MIN_VISIB_FRACT, MSPD_THRESHOLDS_PX, MSSD_THRESHOLDS, VSD_DELTA,
    VSD_TAUS, VSD_THRESHOLDS, VisibilityRecall, average_recall,
)

_HEAD = {"add": "ADD(-S)", "mssd": "AR_MSSD", "mspd": "AR_MSPD", "vsd": "AR_VSD"}


def scores(result: EvalResult, obj_id: int | None = None) -> dict:
    """Recall numbers of one object, or over all targets (``obj_id=None``)."""
    counts = result.counts
    first = next(iter(counts.values()))
    n = first.targets.get(obj_id, 0) if obj_id is not None else sum(first.targets.values())
    out: dict = {"n_targets": int(n)}
    per_metric = {m: counts[m].average_recall(obj_id) for m in result.metrics}
    out.update(per_metric)
    ar = average_recall(per_metric)
    out["ar"] = ar
    out["ar_metrics"] = [m for m in AR_METRICS if m in per_metric]
    return out


def result_to_json(result: EvalResult, **meta: object) -> dict:
    """Everything in the report as JSON-serialisable values (``meta`` is copied in first)."""
    d: dict = dict(meta)
    d["metrics"] = list(result.metrics)
    d["protocol"] = {
        "add_threshold_diameter": ADD_THRESHOLD,
        "mssd_thresholds_diameter": MSSD_THRESHOLDS.tolist(),
        "mspd_thresholds_px_at_640": MSPD_THRESHOLDS_PX.tolist(),
        "vsd_taus_diameter": VSD_TAUS.tolist(),
        "vsd_thresholds": VSD_THRESHOLDS.tolist(),
        "vsd_delta_m": VSD_DELTA,
        "min_visib_fract": MIN_VISIB_FRACT,
    }
    d["overall"] = scores(result)
    d["objects"] = {
        str(k): {**scores(result, k), "symmetric": bool(result.symmetric.get(k, False))}
        for k in result.obj_ids
    }
    if "add" in result.metrics:
        d["add_by_visibility"] = visibility_json(result.add_by_visibility)
        d["add_by_score"] = result.add_by_score.to_json()
    d["n_images"] = result.n_images
    d["n_estimates"] = result.n_estimates
    d["n_estimates_evaluated"] = result.n_estimates_evaluated
    d["timing"] = {
        "vsd_seconds": result.vsd_seconds,
        "vsd_estimates": result.vsd_estimates,
        "vsd_seconds_per_estimate": result.vsd_seconds_per_estimate,
    }
    return d


def _fmt(v: float | None) -> str:
    return "     -" if v is None else f"{100.0 * v:6.1f}"


def format_table(result: EvalResult) -> str:
    """A text table, one row per object and one for all, recalls in percent."""
    cols = [_HEAD[m] for m in result.metrics] + ["AR"]
    lines = [f"{'object':>8} {'targets':>8} " + " ".join(f"{c:>8}" for c in cols)]
    rows = [(str(k), scores(result, k)) for k in result.obj_ids] + [("all", scores(result))]
    for name, s in rows:
        vals = [s[m] for m in result.metrics] + [s["ar"]]
        lines.append(f"{name:>8} {s['n_targets']:>8} " + " ".join(f"{_fmt(v):>8}" for v in vals))
    ar_of = ", ".join(scores(result)["ar_metrics"]) or "none"
    lines.append(f"(recall in %; AR = mean of {ar_of}; ADD-S for symmetric objects)")
    if "add" in result.metrics:
        lines += ["", *format_visibility(result.add_by_visibility), "", *format_reliability(result.add_by_score)]
    return "\n".join(lines)


def format_visibility(vis: VisibilityRecall) -> list[str]:
    """Lines of a text table: ADD(-S) targets and recall (%) per visible-fraction bin."""
    rec = [None if np.isnan(r) else float(r) for r in vis.recalls()]
    return [f"{'visible':>8} " + " ".join(f"{c:>9}" for c in vis.labels()),
            f"{'targets':>8} " + " ".join(f"{int(n):>9}" for n in vis.targets),
            f"{'ADD(-S)':>8} " + " ".join(f"{_fmt(r):>9}" for r in rec),
            "(ADD(-S) recall in % of the targets by how much of each is in view)"]


def visibility_json(vis: VisibilityRecall) -> dict:
    """The breakdown as JSON values: bin edges, targets, matches and recalls (None for empty bins)."""
    return {"edges": list(vis.edges), "targets": vis.targets.tolist(), "matched": vis.matched.tolist(),
            "recall": [None if np.isnan(r) else float(r) for r in vis.recalls()]}


def write_report_json(path: PathLike, result: EvalResult, **meta: object) -> None:
    """Write :func:`result_to_json` to ``path`` atomically."""
    write_json_atomic(path, result_to_json(result, **meta))
