"""Command-line options shared by the app (app.py) and the batch command (pipeline/batch.py): the settings of the
pipeline and of the animation exports. argparse only parses; pipeline.config checks every value."""
from __future__ import annotations

import argparse

from pipeline.config import OPTIONS, TEMPORAL_WINDOW_SETTINGS, AppConfig, apply_options, check_run_options, load_config


def config_from_argv(argv: list[str] | None) -> AppConfig:
    """The config file named by `--config` in argv (else the default), read before the full parser is built so that
    its values become the options' defaults. Raises pipeline.config's ConfigError."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config")
    known, _ = pre.parse_known_args(argv)
    return load_config(known.config)


def add_settings_options(p: argparse.ArgumentParser, defaults: AppConfig) -> None:
    a = p.add_argument
    a("--backend", default=None, metavar="blazepose|mmpose",
      help="2D front end: blazepose, or mmpose (BlazePose's detector + the MMPose heatmap model named by mmpose.config "
           f"in the config file; docs/mmpose.md) (default: {defaults.backend})")
    a("--model", default=None, metavar="lite|full|heavy",
      help=f"BlazePose landmark model: lite is fastest, heavy most accurate (default: {defaults.model})")
    a("--hypotheses", type=int, default=None, metavar="N",
      help=f"3D hypotheses sampled per frame; more gives a better uncertainty estimate (default: {defaults.hypotheses})")
    a("--steps", type=int, default=None, metavar="S",
      help=f"DDIM denoising steps per frame; more is slower and smoother (default: {defaults.steps})")
    a("--device", default=None, help=f"cpu or cuda; cuda needs --runtime torch (default: {defaults.device})")
    a("--runtime", default=None, metavar="litert|torch|onnx",
      help=f"how BlazePose runs: litert (TFLite interpreter, CPU), torch or onnx (default: {defaults.runtime})")
    a("--fov", type=float, default=None, metavar="DEG",
      help=f"horizontal field of view of the camera in degrees, used for the root trajectory (default: {defaults.fov:g})")
    a("--camera-pitch", type=float, default=None, metavar="DEG",
      help="degrees the camera looks down (default: estimated from the people in view)")
    a("--camera-roll", type=float, default=None, metavar="DEG",
      help="degrees the camera is turned counter-clockwise about its viewing direction (default: estimated)")
    a("--ellipsoids", default=None, metavar="off|50|90",
      help=f"uncertainty ellipsoids in the 3D view: off, 50 or 90 percent (key e cycles) (default: {defaults.view.ellipsoids})")
    a("--config", default=None, metavar="FILE", help="YAML settings file (default: configs/app.yaml)")
    a("--lifter", default=None, metavar="NAME|PATH",
      help=f"frame lifter weights (default: {defaults.lifter}); naming one lifts each frame alone with it unless "
           "--lifter-mode temporal is given too")
    a("--lifter-mode", default=None, choices=["frame", "temporal"],
      help=f"frame: lift each frame alone; temporal: each person's window of recent frames with the temporal "
           f"lifter (default: {defaults.lifter_mode})")
    a("--temporal-lifter", default=None, metavar="NAME|PATH",
      help=f"temporal lifter weights for --lifter-mode temporal (default: {defaults.temporal_lifter})")
    a("--temporal-window", default=None, choices=list(TEMPORAL_WINDOW_SETTINGS),
      help="the temporal lifter's window: causal (the newest frame is the output), lag1 (the frame before it: one "
           "frame of future, one frame of added latency), centred (half a window of future, for videos), auto (causal "
           "live, centred for a file processed offline) "
           f"(default: {defaults.temporal_window})")
    a("--skeleton-names", default=None, metavar="h36m|mixamo|unreal",
      help="bone names in the BVH and glTF exports, to drop onto common rigs (docs/export.md) "
           f"(default: {defaults.skeleton_names})")
    a("--max-people", type=int, default=None, metavar="N",
      help=f"people followed at once, each with a stable id (1: the single-person tracker) (default: {defaults.max_people})")
    a("--person", type=int, default=None, metavar="ID", help="keep only the person with this track id in every output")
    a("--seed", type=int, default=None, metavar="N",
      help="seed of the candidate sampling, from the start of each source: the same input gives the same outputs "
           "(default: random)")
    a("--no-smoothing", action="store_true", help="turn the One-Euro filter on the 3D output off")
    a("--no-warm-start", action="store_true", help="start every frame's diffusion from noise, not the previous pose")
    a("--max-frames", type=int, default=None, metavar="N", help="stop after N processed frames")
    a("--verbose", action="store_true", help="print the full traceback on errors")


def apply_settings(cfg: AppConfig, args: argparse.Namespace) -> AppConfig:
    """Command-line values override the config file's; pipeline.config checks them (ConfigError names the option)."""
    apply_options(cfg, **{name: getattr(args, name, None) for name in OPTIONS})
    check_run_options(max_frames=args.max_frames)
    if args.no_smoothing:
        cfg.smoothing.enabled = False
    if args.no_warm_start:
        cfg.warm_start.enabled = False
    return cfg
