"""End-to-end speed of the product's own code path: per-stage ms, offline throughput, live latency, and MediaPipe
Pose on the same frames.

    python -m pipeline.bench [--source vtest.avi] [--device cpu|cuda] [--runtime litert|torch|onnx] [--model full]
                             [--hypotheses 16] [--steps 5] [--frames 100] [--temporal [--temporal-window causal|lag1]]
                             [--json]

The pipeline is the app's: built by pipeline.factory.build_pipeline from configs/app.yaml with the options given
here (front end, lifter on its fastest runtime, warm starts, root, smoothing), run by the app's own loops
(pipeline.runner.run_offline / run_live). Passes over the same frames: --frames frames from --start (default auto:
the first frame where the person detector finds someone and the landmark model confirms, frame 166 in vtest.avi,
whose pedestrians are often too small for BlazePose), preceded by --warmup frames that are not timed:
1. stages: one thread, one frame at a time, through the pipeline's two stages (Pipeline.detect, Pipeline.lift);
   ms per frame for decode, detect, landmark, candidates (the front end's own timings), lifter (condition + N x S
   sampling + mean and calibrated covariance, as Lifter.estimate runs them), root, smooth and world (the world
   stage: gravity, floor, root trajectory, contacts; pipeline/grounding.py). Means are over all
   measured frames (a stage that did not run counts 0, so they add up to the sequential per-frame time);
   `stages_ms_when_run` averages over the frames where the stage ran.
2. offline / offline_pipelined: the app's offline loop (run_offline: capture thread + every frame in order) on the
   video; pipelined, the 2D stage has its own thread (config offline.pipelined). FPS = frames / wall time;
   cpu_ms_per_frame = process CPU time (all threads) / frames. `offline_fps` is the mode the config selects.
3. live / live_pipelined: the app's live loop (run_live: newest frame wins) on the video replayed as a webcam
   would deliver it (pipeline.sources.ReplaySource at --live-fps, default 30, i.e. a speed-up of live_fps / native
   fps; frames the pipeline is too slow for are skipped by the camera or dropped by the runner). Latency = estimate
   ready - frame due (capture) time. `live_fps` etc. are the mode the config selects (live.pipelined).
MediaPipe Pose (same video, same warm-up and frame count, model complexity lite 0 / full 1 / heavy 2) is run in
a subprocess of this interpreter when `import mediapipe` works, else with .venv-mediapipe/bin/python
tools/mediapipe_fps.py (made by tools/mediapipe_venv.sh); `mediapipe.how` says which. ratio_vs_mediapipe = our
offline FPS / MediaPipe's FPS (both include decoding); ratio_vs_mediapipe_cpu_time = MediaPipe's process CPU ms per
frame / ours (the same comparison by CPU time, which other processes on a shared machine disturb much less).
People: `--people` adds `stages_ms_by_people`: the stage pass's per-frame stage ms grouped by how many people the
frame had (the cost of each extra person in view); `--max-people N` sets the config's max_people (1: the
single-person tracker).
Threads: the 2D models and the lifter get --threads-2d / --threads-lifter intra-op threads (default: the app
config's litert_threads and torch_threads).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from core.errors import SourceError
from core.paths import repo_root
from detectors.frontend import FrontEnd
from detectors.multi import MultiFrontEnd
from lifter.loading import load_lifter
from lifter.runtimes import make_variant
from pipeline.config import (DEFAULT_CANDIDATES, DEFAULT_HYPOTHESES, DEFAULT_STEPS, TEMPORAL_WINDOW_SETTINGS,
                             apply_options, load_config, temporal_window_for)
from pipeline.factory import build_lifter, build_pipeline, set_source
from pipeline.runner import run_live, run_offline
from pipeline.samples import sample_path
from pipeline.sources import ReplaySource, VideoSource

STAGES = ("decode", "detect", "landmark", "candidates", "lifter", "root", "smooth", "world")
COMPLEXITY = {"lite": 0, "full": 1, "heavy": 2}


# ----------------------------------------------------------------------------------------------- building blocks


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or platform.machine()


# --lifter / --dtype / --lifter-mode -> a lifter.runtimes variant (None: the factory's fastest for the device)
def lifter_variant(args) -> str | None:
    if args.lifter == "auto" and args.dtype is None and args.lifter_mode is None:
        return None
    if args.lifter == "onnx":
        return "onnx"
    mode, dtype = args.lifter_mode or "eager", args.dtype or "fp32"
    if mode == "compile":
        return "compile"
    if mode == "graph":
        return "graph" if dtype == "fp32" else f"graph-{dtype}"
    return "fp32-fast" if dtype == "fp32" else dtype


def _skip(source, count: int) -> None:
    for _ in range(count):
        if source.read() is None:
            return


def first_person_frame(path: Path, fe, limit: int = 2000) -> int:
    """Index of the first frame where a search of the whole frame finds a person (BlazePose's detector on the full
    image + landmark presence, as MediaPipe Pose searches; 0 if none within `limit` frames). Each frame is tried on
    its own (no tracking state), as a fresh start would see it. The multi-person front end's tiles find vtest.avi's
    small pedestrians from frame 3, where MediaPipe finds nobody for 160 frames and its pass would time its
    detector alone (with_pose 0, 120+ FPS): both passes start where both see someone."""
    if isinstance(fe, MultiFrontEnd):
        fe = FrontEnd(detector=fe.scanner.detector, landmark_model=fe.landmark_model, k=1)
    with VideoSource(path) as source:
        for i in range(limit):
            frame = source.read()
            if frame is None:
                break
            if fe.process(frame, None)[0]:
                return i
    return 0


def replay_from(path: Path, speed: float, first: int):
    """A ReplaySource whose clock starts at frame `first` (earlier frames are grabbed, not decoded, beforehand).

    Frame timestamps are given back in the video's own time (x speed): a sped-up replay delivers frames faster, but
    the time-based filters of tracking (One-Euro on the ROI) must see the scene's real motion, as in the offline
    pass. captured_at stays the wall-clock due time, so latency is measured as a camera would see it."""
    class ReplayFrom(ReplaySource):
        def __init__(self):
            super().__init__(path, speed=speed)
            for _ in range(first):
                if not self._advance(decode=False):
                    break
            self._pos = 0  # positions count from the replay's start, as the source's clock does

        def read(self):
            frame = super().read()
            if frame is not None:
                frame.timestamp *= speed
            return frame

    return ReplayFrom()


class Count:
    """A sink that counts frames with a person (the runner hands it every FrameResult)."""

    def __init__(self):
        self.with_person = 0

    def write(self, result) -> None:
        self.with_person += bool(result.persons)

    def close(self) -> None:
        pass


# ----------------------------------------------------------------------------------------------- passes


def stage_pass(args, pipeline) -> dict:
    """The pipeline's two stages one after the other in this thread, with the decode time."""
    times = {s: [] for s in STAGES}
    people = []
    with_person = 0
    pipeline.reset()
    with VideoSource(args.source) as source:
        _skip(source, args.first)
        for i in range(args.warmup + args.frames):
            t0 = time.perf_counter()
            frame = source.read()
            decode = (time.perf_counter() - t0) * 1e3
            if frame is None:
                break
            detected = pipeline.detect(frame)
            result = pipeline.lift(detected)
            if i < args.warmup or result is None:   # None: a temporal window that looks ahead holds the frame
                continue
            with_person += bool(result.persons)
            people.append(len(result.persons))
            t = result.timings_ms
            row = dict(decode=decode, detect=t["detect"], landmark=t["landmarks"], candidates=t["candidates"],
                       lifter=t["lift"], root=t["root"], smooth=t["smooth"],
                       world=t.get("world", 0.0))
            for key, value in row.items():
                times[key].append(value)
    n = len(times["decode"])
    mean = {k: round(float(np.mean(v)), 3) if n else None for k, v in times.items()}
    when_run = {k: round(float(np.mean([x for x in v if x > 0])), 3) if any(x > 0 for x in v) else 0.0
                for k, v in times.items()}
    total = sum(mean.values()) if n else None
    return {"frames": n, "with_person": with_person, "stages_ms": mean, "stages_ms_when_run": when_run,
            "stages_ms_by_people": by_people(times, people),
            "sequential_ms_per_frame": round(total, 3) if total else None,
            "sequential_fps": round(1000.0 / total, 2) if total else None}


