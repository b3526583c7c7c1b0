#!/usr/bin/python3
"""gen_footage.py - footage for measuring emotion-detect away from the demo
clip (issue 12): real faces from FER2013's test set composited at known
positions over textured backgrounds, with the truth written beside.

Needs numpy and OpenCV's Python module (`apt-get install python3-opencv`), a
benchmark-only dependency: the tests generate their own data in C.

  python3 tools/gen_footage.py FER2013_TEST_DIR OUT_DIR [SEED [FRAMES [PHOTOS [EMPTY]]]]

EMPTY is empty.avi's frame count (default FRAMES): stating a false-box rate
under 1 per 1,000 frames takes well over 1,000 face-free frames.

writes into OUT_DIR:
  faces.avi, faces.csv    640x480, 15 frames/s, MJPG: a new scene (new
                          background, new lighting, 1-3 new faces) every 8
                          frames; faces 40-250 px, half upright, half rolled
                          by 10-30 degrees either way, drifting a few pixels
                          a frame; lighting changes between and within scenes
  empty.avi               the same kind of scenes without faces (false boxes)
  photos/, photos.csv     still images: group photos (1-9 faces, 24-200 px,
                          some rolled) of sizes 320-1280 wide, tiny images
                          (1x1, 8x8, 30x30) and blanks
The CSVs: frame (or file),x,y,w,h,roll,emotion per face; the box is the
upright square of the face's side around its centre; roll in degrees, the
eye line's angle with y down.
"""
import csv
import os
import sys

import cv2
import numpy as np

CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
W, H, FPS, SCENE = 640, 480, 15, 8


def background(rng, w, h):
    """Blurred noise plus room-like clutter: rectangles, bars, lines."""
    sigma = rng.uniform(1.5, 8)
    img = rng.uniform(0, 255, (h, w)).astype(np.float32)
    img = cv2.GaussianBlur(img, (0, 0), sigma)
    img = (img - img.mean()) * rng.uniform(1.5, 4) + rng.uniform(70, 170)
    for _ in range(rng.integers(8, 30)):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(10, w // 2)), y0 + int(rng.integers(10, h // 2))
        v = float(rng.uniform(20, 235))
        if rng.random() < 0.7:
            cv2.rectangle(img, (x0, y0), (x1, y1), v, -1 if rng.random() < 0.6 else 2)
        else:
            cv2.line(img, (x0, y0), (x1, y1), v, int(rng.integers(1, 6)))
    return img


def paste(img, face, cx, cy, side, roll):
    """face (48x48 gray) scaled to side, turned by roll, centred at (cx, cy)."""
    f = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    r = int(np.ceil(side * 0.75))
    m = cv2.getRotationMatrix2D((side / 2 - 0.5, side / 2 - 0.5), -roll, 1.0)
    m[0, 2] += r - side / 2
    m[1, 2] += r - side / 2
    big = cv2.warpAffine(f, m, (2 * r, 2 * r), flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(np.ones_like(f), m, (2 * r, 2 * r), flags=cv2.INTER_LINEAR)
    x0, y0 = int(round(cx)) - r, int(round(cy)) - r
    h, w = img.shape
    xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + 2 * r, w), min(y0 + 2 * r, h)
    if xa >= xb or ya >= yb:
        return
    sub = img[ya:yb, xa:xb]
    bb = big[ya - y0:yb - y0, xa - x0:xb - x0]
    mm = mask[ya - y0:yb - y0, xa - x0:xb - x0]
    img[ya:yb, xa:xb] = sub * (1 - mm) + bb * mm


def pick_faces(rng, faces, n, w, h, smin, smax, rolled_share):
    """n non-overlapping placements: (cx, cy, side, roll, emotion, image)."""
    out = []
    for _ in range(n):
        for _try in range(60):
            side = int(rng.integers(smin, smax + 1))
            cx = rng.uniform(side * 0.7, w - side * 0.7) if w > side * 1.4 else w / 2
            cy = rng.uniform(side * 0.7, h - side * 0.7) if h > side * 1.4 else h / 2
            if all(abs(cx - o[0]) > (side + o[2]) * 0.75 or abs(cy - o[1]) > (side + o[2]) * 0.75
                   for o in out):
                break
        else:
            continue
        roll = 0.0
        if rng.random() < rolled_share:
            roll = float(rng.uniform(10, 30) * (1 if rng.random() < 0.5 else -1))
        emo = CLASSES[int(rng.integers(0, len(CLASSES)))]
        img = faces[emo][int(rng.integers(0, len(faces[emo])))]
        out.append([cx, cy, side, roll, emo, img])
    return out


def light(img, gain, offset):
    return np.clip(img * gain + offset, 0, 255).astype(np.uint8)


def video(path, truth_path, rng, faces, n_frames, with_faces):
    wr = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), FPS, (W, H))
    rows = []
    for f0 in range(0, n_frames, SCENE):
        bg = background(rng, W, H)
        people = pick_faces(rng, faces, int(rng.integers(1, 4)), W, H, 40, 250, 0.5) \
            if with_faces else []
        vel = [(rng.uniform(-3, 3), rng.uniform(-3, 3)) for _ in people]
        gain, offset = rng.uniform(0.6, 1.3), rng.uniform(-30, 30)
        dgain = rng.uniform(-0.1, 0.1) / SCENE
        for i in range(min(SCENE, n_frames - f0)):
            img = bg.copy()
            for p, v in zip(people, vel):
                cx, cy = p[0] + v[0] * i, p[1] + v[1] * i
                paste(img, p[5], cx, cy, p[2], p[3])
                s = p[2]
                rows.append([f0 + i, int(round(cx - s / 2)), int(round(cy - s / 2)), s, s,
                             "%.1f" % p[3], p[4]])
            frame = light(img, gain + dgain * i, offset)
            wr.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    wr.release()
    if truth_path:
        with open(truth_path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["frame", "x", "y", "w", "h", "roll", "emotion"])
            w.writerows(rows)


