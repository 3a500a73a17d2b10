"""End-to-end speed: per-stage ms, offline throughput, live latency, and MediaPipe Pose on the same frames.

    python -m pipeline.bench [--source vtest.avi] [--device cpu|cuda] [--runtime litert|torch|onnx] [--model full]
                             [--hypotheses 16] [--steps 5] [--frames 100] [--json]

Three passes over the same frames: --frames frames from --start (default auto: the first frame where the person
detector finds someone and the landmark model confirms, frame 166 in vtest.avi, whose pedestrians are often too small for BlazePose), preceded by
--warmup frames that warm the models up and are not timed:
1. stages: one thread, one frame at a time; ms per frame for decode, detect, landmark, candidates (the front end's
   own timings), lifter (condition + N x S sampling, until the hypotheses are on the host) and aggregate (mean +
   calibrated covariance). Means are over all measured frames (a stage that did not run counts 0, so they add up
   to the sequential per-frame time); `stages_ms_when_run` averages over the frames where the stage ran.
2. offline: the video read as fast as possible; 2D (decode, detect/track, landmarks, candidates) in one thread,
   lifting in another, the lifter taking up to --batch frames per call (default 32 on the CPU, 64 on CUDA).
   FPS = frames / wall time; cpu_ms_per_frame = process CPU time (all threads) / frames.
3. live: the video replayed as a webcam would deliver it (pipeline.sources.ReplaySource at --live-fps, default 30,
   i.e. a speed-up of live_fps / native fps; frames the pipeline is too slow for are skipped by the source and
   counted as dropped), 2D of frame t+1 overlapping the lifting of frame t (two threads, a one-slot queue).
   Latency = estimate ready - frame due (capture) time; FPS = rate at which estimates arrive (frames finished - 1
   over the time between the first and last); dropped = frames the source skipped in the measured window.
`live_app_runner` / `live_app_runner_pipelined`: the same replay through the app's own loop (pipeline.runner.run_live
with pipeline.stages.Pipeline: warm starts, root, smoothing; 2D and lifting in sequence, or the runner's pipelined
mode), for comparison with the overlapped loop above.
MediaPipe Pose (same video, same warm-up and frame count, model complexity lite 0 / full 1 / heavy 2) is run in
a subprocess of this interpreter when `import mediapipe` works, else with .venv-mediapipe/bin/python
tools/mediapipe_fps.py (made by tools/mediapipe_venv.sh); `mediapipe.how` says which. ratio_vs_mediapipe = our
offline FPS / MediaPipe's FPS (both include decoding); ratio_vs_mediapipe_cpu_time = MediaPipe's process CPU ms per
frame / ours (the same comparison by CPU time, which other processes on a shared machine disturb much less). Threads: the 2D models and the lifter each get --threads-2d / --threads-lifter intra-op
threads (default: half of --threads each, since the two stages run at the same time).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

from core.paths import repo_root

STAGES = ("decode", "detect", "landmark", "candidates", "lifter", "aggregate")
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


def make_lifters(args, device: str):
    """(live lifter, offline lifter, description) from --weights / --lifter / --dtype / --lifter-mode.

    auto: on the CPU, live (one frame per call) uses onnxruntime (fastest at one frame) and offline (--batch frames
    per call) a bf16 eager runtime (fastest at 32 frames; accuracy: docs/speed.md); on CUDA both use one runtime
    with CUDA graphs and bf16."""
    from lifter.loading import load_lifter
    from lifter.runtimes import with_runtime

    base, source = load_lifter(args.weights, device="cpu")
    cuda = device.startswith("cuda")

    def torch_variant(dtype, mode):
        dtype, mode = args.dtype or dtype, args.lifter_mode or mode
        return with_runtime(base, mode, dtype, device), \
            {"runtime": "torch", "dtype": dtype, "mode": mode}

    def onnx_variant():
        return with_runtime(base, "onnx", device=device, threads=args.threads_lifter), \
            {"runtime": "onnx", "dtype": "fp32", "mode": "onnxruntime"}

    if args.lifter == "onnx":
        live = offline = onnx_variant()
    elif args.lifter == "torch" or cuda:
        live = offline = torch_variant("bf16" if cuda else "fp32", "graph" if cuda else "eager")
    else:
        live, offline = onnx_variant(), torch_variant("bf16", "eager")
    return live[0], offline[0], {"weights": source, "live": live[1], "offline": offline[1]}


def lift(lifter, candidates: list, n: int, steps: int, generator: torch.Generator, pad_to: int = 0):
    """Candidates of several frames -> (list of Estimate3D, lifter ms, aggregate ms). One batched sampling call.

    pad_to: a batch of several frames is padded (last frame repeated) to this many, so a CUDA-graph lifter sees two
    shapes only (1 frame live, pad_to frames offline)."""
    from lifter.aggregate import summarise
    from lifter.inputs import candidates_to_inputs
    from core.records import Estimate3D

    t0 = time.perf_counter()
    parts = [candidates_to_inputs(c) for c in candidates]
    xy = torch.cat([p[0] for p in parts])
    lik = torch.cat([p[1] for p in parts])
    b = len(candidates)
    if b > 1 and pad_to > b:
        xy = torch.cat([xy, xy[-1:].expand(pad_to - b, *xy.shape[1:])])
        lik = torch.cat([lik, lik[-1:].expand(pad_to - b, *lik.shape[1:])])
    hyps = lifter.sample(xy, lik, n=n, steps=steps, generator=generator)[:b].float().cpu()  # .cpu(): sync point
    t1 = time.perf_counter()
    mean, cov = summarise(hyps, lifter.calibration_for(n, steps))
    hyps_np, mean_np, cov_np = hyps.numpy(), mean.numpy(), cov.numpy()
    estimates = [Estimate3D(hypotheses=hyps_np[i], mean=mean_np[i], covariance=cov_np[i]) for i in range(b)]
    t2 = time.perf_counter()
    return estimates, (t1 - t0) * 1e3, (t2 - t1) * 1e3


def lifter_generator(lifter, seed: int) -> torch.Generator:
    """On the lifter's device (a CUDA lifter then draws its noise on the GPU, no host copy)."""
    return torch.Generator(device=lifter.device).manual_seed(seed)