def by_people(times: dict[str, list[float]], people: list[int]) -> dict:
    """Mean stage ms (and their sum) over the frames with each number of people."""
    out = {}
    for count in sorted(set(people)):
        rows = [i for i, c in enumerate(people) if c == count]
        mean = {k: round(float(np.mean([v[i] for i in rows])), 2) for k, v in times.items()}
        out[str(count)] = {"frames": len(rows), **mean, "total": round(sum(mean.values()), 2)}
    return out


def offline_pass(args, pipeline, pipelined: bool) -> dict:
    """The app's offline loop over the measured frames (the models are warm from the stage pass)."""
    pipeline.reset()
    count = Count()
    with VideoSource(args.source) as source:
        _skip(source, args.first + args.warmup)
        cpu0 = time.process_time()
        stats = run_offline(source, pipeline, [count], progress=False, max_frames=args.frames, pipelined=pipelined,
                            say=lambda *_: None)
        cpu = time.process_time() - cpu0
    if stats.error:
        raise SourceError(stats.error)
    done = stats.frames
    return {"fps": round(stats.fps, 2) if done else None, "frames": done, "wall_s": round(stats.wall_s, 3),
            "cpu_ms_per_frame": round(cpu * 1e3 / done, 2) if done else None, "with_person": count.with_person,
            "how": f"pipeline.runner.run_offline(pipelined={pipelined}) + pipeline.stages.Pipeline"}


