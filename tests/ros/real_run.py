"""A tiny trained two-object run for the ROS tests and the latency benchmark.

:func:`make_run` renders a small dataset of two objects (the asymmetric ``bracket()``
part and a ``block()``: an L-shaped block with an off-centre peg) with ``synth`` and
trains a tiny PoseNet on it (under a minute on two idle CPU cores). The
frames the node is fed in the tests come from the same dataset, so the ground-truth
poses are known; the network has seen them, which is what makes a tiny network
usable at all (these tests check the ROS path, not generalisation).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh

#: scenes: both objects once in every image, no distractors (a tiny network can learn it).
SYNTH_CONFIG = """\
scene: {objects_per_scene: [2, 2], instances_per_object: [1, 1]}
distractors: {count: [0, 0]}
"""


def block() -> trimesh.Trimesh:
    """An L-shaped block (60 x 30 x 40 mm) with a peg off the centre line: no rotational symmetry, metres."""
    mm = 1e-3
    base = trimesh.creation.box(np.array([60, 30, 15]) * mm, trimesh.transformations.translation_matrix([0, 0, 7.5 * mm]))
    post = trimesh.creation.box(np.array([15, 30, 25]) * mm,
                                trimesh.transformations.translation_matrix([22.5 * mm, 0, 27.5 * mm]))
    peg = trimesh.creation.cylinder(5 * mm, 14 * mm, sections=24,
                                    transform=trimesh.transformations.translation_matrix([-15 * mm, 8 * mm, 20 * mm]))
    part = trimesh.boolean.union([base, post, peg], engine="manifold")
    part.merge_vertices()
    return part


def make_run(root: Path, images: int = 16, epochs: int = 1, seed: int = 3, size: tuple[int, int] = (320, 240),
             detector: bool = False) -> tuple[Path, Path]:
    """Render ``images`` frames of both objects into ``root/ds`` and train ``root/run``; returns (dataset, run).

    ``detector=False`` trains only the PoseNet: the node then takes the objects' boxes
    from the ``boxes`` topic (``use_boxes``), as the tiny detector finds nothing anyway.
    """
    from rigidpose.geometry import Camera
    from rigidpose.net.train import TrainConfig, train
    from rigidpose.objects.parts import bracket
    from synth.run import prepare_job, run_synth

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    meshes = [root / "bracket.ply", root / "block.ply"]
    bracket().export(meshes[0])
    block().export(meshes[1])
    Camera.from_fov(size[0], size[1], 60.0).to_ros_yaml(root / "cam.yaml")
    (root / "synth.yaml").write_text(SYNTH_CONFIG)
    job, objs = prepare_job([str(m) for m in meshes], root / "ds", images, seed=seed, config=str(root / "synth.yaml"),
                            camera=str(root / "cam.yaml"), units="m")
    run_synth(job, objs, [str(m) for m in meshes], show_progress=False)
    train(TrainConfig(data=str(root / "ds"), out=str(root / "run"), width=0.25, input_size=96, epochs=epochs,
                      batch_size=16, val_fraction=0.2, detector=detector, detector_width=0.25, detector_input=128), progress=False)
    return root / "ds", root / "run"


def dataset_frame(ds_root: Path):
    """``(rgb, camera, depth m, [(obj_id, bbox xywh px)], {obj_id: T_cam_obj})`` of the first frame
    of the dataset that shows both objects at least 70 % visible."""
    from rigidpose.bop.dataset import BopDataset

    ds = BopDataset(ds_root)
    scene = ds.scenes("train_synth")[0]
    for im in ds.image_ids("train_synth", scene):
        gt, info = ds.gt("train_synth", scene)[im], ds.gt_info("train_synth", scene)[im]
        if sorted(g.obj_id for g in gt) == [1, 2] and min(i.visib_fract for i in info) > 0.7:
            boxes = [(g.obj_id, tuple(float(v) for v in i.bbox_visib)) for g, i in zip(gt, info)]
            return (ds.read_rgb("train_synth", scene, im), ds.image_camera("train_synth", scene, im).camera,
                    ds.read_depth("train_synth", scene, im), boxes, {g.obj_id: g.pose for g in gt})
    raise RuntimeError(f"no frame of {ds_root} shows both objects unoccluded")


def boxes_msg(boxes, names: dict[int, str], stamp: tuple[int, int], frame: str):
    """``[(obj_id, (x, y, w, h))]`` → vision_msgs/Detection2DArray (class_id = the object's name)."""
    from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

    msg = Detection2DArray()
    msg.header.frame_id = frame
    msg.header.stamp.sec, msg.header.stamp.nanosec = stamp
    for oid, (x, y, w, h) in boxes:
        d = Detection2D()
        hyp = ObjectHypothesisWithPose()
        hyp.hypothesis.class_id = names[oid]
        d.results = [hyp]
        d.bbox.center.position.x, d.bbox.center.position.y = x + w / 2, y + h / 2
        d.bbox.size_x, d.bbox.size_y = w, h
        msg.detections.append(d)
    return msg
