#!/bin/bash
# split_by_subject.sh - a subject-independent train/validation split of a
# folder-per-class set whose file names start with a subject id (CK+48:
# S010_004_00000017.png is subject S010). Every Nth subject, in sorted order,
# goes to validation with all of its images, so no person is on both sides.
# Makes symlinks; the data stays where it is.
#   bash tools/split_by_subject.sh SRC OUT [N]    (default N = 10)
set -eu
src=${1:?usage: split_by_subject.sh SRC OUT [N]}
out=${2:?usage: split_by_subject.sh SRC OUT [N]}
every=${3:-10}
src=$(cd "$src" && pwd)
subjects=$(find "$src" -mindepth 2 -maxdepth 2 -type f -printf '%f\n' | cut -d_ -f1 | sort -u)
[ -n "$subjects" ] || { echo "split_by_subject: no files under $src" >&2; exit 1; }
held=$(echo "$subjects" | awk -v n="$every" '(NR - 1) % n == 0')
rm -rf "$out/train" "$out/val"
for dir in "$src"/*/; do
    class=$(basename "$dir")
    mkdir -p "$out/train/$class" "$out/val/$class"
    for f in "$dir"*; do
        [ -f "$f" ] || continue
        name=$(basename "$f")
        if echo "$held" | grep -qx "${name%%_*}"; then side=val; else side=train; fi
        ln -s "$f" "$out/$side/$class/$name"
    done
done
echo "subjects: $(echo "$subjects" | wc -l) in all, $(echo "$held" | wc -l) held out;" \
     "images: $(find "$out/train" -type l | wc -l) train, $(find "$out/val" -type l | wc -l) val"
