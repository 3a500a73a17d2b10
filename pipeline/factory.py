"""THE one place a pipeline is built from a config: the app, the Python API (pipeline.estimator), the bench, the
soak test and the tests all call `build_pipeline(cfg)`.

    cfg = apply_options(load_config(), model="lite", hypotheses=8)
    pipeline = build_pipeline(cfg)          # pipeline.stages.Pipeline: front end + lifter (fastest runtime)
    result = pipeline.process(frame)        # core.records.FrameResult
"""
from __future__ import annotations

import sys
import time
from typing import Callable

import torch

from core.errors import ConfigError
from core.protocols import FrontEnd
from core.skeleton import NUM_JOINTS
from detectors.frontend import FrontEnd as BlazePoseFrontEnd
from detectors.mmpose_backend import MMPoseBackend, MMPoseFrontEnd
from detectors.multi import MultiFrontEnd
from detectors.pose_detector import DetectorConfig, PoseDetector
from detectors.onnx_export import onnx_dir
from lifter.api import Lifter, resolve_weights
from lifter.loading import UNTRAINED, LifterWeightsError, load_lifter
from lifter.onnx_export import MAX_EXPORT_STEPS, OnnxRunner, export_seconds, sampler_path
from lifter.runtimes import fastest, make_variant, with_window_runtime
from lifter.temporal import is_temporal, window_slots
from pipeline.config import AppConfig, check_device, max_wait_for, temporal_window_for
from pipeline.stages import Pipeline


def say_stderr(msg: str) -> None:
    try:
        print(f"diffmocap: {msg}", file=sys.stderr, flush=True)
    except (OSError, ValueError):   # the terminal is gone (SIGHUP) or stderr closed: the outputs still matter
        pass


def build_frontend(cfg: AppConfig) -> FrontEnd:
    """The 2D stage cfg.backend names: BlazePose (detector + landmark model, tracked ROIs; up to cfg.max_people
    people, or MediaPipe's single-person graph with max_people 1) or MMPose (BlazePose's detector + an MMPose heatmap
    model, cfg.mmpose; one person)."""
    if cfg.backend == "mmpose":
        if not cfg.mmpose.config:
            raise ConfigError("--backend mmpose needs mmpose.config (an MMPose model config) in the config file")
        backend = MMPoseBackend(cfg.mmpose.config, cfg.mmpose.checkpoint or None, device=cfg.device,
                                k=cfg.candidates, seed=cfg.seed)
        detector = PoseDetector.load(runtime=cfg.runtime, device=cfg.device, num_threads=cfg.litert_threads,
                                     config=DetectorConfig())
        return MMPoseFrontEnd(backend, detector)
    if cfg.max_people == 1:
        return BlazePoseFrontEnd(model=cfg.model, runtime=cfg.runtime, device=cfg.device, k=cfg.candidates,
                                 num_threads=cfg.litert_threads, seed=cfg.seed, keep_sides=cfg.keep_sides)
    return MultiFrontEnd(model=cfg.model, runtime=cfg.runtime, device=cfg.device, k=cfg.candidates,
                         num_threads=cfg.litert_threads, seed=cfg.seed, max_people=cfg.max_people,
                         scan_period_s=cfg.people.scan_period_s, max_lost_s=cfg.people.max_lost_s,
                         extra_model=cfg.people.extra_model, full_people=cfg.people.full_people,
                         keep_sides=cfg.keep_sides)