def _skip(source, count: int) -> None:
    for _ in range(count):
        if source.read() is None:
            return


def first_person_frame(path: Path, fe, limit: int = 2000) -> int:
    """Index of the first frame where the front end finds a person (detector + landmark presence; 0 if none within
    `limit` frames). Each frame is tried on its own (no tracking state), as a fresh start would see it."""
    from pipeline.sources import VideoSource

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
    from pipeline.sources import ReplaySource

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


def warm_lifter(lifter, args, g, sizes=(1,)) -> None:
    """Build and warm the lifter for the shapes the passes use (lazy ONNX exports, CUDA graph captures, caches)."""
    from core.records import Candidates

    rng = np.random.default_rng(0)
    cand = Candidates(xy=rng.uniform(100, 300, (17, args.k, 2)).astype(np.float32),
                      likelihood=rng.uniform(0, 1, (17, args.k)).astype(np.float32))
    for b in sizes:
        for _ in range(2):
            lift(lifter, [cand] * b, args.hypotheses, args.steps, g, args.pad)
    # the app's loop warm-starts from the previous frame (pipeline.config.WarmStartConfig.init_t)
    from pipeline.config import WarmStartConfig

    for _ in range(2):
        lifter.estimate(cand, n=args.hypotheses, steps=args.steps, init=np.zeros((17, 3), np.float32),
                        init_t=WarmStartConfig().init_t)


# ----------------------------------------------------------------------------------------------- passes


