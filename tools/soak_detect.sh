#!/bin/bash
# soak_detect.sh - emotion-detect's memory over a long headless run (a
# benchmark, not a test): a generated 640x480 video of real faces looped
# with --loop, a JSON log written, the resident set size sampled every
# couple of seconds.
#   bash tools/soak_detect.sh BUILDDIR [FRAMES [THREADS [FACES]]]
# EMOTION_DETECT overrides the program (a copy, so rebuilds cannot disturb a
# long run). Prints key=value lines: rss_kb after warm-up, the largest and the last
# sample after warm-up, and the growth between them; writes every sample to
# BUILDDIR/soak/rss.csv (seconds,frame,rss_kb).
set -eu
build=${1:?usage: soak_detect.sh BUILDDIR [FRAMES [THREADS [FACES]]]}
frames=${2:-100000}
threads=${3:-2}
faces=${4:-2}
src=$(cd "$(dirname "$0")/.." && pwd)
out=$build/soak
mkdir -p "$out"
video=$out/faces-640x480.mp4
[ -s "$video" ] || "$build/tools/gen_face_video" "$src" "$video" 600 "$faces" 640x480 25

"${EMOTION_DETECT:-$build/app/emotion-detect}" --headless --input "$video" --loop --max-frames "$frames" \
    --threads "$threads" --log "$out/log.jsonl" --overwrite 2>"$out/stderr.txt" &
pid=$!
trap 'kill -INT $pid 2>/dev/null || true' INT TERM
echo "seconds,frame,rss_kb" >"$out/rss.csv"
t0=$(date +%s)
while kill -0 $pid 2>/dev/null; do
    rss=$(awk '/^VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null || true)
    frame=$(tail -n 1 "$out/stderr.txt" 2>/dev/null | awk '/^frame/ {print $2+0}')
    [ -n "$rss" ] && [ -n "$frame" ] && echo "$(($(date +%s) - t0)),$frame,$rss" >>"$out/rss.csv"
    sleep 2
done
wait $pid
tail -n 4 "$out/stderr.txt"
# Warm-up: the first 2% of the frames (buffers, the detector's pyramids and
# the engine's workspaces reach their final sizes early).
awk -F, -v warm=$((frames / 50)) 'NR > 1 && $2 >= warm {
        if (!n++) first = $3
        if ($3 > max) max = $3
        last = $3; lastf = $2
    }
    END {
        if (!n) { print "soak: no samples after warm-up" > "/dev/stderr"; exit 1 }
        printf "frames=%d\nsamples=%d\nrss_after_warmup_kb=%d\nrss_max_kb=%d\nrss_last_kb=%d\ngrowth_kb=%d\n",
               lastf, n, first, max, last, last - first
    }' "$out/rss.csv"
