"""Multi-person measurements on vtest.avi against people counted by hand on 10 frames (tools/data/vtest_people.json).

    python -m tools.people_eval --detectors --json          # person detector options: recall, precision, ms/frame
    python -m tools.people_eval --jsonl run.jsonl --bvh 'out*.bvh' --json
                                                            # an app run: people/frame, recall, root steps, BVHs

A detection or a person matches a hand-drawn box when its centre lies within 0.35 box heights of the box's
centre and its height is 0.6-1.7 times the box's (detectors give boxes of different shapes: BlazePose's is a
square around the body), one to one (Hungarian assignment).
"""
from __future__ import annotations

import argparse
import glob
import json
import time
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment


TRUTH = Path(__file__).resolve().parent / "data" / "vtest_people.json"


def load_truth(path: Path = TRUTH) -> dict[int, list[np.ndarray]]:
    frames = json.loads(path.read_text())["frames"]
    return {int(k): [np.asarray(b["box"] if isinstance(b, dict) else b, float) for b in v] for k, v in frames.items()}


def matches(truth: list, found: list) -> int:
    """How many of the found boxes match a true box (one to one)."""
    if not truth or not found:
        return 0
    g, e = np.asarray(truth, float)[:, None], np.asarray(found, float)[None]
    gh, eh = g[..., 3] - g[..., 1], e[..., 3] - e[..., 1]
    dist = np.linalg.norm((g[..., :2] + g[..., 2:]) / 2 - (e[..., :2] + e[..., 2:]) / 2, axis=-1) / gh
    ok = (dist < 0.35) & (eh / gh > 0.6) & (eh / gh < 1.7)
    score = np.where(ok, 1 - dist, 0.0)
    r, c = linear_sum_assignment(-score)
    return int((score[r, c] > 0).sum())


def recall_precision(truth: dict, found: dict) -> dict:
    tp = sum(matches(truth[k], found.get(k, [])) for k in truth)
    n_true = sum(len(v) for v in truth.values())
    n_found = sum(len(found.get(k, [])) for k in truth)
    return {"recall": round(tp / n_true, 3), "precision": round(tp / max(n_found, 1), 3), "people": n_true,
            "found": n_found, "matched": tp}


def read_frames(video: Path, indices) -> dict[int, np.ndarray]:
    cap = cv2.VideoCapture(str(video))
    out = {}
    for i in sorted(indices):
        cap.set(cv2.CAP_PROP_POS_FRAMES, i)
        ok, image = cap.read()
        if ok:
            out[i] = image
    return out


def detector_options(threads: int = 1) -> dict:
    """name -> image -> list of boxes, for every option available in this environment."""
    from detectors.people import Scanner
    from detectors.pose_detector import DetectorConfig, PoseDetector

    det = PoseDetector.load(num_threads=threads, config=DetectorConfig(min_score=0.5))
    options = {"blazepose whole frame": lambda im: [d.bbox for d in det.detect(im)]}
    for tile, stride in ((256, 192), (192, 144)):
        scanner = Scanner(det, tile, stride)
        options[f"blazepose tiles {tile}/{stride}"] = (
            lambda im, s=scanner: [d.bbox for d in s.detect(im, s.regions(im.shape[1], im.shape[0]))])
    if hasattr(cv2, "HOGDescriptor"):   # OpenCV 4.x; OpenCV 5 moved the HOG people detector out of the main modules
        hog = cv2.HOGDescriptor()
        hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        for up in (1.5, 2.0):
            options[f"opencv hog x{up}"] = lambda im, up=up: _hog(hog, im, up)
    return options


def _hog(hog, image, up: float) -> list[np.ndarray]:
    big = cv2.resize(image, None, fx=up, fy=up)
    boxes, _ = hog.detectMultiScale(big, hitThreshold=0.3, winStride=(8, 8), padding=(8, 8), scale=1.05)
    out = []
    for x, y, w, h in boxes:   # the 64x128 window has a margin around the body: shrink to it
        x0, y0, x1, y1 = x / up, y / up, (x + w) / up, (y + h) / up
        mx, my = (x1 - x0) * 0.15, (y1 - y0) * 0.08
        out.append(np.array([x0 + mx, y0 + my, x1 - mx, y1 - my]))
    return out


def evaluate_detectors(video: Path, threads: int = 1) -> dict:
    truth = load_truth()
    frames = read_frames(video, truth)
    out = {}
    for name, fn in detector_options(threads).items():
        found, times = {}, []
        for i, image in frames.items():
            t = time.perf_counter()
            found[i] = fn(image)
            times.append((time.perf_counter() - t) * 1e3)
        out[name] = {**recall_precision(truth, found), "ms_per_frame_median": round(float(np.median(times)), 1)}
    return out