def stage_pass(args, fe, lifter, g) -> dict:
    from pipeline.sources import VideoSource

    times = {s: [] for s in STAGES}
    with_person = 0
    with VideoSource(args.source) as source:
        _skip(source, args.first)
        state = None
        for i in range(args.warmup + args.frames):
            t0 = time.perf_counter()
            frame = source.read()
            decode = (time.perf_counter() - t0) * 1e3
            if frame is None:
                break
            persons, state = fe.process(frame, state)
            lifter_ms = aggregate_ms = 0.0
            if persons:
                _, lifter_ms, aggregate_ms = lift(lifter, [persons[0].candidates], args.hypotheses, args.steps, g,
                                                  args.pad)
            if i < args.warmup:
                continue
            with_person += bool(persons)
            row = dict(decode=decode, detect=state.timings_ms["detect"], landmark=state.timings_ms["landmarks"],
                       candidates=state.timings_ms["candidates"], lifter=lifter_ms, aggregate=aggregate_ms)
            for key, value in row.items():
                times[key].append(value)
    n = len(times["decode"])
    mean = {k: round(float(np.mean(v)), 3) if n else None for k, v in times.items()}
    when_run = {k: round(float(np.mean([x for x in v if x > 0])), 3) if any(x > 0 for x in v) else 0.0
                for k, v in times.items()}
    total = sum(mean.values()) if n else None
    return {"frames": n, "with_person": with_person, "stages_ms": mean, "stages_ms_when_run": when_run,
            "sequential_ms_per_frame": round(total, 3) if total else None,
            "sequential_fps": round(1000.0 / total, 2) if total else None}


def offline_pass(args, fe, lifter, g) -> dict:
    """2D in a worker thread, lifting (batched) in this one; wall time over the measured frames."""
    from pipeline.sources import VideoSource

    q: queue.Queue = queue.Queue(maxsize=max(2, 2 * args.batch))
    errors: list[BaseException] = []

    def produce(source):
        try:
            state = None
            for _ in range(args.frames):
                frame = source.read()
                if frame is None:
                    break
                persons, state = fe.process(frame, state)
                q.put(persons[0].candidates if persons else None)
        except BaseException as e:  # noqa: BLE001 - re-raised in the main thread
            errors.append(e)
        finally:
            q.put(StopIteration)

    done = 0
    with VideoSource(args.source) as source:
        _skip(source, args.first + args.warmup)
        t0, cpu0 = time.perf_counter(), time.process_time()
        worker = threading.Thread(target=produce, args=(source,), daemon=True)
        worker.start()
        pending = []
        while True:
            item = q.get()
            end = item is StopIteration
            if not end:
                done += 1
                if item is not None:
                    pending.append(item)
            if pending and (end or len(pending) >= args.batch):
                lift(lifter, pending, args.hypotheses, args.steps, g, args.pad)
                pending = []
            if end:
                break
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        worker.join()
    if errors:
        raise errors[0]
    return {"fps": round(done / wall, 2) if wall > 0 else None, "frames": done, "wall_s": round(wall, 3),
            "cpu_ms_per_frame": round(cpu * 1e3 / done, 2) if done else None, "lifter_batch": args.batch}


def live_pass(args, fe, lifter, g) -> dict:
    """Replay at --live-fps; capture+2D in a worker thread, lifting in this one (one-slot queue between them)."""
    native, speed = _replay_speed(args)
    q: queue.Queue = queue.Queue(maxsize=1)
    errors: list[BaseException] = []
    skipped_at_start = [0]

    def produce(source):
        try:
            state = None
            while True:
                frame = source.read()
                if frame is None:
                    break
                if frame.index == args.warmup:
                    skipped_at_start[0] = source.late_frames
                persons, state = fe.process(frame, state)
                q.put((frame, persons))
                consumed = frame.index - args.warmup + 1 + source.late_frames - skipped_at_start[0]
                if frame.index >= args.warmup and consumed >= args.frames:  # measured window's video frames
                    break
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
        finally:
            q.put(None)

    latencies, finished_at, first_capture, with_person = [], [], None, 0
    with replay_from(args.source, speed, args.first) as source:
        worker = threading.Thread(target=produce, args=(source,), daemon=True)
        worker.start()
        while True:
            item = q.get()
            if item is None:
                break
            frame, persons = item
            if persons:
                lift(lifter, [persons[0].candidates], args.hypotheses, args.steps, g, args.pad)
            now = time.perf_counter()
            if frame.index < args.warmup:
                continue
            if first_capture is None:
                first_capture = frame.captured_at
            with_person += bool(persons)
            latencies.append((now - frame.captured_at) * 1e3)
            finished_at.append(now)
        worker.join()
        dropped = source.late_frames - skipped_at_start[0]
    if errors:
        raise errors[0]
    if not latencies:
        return {"fps": None, "latency_ms_median": None, "latency_ms_p95": None, "frames": 0, "dropped": dropped}
    window = finished_at[-1] - first_capture
    rate_window = finished_at[-1] - finished_at[0]  # estimates per second, as a viewer sees them arrive
    lat = np.array(latencies)
    return {"fps": round((len(lat) - 1) / rate_window, 2) if rate_window > 0 else None,
            "latency_ms_median": round(float(np.median(lat)), 2), "latency_ms_p95": round(float(np.percentile(lat, 95)), 2),
            "frames": int(len(lat)), "with_person": with_person, "dropped": int(dropped),
            "replay_fps": round(native * speed, 2), "native_fps": native, "window_s": round(window, 3)}


