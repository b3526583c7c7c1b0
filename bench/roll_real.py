#!/usr/bin/python3
"""roll_real.py - one real face rolled 18-30 degrees either way, at 8 sizes (issue 12).

The footage of tools/gen_footage.py is made of FER2013's 48-pixel faces
scaled up; this is the committed photo assets/astronaut.png (public
domain) turned by +-18, 22, 26, 30 degrees about its face, scaled 0.8-1.65
(a face of about 60-130 pixels), at two places of a 640x480 frame: 128
scenes of 8 frames, each scene a new pose. emotion-detect (the defaults,
or the options given) runs on the video; printed: the scenes and frames
with a face found, face-frames per size and
all boxes (more boxes than face-frames: boxes off the face).

  python3 bench/roll_real.py BUILD OUT_DIR [-- OPTIONS...]
"""
import json
import os
import subprocess
import sys

import cv2

SCALES = (0.8, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5, 1.65)
ANGLES = (-30, -26, -22, -18, 18, 22, 26, 30)
PLACES = (-120, 100)
SCENE = 8


def make(path):
    here = os.path.dirname(os.path.abspath(__file__))
    img = cv2.imread(os.path.join(here, "..", "assets", "astronaut.png"))
    h, w = img.shape[:2]
    out = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 15, (640, 480))
    for scale in SCALES:
        for ang in ANGLES:
            for dx in PLACES:
                m = cv2.getRotationMatrix2D((w / 2, h * 0.35), ang, scale)
                m[0, 2] += 320 + dx - w / 2
                m[1, 2] += 240 - h * 0.35
                frame = cv2.warpAffine(img, m, (640, 480), borderMode=cv2.BORDER_CONSTANT,
                                       borderValue=(110, 110, 110))
                for _ in range(SCENE):
                    out.write(frame)
    out.release()


def main():
    args = sys.argv[1:]
    opts = args[args.index("--") + 1:] if "--" in args else []
    args = args[:args.index("--")] if "--" in args else args
    if len(args) != 2:
        sys.exit(__doc__)
    build, out = args
    os.makedirs(out, exist_ok=True)
    video, log = os.path.join(out, "astronaut_roll.avi"), os.path.join(out, "log.jsonl")
    make(video)
    subprocess.run([os.path.join(build, "app", "emotion-detect"), "--headless", "-q",
                    "--log", log, "--overwrite", "--input", video] + opts, check=True, capture_output=True)
    with open(log) as f:
        recs = [json.loads(line) for line in f]
    per_scene = [sum(1 for r in recs[i:i + SCENE] if r.get("faces"))
                 for i in range(0, len(recs), SCENE)]
    k = len(ANGLES) * len(PLACES)
    print("# roll_real.py: options: %s" % (" ".join(opts) or "defaults"))
    print("scenes with the face %d of %d, face-frames %d of %d, boxes %d" % (
        sum(1 for s in per_scene if s), len(per_scene), sum(per_scene), len(recs),
        sum(len(r.get("faces", [])) for r in recs)))
    print("face-frames per scale %s: %s" % (
        ", ".join("%.2f" % s for s in SCALES),
        ", ".join(str(sum(per_scene[i * k:(i + 1) * k])) for i in range(len(SCALES)))))


if __name__ == "__main__":
    main()
