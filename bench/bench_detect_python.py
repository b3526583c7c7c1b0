#!/usr/bin/env python3
"""bench_detect_python.py - the Python pipeline emotion-detect replaces, for
the side-by-side speed figure in the README (a benchmark, not a test).

OpenCV's Haar cascade at scaleFactor 1.1 on the full frame, each face cropped,
resized to 48x48 and classified by the same CNN (the model exported to ONNX,
run with OpenCV DNN) one face at a time, boxes and labels drawn on the frame.

  emotion-train export --model M --onnx m.onnx
  python3 bench/bench_detect_python.py VIDEO m.onnx CASCADE [THREADS [LOG.jsonl]]
  emotion-detect --headless --input VIDEO --model M --threads THREADS

With LOG.jsonl it also writes its boxes in emotion-detect's log format
({"frame":N,"faces":[{"box":[x,y,w,h],"emotion":...}]}), so both can be
scored against the same truth (bench/detect_footage.py). Needs OpenCV's
Python module (`apt-get install python3-opencv`): a benchmark-only
dependency.
"""
import json
import sys
import time

import cv2
import numpy as np

CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def main():
    video, onnx, cascade = sys.argv[1:4]
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    log = open(sys.argv[5], "w") if len(sys.argv) > 5 else None
    # At 1-2 frames/s a long face-free video would take many minutes.
    max_frames = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    cv2.setNumThreads(threads)
    cap = cv2.VideoCapture(video)
    det = cv2.CascadeClassifier(cascade)
    net = cv2.dnn.readNetFromONNX(onnx)
    frames = faces = 0
    t0 = time.perf_counter()
    while not max_frames or frames < max_frames:
        ok, frame = cap.read()
        if not ok:
            break
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        found = []
        for (x, y, w, h) in det.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5):
            face = cv2.equalizeHist(cv2.resize(gray[y:y + h, x:x + w], (48, 48)))
            net.setInput(face.astype(np.float32)[None, None])
            p = net.forward()[0]
            k = int(p.argmax())
            cv2.rectangle(frame, (x, y), (x + w, y + h), (0, 200, 250), 2)
            cv2.putText(frame, "%s %.0f%%" % (CLASSES[k], 100 * p[k]), (x, y - 6),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 200, 250), 2)
            faces += 1
            found.append({"box": [int(x), int(y), int(w), int(h)], "emotion": CLASSES[k]})
        if log:
            log.write(json.dumps({"frame": frames, "faces": found}) + "\n")
        frames += 1
    dt = time.perf_counter() - t0
    print("python pipeline: %d frames, %d faces in %.2f s: %.1f frames/s"
          % (frames, faces, dt, frames / dt))


if __name__ == "__main__":
    main()
