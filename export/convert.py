"""Make a BVH from a recorded JSONL, e.g. for another person or in centimetres:

    python -m export.convert run.jsonl run.bvh [--person ID] [--units cm] [--no-ground]

Same rules as the live BvhSink (export.sinks.PersonFollower) unless --person fixes the track id; missing frames
are interpolated between the poses around them, trailing ones hold the last (export.sinks.fill_missing); frame time
from the timestamps (export.sinks.frame_rate), else the header's fps. A file whose last
line was cut off (a run killed mid-write: o.partial.jsonl) is read up to its last complete line. As in the sink, a
file whose frames carry an estimated world (world_from_camera with the floor at y = 0) is not shifted to the floor
again.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from export.bvh import write_bvh
from export.jsonl import read_jsonl
from export.sinks import ExportError, PersonFollower, check_writable, frame_rate, fill_missing


def poses_from_jsonl(path: str, person: int | None = None) -> tuple[np.ndarray | None, float, int | None]:
    """(T, 17, 3) world poses of one person (None if never seen), frames per second, the person id used."""
    header, frames = read_jsonl(path, validate=False, cut_end=True)
    follower = PersonFollower(person)
    poses = []
    for f in frames:
        people = [(p["id"], np.array(p["pose_3d_world"], dtype=np.float64)) for p in f["persons"]
                  if p["pose_3d_world"] is not None]
        poses.append(follower.choose([(i, pose) for i, pose in people if np.isfinite(pose).all()]))
    times = [f["timestamp"] for f in frames]
    filled = fill_missing(poses, times)
    fps = frame_rate(header.get("fps"), times)
    return None if filled is None else filled.astype(np.float64), fps, follower.person_id


def floor_known(path: str) -> bool:
    """Whether the world stage put the floor at y = 0 in this file (schema 1.1 world_from_camera, not default)."""
    _header, frames = read_jsonl(path, validate=False, cut_end=True)
    return any((f.get("world_from_camera") or {}).get("up_source", "default") != "default" for f in frames)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="JSONL (diffmocap output) -> BVH")
    ap.add_argument("jsonl")
    ap.add_argument("bvh")
    ap.add_argument("--person", type=int, help="track id (default: follow the first person with a 3D pose)")
    ap.add_argument("--units", choices=["m", "cm"], default="m")
    ap.add_argument("--no-ground", action="store_true",
                    help="no floor shift (files without an estimated world: keep the camera at the origin)")
    args = ap.parse_args(argv)
    try:
        if Path(args.bvh).resolve() == Path(args.jsonl).resolve():
            raise ExportError(f"cannot write {args.bvh}: it is the input")
        check_writable(args.bvh)
        poses, fps, person = poses_from_jsonl(args.jsonl, args.person)
        ground = not args.no_ground and not floor_known(args.jsonl)
    except (ExportError, OSError, ValueError, UnicodeDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if poses is None:
        print(f"error: no 3D pose for person {person} in {args.jsonl}", file=sys.stderr)
        return 1
    try:
        write_bvh(args.bvh, poses, fps, units=args.units, ground=ground)
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{args.bvh}: {len(poses)} frames at {fps:g} fps, person {person}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
