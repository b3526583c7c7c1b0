#!/usr/bin/env python3
"""bench_crop_margin.py - how FER2013's face crops relate to the Haar
cascade's boxes, to choose emotion-detect's crop margin (app/detect/face.h).
A measurement on ../shared data, not a test.

Each sampled FER2013 test face is enlarged to 192x192, padded, and searched
with the cascade; the ratio crop side / detected box side is the margin the
app must add to a Haar box to reproduce the training framing. The `--check`
run validates the method on the astronaut picture cropped with known
margins (0.10 must measure about 1.10, and so on).

  python3 bench/bench_crop_margin.py [--check] [SHARED_DATA] [CASCADE]
"""
import glob
import random
import statistics as st
import sys

import cv2

S = 192


def measure(gray48, det):
    g = cv2.resize(gray48, (S, S), interpolation=cv2.INTER_LINEAR)
    pad = cv2.copyMakeBorder(g, S // 2, S // 2, S // 2, S // 2, cv2.BORDER_REPLICATE)
    r = det.detectMultiScale(pad, 1.05, 5, minSize=(S // 3, S // 3))
    if len(r) == 0:
        return None
    x, y, w, h = max(r, key=lambda b: b[2] * b[3])
    return S / w, ((x + w / 2) - S) / w, ((y + h / 2) - S) / w


def main():
    args = [a for a in sys.argv[1:] if a != "--check"]
    data = args[0] if args else "../shared/data"
    cascade = args[1] if len(args) > 1 else "cascades/haarcascade_frontalface_default.xml"
    det = cv2.CascadeClassifier(cascade)
    if "--check" in sys.argv:
        img = cv2.imread("assets/astronaut.png", cv2.IMREAD_GRAYSCALE)
        x, y, w, h = max(det.detectMultiScale(img, 1.05, 12), key=lambda b: b[2] * b[3])
        for m in (0.10, 0.25, 0.50):
            side = int(round(w * (1 + m)))
            x0, y0 = int(round(x + w / 2 - side / 2)), int(round(y + h / 2 - side / 2))
            crop = cv2.resize(img[y0:y0 + side, x0:x0 + side], (48, 48),
                              interpolation=cv2.INTER_AREA)
            r = measure(crop, det)
            print("margin %.2f measures %s" % (m, "%.3f" % r[0] if r else "nothing"))
        return
    random.seed(1)
    files = []
    for c in ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]:
        fs = sorted(glob.glob("%s/fer2013/test/%s/*.jpg" % (data, c)))
        files += random.sample(fs, min(100, len(fs)))
    res = [m for m in (measure(cv2.imread(f, cv2.IMREAD_GRAYSCALE), det) for f in files) if m]
    ratios = [r[0] for r in res]
    q = st.quantiles(ratios, n=4)
    print("faces with a detection: %d of %d" % (len(res), len(files)))
    print("crop side / box side: median %.3f, quartiles %.3f %.3f" % (st.median(ratios), q[0], q[2]))
    print("box centre - crop centre, in box widths: x %.3f y %.3f"
          % (st.median(r[1] for r in res), st.median(r[2] for r in res)))


if __name__ == "__main__":
    main()
