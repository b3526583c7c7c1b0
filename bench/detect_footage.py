#!/usr/bin/python3
"""detect_footage.py - emotion-detect against the Python pipeline on
generated footage (tools/gen_footage.py): frames/s, faces found, false
boxes, accuracy on found faces, for the defaults and each stage of the
detector turned off (issue 12). A benchmark, not a test.

Needs OpenCV's Python module for the Python pipeline and the generator
(`apt-get install python3-opencv`): a benchmark-only dependency.

  python3 tools/gen_footage.py ../shared/data/fer2013/test /tmp/footage
  python3 bench/detect_footage.py BUILD /tmp/footage [MODEL] > bench/results/DATE-CPU-footage.txt

Matching rule, the same for every pipeline: a reported box matches a true
face when their intersection over union is at least 0.4 (each true face and
each box matched once, best overlap first); "found" counts matched true
faces, "false" counts boxes that match none, "acc" is the share of matched
faces whose emotion is the true one. Upright: |roll| < 5 degrees; rolled:
|roll| >= 10. "acc-up" / "acc-ro": accuracy on found upright / rolled faces;
"up80" / "ro80" the same for faces of 80 px and more. "fps" is each run's
own whole-run figure (frames over the seconds from the first frame read to
the last). Runs are interleaved with the Python pipeline's and every
figure comes from the same run: compare within a run only.

empty.avi may be longer than faces.avi (gen_footage.py's EMPTY): "empty/1k"
is false boxes per 1,000 of its frames. The Python pipeline reads only as
many of them as faces.avi has: at its speed the whole of a long face-free
video would take most of the run.
"""
import csv
import json
import os
import re
import subprocess
import sys
import time

import cv2


def iou(a, b):
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    if x1 <= x0 or y1 <= y0:
        return 0.0
    i = (x1 - x0) * (y1 - y0)
    return i / (a[2] * a[3] + b[2] * b[3] - i)


def load_truth(path, key):
    t = {}
    if not path:
        return t
    with open(path) as f:
        for r in csv.DictReader(f):
            k = int(r[key]) if key == "frame" else r[key]
            t.setdefault(k, []).append(([int(r["x"]), int(r["y"]), int(r["w"]), int(r["h"])],
                                        float(r["roll"]), r["emotion"]))
    return t


def load_log(path, key):
    d = {}
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            k = rec["frame"] if key == "frame" else rec["file"]
            d[k] = [(fc["box"], fc["emotion"]) for fc in rec["faces"]]
    return d


def score(truth, log, keys):
    s = {"n": 0, "found": 0, "n_up": 0, "found_up": 0, "n_rolled": 0, "found_rolled": 0,
         "false": 0, "correct": 0, "records": len(keys)}
    # Accuracy on found faces by pose, also for faces of 80 px and more
    # (small faces are classified worse whatever their roll).
    for g in ("up", "rolled", "up80", "rolled80"):
        s["hit_" + g] = s["ok_" + g] = 0
    for k in keys:
        tr, dets = truth.get(k, []), log.get(k, [])
        pairs = sorted(((iou(t[0], d[0]), i, j) for i, t in enumerate(tr)
                        for j, d in enumerate(dets)), reverse=True)
        ti, dj = set(), set()
        for v, i, j in pairs:
            if v < 0.4 or i in ti or j in dj:
                continue
            ti.add(i)
            dj.add(j)
            ok = dets[j][1] == tr[i][2]
            s["correct"] += ok
            roll, side = abs(tr[i][1]), min(tr[i][0][2], tr[i][0][3])
            pose = "up" if roll < 5 else "rolled" if roll >= 10 else None
            if pose:
                for g in (pose, pose + "80") if side >= 80 else (pose,):
                    s["hit_" + g] += 1
                    s["ok_" + g] += ok
        for i, t in enumerate(tr):
            s["n"] += 1
            s["found"] += i in ti
            if abs(t[1]) < 5:
                s["n_up"] += 1
                s["found_up"] += i in ti
            elif abs(t[1]) >= 10:
                s["n_rolled"] += 1
                s["found_rolled"] += i in ti
        s["false"] += len(dets) - len(dj)
    return s


def pct(a, b):
    return "%5.1f%%" % (100.0 * a / b) if b else "    -"


def run(cmd):
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), p.stderr))
    out = p.stdout + p.stderr
    # The run's own summary ("... in S s: F frames/s"), not the first
    # progress line (emotion-detect prints one a second, from its first
    # second's frames): both programs time from their first frame read.
    m = re.findall(r"in [0-9.]+ s: ([0-9.]+) frames/s", out)
    return (float(m[-1]) if m else 0.0), dt


