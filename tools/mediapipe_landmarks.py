"""Reference 2D landmarks from mediapipe's own pose solution; runs inside .venv-mediapipe (see mediapipe_venv.sh).

    .venv-mediapipe/bin/python tools/mediapipe_landmarks.py IMAGE [--complexity 1]

Prints one JSON object: {"width", "height", "landmarks": [[x_px, y_px, z, visibility], ...] (33) or null}.
"""
import argparse
import json
import os
import sys

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("image")
    ap.add_argument("--complexity", type=int, default=1)
    args = ap.parse_args()
    import cv2
    import mediapipe as mp

    bgr = cv2.imread(args.image)
    if bgr is None:
        print(f"cannot read {args.image}", file=sys.stderr)
        return 2
    h, w = bgr.shape[:2]
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=args.complexity) as pose:
        result = pose.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    lms = None
    if result.pose_landmarks is not None:
        lms = [[p.x * w, p.y * h, p.z, p.visibility] for p in result.pose_landmarks.landmark]
    print(json.dumps({"width": w, "height": h, "landmarks": lms}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
