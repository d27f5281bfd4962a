"""Recall-vs-threshold curves of an :class:`~rigidpose.eval.evaluate.EvalResult` as a PNG.

One panel per metric that was evaluated: ADD(-S) against the threshold as a fraction of
the diameter (the reported 0.1·d marked), MSSD (fraction of the diameter), MSPD (pixels at
640 px width) and VSD (correctness threshold, averaged over the τ tolerances). Each panel
has a curve per object and one over all targets. With ADD(-S), a last panel gives the
precision and recall of the estimates scoring at least s, against s (:mod:`.reliability`).
matplotlib (Agg) is imported on call.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from rigidpose.eval.evaluate import EvalResult
from rigidpose.eval.recall import (
    ADD_CURVE_THRESHOLDS, ADD_THRESHOLD, MSPD_THRESHOLDS_PX, MSSD_THRESHOLDS, VSD_TAUS, VSD_THRESHOLDS,
    RecallCounts,
)

#: Score thresholds of the precision / recall panel.
SCORE_CURVE_LEVELS = np.linspace(0.0, 1.0, 51)


def recall_curves(result: EvalResult) -> dict[str, tuple[NDArray[np.float64], dict[str, NDArray[np.float64]]]]:
    """metric → (thresholds (T,), {label: recall (T,)}), labels ``obj_<id>`` and ``all``."""
    sources: dict[str, tuple[NDArray, RecallCounts, int]] = {}
    if "add" in result.metrics:
        sources["add"] = (ADD_CURVE_THRESHOLDS, result.add_curve, 1)
    for m, ths, groups in (("mssd", MSSD_THRESHOLDS, 1), ("mspd", MSPD_THRESHOLDS_PX, 1),
                           ("vsd", VSD_THRESHOLDS, len(VSD_TAUS))):
        if m in result.metrics:
            sources[m] = (ths, result.counts[m], groups)
    out = {}
    for m, (ths, counts, groups) in sources.items():
        def curve(obj_id: int | None, counts: RecallCounts = counts, groups: int = groups) -> NDArray[np.float64]:
            return counts.recalls(obj_id).reshape(groups, -1).mean(axis=0)  # VSD: mean over τ

        labels = {f"obj_{k}": curve(k) for k in result.obj_ids}
        labels["all"] = curve(None)
        out[m] = (np.asarray(ths, dtype=np.float64), labels)
    return out


_AXES = {
    "add": ("ADD(-S)", "threshold (fraction of diameter)"),
    "mssd": ("MSSD", "threshold (fraction of diameter)"),
    "mspd": ("MSPD", "threshold (px at 640 px width)"),
    "vsd": ("VSD (mean over τ)", "correctness threshold"),
}


def plot_recall_curves(result: EvalResult, path: str | Path) -> Path:
    """Write the recall curves to ``path`` (PNG) and return it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = recall_curves(result)
    if not curves:
        raise ValueError("the result has no metric with a recall curve")
    by_score = "add" in result.metrics
    n = len(curves) + int(by_score)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.6), squeeze=False)
    for ax, (m, (ths, labels)) in zip(axes[0], curves.items()):
        title, xlabel = _AXES[m]
        for label, r in labels.items():
            ax.plot(ths, 100.0 * r, "k-" if label == "all" else "-", lw=2.0 if label == "all" else 1.0,
                    label=label, marker="." if len(ths) <= 10 else None)
        if m == "add":
            ax.axvline(ADD_THRESHOLD, color="grey", ls=":", lw=1)
        ax.set(title=title, xlabel=xlabel, ylabel="recall (%)", ylim=(-2, 102))
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="lower right")
    if by_score:
        _plot_by_score(axes[0][-1], result)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _plot_by_score(ax, result: EvalResult) -> None:
    """Precision and recall (ADD(-S) 0.1 d, all objects) of the estimates scoring at least s."""
    t = result.add_by_score.at(SCORE_CURVE_LEVELS)
    ax.plot(t["levels"], 100.0 * t["precision"], "k-", lw=2.0, label="precision")
    ax.plot(t["levels"], 100.0 * t["recall"], "k--", lw=1.5, label="recall")
    ax.set(title="estimates scoring at least s", xlabel="score threshold s", ylabel="%", ylim=(-2, 102), xlim=(0, 1))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
