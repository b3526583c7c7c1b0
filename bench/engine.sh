#!/usr/bin/env bash
# bench/engine.sh - issue 13's figures in one run: the GEMM kernel chosen by
# measurement against each kernel forced, FP32 against BF16 training, FP32
# against INT8 inference, and OpenCV DNN on the same net (its ONNX export),
# for fer-classic and the shipped model. Nothing else may run meanwhile
# (2 cores): pause trainings first. Prints raw `bench` output; save it under
# bench/results/ with the date and CPU in the name.
# usage: bench/engine.sh [BUILD_DIR] [INT8_MODEL]
#   INT8_MODEL: the shipped model calibrated for INT8 (emotion-train quantize
#   --model models/default.model --data .../fer2013/train --out M8); without
#   it the INT8 lines calibrate on the benchmark's random inputs.
set -euo pipefail
build=${1:-build}
m8=${2:-}
bin="$build/app/emotion-train"
model=models/default.model
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
export XDG_CACHE_HOME=$cache   # a fresh kernel choice, timed now
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')," \
     "family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')" \
     "model $(grep -m1 '^model' /proc/cpuinfo | cut -d: -f2 | tr -d ' '), $(nproc) cores"
echo "# flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512f|avx512_bf16|avx512_vnni|avx_vnni|amx_bf16)$' | tr '\n' ' ')"
for net in "--arch fer-classic" "--model $model"; do
    echo
    echo "## $net, 2 threads: default (kernel chosen by measurement), then each kernel forced"
    "$bin" bench $net --threads 2
    for k in avx2 avx512; do
        echo "# NN_KERNEL=$k"
        NN_KERNEL=$k "$bin" bench $net --threads 2
    done
    echo "# BF16 training products (--precision bf16)"
    "$bin" bench $net --threads 2 --precision bf16
done
echo
echo "## the shipped model, FP32 and INT8, beside OpenCV DNN running its ONNX export (same run)"
"$bin" bench --model "$model" --threads 2 --opencv
if [ -n "$m8" ]; then
    "$bin" bench --model "$m8" --threads 2 --precision int8 --opencv
else
    "$bin" bench --model "$model" --threads 2 --precision int8 --opencv
fi
echo "## INT8 with each INT8 kernel this CPU has, forced (emotion-detect keeps the faster at start)"
for k in vnni avx2; do
    echo "# NN_INT8_KERNEL=$k"
    NN_INT8_KERNEL=$k "$bin" bench --model "${m8:-$model}" --threads 2 --precision int8 | grep -E 'int8_kernel|infer_'
done
echo "## one thread"
"$bin" bench --model "$model" --threads 1 --opencv
"$bin" bench --model "${m8:-$model}" --threads 1 --precision int8
