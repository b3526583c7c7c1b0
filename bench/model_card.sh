#!/usr/bin/env bash
# bench/model_card.sh - every figure models/README.md's card gives for a
# candidate default, measured in one go on a trained model, so that shipping
# one is a single command and its raw output lands in bench/results:
#   PublicTest single pass (calibrated, with its per-class table, confusion
#   matrix and ECE/NLL), uncalibrated, --tta and --mirror; CK+48's six shared
#   classes; the INT8 calibration (`quantize`, into OUT_DIR, never over the
#   model) and PublicTest in INT8; optionally an ensemble with a second model;
#   and the speed: `bench --opencv` FP32 then INT8, ROUNDS rounds each, and
#   with FOOTAGE (a video, e.g. tools/gen_footage.py's faces.avi: 1-3 faces a
#   frame) emotion-detect's frames/s and milliseconds per stage on it with the
#   INT8 model, as the detector runs it.
# PublicTest is evaluated here, never used to choose: run it once, on the
# model the validation split already kept.
#   bench/model_card.sh MODEL OUT_DIR [OTHER_MODEL]
# Environment: FER_TRAIN, FER_TEST, CKPLUS (data; default ../shared/...),
# EMOTION_TRAIN (the binary; emotion-detect is looked for beside it), ROUNDS (speed rounds, default 2; 0 skips the
# speed, e.g. while a training shares the machine: pause it for the speed).
set -euo pipefail
[ $# -ge 2 ] && [ $# -le 3 ] || { echo "usage: bench/model_card.sh MODEL OUT_DIR [OTHER_MODEL]" >&2; exit 2; }
model=$1 out=$2 other=${3:-}
here=$(cd "$(dirname "$0")/.." && pwd)
shared=$here/../shared/data
train=${FER_TRAIN:-$shared/fer2013/train}
test=${FER_TEST:-$shared/fer2013/test}
ck=${CKPLUS:-$shared/ckplus48}
bin=${EMOTION_TRAIN:-$here/build/app/emotion-train}
detect=$(dirname "$bin")/emotion-detect
footage=${FOOTAGE:-}
rounds=${ROUNDS:-2}
me=bench/model_card.sh
[ -f "$model" ] || { echo "$me: no model file $model" >&2; exit 1; }
[ -z "$other" ] || [ -f "$other" ] || { echo "$me: no model file $other" >&2; exit 1; }
[ -x "$bin" ] || { echo "$me: no emotion-train at $bin (build first, or set EMOTION_TRAIN)" >&2; exit 1; }
for d in "$train" "$test" "$ck"; do
    [ -e "$d" ] || { echo "$me: no data at $d (set FER_TRAIN, FER_TEST, CKPLUS)" >&2; exit 1; }
done
[ -z "$footage" ] || [ -f "$footage" ] || { echo "$me: no footage file $footage" >&2; exit 1; }
[ -z "$footage" ] || [ -x "$detect" ] || { echo "$me: no emotion-detect beside $bin" >&2; exit 1; }
case $rounds in ''|*[!0-9]*) echo "$me: ROUNDS must be a count, not '$rounds'" >&2; exit 2 ;; esac
# a card's raw output is a record: never mix two runs in one folder
[ -e "$out" ] && { echo "$me: $out exists; pick another folder" >&2; exit 2; }
mkdir -p "$out"
raw=$out/raw.txt
int8=$out/$(basename "${model%.model}")-int8.model

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
fam=$(sed -n 's/^cpu family[^:]*: //p' /proc/cpuinfo | head -1)
mod=$(sed -n 's/^model[^:]*: //p' /proc/cpuinfo | grep -v '[a-zA-Z]' | head -1)
{
    echo "# $me $*  ($(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo "# CPU: $cpu (family $fam model $mod), $(nproc) cores; tree $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?')"
    busy=$(pgrep -f "emotion-train[^ ]* train " -d, || true)
    [ -z "$busy" ] || echo "# note: a training shared the machine at the start (pids $busy): speeds are not idle figures"
} > "$raw"

# step NAME COMMAND...: the command line and its whole output, in order
step() {
    local name=$1; shift
    { echo; echo "== $name"; echo "\$ $*"; } >> "$raw"
    if ! "$@" >> "$raw" 2>&1; then
        echo "$me: step '$name' failed; see $raw" >&2
        exit 1
    fi
}

step info "$bin" info --model "$model"
step publictest "$bin" eval --model "$model" --data "$test" --threads 2 --json "$out/pt.json" --report "$out/pt-report"
step publictest-uncalibrated "$bin" eval --model "$model" --data "$test" --threads 2 --uncalibrated --json "$out/pt-uncal.json"
step publictest-tta "$bin" eval --model "$model" --data "$test" --threads 2 --tta --json "$out/pt-tta.json"
step publictest-mirror "$bin" eval --model "$model" --data "$test" --threads 2 --mirror --json "$out/pt-mirror.json"
step ckplus48 "$bin" eval --model "$model" --data "$ck" --threads 2 --json "$out/ck.json"
step quantize "$bin" quantize --model "$model" --data "$train" --out "$int8" --threads 2
step publictest-int8 "$bin" eval --model "$int8" --data "$test" --threads 2 --precision int8 --json "$out/pt-int8.json"
if [ -n "$other" ]; then
    step "ensemble-with-$(basename "$other")" "$bin" eval --model "$model,$other" --data "$test" --threads 2 --json "$out/pt-ensemble.json"
fi
for r in $(seq 1 "$rounds"); do
    step "speed-fp32-round-$r" "$bin" bench --model "$int8" --threads 2 --opencv
    step "speed-int8-round-$r" "$bin" bench --model "$int8" --threads 2 --precision int8
done
if [ -n "$footage" ]; then
    step "detector-footage-$(basename "$footage")" "$detect" --headless --quiet --model "$int8" --input "$footage"
fi
echo "$me: wrote $raw (INT8 model: $int8)"
