#!/bin/sh
# Issue 10 long run L2 (session 16): L1's recipe (100 epochs, cosine to 5%, weight average from 86,
# mixup 0.2, calibration) on fer-vgg-wide with squeeze-and-excitation (l2.spec = SE1's spec).
# Validation 5% of Training (stratified, seed 1); PublicTest only evaluated afterwards.
# Binary: emotion-train-s16 (69f78f3) to epoch 47 batch 150, emotion-train-s17 (55bde68: the SE layer on both threads) after (session 17).
# Precision auto: BF16 where the CPU has it, FP32 elsewhere. Resume: sh cmd.sh --resume /work/runs/L2/l2.model.ckpt
exec /work/runs/emotion-train-s17 train --data /work/shared/data/fer2013/train --val-split 0.05 \
    --arch /work/runs/L2/l2.spec --epochs 100 --batch 64 --optimizer adam --lr 0.001 --weight-decay 0.0001 \
    --schedule cosine:1:0.05 --swa 86 --augment crop,flip,rotate,zoom --balance weights \
    --label-smoothing 0.05 --mixup 0.2 --seed 1 --precision auto --threads 2 \
    --calibrate auto --out /work/runs/L2/l2.model --report /work/runs/L2/report "$@"
