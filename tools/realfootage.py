"""Real-footage evaluation: the app's own pipeline and MediaPipe Pose on the shared clips with triangulated 3D truth.

    python -m tools.realfootage [--clips cam01 cam03] [--frames N] [--lifter default|open|PATH]
                                [--lifter-mode frame|temporal] [--temporal-lifter temporal|PATH]
                                [--temporal-window causal|lag1|centred] [--temporal-windows MODE ...]
                                [--temporal-rates FPS ...]
                                [--hypotheses 16 --steps 5] [--init noise|world] [--init-t 100 200 400]
                                [--live] [--no-sync] [--json] [--out FILE]

Clips: ../shared/data/realfootage/pose2sim_balancing/CLIP.mp4 with CLIP_truth.npz (joints in the camera frame,
README there): cam01 and cam03 by default; cam02 and cam04, the same trial's other two cameras with the same truth,
once `python -m tools.pose2sim_views` has fetched them (from the pinned pose2sim wheel; evaluation only). A clip with
a bystander (cam02) is scored on its subject: the person whose 2D lies nearest the projected truth. Every frame is
processed in order, up to the last truth frame or --frames, by the pipeline app.py builds, set up as the app runs a
file (configs/app.yaml defaults; --live: as it runs a live source on a machine that keeps up with it: the temporal
window auto is causal (a lag1 asked for has no causal fallback: temporal_max_wait_ms) and the output One-Euro
smoothed, every frame still processed), with the clip's true intrinsics K for the root translation (the
lifter's root-relative output does not use K).
Methods (tools/realfootage_metrics.py has the metrics):
- diffmocap: the app's output (smoothed mean, its hypotheses and calibrated covariance);
- diffmocap_frame / diffmocap_temporal: the same pipeline with the other lifter mode (--lifter-mode: frame lifts each
  frame alone, temporal a window of the person's recent frames; lifter.temporal) on the same 2D, when its weights
  exist;
- diffmocap_temporal_<window>[_<rate>fps]: the temporal lifter with each --temporal-windows mode (causal, lag1,
  centred) x --temporal-rates window rate, the rest of the pipeline as the app's, on the same 2D;
- blazepose_world: the landmark model's world landmarks of the same forward pass (detectors.joint_map.world_joints);
- mediapipe: MediaPipe Pose 0.10.14 pose_world_landmarks (model_complexity 1, video mode; .venv-mediapipe, run by
  tools/mediapipe_world.py), mapped by the same function; absent without that venv;
- with --init world also: diffmocap_cold (every frame from noise: warm start off), diffmocap_world_tT (every frame
  starts from the world landmarks noised to timestep T, --init-t), diffmocap_reproj_best / _reproj_top (the app's
  hypothesis, or the mean of its best quarter, by reprojection error onto the candidate peaks with K).
The truth is re-timed to the video first (`sync` in the JSON; --no-sync: as numbered): the phones are not genlocked,
and the front end's 2D landmarks against the projected truth give each clip's lag (tools.realfootage_metrics.sync_lag;
cam03's video is about 2 frames behind its truth; tools/realfootage_sync.py shows the front end itself does not lag).
Every method is scored against the same re-timed truth; `unsynced` per method repeats MPJPE, PA12 and coverage90
against the truth as numbered. Only frames where every method found a person and the re-timed truth is valid for all
17 joints are scored (counts in the JSON). stats_2d: the front end's 2D (candidate 0 = heatmap peak, and the
landmarks) against the projected, re-timed truth.
gravity: the world stage's up vector (pipeline/gravity.py, pipeline/floor.py) against the calibration's (world +Z
in the camera frame: R[:, 2] of Rodrigues(rvec_world)), per frame, and its max / median after the first second.
Without ../shared (or the clip files) prints why and exits 0 with {"skipped": ...}.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: see DEVELOPERS.md

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from detectors.joint_map import TABLE, map_points, world_joints  # noqa: E402
from core.errors import ConfigError  # noqa: E402
from pipeline.config import (TEMPORAL_WINDOW_SETTINGS, TEMPORAL_WINDOWS, WarmStartConfig, apply_options,  # noqa: E402
                             load_config, temporal_window_for)
from pipeline.factory import build_lifter, build_pipeline, set_source  # noqa: E402
from pipeline.gravity import angle_deg, angles_from_up  # noqa: E402
from core.paths import repo_root, shared_dir  # noqa: E402
from pipeline.reprojection import reprojection_errors  # noqa: E402
from pipeline.root import solve_root  # noqa: E402
from pipeline.sources import open_source  # noqa: E402
from pipeline.stages import Pipeline  # noqa: E402
from tools.pose2sim_views import CLIPS_DIR, views_dir  # noqa: E402
from tools.realfootage_metrics import nearest_candidate, pose_metrics, stats_2d, sync_lag, truth_at  # noqa: E402

MEDIAPIPE_PYTHON = repo_root() / ".venv-mediapipe" / "bin" / "python"
# Visibility of our 17 joints: the landmarks' visibility averaged with the joint table's absolute weights.
VIS_TABLE = np.abs(TABLE) / np.abs(TABLE).sum(1, keepdims=True)


class WorldInit:
    """The lifter, but every frame starts from `pose` (set before each frame) noised to init_t."""

    def __init__(self, lifter, init_t: int):
        self.lifter, self.init_t, self.pose = lifter, init_t, None

    def estimate(self, candidates, n, steps, init=None, init_t=None):
        return self.lifter.estimate(candidates, n=n, steps=steps, init=self.pose, init_t=self.init_t)


def reprojection_error(hyps: np.ndarray, peaks: np.ndarray, k: np.ndarray) -> np.ndarray:
    """(N, 17, 3) root-relative hypotheses, (17, 3) peaks with likelihood, K -> (N,) likelihood-weighted mean
    squared pixel error of each hypothesis placed at its own best root translation (inf where none is found)."""
    roots = [solve_root(h, peaks[:, :2], k, weights=peaks[:, 2]) for h in hyps]
    ok = np.array([t is not None for t in roots])
    out = np.full(len(hyps), np.inf)
    if ok.any():
        out[ok] = reprojection_errors(hyps[ok], np.stack([t for t in roots if t is not None]), peaks, k)
    return out


def temporal_variants(cfg, windows, rates) -> dict:
    """name -> config of each extra temporal variant (--temporal-windows x --temporal-rates), but the config's own
    window and rate (that is diffmocap, or diffmocap_temporal beside a frame-mode app)."""
    out = {}
    for window in windows:
        for rate in rates:
            if (window, rate) == (cfg.temporal_window, cfg.temporal_rate):
                continue
            name = f"diffmocap_temporal_{window}" + (f"_{rate:g}fps" if rate else "")
            out[name] = replace(cfg, lifter_mode="temporal", temporal_window=window, temporal_rate=rate)
    return out


def own_copy(detected):
    """The detection with person records of its own: a pipeline stores its estimate on them (`Person.estimate`) and
    a look-ahead window or smoothing finishes the frame later, so pipelines sharing the records would finish each
    other's estimates (the frame model's coverage changed with --temporal-windows before this)."""
    return replace(detected, persons=[replace(p) for p in detected.persons])


def subject(persons, uv: np.ndarray | None) -> list:
    """The clip's subject among the people found: the one whose 2D joints lie nearest the projected truth `uv`
    (17, 2) px, median over the joints (a bystander walks through cam02). Without truth for the frame: the first."""
    if uv is None or len(persons) < 2:
        return persons[:1]
    dist = [np.median(np.linalg.norm(map_points(p.landmarks.landmarks[:, :2]) - uv, axis=-1)) for p in persons]
    return [persons[int(np.argmin(dist))]]


def collect(video: Path, k: np.ndarray, cfg, frames: int, init: str, init_ts, windows=(), rates=(None,),
            seed: int = 0, truth_uv: dict | None = None, live: bool = False) -> dict:
    """Run the app's pipeline (and the --init world variants on the same 2D) over the first `frames` frames, lifting
    the subject (the person nearest `truth_uv`, frame index -> (17, 2) px; subject()).
    Returns per method a list (one entry per frame, None without a person) of dicts of arrays, plus the 2D. A
    temporal window that looks ahead returns a frame's result frames later: results are kept by their frame index."""
    pipe = build_pipeline(cfg)
    pipe.intrinsics = k
    set_source(pipe, cfg, live=live)       # the clips run as the app runs a file (or, --live, a live source)
    pipe.frontend.generator.manual_seed(seed)  # reproducible candidates (the app seeds randomly)
    variants = {}
    # The other lifter mode (frame / temporal) on the same 2D, the rest of the pipeline as the app's (issue 14).
    other = "temporal" if cfg.lifter_mode == "frame" else "frame"
    extra = {f"diffmocap_{other}": replace(cfg, lifter_mode=other), **temporal_variants(cfg, windows, rates)}
    lifters = {}
    for name, vcfg in extra.items():
        try:
            key = vcfg.lifter_mode
            if key not in lifters:
                lifters[key] = pipe.lifter if key == cfg.lifter_mode else build_lifter(vcfg)
            variants[name] = build_pipeline(vcfg, frontend=pipe.frontend, lifter=lifters[key])
            variants[name].intrinsics = k
            set_source(variants[name], vcfg, live=live)
        except ConfigError as e:  # no temporal weights: report the app's mode alone
            print(f"realfootage: no {name} variant ({e})", file=sys.stderr)
    if init == "world":
        same = dict(frontend=pipe.frontend, hypotheses=pipe.hypotheses, steps=pipe.steps, intrinsics=k,
                    smoothing=pipe.smoothing)
        off = WarmStartConfig(enabled=False)
        variants["diffmocap_cold"] = Pipeline(lifter=pipe.lifter, warm_start=off, offline=True, **same)
        for t in init_ts:
            variants[f"diffmocap_world_t{t}"] = Pipeline(lifter=WorldInit(pipe.lifter, t), warm_start=off,
                                                         offline=True, **same)
    names = ["diffmocap", "blazepose_world", *variants]
    if init == "world":
        names += ["diffmocap_reproj_best", "diffmocap_reproj_top"]
    got = {name: {} for name in [*names, "2d", "world"]}   # frame index -> entry
    world_pose = {}

    def keep(result) -> None:
        """The app's result for its frame: its estimate, the 2D and world landmarks, the world stage."""
        if result is None:
            return
        i = result.frame.index
        got["world"][i] = (result.frame.timestamp, result.world)
        p = result.persons[0] if result.persons else None
        if p is None or p.estimate is None:
            return
        est = p.estimate
        got["diffmocap"][i] = {"mean": est.mean, "hyps": est.hypotheses, "cov": est.covariance}
        got["blazepose_world"][i] = {"mean": world_joints(p.landmarks.world)}
        got["2d"][i] = {"cand_xy": p.candidates.xy, "lik": p.candidates.likelihood,
                        "landmark_xy": map_points(p.landmarks.landmarks[:, :2]),
                        "visibility": VIS_TABLE @ p.landmarks.landmarks[:, 3]}
        if init == "world":
            err = reprojection_error(est.hypotheses.astype(np.float64), p.candidates.peaks, k)
            order = np.argsort(err)
            got["diffmocap_reproj_best"][i] = {"mean": est.hypotheses[order[0]]}
            top = est.hypotheses[order[:max(1, len(order) // 4)]]
            got["diffmocap_reproj_top"][i] = {"mean": top.mean(0), "hyps": top}

    def keep_variant(name: str, result) -> None:
        if result is not None and result.persons and result.persons[0].estimate is not None:
            e = result.persons[0].estimate
            got[name][result.frame.index] = {"mean": e.mean, "hyps": e.hypotheses, "cov": e.covariance}

    read = 0
    with open_source(str(video)) as source:
        for _ in range(frames):
            frame = source.read()
            if frame is None:
                break
            read += 1
            detected = pipe.detect(frame)
            detected.persons = subject(detected.persons, (truth_uv or {}).get(frame.index))
            world_pose[frame.index] = world_joints(detected.persons[0].landmarks.world) if detected.persons else None
            for result in (pipe.lift(own_copy(detected)), *pipe.ready()):
                keep(result)
            for name, v in variants.items():
                if isinstance(v.lifter, WorldInit):
                    v.lifter.pose = world_pose[frame.index]
                for result in (v.lift(own_copy(detected)), *v.ready()):
                    keep_variant(name, result)
    for result in pipe.flush():
        keep(result)
    for name, v in variants.items():
        for result in v.flush():
            keep_variant(name, result)
    out = {name: [got[name].get(i) for i in range(read)] for name in names + ["2d"]}
    out["world"] = [got["world"].get(i, (None, None)) for i in range(read)]
    return out


def truth_up(truth) -> np.ndarray:
    """The calibration's up vector in the camera frame (the world's +Z, README of the clips)."""
    rot, _ = cv2.Rodrigues(np.asarray(truth["rvec_world"], np.float64))
    up = rot[:, 2]
    return up if up[1] < 0 else -up   # the camera's y points down: up has a negative y


def gravity_errors(worlds: list, up: np.ndarray, settle_s: float = 1.0) -> dict:
    """Angle (deg) between each frame's estimated up (WorldFrame.rotation[1]: +Y in camera coordinates) and `up`;
    the max and median over frames after `settle_s`."""
    times = np.array([t for t, w in worlds if w is not None])
    errors = np.array([float(angle_deg(w.rotation[1], up)) for _, w in worlds if w is not None])
    last = next((w for _, w in reversed(worlds) if w is not None), None)
    late = errors[times >= settle_s] if len(errors) else errors
    pitch, roll = angles_from_up(up)
    return {"truth_pitch_deg": round(pitch, 2), "truth_roll_deg": round(roll, 2),
            "estimated_pitch_deg": None if last is None else round(last.pitch_deg, 2),
            "estimated_roll_deg": None if last is None else round(last.roll_deg, 2),
            "up_std_deg": None if last is None else round(last.up_std_deg, 2),
            "after_s": settle_s, "max_deg": round(float(late.max()), 2) if len(late) else None,
            "median_deg": round(float(np.median(late)), 2) if len(late) else None,
            "per_frame_deg": [round(float(e), 2) for e in errors]}


def run_mediapipe(video: Path, frames: int) -> list | None:
    """MediaPipe's 17 joints per frame (root-relative, None without a person), or None without its venv."""
    if not MEDIAPIPE_PYTHON.is_file():
        return None
    cmd = [str(MEDIAPIPE_PYTHON), str(repo_root() / "tools" / "mediapipe_world.py"), str(video),
           "--frames", str(frames), "--complexity", "1"]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    data = json.loads(res.stdout)
    # MediaPipe's world axes are camera-like (x right, y down, z away from the camera), i.e. the truth's camera
    # frame: measured on both clips, the Procrustes rotation from its world landmarks to the truth is small
    # (docs/realfootage.md), so they are compared without any axis change.
    return [None if f["world"] is None else {"mean": world_joints(np.asarray(f["world"]))} for f in data["frames"]]


def clip_folder(name: str) -> Path | None:
    """Where CLIP.mp4 and CLIP_truth.npz are: the shared folder (cam01, cam03), else the cache that
    tools.pose2sim_views fills (cam02, cam04: the same trial's other cameras, the same truth); None if neither."""
    shared = shared_dir()
    for folder in ([] if shared is None else [shared / CLIPS_DIR]) + [views_dir()]:
        if (folder / f"{name}_truth.npz").is_file() and (folder / f"{name}.mp4").is_file():
            return folder
    return None


def evaluate_clip(name: str, folder: Path, args, cfg) -> dict:
    truth = np.load(folder / f"{name}_truth.npz")
    index = np.asarray(truth["frame_index"])
    frames = int(index.max()) + 1 if args.frames is None else min(args.frames, int(index.max()) + 1)
    video = folder / f"{name}.mp4"
    k = np.asarray(truth["K"], np.float64)
    methods = collect(video, k, cfg, frames, args.init, args.init_t, args.temporal_windows or (),
                      args.temporal_rates or (cfg.temporal_rate,), seed=args.seed,
                      truth_uv={int(f): uv for f, uv in zip(index, np.asarray(truth["uv"], np.float64))},
                      live=args.live)
    two_d = methods.pop("2d")
    worlds = methods.pop("world")
    mediapipe = None if args.no_mediapipe else run_mediapipe(video, frames)
    if mediapipe is not None:
        methods["mediapipe"] = mediapipe
    read = len(two_d)
    landmarks = np.full((read, 17, 2), np.nan)
    for f, d in enumerate(two_d):
        if d is not None:
            landmarks[f] = d["landmark_xy"]
    sync = ({"lag_frames": 0.0, "how": "--no-sync"} if args.no_sync
            else sync_lag(landmarks, truth["uv"], index, truth["valid"]))
    lag = sync["lag_frames"]
    clip = {"frames_with_truth": int((index < frames).sum()), "sync": sync, "methods": {},
            "frames_with_person": {n: sum(x is not None for x in m) for n, m in methods.items()},
            "gravity": gravity_errors(worlds, truth_up(truth))}
    scored = score(methods, truth, index, read, lag, cfg)
    clip["frames_evaluated"] = len(scored["rows"])
    if not scored["rows"]:
        return clip
    clip["methods"] = scored["methods"]
    if lag:   # the same frames' metrics against the truth as numbered (the video taken as in sync)
        plain = score(methods, truth, index, read, 0.0, cfg)["methods"]
        for n, m in plain.items():
            clip["methods"][n]["unsynced"] = {key: m.get(key) for key in ("mpjpe_mm", "pa_mpjpe_limbs_mm",
                                                                          "coverage90")}
    uv, _ = truth_at(truth["uv"], index, truth["valid"], read, lag)
    rows = scored["rows"]
    d2 = [two_d[f] for f in rows]
    vis = np.stack([d["visibility"] for d in d2])
    clip["stats_2d"] = {
        "candidate0": stats_2d(np.stack([d["cand_xy"][:, 0] for d in d2]), uv[rows], vis),
        "landmarks": stats_2d(np.stack([d["landmark_xy"] for d in d2]), uv[rows], vis),
        "nearest_of_k_candidates": nearest_candidate(np.stack([d["cand_xy"] for d in d2]), uv[rows]),
    }
    return clip


def score(methods: dict, truth, index, read: int, lag: float, cfg) -> dict:
    """Every method's metrics on the video frames where the truth re-timed by `lag` (truth_at) is valid for all 17
    joints and every method has a result -> {"rows" (video frames), "methods"}."""
    gt, good = truth_at(truth["joints"], index, truth["valid"], read, lag)
    rows = [f for f in range(read) if good[f].all() and all(f < len(m) and m[f] is not None for m in methods.values())]
    out = {"rows": rows, "methods": {}}
    for n, m in methods.items() if rows else ():
        per = [m[f] for f in rows]
        stack = lambda key: np.stack([p[key] for p in per]) if key in per[0] else None  # noqa: E731
        out["methods"][n] = pose_metrics(stack("mean"), gt[rows], stack("hyps"), stack("cov"), np.asarray(rows),
                                         cfg.joint_definition_mm / 1000)
    return out


def table(result: dict) -> str:
    lines = ["clip   method                    MPJPE  PA17  PA12  best  cov90"]
    for clip, c in result["clips"].items():
        for n, m in c.get("methods", {}).items():
            cells = [m["mpjpe_mm"], m["pa_mpjpe_mm"], m["pa_mpjpe_limbs_mm"], m.get("mpjpe_best_mm"),
                     m.get("coverage90")]
            lines.append(f"{clip:6} {n:24} " + " ".join(f"{'-' if v is None else v:>5}" for v in cells))
        lines.append(f"{clip:6} frames evaluated {c['frames_evaluated']} of {c['frames_with_truth']}; truth re-timed "
                     f"by {c['sync']['lag_frames']:+.2f} video frames (sync)")
        g = c.get("gravity")
        if g:
            lines.append(f"{clip:6} up vector vs calibration after {g['after_s']} s: max {g['max_deg']} median "
                         f"{g['median_deg']} deg (pitch / roll {g['estimated_pitch_deg']} / {g['estimated_roll_deg']}, "
                         f"truth {g['truth_pitch_deg']} / {g['truth_roll_deg']})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.realfootage", description=__doc__.split("\n")[0])
    ap.add_argument("--clips", nargs="+", default=["cam01", "cam03"])
    ap.add_argument("--frames", type=int, default=None, help="process only the first N video frames")
    ap.add_argument("--lifter", default=None, help="frame lifter weights: default, open or a .pt path (without "
                    "--lifter-mode, 'diffmocap' lifts each frame with them, as the app's --lifter does)")
    ap.add_argument("--lifter-mode", default=None, choices=["frame", "temporal"],
                    help="the app's lifter mode for 'diffmocap' (default: the config's); the other mode is reported "
                         "as diffmocap_<mode>")
    ap.add_argument("--temporal-lifter", default=None, help="temporal lifter weights (default: the config's)")
    ap.add_argument("--temporal-window", default=None, choices=list(TEMPORAL_WINDOW_SETTINGS),
                    help="the app's temporal window mode (default: the config's)")
    ap.add_argument("--temporal-windows", nargs="+", default=None, choices=list(TEMPORAL_WINDOWS),
                    help="also report the temporal lifter with these window modes (diffmocap_temporal_<mode>[_<rate>fps])")
    ap.add_argument("--temporal-rates", nargs="+", type=float, default=None, metavar="FPS",
                    help="with --temporal-windows: these window rates (0: every frame; default: the config's)")
    ap.add_argument("--hypotheses", type=int, default=None)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--init", choices=("noise", "world"), default="noise",
                    help="world: also evaluate starting every frame from the landmark model's world landmarks")
    ap.add_argument("--init-t", type=int, nargs="+", default=[100, 200, 400], help="timesteps for --init world")
    ap.add_argument("--config", default=None, help="app config YAML (default configs/app.yaml), e.g. to compare "
                    "warm_start settings")
    ap.add_argument("--seed", type=int, default=0, help="candidate sampling seed (the lifter's noise is fixed; another "
                    "seed shows how much a number moves with the sampled candidates alone)")
    ap.add_argument("--no-mediapipe", action="store_true", help="skip MediaPipe Pose (deterministic: one run is enough)")
    ap.add_argument("--no-sync", action="store_true", help="score against the truth as its frames are numbered "
                    "(default: re-timed by the video's lag estimated from the 2D, tools.realfootage_metrics.sync_lag)")
    ap.add_argument("--json", action="store_true", help="print the JSON (default: a table)")
    ap.add_argument("--out", default=None, help="also write the JSON to this file")
    ap.add_argument("--live", action="store_true", help="the settings the app uses for a live source (the temporal "
                    "window auto -> causal, One-Euro smoothing instead of the file's centred low-pass); every frame "
                    "is still processed, none dropped")
    args = ap.parse_args(argv)
    folders = {c: clip_folder(c) for c in args.clips}
    missing = [c for c, f in folders.items() if f is None]
    if missing:
        why = (f"no real-footage clips ({', '.join(missing)}) under ../shared/{CLIPS_DIR} or "
               f"{views_dir()} (cam02 / cam04: `python -m tools.pose2sim_views`)")
        print(f"realfootage: skipped: {why}", file=sys.stderr)
        print(json.dumps({"skipped": why}))
        return 0
    cfg = load_config(args.config)
    args.temporal_rates = args.temporal_rates and [r or None for r in args.temporal_rates]
    # the app's option rules (checks; --lifter alone lifts frames with that lifter, as the app's --lifter does)
    cfg = apply_options(cfg, **{key: getattr(args, key) for key in ("lifter", "hypotheses", "steps", "lifter_mode",
                                                                    "temporal_lifter", "temporal_window")})
    cfg.temporal_window = temporal_window_for(cfg.temporal_window, live=args.live)   # as the app runs a file (or live)
    cfg.temporal_max_wait_ms = None   # every frame is processed, as by a machine that keeps up with the source
    result = {"date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
              "command": "python -m tools.realfootage " + " ".join(argv if argv is not None else sys.argv[1:]),
              "lifter": cfg.lifter, "lifter_mode": cfg.lifter_mode, "temporal_lifter": cfg.temporal_lifter,
              "temporal_window": cfg.temporal_window, "temporal_rate": cfg.temporal_rate,
              "hypotheses": cfg.hypotheses, "steps": cfg.steps, "model": cfg.model,
              "init": args.init, "seed": args.seed, "live": args.live, "warm_start": vars(cfg.warm_start),
              "mediapipe": MEDIAPIPE_PYTHON.is_file() and not args.no_mediapipe,
              "clips": {c: evaluate_clip(c, folders[c], args, cfg) for c in args.clips}}
    text = json.dumps(result, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
