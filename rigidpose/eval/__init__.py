"""BOP pose errors (ADD, ADD-S, MSSD, MSPD, VSD, ...), matching, recall and reports. Metres inside."""

from rigidpose.eval.depth_render import DepthRenderer, render_depth
from rigidpose.eval.evaluate import METRICS, EvalObject, EvalResult, evaluate
from rigidpose.eval.matching import count_matches, match_poses
from rigidpose.eval.pose_error import add, add_s, adi, mspd, mssd, proj_2d, re, te, vsd
from rigidpose.eval.recall import RecallCounts, average_recall, mspd_thresholds, thresholds

__all__ = [
    "METRICS", "DepthRenderer", "EvalObject", "EvalResult", "evaluate", "RecallCounts", "add", "add_s", "adi", "average_recall", "count_matches",
    "match_poses", "mspd", "mspd_thresholds", "mssd", "proj_2d", "re", "render_depth", "te",
    "thresholds", "vsd",
]
