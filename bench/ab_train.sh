#!/usr/bin/env bash
# bench/ab_train.sh - one arm of issue 10's short A/B trainings: the shipped
# recipe (fer-vgg-wide, Adam, cosine to 15%, crop/flip/rotate/zoom, class
# weights, label smoothing 0.05) for 15 epochs, seed 1, validated on 5% of
# the Training faces (stratified, seeded): PublicTest is never looked at.
# Extra arguments are the arm's additions (train refuses an option given
# twice, so the recipe's own are changed through ARCH, BALANCE, SEED and THREADS), e.g.
#   bench/ab_train.sh /work/runs/A0                        # baseline
#   bench/ab_train.sh /work/runs/B1 --mixup 0.2            # + mixup
#   bench/ab_train.sh /work/runs/C1 --precision bf16       # BF16 products
#   ARCH=fer-resnet bench/ab_train.sh /work/runs/D1        # residual net
#   BALANCE=none bench/ab_train.sh /work/runs/N1           # no class weights
# Runs in the background (nohup), checkpointing every epoch into OUT_DIR;
# resume an interrupted arm with
#   nohup build/app/emotion-train train --resume OUT_DIR/model.ckpt >> OUT_DIR/train.log 2>&1 &
# and read its result from OUT_DIR/report/metrics.json. Compare arms by
# their final validation accuracy, then evaluate only the chosen recipe on
# PublicTest.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: bench/ab_train.sh OUT_DIR [TRAIN OPTIONS...]" >&2; exit 2; }
out=$1; shift
here=$(cd "$(dirname "$0")/.." && pwd)
data=${FER_TRAIN:-$here/../shared/data/fer2013/train}
bin=${EMOTION_TRAIN:-$here/build/app/emotion-train}
[ -d "$data" ] || { echo "bench/ab_train.sh: no FER2013 training folder at $data (set FER_TRAIN)" >&2; exit 1; }
[ -e "$out" ] && { echo "bench/ab_train.sh: $out exists; resume it or pick another folder" >&2; exit 2; }
mkdir -p "$out"
# a copy of the binary, so that rebuilding the tree cannot change a running arm
cp "$bin" "$out/emotion-train"
nohup "$out/emotion-train" train --data "$data" --val-split 0.05 \
    --arch "${ARCH:-fer-vgg-wide}" --epochs 15 --batch 64 --optimizer adam --lr 0.001 --weight-decay 0.0001 \
    --schedule cosine:1:0.15 --augment crop,flip,rotate,zoom --balance "${BALANCE:-weights}" \
    --label-smoothing 0.05 --seed "${SEED:-1}" --threads "${THREADS:-2}" --out "$out/model" --report "$out/report" \
    "$@" > "$out/train.log" 2>&1 &
echo "started $out (pid $!): tail -f $out/train.log"
