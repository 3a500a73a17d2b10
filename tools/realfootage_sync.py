"""Is a clip's video in time with its truth, or does the front end lag the motion? The two are told apart by playing
the clip backwards.

    python -m tools.realfootage_sync [--clips cam01 cam02 cam03 cam04] [--json]

tools.realfootage re-times each clip's truth by the lag between the video and the truth that the front end's 2D
landmarks show (tools.realfootage_metrics.sync_lag). That lag would also hold any lag of the front end itself (a
tracker that trails the motion), which re-timing would then hide. Played backwards, a front end's own lag changes
sign while the video's offset from its truth does not: each clip's landmarks are found with the clip played forwards
and backwards (a fresh front end each way, frames in that order), the lag of each is estimated, and
    video offset = (forward + backward) / 2,   front-end lag = (forward - backward) / 2   (video frames).
Needs the clips (../shared or `python -m tools.pose2sim_views`); prints why and exits 0 without them.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

import numpy as np

from detectors.joint_map import map_points
from pipeline.config import load_config
from pipeline.factory import build_pipeline
from pipeline.sources import open_source
from tools.realfootage import clip_folder, subject
from tools.realfootage_metrics import sync_lag


def landmarks(frames: list, truth, cfg, backwards: bool) -> np.ndarray:
    """(F, 17, 2) px: the subject's landmarks per video frame (NaN where none), the frames fed in the given order
    to a fresh front end (the frame times count up either way)."""
    pipe = build_pipeline(cfg)
    uv = {int(f): u for f, u in zip(truth["frame_index"], truth["uv"])}
    out = np.full((len(frames), 17, 2), np.nan)
    step = frames[1].timestamp - frames[0].timestamp if len(frames) > 1 else 0.0
    for i, frame in enumerate(frames[::-1] if backwards else frames):
        detected = pipe.detect(replace(frame, index=i, timestamp=i * step))
        person = subject(detected.persons, uv.get(frame.index))
        if person:
            out[frame.index] = map_points(person[0].landmarks.landmarks[:, :2])
    return out


def check(name: str, cfg) -> dict:
    folder = clip_folder(name)
    truth = np.load(folder / f"{name}_truth.npz")
    with open_source(str(folder / f"{name}.mp4")) as source:
        frames = [source.read() for _ in range(int(truth["frame_index"].max()) + 1)]
    frames = [f for f in frames if f is not None]
    lag = {way: sync_lag(landmarks(frames, truth, cfg, way == "backward"), truth["uv"], truth["frame_index"],
                         truth["valid"])["lag_frames"] for way in ("forward", "backward")}
    return {"forward_lag_frames": lag["forward"], "backward_lag_frames": lag["backward"],
            "video_offset_frames": round((lag["forward"] + lag["backward"]) / 2, 2),
            "front_end_lag_frames": round((lag["forward"] - lag["backward"]) / 2, 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.realfootage_sync", description=__doc__.split("\n")[0])
    ap.add_argument("--clips", nargs="+", default=["cam01", "cam02", "cam03", "cam04"])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    missing = [c for c in args.clips if clip_folder(c) is None]
    if missing:
        print(json.dumps({"skipped": f"no real-footage clips {missing}"}))
        return 0
    cfg = load_config(None)
    result = {c: check(c, cfg) for c in args.clips}
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        for c, r in result.items():
            print(f"{c}: forwards {r['forward_lag_frames']:+.2f}, backwards {r['backward_lag_frames']:+.2f} -> video "
                  f"offset {r['video_offset_frames']:+.2f}, front-end lag {r['front_end_lag_frames']:+.2f} frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
