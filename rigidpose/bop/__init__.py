"""The BOP dataset format and the BOP results CSV. The only place where mm ↔ m conversion happens.

Files on disk are millimetres (BOP); every value returned is metres (rigidpose).
"""

from rigidpose.bop.camera import read_camera_json, write_camera_json
from rigidpose.bop.dataset import BopDataset
from rigidpose.bop.images import read_depth, read_mask, read_rgb, write_depth, write_mask, write_rgb
from rigidpose.bop.jsonio import read_json, write_json_atomic
from rigidpose.bop.models import load_dataset_models, model_filename, write_model_ply
from rigidpose.bop.models_info import (
    model_info_from_bop, model_info_to_bop, read_models_info, write_models_info,
)
from rigidpose.bop.results import ResultRow, read_results_csv, write_results_csv
from rigidpose.bop.scene import (
    GtInfo, GtInstance, SceneCamera, read_scene_camera, read_scene_gt, read_scene_gt_info,
    write_scene_camera, write_scene_gt, write_scene_gt_info,
)
from rigidpose.bop.units import MM_PER_M, m_to_mm, mm_to_m, pose_from_bop_mm, pose_to_bop_mm

__all__ = [
    "MM_PER_M", "BopDataset", "GtInfo", "GtInstance", "ResultRow", "SceneCamera",
    "load_dataset_models", "m_to_mm", "mm_to_m", "model_filename", "model_info_from_bop",
    "model_info_to_bop", "pose_from_bop_mm", "pose_to_bop_mm", "read_camera_json", "read_depth",
    "read_json", "read_mask", "read_models_info", "read_results_csv", "read_rgb",
    "read_scene_camera", "read_scene_gt", "read_scene_gt_info", "write_camera_json",
    "write_depth", "write_json_atomic", "write_mask", "write_model_ply", "write_models_info",
    "write_results_csv", "write_rgb", "write_scene_camera", "write_scene_gt", "write_scene_gt_info",
]
