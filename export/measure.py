"""Jitter of exported motion: mean joint acceleration (m/s^2) over runs of consecutive frames of one track.

    python -m export.measure a.jsonl [b.jsonl ...]

Reports, per file, the root-relative pose's jitter (what smoothing and warm start act on) and the absolute
(world) pose's, over frames where the same person id is present in consecutive frames.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from core.smoothing import mean_acceleration
from export.jsonl import read_jsonl


def runs(frames: list[dict], key: str) -> list[tuple[np.ndarray, float]]:
    """Consecutive-frame runs of the first person's `key` array: [(poses (T, 17, 3), fps)]."""
    out, cur, times, last = [], [], [], None
    for f in frames:
        p = f["persons"][0] if f.get("persons") else None
        ok = p is not None and p.get(key) is not None
        if ok and last is not None and f["frame_index"] == last[0] + 1 and p["id"] == last[1]:
            cur.append(np.asarray(p[key], float))
            times.append(f["timestamp"])
        else:
            if len(cur) >= 3:
                out.append((np.stack(cur), 1.0 / np.median(np.diff(times))))
            cur, times = ([np.asarray(p[key], float)], [f["timestamp"]]) if ok else ([], [])
        last = (f["frame_index"], p["id"]) if ok else None
    if len(cur) >= 3:
        out.append((np.stack(cur), 1.0 / np.median(np.diff(times))))
    return out


def jitter(path: str) -> dict:
    _header, frames = read_jsonl(path, validate=False)
    result = {"file": path, "frames": len(frames)}
    for key in ("pose_3d", "pose_3d_world"):
        rs = runs(frames, key)
        n = sum(len(r) - 2 for r, _ in rs)
        acc = sum(mean_acceleration(r, fps) * (len(r) - 2) for r, fps in rs) / n if n else float("nan")
        result[key] = {"mean_acceleration": acc, "frames_used": sum(len(r) for r, _ in rs)}
    return result


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    args = ap.parse_args(argv)
    for f in args.files:
        print(json.dumps(jitter(f)))


if __name__ == "__main__":
    main()