def build_lifter(cfg: AppConfig, say: Callable[[str], None] = say_stderr, variant: str | None = None) -> Lifter:
    """cfg.lifter's weights on the measured-fastest runtime for cfg.device (ONNX Runtime on the CPU, CUDA graphs +
    bf16 on a GPU; same results, docs/speed.md), or on `variant` (lifter.runtimes.VARIANTS; the bench's choice).
    The runtime is run once here as the pipeline will run it, so its one-time export/capture happens before the
    first frame and, if it cannot (e.g. an unwritable or full cache), the plain PyTorch lifter is used."""
    if cfg.lifter_mode == "temporal":
        return build_temporal_lifter(cfg, say, fast=variant in (None, "onnx"))
    try:
        lifter, source = load_lifter(cfg.lifter, device=cfg.device)
    except LifterWeightsError as e:
        raise ConfigError(f"--lifter {cfg.lifter}: {e}") from None
    if source.startswith(UNTRAINED):
        say(f"lifter weights {resolve_weights(cfg.lifter)} not found: using an UNTRAINED lifter "
            "(3D poses will be meaningless)")
    try:
        fast = fast_lifter(lifter, cfg, say) if variant is None else \
            make_variant(lifter, variant, cfg.device, threads=cfg.torch_threads)
        candidates = (torch.zeros(1, NUM_JOINTS, cfg.candidates, 2), torch.ones(1, NUM_JOINTS, cfg.candidates))
        starts = [None] + ([cfg.warm_start.init_t] if cfg.warm_start.enabled else [])
        runner = getattr(fast, "runner", None)
        missing = [s for s in starts if isinstance(runner, OnnxRunner)
                   and not sampler_path(runner.model, cfg.steps, s).is_file()]
        if missing:
            say(f"preparing the ONNX lifter for {cfg.steps} DDIM steps: a one-time export of {len(missing)} graph(s), "
                f"about {len(missing) * export_seconds(cfg.steps):.0f} s on a 2-core CPU (cached in {onnx_dir()})")
        t0 = time.perf_counter()
        fast.sample(*candidates, n=cfg.hypotheses, steps=cfg.steps)
        if cfg.warm_start.enabled:
            fast.sample(*candidates, n=cfg.hypotheses, steps=cfg.steps, init=torch.zeros(1, NUM_JOINTS, 3),
                        init_t=cfg.warm_start.init_t)
        if missing:
            say(f"ONNX lifter ready in {time.perf_counter() - t0:.1f} s")
        return fast
    except (OSError, RuntimeError, ImportError) as e:
        say(f"fast lifter path unavailable ({fast_path_error(e)}); using the PyTorch lifter")
        return lifter


def fast_path_error(e: Exception) -> str:
    """Why a fast lifter path could not be prepared: a file-system error says what could not be written, in words
    (no raw exception name in the user's log)."""
    if isinstance(e, OSError) and e.strerror:
        return f"cannot write {e.filename or 'the ONNX cache'}: {e.strerror}"
    return f"{type(e).__name__}: {e}"


def build_temporal_lifter(cfg: AppConfig, say: Callable[[str], None] = say_stderr, fast: bool = True) -> Lifter:
    """cfg.temporal_lifter's weights (a temporal model, lifter.temporal; its window runs per person in
    pipeline.stages) on onnxruntime on the CPU (lifter.runtimes.with_window_runtime; exported once and run once
    here, before the first frame), else (fast False, a GPU, or where that cannot be prepared) on plain PyTorch."""
    try:
        lifter, source = load_lifter(cfg.temporal_lifter, device=cfg.device)
    except LifterWeightsError as e:
        raise ConfigError(f"--temporal-lifter {cfg.temporal_lifter}: {e}") from None
    if source.startswith(UNTRAINED) or not is_temporal(lifter):
        raise ConfigError(f"--lifter-mode temporal: {resolve_weights(cfg.temporal_lifter)} is not a temporal lifter "
                          "(train one with `python -m lifter.train_temporal`, or use --lifter-mode frame)")
    if not fast or cfg.device.startswith("cuda") or cfg.steps > MAX_EXPORT_STEPS:
        return lifter
    try:
        onnx = with_window_runtime(lifter, threads=cfg.torch_threads)
        runner, f = onnx.window_runner, lifter.cfg.window
        tokens = runner.encode(torch.zeros(1, NUM_JOINTS, cfg.candidates, 2), torch.ones(1, NUM_JOINTS, cfg.candidates))
        # Every output slot a source may use (auto: causal live, centred offline; run_source picks per source; causal
        # also where a live look-ahead may wait too long, max_wait_for).
        windows = {temporal_window_for(cfg.temporal_window, live) for live in (True, False)}
        for window in windows | ({"causal"} if max_wait_for(cfg, live=True) is not None else set()):
            runner.sample(tokens.expand(f, -1, -1), torch.zeros(f), torch.zeros(f, dtype=torch.bool),
                          torch.zeros(cfg.hypotheses, NUM_JOINTS - 1, 3), cfg.steps, window_slots(f, window)[0])
        return onnx
    except (OSError, RuntimeError, ImportError) as e:
        say(f"fast temporal lifter path unavailable ({fast_path_error(e)}); using the PyTorch lifter")
        return lifter


