#!/bin/bash
# GPU check: how fast the synth renderer (moderngl on EGL) and PoseNet training run on a
# GPU machine, and what PoseNet learns in that time. The same recipe as the bracket run of
# benchmarks/accuracy.py (2,000 training images, seed 0, width 0.5, input 128, batch 32),
# PoseNet only (no detector).
#
#   bash benchmarks/gpu_synth_train.sh [IMAGES=2000] [BUDGET=5m] [DEVICE=cuda] [WORKERS=14] [PYTHON=python3]
#
# Needs a Python with rigidpose's dependencies and a working EGL (docs/benchmarks.md says how
# the same commands ran on an H200). Copies the run's metrics.csv to $OUT (default
# /tmp/gpu_synth_train) and prints a table of it; the datasets and run stay in $WORK.
# Compare its validation columns with the 2-core run's OUT/run/metrics.csv at the same step.
set -e
IMAGES=${1:-2000}; BUDGET=${2:-5m}; DEV=${3:-cuda}; W=${4:-14}; PY=${5:-python3}
OUT=${OUT:-/tmp/gpu_synth_train}; WORK=${WORK:-$(mktemp -d)}
mkdir -p "$OUT" "$WORK"
export PYTHONUNBUFFERED=1
MODEL="$WORK/bracket.ply"
$PY -c "from rigidpose.objects.parts import bracket; bracket().export('$MODEL')"
$PY -c "import torch, moderngl; c = moderngl.create_standalone_context(backend='egl');
print('torch', torch.__version__, '| cuda', torch.cuda.is_available(), '| GL_RENDERER', c.info['GL_RENDERER'])"
start=$SECONDS
$PY -m rigidpose synth --model "$MODEL" --out "$WORK/train" --images "$IMAGES" --seed 0 --workers "$W" --no-progress
echo "synth: $((SECONDS - start)) s wall for $IMAGES images with $W workers"
start=$SECONDS
$PY -m rigidpose train --data "$WORK/train" --out "$WORK/run" --time-budget "$BUDGET" --width 0.5 --input 128 \
    --no-detector --device "$DEV" --loader-workers "$W" --no-progress
echo "train: $((SECONDS - start)) s wall (budget $BUDGET, validation and saving not counted in it)"
cp "$WORK/run/metrics.csv" "$OUT/metrics.csv"
$PY - "$OUT/metrics.csv" <<'PYEOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print("| epoch | step | train s | val keypoint px | val rotation ° (median) | val mask IoU | val ADD-0.1d keypoints (%) | val ADD-0.1d direct (%) |")
print("|---|---|---|---|---|---|---|---|")
every = max(len(rows) // 8, 1)
for i in sorted(set(range(0, len(rows), every)) | {len(rows) - 1}):
    r = rows[i]
    print(f"| {r['epoch']} | {r['step']} | {float(r['elapsed_s']):.0f} | {float(r['val_kp_px']):.1f} | "
          f"{float(r['val_rot_deg']):.0f} | {float(r['val_mask_iou']):.2f} | {100 * float(r['val_add_kp']):.1f} | "
          f"{100 * float(r['val_add_direct']):.1f} |")
PYEOF
