"""Measures of exported motion (JSON Lines).

    python -m export.measure a.jsonl [b.jsonl ...]            # jitter
    python -m export.measure --world a.jsonl [b.jsonl ...]    # grounding: lean, root steps, foot heights

Jitter: the root-relative pose's mean joint acceleration (what smoothing and warm start act on) and the absolute
(world) pose's, over frames where the same person id is present in consecutive frames.

World (`world_stats`), per track with at least `min_frames` frames and over all of them, from `pose_3d_world`:
torso lean (pelvis -> thorax against +Y, degrees), root steps (pelvis moves between consecutive frames of a track,
metres), the lowest foot's height above the floor (lowest ankle minus the sole, metres: std and the share within
+-5 cm), the share of frames with a foot contact, and the frame's pitch / roll / up uncertainty.
"all" summarises every such track; "walkers" only the tracks that walk: at least `min_frames` frames (1 s at
10 fps) and a 2D box centre that gets at least one box height (the track's median) away from where the track
began. The rule uses the detector's boxes only, not the 3D being measured; it leaves out objects taken for people
(on vtest.avi: clothes on the grass, wider than tall, and a tripod, which never move) and people who only stand.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from core.skeleton import ANKLES, JOINT_INDEX, SOLE_BELOW_ANKLE
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


def tracks(frames: list[dict]) -> dict[int, list[tuple[int, dict]]]:
    """Track id -> [(frame_index, person record)] of every person with a world pose."""
    out: dict[int, list] = {}
    for f in frames:
        for p in f.get("persons") or []:
            if p.get("pose_3d_world") is not None:
                out.setdefault(int(p["id"]), []).append((int(f["frame_index"]), p))
    return out


def _summary(values: np.ndarray) -> dict:
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not len(v):
        return {"n": 0}
    return {"n": int(len(v)), "median": round(float(np.median(v)), 4), "mean": round(float(v.mean()), 4),
            "p95": round(float(np.percentile(v, 95)), 4), "max": round(float(v.max()), 4)}


def track_stats(items: list[tuple[int, dict]]) -> dict:
    pose = np.stack([np.asarray(p["pose_3d_world"], float) for _, p in items])
    index = np.array([i for i, _ in items])
    torso = pose[:, JOINT_INDEX["thorax"]] - pose[:, JOINT_INDEX["pelvis"]]
    lean = np.degrees(np.arccos(np.clip(torso[:, 1] / np.maximum(np.linalg.norm(torso, axis=1), 1e-9), -1, 1)))
    steps = np.linalg.norm(np.diff(pose[:, 0], axis=0), axis=1)[np.diff(index) == 1]
    foot = pose[:, list(ANKLES), 1].min(1) - SOLE_BELOW_ANKLE
    contacts = [p.get("contacts") for _, p in items]
    with_contact = [c for c in contacts if c is not None]
    return {"frames": len(items), "lean_deg": _summary(lean), "root_step_m": _summary(steps),
            "foot_height_m": {**_summary(foot), "std": round(float(np.std(foot)), 4),
                              "within_5cm": round(float(np.mean(np.abs(foot) <= 0.05)), 4)},
            "contact_share": None if not with_contact else round(float(np.mean(
                [c["r_foot"] or c["l_foot"] for c in with_contact])), 4)}


def walks(items: list[tuple[int, dict]]) -> bool:
    """The track's box centre gets at least one (median) box height away from where it began."""
    box = np.array([p["bbox"] for _, p in items if p.get("bbox") is not None], float).reshape(-1, 4)
    if not len(box):
        return False
    centre = 0.5 * (box[:, :2] + box[:, 2:])
    return bool(np.linalg.norm(centre - centre[0], axis=1).max() >= np.median(box[:, 3] - box[:, 1]))


def _overall(per: dict, items: list) -> dict | None:
    if not per:
        return None
    foot = [s["foot_height_m"] for s in per.values()]
    return {"tracks": len(per), "lean_deg": track_stats(items)["lean_deg"],
            "max_root_step_m": max(s["root_step_m"].get("max", 0.0) for s in per.values()),
            "worst_foot_std_m": max(f["std"] for f in foot), "worst_within_5cm": min(f["within_5cm"] for f in foot),
            "foot_std_m": _summary([f["std"] for f in foot]), "within_5cm": _summary([f["within_5cm"] for f in foot])}


def world_stats(path: str, min_frames: int = 10) -> dict:
    _header, frames = read_jsonl(path, validate=False)
    long = {i: items for i, items in tracks(frames).items() if len(items) >= min_frames}
    per = {i: {**track_stats(items), "walks": walks(items)} for i, items in long.items()}
    worlds = [f["world_from_camera"] for f in frames if f.get("world_from_camera")]
    angle = lambda key: _summary([w[key] if w.get(key) is not None else np.nan for w in worlds])  # noqa: E731
    result = {"file": path, "frames": len(frames), "tracks": len(per), "min_frames": min_frames,
              "pitch_deg": angle("pitch_deg"), "roll_deg": angle("roll_deg"), "up_std_deg": angle("up_std_deg"),
              "per_track": per}
    walkers = {i: s for i, s in per.items() if s["walks"]}
    for key, chosen in (("all", per), ("walkers", walkers)):
        summary = _overall(chosen, [x for i in chosen for x in long[i]])
        if summary is not None:
            result[key] = summary
    return result


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--world", action="store_true", help="grounding measures (lean, root steps, foot heights)")
    ap.add_argument("--min-frames", type=int, default=10, help="--world: tracks shorter than this are left out")
    args = ap.parse_args(argv)
    for f in args.files:
        print(json.dumps(world_stats(f, args.min_frames) if args.world else jitter(f)))


if __name__ == "__main__":
    main()
