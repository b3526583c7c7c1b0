#!/usr/bin/python3
"""profile_try.py - would OpenCV's profile-face cascade pay as an extra pass?
(issue 12: "also haarcascade_profileface for turned heads, if it pays").

On footage of tools/gen_footage.py, runs haarcascade_profileface on every
frame's 320-wide copy and on its mirror (the cascade knows one side only),
step 1.2, 3 neighbours, faces from 0.075 of the height (the full pass's
defaults), and counts the true faces it finds that emotion-detect's log
(the defaults) missed, and its hits on no face, also over empty.avi. An
upper bound: every hit counted, none confirmed or tracked.

  build/app/emotion-detect --headless -q --log /tmp/ours.jsonl --input FOOT/faces.avi
  python3 bench/profile_try.py FOOT /tmp/ours.jsonl
"""
import os
import sys

import cv2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import detect_footage as dfo  # noqa: E402

CASCADE = "/usr/share/opencv4/haarcascades/haarcascade_profileface.xml"  # opencv-data


def hits(cas, path):
    """Profile hits per frame, both sides, in frame pixels."""
    cap = cv2.VideoCapture(path)
    out, i = {}, 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        s = 320 / gray.shape[1]
        small = cv2.resize(gray, (320, int(gray.shape[0] * s)), interpolation=cv2.INTER_AREA)
        side = int(0.075 * small.shape[0])
        boxes = []
        for flip in (0, 1):
            img = small[:, ::-1].copy() if flip else small
            for (x, y, w, h) in cas.detectMultiScale(img, 1.2, 3, minSize=(side, side)):
                if flip:
                    x = small.shape[1] - x - w
                boxes.append(([int(x / s), int(y / s), int(w / s), int(h / s)], "?"))
        out[i] = boxes
        i += 1
    return out, i


def main():
    foot, ours_log = sys.argv[1], sys.argv[2]
    cas = cv2.CascadeClassifier(CASCADE)
    truth = dfo.load_truth(os.path.join(foot, "faces.csv"), "frame")
    ours = dfo.load_log(ours_log, "frame")
    prof, nf = hits(cas, os.path.join(foot, "faces.avi"))
    n = missed = found = extra = false = 0
    for k in range(nf):
        tr, ph = truth.get(k, []), prof.get(k, [])
        for t in tr:
            o = any(dfo.iou(t[0], b[0]) >= 0.4 for b in ours.get(k, []))
            p = any(dfo.iou(t[0], b[0]) >= 0.4 for b in ph)
            n += 1
            missed += not o
            found += p
            extra += p and not o
        false += sum(1 for b in ph if not any(dfo.iou(t[0], b[0]) >= 0.4 for t in tr))
    print("%s: %d true faces, emotion-detect missed %d; the profile cascade finds %d, %d of them "
          "missed by emotion-detect (%.1f%% of all faces); %d hits on no face in %d frames"
          % (foot, n, missed, found, extra, 100.0 * extra / n, false, nf))
    pe, ne = hits(cas, os.path.join(foot, "empty.avi"))
    print("  empty.avi: %d hits in %d face-free frames" % (sum(len(v) for v in pe.values()), ne))


if __name__ == "__main__":
    main()