def app_live_pass(args, fe, lifter, pipelined: bool = False) -> dict:
    """The app's own live loop (pipeline.runner.run_live + pipeline.stages.Pipeline: capture thread, newest frame
    wins, warm starts, root and smoothing; 2D and lifting one after the other, or with pipelined=True the 2D stage
    on its own thread) on the same replay."""
    from pipeline.runner import run_live
    from pipeline.stages import Pipeline

    _, speed = _replay_speed(args)
    pipe = Pipeline(frontend=fe, lifter=lifter, hypotheses=args.hypotheses, steps=args.steps)
    kw = {"pipelined": True} if pipelined else {}
    with replay_from(args.source, speed, args.first) as source:
        stats = run_live(source, pipe, max_frames=args.warmup + args.frames, say=lambda *_: None, **kw)
    lat = np.array(stats.latencies_ms[args.warmup:])
    lift_ms = stats.stage_ms.get("lift", [])[args.warmup:]
    return {"fps": round(stats.fps, 2), "latency_ms_median": round(float(np.median(lat)), 2) if len(lat) else None,
            "latency_ms_p95": round(float(np.percentile(lat, 95)), 2) if len(lat) else None,
            "frames": int(len(lat)), "dropped": int(stats.dropped), "camera_skipped": int(stats.source_skipped),
            "lift_ms_mean": round(float(np.mean(lift_ms)), 3) if lift_ms else None,
            "how": f"pipeline.runner.run_live(pipelined={pipelined}) + pipeline.stages.Pipeline (warm start on); "
                   "fps over the whole run"}


def _replay_speed(args) -> tuple[float, float]:
    """(the video's native fps, the replay speed that delivers it at --live-fps; 1 for --live-fps 0)."""
    from pipeline.sources import VideoSource

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