def main():
    build, foot = sys.argv[1], sys.argv[2]
    model = sys.argv[3] if len(sys.argv) > 3 else "models/default.model"
    det = os.path.join(build, "app", "emotion-detect")
    onnx = os.path.join(foot, "model.onnx")
    # the script's own copy of the model, made again each run
    subprocess.run([os.path.join(build, "app", "emotion-train"), "export", "--model", model,
                    "--onnx", onnx, "--overwrite"], check=True, capture_output=True)
    cascade = "cascades/haarcascade_frontalface_default.xml"
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    print("# emotion-detect vs the Python pipeline on generated footage (bench/detect_footage.py)")
    print("# %s, %d cores, load average %s" % (cpu, os.cpu_count(), os.getloadavg()))
    print("# %s, model %s, 2 threads" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), model))
    vt = load_truth(os.path.join(foot, "faces.csv"), "frame")
    nf = max(vt) + 1
    cap = cv2.VideoCapture(os.path.join(foot, "empty.avi"))
    ne = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    pt = load_truth(os.path.join(foot, "photos.csv"), "file")
    photos = sorted(os.path.join(foot, "photos", n) for n in os.listdir(os.path.join(foot, "photos")))
    configs = [
        ("defaults", []),
        ("--without roi", ["--without", "roi"]),
        ("--without cuts", ["--without", "cuts"]),
        ("--without roll", ["--without", "roll"]),
        ("--without rollnet", ["--without", "rollnet"]),
        ("--views 1", ["--views", "1"]),
        ("--without confirm", ["--without", "confirm"]),
        ("--without small", ["--without", "small"]),
        ("--prep equalize", ["--prep", "equalize"]),
        ("--detect-width 400 --min-face 0.08", ["--detect-width", "400", "--min-face", "0.08"]),
        ("--without confirm --detect-every 6", ["--without", "confirm", "--detect-every", "6"]),
        ("--scale-factor 1.15", ["--scale-factor", "1.15"]),
        ("--scale-factor 1.1 --min-neighbors 5 --detect-every 4 (before 2026-11-26)",
         ["--scale-factor", "1.1", "--min-neighbors", "5", "--detect-every", "4"]),
        ("all stages off, --prep equalize --detect-every 2 (the old defaults)",
         ["--without", "roi,cuts,roll,confirm", "--prep", "equalize", "--detect-every", "2"]),
    ]
    if len(sys.argv) > 4:
        configs = [c for c in configs if c[0] in sys.argv[4:]]
    log = os.path.join(foot, "log.jsonl")
    rows = []
    py_fps = []

    def python_run():
        fps, _ = run(["/usr/bin/python3", "bench/bench_detect_python.py",
                      os.path.join(foot, "faces.avi"), onnx, cascade, "2", log])
        py_fps.append(fps)
        print("# done: Python pipeline, %.1f frames/s" % fps, flush=True)
        return score(vt, load_log(log, "frame"), range(nf))

    def python_empty():
        run(["/usr/bin/python3", "bench/bench_detect_python.py",
             os.path.join(foot, "empty.avi"), onnx, cascade, "2", log, str(min(nf, ne))])
        se = score({}, load_log(log, "frame"), range(min(nf, ne)))
        se["frames"] = min(nf, ne)
        return se

    rows.append(("Python pipeline (Haar 1.1 full frame)", python_run(), python_empty(), None))
    for name, extra in configs:
        base = [det, "--headless", "--model", model, "--threads", "2", "--log", log, "--overwrite"] + extra
        fps, _ = run(base + ["--input", os.path.join(foot, "faces.avi")])
        sv = score(vt, load_log(log, "frame"), range(nf))
        sv["fps"] = fps
        run(base + ["--input", os.path.join(foot, "empty.avi")])
        se = score({}, load_log(log, "frame"), range(ne))
        se["frames"] = ne
        run(base + ["--input", os.path.join(foot, "photos")])
        sp = score(pt, load_log(log, "file"), photos)
        rows.append((name, sv, se, sp))
        print("# done: %s, %.1f frames/s" % (name, fps), flush=True)
        if name == "defaults":
            rows.append(("Python pipeline (again)", python_run(), python_empty(), None))
    rows[0][1]["fps"] = py_fps[0]
    rows[2][1]["fps"] = py_fps[-1]
    print("#\n# video: faces.avi, %d frames 640x480, %d faces; empty.avi %d frames without faces"
          " (the Python pipeline: the first %d)" % (nf, sum(len(v) for v in vt.values()), ne,
                                                    min(nf, ne)))
    print("# photos: %d images, %d faces" % (len(photos), sum(len(v) for v in pt.values())))
    print("%-70s %7s %7s %7s %7s %7s %6s %9s | %7s %7s %6s | %6s %6s %6s %6s" %
          ("pipeline", "fps", "found", "upright", "rolled", "false/f", "acc", "empty/1k",
           "photos", "false", "acc", "acc-up", "acc-ro", "up80", "ro80"))
    for name, sv, se, sp in rows:
        ph = ("%7s %7d %6s" % (pct(sp["found"], sp["n"]), sp["false"], pct(sp["correct"], sp["found"]))
              if sp else "%7s %7s %6s" % ("-", "-", "-"))
        by_pose = " ".join("%6s" % pct(sv["ok_" + g], sv["hit_" + g])
                           for g in ("up", "rolled", "up80", "rolled80"))
        print("%-70s %7.1f %7s %7s %7s %7.3f %6s %9.1f | %s | %s" % (
            name, sv.get("fps", 0), pct(sv["found"], sv["n"]), pct(sv["found_up"], sv["n_up"]),
            pct(sv["found_rolled"], sv["n_rolled"]), sv["false"] / nf,
            pct(sv["correct"], sv["found"]), 1000.0 * se["false"] / se["frames"], ph, by_pose))


if __name__ == "__main__":
    main()