def photos(folder, truth_path, rng, faces, n):
    os.makedirs(folder, exist_ok=True)
    rows = []
    for i in range(n):
        name = os.path.join(folder, "photo%03d.png" % i)
        kind = i % 8
        if kind == 6:  # tiny
            s = [1, 8, 30][(i // 8) % 3]
            cv2.imwrite(name, np.full((s, s, 3), 120, np.uint8))
            continue
        if kind == 7:  # blank
            cv2.imwrite(name, np.full((240, 320, 3), int(rng.integers(0, 255)), np.uint8))
            continue
        w = int(rng.integers(320, 1281))
        h = int(w * rng.uniform(0.6, 1.0))
        img = background(rng, w, h)
        people = pick_faces(rng, faces, int(rng.integers(1, 10)), w, h, 24,
                            min(200, int(min(w, h) * 0.6)), 0.3)
        for p in people:
            paste(img, p[5], p[0], p[1], p[2], p[3])
            s = p[2]
            rows.append([name, int(round(p[0] - s / 2)), int(round(p[1] - s / 2)), s, s,
                         "%.1f" % p[3], p[4]])
        frame = light(img, rng.uniform(0.7, 1.2), rng.uniform(-20, 20))
        cv2.imwrite(name, cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    with open(truth_path, "w", newline="") as f:
        wcsv = csv.writer(f)
        wcsv.writerow(["file", "x", "y", "w", "h", "roll", "emotion"])
        wcsv.writerows(rows)


def main():
    fer, out = sys.argv[1], sys.argv[2]
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    n_frames = int(sys.argv[4]) if len(sys.argv) > 4 else 240
    n_photos = int(sys.argv[5]) if len(sys.argv) > 5 else 48
    n_empty = int(sys.argv[6]) if len(sys.argv) > 6 else n_frames
    rng = np.random.default_rng(seed)
    faces = {}
    for c in CLASSES:
        d = os.path.join(fer, c)
        names = sorted(os.listdir(d))
        take = rng.choice(len(names), size=min(60, len(names)), replace=False)
        faces[c] = [cv2.imread(os.path.join(d, names[j]), cv2.IMREAD_GRAYSCALE) for j in take]
    os.makedirs(out, exist_ok=True)
    video(os.path.join(out, "faces.avi"), os.path.join(out, "faces.csv"), rng, faces, n_frames,
          True)
    video(os.path.join(out, "empty.avi"), None, rng, faces, n_empty, False)
    photos(os.path.join(out, "photos"), os.path.join(out, "photos.csv"), rng, faces, n_photos)


if __name__ == "__main__":
    main()
