#!/usr/bin/env bash
# bench_compare.sh - the engine against OpenCV 4.6 DNN (same net from ONNX)
# and PyTorch 1.13 (Debian's python3-torch), side by side in one run, for
# the figures in BENCHMARKS.md. Nothing else may run meanwhile (2 cores).
# usage: bench/bench_compare.sh [BUILD_DIR] [ARCH]
set -euo pipefail
build=${1:-build}
arch=${2:-fer-classic}
bin="$build/app/emotion-train"
here=$(dirname "$0")
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
echo "# engine and OpenCV DNN, one thread"
"$bin" bench --arch "$arch" --threads 1 --opencv
echo "# engine and OpenCV DNN, two threads"
"$bin" bench --arch "$arch" --threads 2 --opencv
echo "# engine in INT8 (calibrated on the random inputs), one and two threads"
"$bin" bench --arch "$arch" --threads 1 --precision int8
"$bin" bench --arch "$arch" --threads 2 --precision int8
if [ "$arch" = fer-classic ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    echo "# PyTorch, one thread"
    /usr/bin/python3 "$here/bench_torch.py" 1
    echo "# PyTorch, two threads"
    /usr/bin/python3 "$here/bench_torch.py" 2
else
    echo "# PyTorch: not measured (needs arch fer-classic and Debian's python3-torch)"
fi