def fast_lifter(lifter: Lifter, cfg: AppConfig, say: Callable[[str], None]) -> Lifter:
    """The measured-fastest runtime (lifter.runtimes.fastest), except where its one-time preparation cannot pay
    off: on the CPU, more than MAX_EXPORT_STEPS steps run on the eager PyTorch runner (same results, no export)."""
    if not cfg.device.startswith("cuda") and cfg.steps > MAX_EXPORT_STEPS:
        say(f"{cfg.steps} DDIM steps: the lifter runs on PyTorch (the ONNX export pays off up to "
            f"{MAX_EXPORT_STEPS} steps and would take about {export_seconds(cfg.steps) / 60:.0f} min here)")
        return make_variant(lifter, "fp32-fast", cfg.device, threads=cfg.torch_threads)
    return fastest(lifter, cfg.device, threads=cfg.torch_threads)


def set_source(pipeline: Pipeline, cfg: AppConfig, live: bool) -> None:
    """Run `pipeline` as the app runs a live source (webcam, stream) or a file: the temporal window `auto` resolves
    (causal live, centred for a file), a live look-ahead is bounded in time (max_wait_for) and a file may smooth with
    the frames after each one (smoothing.offline)."""
    pipeline.temporal_window = temporal_window_for(cfg.temporal_window, live)
    pipeline.max_wait = max_wait_for(cfg, live)
    pipeline.offline = not live


def build_pipeline(cfg: AppConfig, say: Callable[[str], None] = say_stderr, frontend: FrontEnd | None = None,
                   lifter=None) -> Pipeline:
    """Front end + lifter + per-frame glue from cfg. frontend / lifter: use these instead (tests, fakes, or models
    already loaded: pipeline.batch_worker builds a fresh pipeline per input on its loaded models)."""
    if frontend is None or lifter is None:
        check_device(cfg)   # before any model loads
    torch.set_num_threads(cfg.torch_threads)
    if frontend is not None and cfg.seed is not None and isinstance(getattr(frontend, "generator", None),
                                                                     torch.Generator):
        frontend.generator.manual_seed(cfg.seed)   # a new stream samples as in a fresh process with this seed
    frontend = frontend if frontend is not None else build_frontend(cfg)
    lifter = lifter if lifter is not None else build_lifter(cfg, say)
    return Pipeline(frontend=frontend, lifter=lifter, hypotheses=cfg.hypotheses, steps=cfg.steps,
                    fov=cfg.fov, warm_start=cfg.warm_start, smoothing=cfg.smoothing, bones=cfg.bones,
                    reprojection=cfg.reprojection, definition_sd=cfg.joint_definition_mm / 1000, world=cfg.world,
                    camera_pitch=cfg.camera_pitch, camera_roll=cfg.camera_roll, lifter_mode=cfg.lifter_mode,
                    person=cfg.person, temporal_rate=cfg.temporal_rate,
                    temporal_window=temporal_window_for(cfg.temporal_window, live=True),
                    max_wait=max_wait_for(cfg, live=True))
