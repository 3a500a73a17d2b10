"""MediaPipe Pose's landmarks on every frame of a video; runs inside .venv-mediapipe (tools/mediapipe_venv.sh).

    .venv-mediapipe/bin/python tools/mediapipe_world.py VIDEO [--frames N] [--complexity 1]

Video mode (static_image_mode=False: detector once, then landmark tracking, like our front end), every frame in
order. Prints one JSON object: {"mediapipe": version, "width", "height", "frames": [{"index", "world": [[x, y, z,
visibility], ...] (33, metres, pose_world_landmarks) or null, "image": [[x_px, y_px, z, visibility], ...] or
null}]}. Imports nothing from the project, so it runs with that venv's own numpy/OpenCV.
"""
import argparse
import json
import os
import sys

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("video")
    ap.add_argument("--frames", type=int, default=0, help="stop after N frames (0: all)")
    ap.add_argument("--complexity", type=int, default=1, help="0 lite, 1 full, 2 heavy")
    args = ap.parse_args()
    import cv2
    import mediapipe as mp

    cap = cv2.VideoCapture(args.video)
    if not cap.isOpened():
        print(f"cannot open {args.video}", file=sys.stderr)
        return 2
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    frames = []
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=args.complexity) as pose:
        while args.frames <= 0 or len(frames) < args.frames:
            ok, bgr = cap.read()
            if not ok:
                break
            r = pose.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            world = image = None
            if r.pose_world_landmarks is not None:
                world = [[p.x, p.y, p.z, p.visibility] for p in r.pose_world_landmarks.landmark]
                image = [[p.x * w, p.y * h, p.z, p.visibility] for p in r.pose_landmarks.landmark]
            frames.append({"index": len(frames), "world": world, "image": image})
    cap.release()
    print(json.dumps({"mediapipe": mp.__version__, "width": w, "height": h, "frames": frames}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
