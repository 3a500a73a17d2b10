"""MediaPipe Pose's speed on the first FRAMES frames of a video; runs inside .venv-mediapipe (tools/mediapipe_venv.sh).

    .venv-mediapipe/bin/python tools/mediapipe_fps.py VIDEO --frames 100 --complexity 1 [--warmup 3] [--skip 0]

Video mode (static_image_mode=False: detector once, then landmark tracking, like our front end). Prints one JSON
object: fps (decode + colour conversion + Pose.process, the same work as our offline loop's 2D part), process_fps
(Pose.process alone), cpu_ms_per_frame (process CPU time, all threads, over the timed loop), frames, with_pose. The first --warmup frames are processed but not timed. Imports nothing from
the project, so it runs with that venv's own numpy/OpenCV.
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("video")
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--complexity", type=int, default=1, help="0 lite, 1 full, 2 heavy")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--skip", type=int, default=0, help="frames grabbed (not processed) before the warm-up")
    args = ap.parse_args()
    import cv2
    import mediapipe as mp

    cap = cv2.VideoCapture(args.video)
    if not cap.isOpened():
        print(f"cannot open {args.video}", file=sys.stderr)
        return 2
    for _ in range(args.skip):
        cap.grab()
    timed, process_s, with_pose = 0, 0.0, 0
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=args.complexity) as pose:
        for _ in range(args.warmup):
            ok, bgr = cap.read()
            if not ok:
                break
            pose.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        t0, cpu0 = time.perf_counter(), time.process_time()
        while timed < args.frames:
            ok, bgr = cap.read()
            if not ok:
                break
            t1 = time.perf_counter()
            result = pose.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            process_s += time.perf_counter() - t1
            with_pose += result.pose_landmarks is not None
            timed += 1
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    cap.release()
    print(json.dumps({"fps": timed / wall if wall > 0 else None, "process_fps": timed / process_s if process_s else None,
                      "cpu_ms_per_frame": round(cpu * 1e3 / timed, 2) if timed else None, "frames": timed, "warmup": args.warmup, "with_pose": with_pose, "complexity": args.complexity,
                      "mediapipe": mp.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