def live_pass(args, pipeline, pipelined: bool) -> dict:
    """The app's live loop on the replay (capture thread, newest frame wins, warm starts, root and smoothing)."""
    native, speed = _replay_speed(args)
    pipeline.reset()
    count = Count()
    with replay_from(args.source, speed, args.first) as source:
        stats = run_live(source, pipeline, [count], max_frames=args.warmup + args.frames, say=lambda *_: None,
                         pipelined=pipelined)
    lat = np.array(stats.latencies_ms[args.warmup:])
    lift_ms = stats.stage_ms.get("lift", [])[args.warmup:]
    return {"fps": round(stats.fps, 2), "latency_ms_median": round(float(np.median(lat)), 2) if len(lat) else None,
            "latency_ms_p95": round(float(np.percentile(lat, 95)), 2) if len(lat) else None,
            "frames": int(len(lat)), "with_person": count.with_person, "dropped": int(stats.dropped),
            "camera_skipped": int(stats.source_skipped), "replay_fps": round(native * speed, 2), "native_fps": native,
            "lift_ms_mean": round(float(np.mean(lift_ms)), 3) if len(lift_ms) else None,
            "temporal_window_at_end": pipeline.window_in_use if pipeline.lifter_mode == "temporal" else None,
            "how": f"pipeline.runner.run_live(pipelined={pipelined}) + pipeline.stages.Pipeline; fps over the whole run"}


def _replay_speed(args) -> tuple[float, float]:
    """(the video's native fps, the replay speed that delivers it at --live-fps; 1 for --live-fps 0)."""
    with VideoSource(args.source) as source:
        native = source.fps
    return native, (args.live_fps / native if args.live_fps > 0 else 1.0)