def run(args) -> dict:
    from detectors.frontend import FrontEnd

    device = args.device
    if device.startswith("cuda") and args.runtime == "litert":
        args.runtime = "torch"  # LiteRT is CPU only; the GPU path runs the converted models in PyTorch
    threads = max(1, args.threads)
    args.threads_2d = args.threads_2d or max(1, threads // 2)
    args.threads_lifter = args.threads_lifter or max(1, threads // 2)
    torch.set_num_threads(args.threads_lifter)
    if args.batch <= 0:
        args.batch = 64 if device.startswith("cuda") else 32
    load_before = os.getloadavg()
    t_load = time.perf_counter()
    fe = FrontEnd(model=args.model, runtime=args.runtime, device=device, k=args.k, seed=args.seed,
                  num_threads=args.threads_2d)
    lifter, offline_lifter, lifter_info = make_lifters(args, device)
    args.pad = args.batch if lifter_info["offline"]["mode"] in ("graph", "compile") else 0
    load_s = time.perf_counter() - t_load
    start = first_person_frame(args.source, fe) if args.start == "auto" else int(args.start)
    args.first = max(0, start - args.warmup)  # first frame read; the measured ones start `warmup` frames later
    g = lifter_generator(lifter, args.seed)
    g_offline = lifter_generator(offline_lifter, args.seed)
    warm_lifter(lifter, args, g, sizes=(1,))
    warm_lifter(offline_lifter, args, g_offline, sizes=(args.batch,))

    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "gpu": _gpu_name(device),
                    "torch": torch.__version__, "python": platform.python_version()},
        "config": {"source": str(args.source), "device": device, "runtime": args.runtime, "model": args.model,
                   "hypotheses": args.hypotheses, "steps": args.steps, "k": args.k, "frames": args.frames,
                   "start": args.first + args.warmup, "warmup": args.warmup, "threads": threads, "threads_2d": args.threads_2d,
                   "threads_lifter": args.threads_lifter, "live_fps": args.live_fps, "lifter": lifter_info,
                   "load_s": round(load_s, 2)},
    }
    stages = stage_pass(args, fe, lifter, g)
    result.update(stages_ms=stages.pop("stages_ms"), stages_ms_when_run=stages.pop("stages_ms_when_run"))
    result["sequential"] = stages
    result["offline"] = offline_pass(args, fe, offline_lifter, g_offline)
    result["offline_fps"] = result["offline"]["fps"]
    if not args.no_live:
        live = live_pass(args, fe, lifter, g)
        result["live"] = live
        result.update(live_fps=live["fps"], live_latency_ms_median=live["latency_ms_median"],
                      live_latency_ms_p95=live["latency_ms_p95"], live_dropped=live["dropped"])
        for key, pipelined in (("live_app_runner", False), ("live_app_runner_pipelined", True)):
            try:
                result[key] = app_live_pass(args, fe, lifter, pipelined)
            except (ImportError, TypeError) as e:  # the app's runner (or its pipelined mode) is optional here
                result[key] = {"fps": None, "how": f"not run: {type(e).__name__}: {e}"}
    mp = {"fps": None, "how": "skipped (--no-mediapipe)"} if args.no_mediapipe else mediapipe_pass(args)
    result["mediapipe"] = mp
    result["mediapipe_fps"] = mp.get("fps")
    result["ratio_vs_mediapipe"] = (round(result["offline_fps"] / mp["fps"], 3)
                                    if mp.get("fps") and result["offline_fps"] else None)
    # CPU time per frame is far less sensitive than wall time to other processes sharing the machine
    ours_cpu = result["offline"].get("cpu_ms_per_frame")
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
    from lifter.loading import load_lifter
    from lifter.runtimes import make_variant

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
    ap.add_argument("--hypotheses", type=int, default=16)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--k", type=int, default=32, help="candidates per joint")
    ap.add_argument("--frames", type=int, default=100, help="measured frames per pass")
    ap.add_argument("--start", default="auto",
                    help="first measured frame; auto: the first frame where the detector finds a person")
    ap.add_argument("--warmup", type=int, default=3, help="frames before the measured ones (not timed)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--threads-2d", type=int, default=0)
    ap.add_argument("--threads-lifter", type=int, default=0)
    ap.add_argument("--batch", type=int, default=0, help="frames per lifter call offline (default 32 CPU, 64 CUDA)")
    ap.add_argument("--weights", default="default", help="lifter weights (name, path, checkpoint folder, random)")
    ap.add_argument("--lifter", default="auto", choices=["auto", "torch", "onnx"],
                    help="lifter runtime (auto: CPU onnx live, torch bf16 offline; CUDA torch graph bf16)")
    ap.add_argument("--dtype", default=None, choices=["fp32", "bf16", "fp16"], help="torch lifter precision")
    ap.add_argument("--lifter-mode", default=None, choices=["eager", "graph", "compile"], help="torch lifter mode")
    ap.add_argument("--live-fps", type=float, default=30.0, help="replay rate of the live pass (0: native)")
    ap.add_argument("--no-live", action="store_true")
    ap.add_argument("--no-mediapipe", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print one JSON object (else a short summary)")
    ap.add_argument("--lifter-only", action="store_true",
                    help="time only the lifter variants in --variants (random candidates) and print JSON")
    ap.add_argument("--variants", nargs="+", default=["fp32", "onnx", "bf16"],
                    help="with --lifter-only: fp32 (Lifter), fp32-fast, bf16, fp16, onnx, compile, graph, graph-bf16")
    ap.add_argument("--repeats", type=int, default=30, help="with --lifter-only: timed calls per shape")
    args = ap.parse_args(argv)
    if args.source is None:
        from pipeline.samples import sample_path

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
    print(f"offline {result['offline_fps']} FPS")
    if "live" in result:
        print(f"live {result['live_fps']} FPS, latency median {result['live_latency_ms_median']} ms, "
              f"p95 {result['live_latency_ms_p95']} ms, dropped {result['live_dropped']}")
    print(f"mediapipe {result['mediapipe_fps']} FPS ({result['mediapipe']['how']}); ratio {result['ratio_vs_mediapipe']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
