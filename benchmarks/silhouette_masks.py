"""How far the silhouette stage's RGB-only pose follows the mask it is given.

For every target of a test set (visible fraction ≥ 0.1) the network's crop in the GT box
gives a mask; the silhouette search (``rigidpose.estimate.silhouette``) then runs on three
masks: the true visible mask from the dataset (the ceiling), the network's mask as it is
(the baseline), and the network's mask re-cut by GrabCut (``rigidpose.estimate.mask_refine``,
what the estimator uses). One Markdown table: mean mask IoU with the true mask, ADD(-S)-0.1d
of the silhouette pose, ms per target::

    .venv/bin/python benchmarks/silhouette_masks.py --run RUN --test TEST_DATASET [--limit N]

``RUN`` and ``TEST_DATASET`` are a ``benchmarks/accuracy.py`` work folder's ``run`` and ``test``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", required=True, help="a rigidpose train run folder")
    p.add_argument("--test", required=True, help="a BOP test dataset with mask_visib (split train_synth)")
    p.add_argument("--limit", type=int, default=0, help="at most this many targets (default: all)")
    args = p.parse_args(argv)

    import cv2

    from rigidpose.bop import BopDataset
    from rigidpose.estimate import Estimator
    from rigidpose.estimate.crop_predict import CropRequest
    from rigidpose.estimate.edges import ImageEdges
    from rigidpose.estimate.mask_refine import grabcut_mask
    from rigidpose.estimate.silhouette import SilhouetteSearch
    from rigidpose.eval.pose_error import add, adi
    from rigidpose.eval.recall import MIN_VISIB_FRACT

    test = Path(args.test)
    ds = BopDataset(test)
    est = Estimator.from_checkpoint(args.run, use_depth=False, icp=False, detector=None, models=test / "models",
                                    silhouette="off")
    search = SilhouetteSearch()
    sources = ("true mask", "network mask", "network mask + GrabCut")
    ious: dict[str, list[float]] = {s: [] for s in sources}
    ranks = ("IoU", "IoU + edges")
    hits: dict[tuple[str, str], list[bool]] = {(s, r): [] for s in sources for r in ranks}
    ms: dict[tuple[str, str], list[float]] = {(s, r): [] for s in sources for r in ranks}
    n = 0
    for scene in ds.scenes("train_synth"):
        gts, infos = ds.gt("train_synth", scene), ds.gt_info("train_synth", scene)
        for im in ds.image_ids("train_synth", scene):
            rgb, camera = ds.read_rgb("train_synth", scene, im), ds.image_camera("train_synth", scene, im).camera
            for k, (g, gi) in enumerate(zip(gts[im], infos[im])):
                if gi.visib_fract < MIN_VISIB_FRACT or (args.limit and n >= args.limit):
                    continue
                n += 1
                model, info = ds.models[g.obj_id], ds.models_info[g.obj_id]
                caster, centre = est.raycaster(g.obj_id), info.min_xyz + 0.5 * info.size_xyz
                path = ds.mask_visib_path("train_synth", scene, im, k)
                truth = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
                if truth is None:
                    raise SystemExit(f"cannot read the true visible mask {path}: the test set needs mask_visib/")
                truth = truth > 0
                crop = est.crop(rgb, camera, [CropRequest(g.obj_id, np.asarray(gi.bbox_visib, np.float64))])[0]
                pts = model.vertices[np.linspace(0, len(model.vertices) - 1, 1000).astype(int)]
                err = adi if info.symmetries.is_symmetric else add
                for name in sources:
                    t = time.perf_counter()
                    if name == "true mask":
                        mask = truth
                    else:
                        mask = crop.mask(camera)
                        if name.endswith("GrabCut"):
                            mask = grabcut_mask(rgb, mask, crop.crop_box)
                    t_mask = time.perf_counter() - t
                    ious[name].append(np.count_nonzero(mask & truth) / max(np.count_nonzero(mask | truth), 1))
                    for rank in ranks:
                        t = time.perf_counter()
                        edges = ImageEdges(rgb, crop.crop_box, search.config.edges) if rank != "IoU" else None
                        found = search(g.obj_id, caster, centre, info.diameter, camera, mask, edges=edges)
                        ms[name, rank].append(1000 * (time.perf_counter() - t + t_mask))
                        e = err(found.pose.R, found.pose.t, g.pose.R, g.pose.t, pts) if found else np.inf
                        hits[name, rank].append(e < 0.1 * info.diameter)
    print(f"\n{args.run} on {args.test}: {n} targets (GT boxes)\n")
    print("| mask | mean IoU with the true mask | IoU ≥ 0.9 (%) | ADD(-S)-0.1d, ranked by IoU (%) | "
          "ranked by IoU and edges (%) | ms per target, by IoU | by IoU and edges |")
    print("|---|---|---|---|---|---|---|")
    for name in sources:
        i = np.asarray(ious[name])
        print(f"| {name} | {i.mean():.3f} | {100 * np.mean(i >= 0.9):.0f} | "
              + " | ".join(f"{100 * np.mean(hits[name, r]):.1f}" for r in ranks) + " | "
              + " | ".join(f"{np.mean(ms[name, r]):.0f}" for r in ranks) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
