"""JSON Lines records: one header line, then one line per processed frame (format: docs/export.md,
schema: export/schema/frame.schema.json).

Numbers are rounded to what they can mean (pixels 1e-3, metres 1e-6, m^2 1e-9, scores 1e-5); a NaN or inf
becomes null so every line is strict JSON.
"""
from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np

from core.records import FrameResult, Person, WorldFrame, default_world, world_joints
from core.skeleton import JOINT_NAMES, PARENTS

SCHEMA_VERSION = "1.1"
SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "frame.schema.json"

PX, M, M2, SCORE = 3, 6, 9, 5   # decimals kept


def _arr(a: Any, decimals: int) -> Any:
    a = np.round(np.asarray(a, dtype=np.float64), decimals) + 0.0
    finite = np.isfinite(a)
    if finite.all():
        return a.tolist()
    out = a.astype(object)
    out[~finite] = None
    return out.tolist()


def _num(x: float | None, decimals: int) -> float | None:
    if x is None or not math.isfinite(float(x)):
        return None
    return round(float(x), decimals) + 0.0


def header_record(meta: dict | None = None, include_hypotheses: bool = False) -> dict:
    """The first line. meta: "source" (str) and "fps" (number) go to the top level, anything else under "meta"."""
    meta = dict(meta or {})
    source = meta.pop("source", None)
    fps = meta.pop("fps", None)
    return {
        "type": "header",
        "schema_version": SCHEMA_VERSION,
        "joint_names": list(JOINT_NAMES),
        "parents": list(PARENTS),
        "units": {"length": "m", "time": "s", "image": "px"},
        "coordinates": {
            "image": "x right, y down, pixels, origin at the top-left pixel's corner",
            "camera": "x right, y down, z forward (OpenCV), metres",
            "world": "gravity-aligned: +Y up, origin on the floor below the camera, -Z the camera's horizontal "
                     "viewing direction; world = R @ camera + t (each frame's world_from_camera)",
        },
        "source": None if source is None else str(source),
        "fps": _num(fps, 6) if fps is not None else None,
        "include_hypotheses": bool(include_hypotheses),
        "meta": meta,
    }


def person_record(person: Person, include_hypotheses: bool = False, world: WorldFrame | None = None) -> dict:
    det = person.detection
    est = person.estimate
    out: dict[str, Any] = {
        "id": int(person.id),
        "bbox": _arr(det.bbox, PX),
        "score": _num(det.score, SCORE),
        "tracked": bool(det.tracked),
        "keypoints_2d": None,
        "pose_3d": None,
        "root_translation": None,
        "pose_3d_world": None,
        "root_world": None,
        "contacts": None,
        "covariance": None,
    }
    if person.candidates is not None:
        peaks = person.candidates.peaks
        out["keypoints_2d"] = [[_num(x, PX), _num(y, PX), _num(s, SCORE)] for x, y, s in peaks]
    if est is not None:
        root = np.asarray(est.root_translation, dtype=np.float64)
        out["pose_3d"] = _arr(est.mean, M)
        out["root_translation"] = _arr(root, M)
        joints = world_joints(est, world)
        out["pose_3d_world"] = _arr(joints, M)
        out["root_world"] = _arr(joints[0], M)
        if est.contacts is not None:
            out["contacts"] = {"r_foot": bool(est.contacts[0]), "l_foot": bool(est.contacts[1])}
        out["covariance"] = _arr(est.covariance, M2)
        if include_hypotheses:
            out["hypotheses"] = _arr(est.hypotheses, M)
    elif include_hypotheses:
        out["hypotheses"] = None
    return out


def world_record(world: WorldFrame | None) -> dict:
    """The frame's world: world = R @ camera + t, with the camera's pitch / roll and their uncertainty."""
    w = world or default_world()
    return {"R": _arr(w.rotation, 9), "t": _arr(w.translation, M), "pitch_deg": _num(w.pitch_deg, 4),
            "roll_deg": _num(w.roll_deg, 4), "up_std_deg": _num(w.up_std_deg, 4),
            "floor_std_m": _num(w.floor_std_m, M), "up_source": w.up_source}


def frame_record(result: FrameResult, include_hypotheses: bool = False) -> dict:
    w, h = result.frame.size
    return {
        "type": "frame",
        "schema_version": SCHEMA_VERSION,
        "frame_index": int(result.frame.index),
        "timestamp": _num(result.frame.timestamp, 6),
        "image_size": [w, h],
        "intrinsics": None if result.intrinsics is None else _arr(result.intrinsics, 6),
        "world_from_camera": world_record(result.world),
        "persons": [person_record(p, include_hypotheses, result.world) for p in result.persons],
        "timings_ms": {str(k): _num(v, 3) for k, v in result.timings_ms.items()},
    }


def _plain(value: Any) -> Any:
    """json.dumps fallback for what callers may put in meta: numpy values, paths, anything else as text."""
    if isinstance(value, np.ndarray):
        return _arr(value, 9)
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def dumps(record: dict) -> str:
    """One line of strict JSON (no NaN), without the newline."""
    return json.dumps(record, separators=(",", ":"), allow_nan=False, default=_plain)


@lru_cache(maxsize=1)
def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


def validate_record(record: dict) -> None:
    """Raises jsonschema.ValidationError when the record does not follow the schema."""
    jsonschema.validate(record, load_schema())


def read_jsonl(path: str | Path, validate: bool = True, cut_end: bool = False) -> tuple[dict, list[dict]]:
    """(header, frame records) of a file written by JsonlSink; every line parsed (and checked) on its own.

    cut_end=True accepts a file whose last line was cut off (a run killed mid-write, a full disk): that line is left
    out when it does not parse and does not end with a newline. Any other broken line is an error."""
    header, frames = None, []
    with open(path, encoding="utf-8", errors="replace" if cut_end else "strict") as f:
        lines = f.readlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            if cut_end and number == len(lines) and not line.endswith("\n"):
                break   # the last line was cut off mid-write: everything before it is complete
            raise ValueError(f"{path}:{number}: not a JSON line ({e.msg}, column {e.colno})") from None
        if validate:
            validate_record(record)
        if record["type"] == "header":
            if header is not None or frames:
                raise ValueError(f"{path}:{number}: header must be the first line, and only one")
            header = record
        else:
            frames.append(record)
    if header is None:
        raise ValueError(f"{path}: no header line")
    return header, frames
