"""Run the 2D front end on an image or video and write the overlay.

    python -m tools.overlay --source IMAGE|VIDEO|FOLDER --out OUT.png|OUT.mp4 [--model full]
        [--runtime litert] [--max-frames N] [--heatmap] [--k 32] [--seed 0]

An image output (.png/.jpg) gets the first frame; a video output (.mp4/.avi) gets every frame up to --max-frames.
Bad input or missing weights: one line on stderr and exit code 2.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from core import defaults
from core.errors import SourceError, WeightsMissing
from detectors.frontend import FrontEnd
from detectors.landmarks import MODELS
from detectors.runtime import RUNTIMES
from pipeline.sources import open_source
from visualize.overlay2d import draw_persons

IMAGE_OUT = {".png", ".jpg", ".jpeg", ".bmp"}
VIDEO_OUT = {".mp4": "mp4v", ".avi": "MJPG"}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit code 2, as for every other bad input
        print(f"error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def parse_args(argv=None) -> argparse.Namespace:
    ap = _Parser(prog="python -m tools.overlay", description=__doc__.split("\n")[0])
    ap.add_argument("--source", required=True, help="image, video, folder of images, or webcam index")
    ap.add_argument("--out", required=True, help="output .png/.jpg (first frame) or .mp4/.avi")
    ap.add_argument("--model", default="full", choices=MODELS)
    ap.add_argument("--runtime", default="litert", choices=RUNTIMES)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--max-frames", type=int, default=0, help="stop after N frames (0: all)")
    ap.add_argument("--k", type=int, default=defaults.CANDIDATES, help="candidates per joint")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--heatmap", action="store_true", help="tint the image with the joints' heatmaps")
    return ap.parse_args(argv)


def run(args: argparse.Namespace) -> dict:
    out = Path(args.out)
    ext = out.suffix.lower()
    if ext not in IMAGE_OUT and ext not in VIDEO_OUT:
        raise ValueError(f"--out {out}: use one of {', '.join(sorted(IMAGE_OUT | set(VIDEO_OUT)))}")
    if args.max_frames < 0:
        raise ValueError("--max-frames must be >= 0")
    if not out.parent.is_dir():
        raise ValueError(f"--out {out}: folder {out.parent} does not exist")
    source = open_source(args.source)
    fe = FrontEnd(model=args.model, runtime=args.runtime, device=args.device, k=args.k, seed=args.seed)
    limit = 1 if ext in IMAGE_OUT else args.max_frames
    writer = None
    state = None
    stats = {"frames": 0, "with_person": 0, "detect": [], "landmarks": [], "candidates": [], "detector_runs": 0}
    try:
        with source:
            for frame in source:
                persons, state = fe.process(frame, state)
                canvas = draw_persons(frame.image, persons, heatmap=args.heatmap)
                stats["frames"] += 1
                stats["with_person"] += bool(persons)
                for key in ("detect", "landmarks", "candidates"):
                    stats[key].append(state.timings_ms[key])
                stats["detector_runs"] += state.timings_ms["detect"] > 0
                if ext in IMAGE_OUT:
                    if not cv2.imwrite(str(out), canvas):
                        raise ValueError(f"--out {out}: could not write the image")
                else:
                    if writer is None:
                        h, w = canvas.shape[:2]
                        fps = source.fps if source.fps > 0 else 25.0
                        writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*VIDEO_OUT[ext]), fps, (w, h))
                        if not writer.isOpened():
                            raise ValueError(f"--out {out}: could not open a video writer")
                    writer.write(canvas)
                if limit and stats["frames"] >= limit:
                    break
    finally:
        if writer is not None:
            writer.release()
    if stats["frames"] == 0:
        raise ValueError(f"{args.source}: no frames")
    return stats


def main(argv=None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    try:
        stats = run(args)
    except (SourceError, WeightsMissing, ValueError, OSError, cv2.error) as e:
        print(f"error: {str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    n = stats["frames"]
    mean = {k: float(np.mean(stats[k])) for k in ("detect", "landmarks", "candidates")}
    print(f"{n} frames, {stats['with_person']} with a person, detector ran on {stats['detector_runs']}; "
          f"mean ms/frame detect {mean['detect']:.1f}, landmarks {mean['landmarks']:.1f}, "
          f"candidates {mean['candidates']:.1f}; total {time.perf_counter() - t0:.1f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