def mediapipe_pass(args) -> dict:
    """MediaPipe Pose FPS on the same frames: in-process if importable, else in .venv-mediapipe."""
    script = repo_root() / "tools" / "mediapipe_fps.py"
    cmd_args = [str(args.source), "--frames", str(args.frames), "--warmup", str(args.warmup), "--skip", str(args.first),
                "--complexity", str(COMPLEXITY[args.model])]
    try:
        import mediapipe  # noqa: F401

        python, how = sys.executable, "in the main venv (same interpreter, subprocess for a clean process)"
    except ImportError:
        venv = repo_root() / ".venv-mediapipe" / "bin" / "python"
        if not venv.exists():
            return {"fps": None, "how": "not run: mediapipe is not importable and .venv-mediapipe is missing "
                                         "(tools/mediapipe_venv.sh makes it)"}
        python, how = str(venv), "subprocess: .venv-mediapipe/bin/python tools/mediapipe_fps.py (mediapipe 0.10.14)"
    try:
        out = subprocess.run([python, str(script)] + cmd_args, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        return {"fps": None, "how": how + "; timed out"}
    if out.returncode != 0:
        return {"fps": None, "how": how + f"; failed: {out.stderr.strip().splitlines()[-1:] or out.returncode}"}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["fps"] = round(result["fps"], 2) if result.get("fps") else None
    result["process_fps"] = round(result["process_fps"], 2) if result.get("process_fps") else None
    result["how"] = how
    return result


# ----------------------------------------------------------------------------------------------- main


def bench_config(args):
    """The app's config with the bench's options (checked by pipeline.config, as the app's are)."""
    if args.device.startswith("cuda") and args.runtime == "litert":
        args.runtime = "torch"  # LiteRT is CPU only; the GPU path runs the converted models in PyTorch
    cfg = apply_options(load_config(), model=args.model, runtime=args.runtime, device=args.device,
                        hypotheses=args.hypotheses, steps=args.steps, lifter=args.weights,
                        lifter_mode="temporal" if args.temporal else "frame", temporal_lifter=args.temporal_weights,
                        temporal_window=args.temporal_window)
    cfg.candidates = args.k
    cfg.max_people = args.max_people or cfg.max_people
    cfg.litert_threads = args.threads_2d or cfg.litert_threads
    cfg.torch_threads = args.threads_lifter or cfg.torch_threads
    return cfg


def run(args) -> dict:
    cfg = bench_config(args)
    device = cfg.device
    load_before = os.getloadavg()
    t_load = time.perf_counter()
    variant = lifter_variant(args)
    pipeline = build_pipeline(cfg, say=lambda *_: None, lifter=build_lifter(cfg, variant=variant))
    pipeline.frontend.generator.manual_seed(args.seed)
    lifter = pipeline.lifter
    runtime = "onnx" if lifter.meta.get("runtime") == "onnx" else \
        getattr(lifter.runner, "mode", "eager") if lifter.runner is not None else "eager (plain)"
    lifter_info = {"weights": cfg.lifter_weights,
                   "lifter_mode": cfg.lifter_mode,
                   "temporal_window": None if cfg.lifter_mode != "temporal" else
                   {"offline": temporal_window_for(cfg.temporal_window, False),
                    "live": temporal_window_for(cfg.temporal_window, True)},
                   "variant": variant or "fastest", "runtime": runtime,
                   "dtype": str(getattr(lifter.runner, "dtype", "torch.float32")).replace("torch.", "")}
    load_s = time.perf_counter() - t_load
    start = first_person_frame(args.source, pipeline.frontend) if args.start == "auto" else int(args.start)
    args.first = max(0, start - args.warmup)  # first frame read; the measured ones start `warmup` frames later

    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "gpu": _gpu_name(device),
                    "torch": torch.__version__, "python": platform.python_version()},
        "config": {"source": str(args.source), "device": device, "runtime": cfg.runtime, "model": cfg.model,
                   "hypotheses": cfg.hypotheses, "steps": cfg.steps, "k": cfg.candidates, "frames": args.frames,
                   "start": args.first + args.warmup, "warmup": args.warmup, "threads_2d": cfg.litert_threads,
                   "threads_lifter": cfg.torch_threads, "live_fps": args.live_fps, "lifter": lifter_info,
                   "max_people": cfg.max_people, "warm_start": cfg.warm_start.enabled, "smoothing": cfg.smoothing.enabled,
                   "offline_pipelined": cfg.offline.pipelined, "live_pipelined": cfg.live.pipelined,
                   "load_s": round(load_s, 2)},
    }
    stages = stage_pass(args, pipeline)
    result.update(stages_ms=stages.pop("stages_ms"), stages_ms_when_run=stages.pop("stages_ms_when_run"))
    by = stages.pop("stages_ms_by_people")
    if args.people:
        result["stages_ms_by_people"] = by
    result["sequential"] = stages
    set_source(pipeline, cfg, live=False)   # the passes as the app runs them
    result["offline"] = offline_pass(args, pipeline, pipelined=False)
    result["offline_pipelined"] = offline_pass(args, pipeline, pipelined=True)
    result["offline_fps"] = result["offline_pipelined" if cfg.offline.pipelined else "offline"]["fps"]
    if not args.no_live:
        set_source(pipeline, cfg, live=True)
        result["live"] = live_pass(args, pipeline, pipelined=False)
        result["live_pipelined"] = live_pass(args, pipeline, pipelined=True)
        live = result["live_pipelined" if cfg.live.pipelined else "live"]
        result.update(live_fps=live["fps"], live_latency_ms_median=live["latency_ms_median"],
                      live_latency_ms_p95=live["latency_ms_p95"], live_dropped=live["dropped"])
    mp = {"fps": None, "how": "skipped (--no-mediapipe)"} if args.no_mediapipe else mediapipe_pass(args)
    result["mediapipe"] = mp
    result["mediapipe_fps"] = mp.get("fps")
    result["ratio_vs_mediapipe"] = (round(result["offline_fps"] / mp["fps"], 3)
                                    if mp.get("fps") and result["offline_fps"] else None)
    # CPU time per frame is far less sensitive than wall time to other processes sharing the machine
    ours = result["offline_pipelined" if cfg.offline.pipelined else "offline"]
    ours_cpu = ours.get("cpu_ms_per_frame")
    result["ratio_vs_mediapipe_cpu_time"] = (round(mp["cpu_ms_per_frame"] / ours_cpu, 3)
                                             if mp.get("cpu_ms_per_frame") and ours_cpu else None)
    result["machine"]["loadavg_before"] = [round(v, 2) for v in load_before]
    result["machine"]["loadavg_after"] = [round(v, 2) for v in os.getloadavg()]
    return result


