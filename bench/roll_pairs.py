#!/usr/bin/python3
"""roll_pairs.py - rolled faces against the same faces upright (issue 12).

The footage of tools/gen_footage.py draws different faces for its upright
and rolled placements, so its accuracy by pose mostly says which faces were
drawn. Here every face appears twice, in two scenes of SCENE frames that
differ only in the roll: the same FER2013 test face, size, place,
background and lighting, once upright and once turned by 10-30 degrees
either way. emotion-detect (the defaults, or the options given) runs on the
video; the truth and the matching rule are bench/detect_footage.py's.

  python3 bench/roll_pairs.py BUILD FER2013_TEST_DIR OUT_DIR [N_PER_CLASS [SEED]] [-- OPTIONS...]

Prints, per pose: face-frames found, accuracy on found face-frames; and for
the faces found in both poses (at least one frame each) the accuracy of
each pose on them and the paired difference with its standard error
(over faces). Needs numpy and OpenCV's Python module, like the generator.
"""
import csv
import math
import os
import subprocess
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import gen_footage as gf  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import detect_footage as dfo  # noqa: E402

SCENE = 8


def make(fer, out, per_class, seed):
    rng = np.random.default_rng(seed)
    rows, pairs = [], []
    for c in gf.CLASSES:
        d = os.path.join(fer, c)
        names = sorted(os.listdir(d))
        for j in rng.choice(len(names), size=min(per_class, len(names)), replace=False):
            pairs.append((c, cv2.imread(os.path.join(d, names[j]), cv2.IMREAD_GRAYSCALE)))
    order = rng.permutation(len(pairs))
    path = os.path.join(out, "pairs.avi")
    wr = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), gf.FPS, (gf.W, gf.H))
    frame = 0
    for k in order:
        emo, face = pairs[k]
        side = int(rng.integers(80, 201))
        cx = rng.uniform(side * 0.8, gf.W - side * 0.8)
        cy = rng.uniform(side * 0.8, gf.H - side * 0.8)
        roll = float(rng.uniform(10, 30) * (1 if rng.random() < 0.5 else -1))
        bg = gf.background(rng, gf.W, gf.H)
        gain, offset = rng.uniform(0.7, 1.2), rng.uniform(-20, 20)
        # Which pose comes first alternates, so that neither always follows a cut from the other.
        poses = (0.0, roll) if rng.random() < 0.5 else (roll, 0.0)
        for r in poses:
            img = bg.copy()
            gf.paste(img, face, cx, cy, side, r)
            bgr = cv2.cvtColor(gf.light(img, gain, offset), cv2.COLOR_GRAY2BGR)
            for _ in range(SCENE):
                wr.write(bgr)
                rows.append([frame, int(round(cx - side / 2)), int(round(cy - side / 2)), side, side,
                             "%.1f" % r, emo, int(k)])
                frame += 1
    wr.release()
    truth = os.path.join(out, "pairs.csv")
    with open(truth, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["frame", "x", "y", "w", "h", "roll", "emotion", "face"])
        w.writerows(rows)
    return path, truth


def main():
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        extra = args[args.index("--") + 1:]
        args = args[:args.index("--")]
    build, fer, out = args[:3]
    per_class = int(args[3]) if len(args) > 3 else 30
    seed = int(args[4]) if len(args) > 4 else 5
    os.makedirs(out, exist_ok=True)
    video, truth = make(fer, out, per_class, seed)
    log = os.path.join(out, "pairs.jsonl")
    det = os.path.join(build, "app", "emotion-detect")
    p = subprocess.run([det, "--headless", "--quiet", "--threads", "2", "--log", log, "--overwrite", "--input", video]
                       + extra, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("emotion-detect failed:\n" + p.stderr)
    dets = dfo.load_log(log, "frame")
    face_of = {}
    tr = {}
    with open(truth) as f:
        for r in csv.DictReader(f):
            fr = int(r["frame"])
            tr[fr] = [([int(r["x"]), int(r["y"]), int(r["w"]), int(r["h"])], float(r["roll"]),
                       r["emotion"])]
            face_of[fr] = (int(r["face"]), float(r["roll"]) != 0.0)
    # per (face, rolled): [frames, found, correct]
    per = {}
    for fr, t in tr.items():
        s = dfo.score({fr: t}, dets, [fr])
        key = face_of[fr]
        a = per.setdefault(key, [0, 0, 0])
        a[0] += 1
        a[1] += s["found"]
        a[2] += s["correct"]
    print("# roll_pairs.py: %d faces (%d per class), each upright and rolled 10-30 degrees, %d frames "
          "a pose; options: %s" % (len(per) // 2, per_class, SCENE, " ".join(extra) or "defaults"))
    for rolled in (False, True):
        n = sum(v[0] for k, v in per.items() if k[1] == rolled)
        fo = sum(v[1] for k, v in per.items() if k[1] == rolled)
        ok = sum(v[2] for k, v in per.items() if k[1] == rolled)
        print("%-8s face-frames %5d  found %5.1f%%  accuracy on found %5.1f%%" %
              ("rolled" if rolled else "upright", n, 100.0 * fo / n, 100.0 * ok / max(fo, 1)))
    both = [k for k in {k[0] for k in per} if per[(k, False)][1] and per[(k, True)][1]]
    acc_u = [per[(k, False)][2] / per[(k, False)][1] for k in both]
    acc_r = [per[(k, True)][2] / per[(k, True)][1] for k in both]
    diff = [r - u for u, r in zip(acc_u, acc_r)]
    n = len(both)
    if n > 1:
        mean = sum(diff) / n
        se = math.sqrt(sum((d - mean) ** 2 for d in diff) / (n - 1) / n)
        print("found in both poses: %d faces; accuracy upright %5.1f%%, rolled %5.1f%%, "
              "rolled - upright %+.1f points (SE %.1f)" %
              (n, 100.0 * sum(acc_u) / n, 100.0 * sum(acc_r) / n, 100.0 * mean, 100.0 * se))


if __name__ == "__main__":
    main()
