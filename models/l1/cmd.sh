#!/bin/sh
# Issue 10's long run: fer-vgg-wide, 100 epochs, mixup 0.2, SWA over the last 15 epochs, BF16 products,
# validation carved from Training (5%, stratified, seed 1); PublicTest is never seen by this command.
exec /work/runs/emotion-train-s7 train --data /work/shared/data/fer2013/train --val-split 0.05 \
    --arch fer-vgg-wide --epochs 100 --batch 64 --optimizer adam --lr 0.001 --weight-decay 0.0001 \
    --schedule cosine:1:0.05 --swa 86 --augment crop,flip,rotate,zoom --balance weights \
    --label-smoothing 0.05 --mixup 0.2 --seed 1 --precision bf16 --threads 2 \
    --calibrate auto --out /work/runs/L1/l1.model --report /work/runs/L1/report