def _gpu_name(device: str) -> str | None:
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    return None


def lifter_only(args) -> dict:
    """Lifter alone (condition + N x S sampling + copy to host), per frame: one frame per call (live) and --batch
    frames per call (offline), for each variant in --variants. Random candidates; median and p90 over --repeats."""
    device = args.device
    torch.set_num_threads(args.threads_lifter or max(1, args.threads // 2))
    base, source = load_lifter(args.weights)
    batch = args.batch if args.batch > 0 else (64 if device.startswith("cuda") else 32)
    g = torch.Generator().manual_seed(args.seed)
    out = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "gpu": _gpu_name(device),
                       "loadavg_before": [round(v, 2) for v in os.getloadavg()]},
           "weights": source, "device": device, "hypotheses": args.hypotheses, "steps": args.steps,
           "threads": torch.get_num_threads(), "batch": batch, "variants": {}}
    for variant in args.variants:
        t0 = time.perf_counter()
        lifter = make_variant(base, variant, device=device, threads=torch.get_num_threads())
        row = {}
        for b in (1, batch):
            xy = torch.rand(b, 17, args.k, 2, generator=g) * 1.6 - 0.8
            lik = torch.rand(b, 17, args.k, generator=g)
            gen = torch.Generator(device=lifter.device).manual_seed(0)
            for _ in range(3):
                lifter.sample(xy, lik, n=args.hypotheses, steps=args.steps, generator=gen).cpu()
            times = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                lifter.sample(xy, lik, n=args.hypotheses, steps=args.steps, generator=gen).cpu()
                times.append((time.perf_counter() - t) * 1e3 / b)
            row[f"frames_per_call_{b}"] = {"median_ms_per_frame": round(float(np.median(times)), 3),
                                           "p90_ms_per_frame": round(float(np.percentile(times, 90)), 3)}
        row["setup_s"] = round(time.perf_counter() - t0, 1)
        out["variants"][variant] = row
    out["machine"]["loadavg_after"] = [round(v, 2) for v in os.getloadavg()]
    return out


