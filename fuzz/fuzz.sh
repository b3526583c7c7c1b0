#!/bin/sh
# fuzz.sh - run the libFuzzer targets (fuzz/fuzz_*.c) under ASan+UBSan.
#
#   fuzz/fuzz.sh [SECONDS_EACH [TARGET...]]     fuzz each target for 10M
#                                                runs (FUZZ_RUNS) or SECONDS
#                                                (default 60), whichever
#                                                comes first
#   FUZZ_MINIMISE=1 fuzz/fuzz.sh 0 TARGET...    rewrite fuzz/corpus/TARGET
#                                                as the minimal corpus with
#                                                the same coverage
#
# Targets: model spec checkpoint csv log jsonr fromlog. The clang build lives in
# build-fuzz (FUZZ_BUILD to change); each target's growing corpus in
# build-fuzz/fuzz-corpus/TARGET, seeded from the committed fuzz/corpus/TARGET.
# Crashes are written as build-fuzz/crash-* and stop the run with an error.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD:-$src/build-fuzz}
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-model spec checkpoint csv log jsonr fromlog}

if [ ! -f "$build/build.ninja" ]; then
    CC=clang CXX=clang++ meson setup "$build" "$src" --buildtype=debugoptimized \
        -Db_sanitize=address,undefined -Db_lundef=false
fi
for t in $targets; do
    ninja -C "$build" "fuzz/fuzz_$t"
done
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
for t in $targets; do
    work="$build/fuzz-corpus/$t"
    mkdir -p "$work"
    # Model files and checkpoints end in a CRC: repair it so mutations reach
    # the parser (fuzz_util.h).
    case $t in model|checkpoint) export NN_FUZZ_FIXCRC=1 ;; *) unset NN_FUZZ_FIXCRC || true ;; esac
    if [ "$secs" -gt 0 ]; then
        echo "== fuzz_$t, $secs s"
        (cd "$build" && "./fuzz/fuzz_$t" -runs="${FUZZ_RUNS:-10000000}" -max_total_time="$secs" -timeout=10 \
            -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
            "$work" "$src/fuzz/corpus/$t" 2>&1 | grep -E "^#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss|ERROR|SUMMARY|crash-" || true)
        if ls "$build"/crash-* "$build"/leak-* "$build"/oom-* "$build"/timeout-* >/dev/null 2>&1; then
            echo "fuzz_$t: found a failing input (see $build)" >&2
            exit 1
        fi
    fi
    if [ "${FUZZ_MINIMISE:-0}" = 1 ]; then
        min="$build/fuzz-min/$t"
        rm -rf "$min"
        mkdir -p "$min"
        (cd "$build" && "./fuzz/fuzz_$t" -merge=1 "$min" "$src/fuzz/corpus/$t" "$work" 2>&1 | tail -1)
        rm -f "$src/fuzz/corpus/$t"/*
        cp "$min"/* "$src/fuzz/corpus/$t"/
        echo "fuzz/corpus/$t: $(ls "$src/fuzz/corpus/$t" | wc -l) files, $(du -sk --apparent-size "$src/fuzz/corpus/$t" | cut -f1) kB"
    fi
done