def evaluate_run(jsonl: Path, bvh_pattern: str | None = None) -> dict:
    """An app run's JSON Lines (and BVH files): people per frame, recall on the counted frames, the largest
    root step of any track between consecutive frames, and whether every BVH parses with bvhio.

    A swap between two people shows in the image: the box jumps sideways. Monocular depth does not: a person 15 m
    away whose 2D size is 5 % off moves 0.75 m in depth. So the step is also given without its part along the
    camera ray (`max_lateral_root_step_m`) and as the box centre's jump in body heights (`max_box_step_heights`)."""
    from export.jsonl import read_jsonl
    _, frames = read_jsonl(jsonl, validate=False)
    truth = load_truth()
    found, counts, last, steps, lateral, box_steps = {}, [], {}, {}, {}, {}
    for rec in frames:
        i = rec["frame_index"]
        persons = [p for p in rec["persons"] if p.get("bbox") is not None]
        counts.append(len(persons))
        found[i] = [np.asarray(p["bbox"], float) for p in persons]
        for p in persons:
            if p.get("root_translation") is None:
                continue
            root = np.asarray(p["root_translation"], float)
            box = np.asarray(p["bbox"], float)
            prev = last.get(p["id"])
            if prev is not None and prev[0] == i - 1:
                step = root - prev[1]
                ray = root / max(np.linalg.norm(root), 1e-9)
                side = step - ray * float(step @ ray)
                centre = lambda b: (b[:2] + b[2:]) / 2   # noqa: E731
                jump = np.linalg.norm(centre(box) - centre(prev[2])) / max(prev[2][3] - prev[2][1], 1.0)
                steps[p["id"]] = max(steps.get(p["id"], 0.0), float(np.linalg.norm(step)))
                lateral[p["id"]] = max(lateral.get(p["id"], 0.0), float(np.linalg.norm(side)))
                box_steps[p["id"]] = max(box_steps.get(p["id"], 0.0), float(jump))
            last[p["id"]] = (i, root, box)
    out = {"frames": len(frames), "people_per_frame": round(float(np.mean(counts)), 2) if counts else 0.0,
           "tracks": len({p["id"] for rec in frames for p in rec["persons"]}),
           "counted_frames": recall_precision(truth, found),
           "max_root_step_m": round(max(steps.values()), 3) if steps else None,
           "tracks_with_a_root_step_over_1m": sum(s > 1.0 for s in steps.values()),
           "max_lateral_root_step_m": round(max(lateral.values()), 3) if lateral else None,
           "max_box_step_heights": round(max(box_steps.values()), 3) if box_steps else None,
           "median_root_depth_m": round(float(np.median([p["root_translation"][2] for rec in frames
                                                          for p in rec["persons"] if p.get("root_translation")])), 2)}
    if bvh_pattern:
        out["bvh"] = check_bvhs(sorted(glob.glob(bvh_pattern)))
    return out


def check_bvhs(paths: list[str]) -> dict:
    """Each BVH parsed by bvhio: frames, and the largest root (pelvis) step between frames in metres."""
    import bvhio
    out = {}
    for path in paths:
        root = bvhio.readAsHierarchy(path)
        joints = {j.Name: j for j, _, _ in root.layout()}
        pelvis = joints[next(n for n in joints if n.lower() in ("pelvis", "hips"))]
        first, last = root.getKeyframeRange()
        pos = []
        for f in range(first, last + 1):
            root.loadPose(f, recursive=True)
            pos.append(tuple(pelvis.PositionWorld))
        pos = np.asarray(pos)
        step = float(np.linalg.norm(np.diff(pos, axis=0), axis=1).max()) if len(pos) > 1 else 0.0
        out[Path(path).name] = {"frames": len(pos), "max_root_step_m": round(step, 3)}
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default=None, help="vtest.avi (default: the sample)")
    ap.add_argument("--detectors", action="store_true", help="compare the person detector options")
    ap.add_argument("--jsonl", default=None, help="an app run's JSON Lines on vtest.avi")
    ap.add_argument("--bvh", default=None, help="glob of the run's BVH files")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    out = {}
    if args.detectors:
        from pipeline.samples import sample_path
        out["detectors"] = evaluate_detectors(Path(args.source) if args.source else sample_path("vtest.avi"),
                                              args.threads)
    if args.jsonl:
        out["run"] = evaluate_run(Path(args.jsonl), args.bvh)
    print(json.dumps(out, indent=None if args.json else 1))


if __name__ == "__main__":
    main()