def parse_args(argv: list[str] | None = None):
    ap = argparse.ArgumentParser(description="End-to-end speed of diffmocap (see the module docstring)")
    ap.add_argument("--source", default=None, help="video path (default: the vtest.avi sample)")
    ap.add_argument("--device", default="cpu", help="cpu | cuda[:N]")
    ap.add_argument("--runtime", default="litert", choices=["litert", "torch", "onnx"], help="2D models' runtime")
    ap.add_argument("--model", default="full", choices=list(COMPLEXITY), help="BlazePose landmark model")
    ap.add_argument("--hypotheses", type=int, default=DEFAULT_HYPOTHESES)
    ap.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    ap.add_argument("--k", type=int, default=DEFAULT_CANDIDATES, help="candidates per joint")
    ap.add_argument("--frames", type=int, default=100, help="measured frames per pass")
    ap.add_argument("--start", default="auto",
                    help="first measured frame; auto: the first frame where the detector finds a person")
    ap.add_argument("--warmup", type=int, default=3, help="frames before the measured ones (not timed)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--threads-2d", type=int, default=0)
    ap.add_argument("--threads-lifter", type=int, default=0)
    ap.add_argument("--batch", type=int, default=0, help="with --lifter-only: frames per call of the batched timing "
                    "(default 32 CPU, 64 CUDA)")
    ap.add_argument("--weights", default="default", help="lifter weights (name, path, checkpoint folder, random)")
    ap.add_argument("--lifter", default="auto", choices=["auto", "torch", "onnx"],
                    help="lifter runtime (auto: the app's, pipeline.factory: onnx on the CPU, torch graph bf16 on CUDA)")
    ap.add_argument("--dtype", default=None, choices=["fp32", "bf16", "fp16"], help="torch lifter precision")
    ap.add_argument("--lifter-mode", default=None, choices=["eager", "graph", "compile"], help="torch lifter mode")
    ap.add_argument("--temporal", action="store_true",
                    help="the temporal lifter (the app's default --lifter-mode temporal: a window of each person's "
                         "frames); without it the frame lifter (--lifter-mode frame)")
    ap.add_argument("--temporal-weights", default=None, help="temporal lifter weights (default: the config's)")
    ap.add_argument("--temporal-window", default=None, choices=list(TEMPORAL_WINDOW_SETTINGS),
                    help="with --temporal: the window mode (default: the config's); lag1 / centred results wait for "
                         "the frames after them, which the live latency includes")
    ap.add_argument("--live-fps", type=float, default=30.0, help="replay rate of the live pass (0: native)")
    ap.add_argument("--no-live", action="store_true")
    ap.add_argument("--no-mediapipe", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--people", action="store_true", help="per-stage ms by the number of people in the frame")
    ap.add_argument("--max-people", type=int, default=0, help="the config's max_people (0: as configured)")
    ap.add_argument("--json", action="store_true", help="print one JSON object (else a short summary)")
    ap.add_argument("--lifter-only", action="store_true",
                    help="time only the lifter variants in --variants (random candidates) and print JSON")
    ap.add_argument("--variants", nargs="+", default=["fp32", "onnx", "bf16"],
                    help="with --lifter-only: fp32 (Lifter), fp32-fast, bf16, fp16, onnx, compile, graph, graph-bf16")
    ap.add_argument("--repeats", type=int, default=30, help="with --lifter-only: timed calls per shape")
    args = ap.parse_args(argv)
    if args.source is None:
        args.source = sample_path("vtest.avi", fetch=True)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        ap.error(f"--device {args.device}: no CUDA device is available to this torch ({torch.__version__})")
    args.source = Path(args.source)
    if not args.source.is_file():
        ap.error(f"--source {args.source}: no such file")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.lifter_only:
        print(json.dumps(lifter_only(args)))
        return 0
    result = run(args)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['machine']['cpu']} ({result['machine']['cores']} cores), {args.device}, {args.runtime}, "
          f"{args.model}, N={args.hypotheses}, S={args.steps}, lifter {result['config']['lifter']}")
    print("stages ms/frame: " + ", ".join(f"{k} {v}" for k, v in result["stages_ms"].items()))
    for count, row in result.get("stages_ms_by_people", {}).items():
        print(f"  {count} people ({row['frames']} frames): " + ", ".join(f"{k} {v}" for k, v in row.items()
                                                                     if k != "frames"))
    print(f"offline {result['offline_fps']} FPS")
    if "live" in result:
        print(f"live {result['live_fps']} FPS, latency median {result['live_latency_ms_median']} ms, "
              f"p95 {result['live_latency_ms_p95']} ms, dropped {result['live_dropped']}")
    print(f"mediapipe {result['mediapipe_fps']} FPS ({result['mediapipe']['how']}); ratio {result['ratio_vs_mediapipe']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
