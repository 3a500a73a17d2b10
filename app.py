"""diffmocap: webcam or video -> 3D human motion with per-joint uncertainty.

    python app.py                                   # webcam 0 (no webcam / no display: the sample media -> outputs/)
    python app.py --source clip.mp4 --no-window --render out.mp4 --export-json out.jsonl --export-bvh out.bvh

Exit codes: 0 done; 1 error, or an output could not be written (one line; --verbose for the traceback); 2 bad
command line or config (an output that would overwrite an input too); 3 the source failed mid-stream (outputs so far
were kept); 130 interrupted (Ctrl-C, SIGTERM, SIGHUP or SIGQUIT; outputs were finalised).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import traceback
from pathlib import Path

import numpy as np

from core.errors import ConfigError, ExportError, SampleMissing, SourceError, UserError
from core.outputs import NO_FRAMES, OutputFile, atomic_write, check_no_overlap, summary_lines
from export.sinks import check_writable
from lifter.api import resolve_weights
from pipeline.cli import add_settings_options, apply_settings, config_from_argv
from pipeline.config import DEFAULT_CONFIG, AppConfig, check_device, check_run_options
from pipeline.factory import build_pipeline, say_stderr as say
from pipeline.outputs import INTERRUPTS, Outputs, finish_outputs, open_consumers, run_source, source_warnings
from pipeline.runner import hold
from pipeline.samples import sample_path
from pipeline.sources import IMAGE_EXTS, open_source, parse_spec
from visualize.controls import Controls, has_display
from visualize.render import is_folder_target

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_SOURCE_LOST, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
SAMPLES = ("messi5.jpg", "vtest.avi")


def build_parser(defaults) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="app.py",
        description="Turn a webcam or video into 3D human motion: BlazePose 2D heatmaps -> joint candidates -> "
                    "diffusion lifter -> N 3D hypotheses -> mean pose with calibrated 90 percent uncertainty ellipsoids.",
        epilog="Defaults come from configs/app.yaml (or --config FILE). Keys in the windows: q quit, space pause, "
               "h hypotheses on/off, e ellipsoids off/50/90 percent, r reset view. Exit codes: 0 done, 1 error, 2 bad "
               "arguments/config, 3 source failed mid-stream (outputs kept), 130 interrupted (outputs finalised).",
    )
    a = p.add_argument
    a("--source", default=None, help="webcam index (0, 1, ...), video file, image file, folder of images, or a "
      "network stream (rtsp://, http(s)://: an IP camera) "
      f"(default: {defaults.source}; with no webcam or no display the bundled sample media are processed instead)")
    add_settings_options(p, defaults)
    a("--no-window", action="store_true", help="do not open windows (headless); implied when there is no display")
    a("--render", default=None, metavar="OUT.mp4",
      help="write the 2D overlay and the 3D view side by side to a video (.mp4 .m4v .mov .avi .mkv; a PNG for an "
           "image source; a folder such as out/ gets one PNG per frame)")
    a("--export-json", default=None, metavar="F", help="write every frame's result as JSON Lines")
    a("--export-bvh", default=None, metavar="F",
      help="write each person's motion as BVH: the first person's to F, each later track's to F_id<ID>.bvh "
           "(with --max-people 1: F, following the one person)")
    a("--export-gltf", default=None, metavar="F.glb",
      help="write the motion of the tracked person as a skinned, animated glTF 2.0 binary (docs/export.md)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--live", action="store_true",
                      help="live mode: newest frame wins, stale frames are dropped (bounded latency); a video file "
                           "is replayed at its native frame rate as a webcam would deliver it")
    mode.add_argument("--offline", action="store_true",
                      help="offline mode: every frame in order with a progress bar (default for files)")
    a("--replay-speed", type=float, default=None, metavar="X",
      help="with --live on a video: replay at X times its native frame rate (latency tests)")
    a("--reconnect", action="store_true", help="when a camera stops delivering, reconnect with backoff instead of stopping")
    a("--outputs", default=None, metavar="DIR",
      help=f"folder for outputs written automatically when running headless (default: {defaults.outputs})")
    a("--stats-json", default=None, metavar="F", help="write run statistics (FPS, latency, dropped, stage times) as JSON")
    return p


def apply_args(cfg, args) -> None:
    """Command-line values override the config file's; pipeline.config checks them (ConfigError names the option)."""
    apply_settings(cfg, args)
    check_run_options(replay_speed=args.replay_speed, render=args.render)
    if args.reconnect:
        cfg.live.reconnect = True
    check_device(cfg)


def check_outputs(paths, source=None, inputs=()) -> None:
    """Before processing: refuse outputs that would overwrite an input or each other (ConfigError, exit 2), a render
    format the renderer cannot write (exit 2), and outputs that cannot be written (ExportError, exit 1).

    paths: (option, path) pairs, the render target first; source: the opened Source (its files are inputs);
    inputs: (what, path) pairs of other input files (the config file, the lifter weights)."""
    render_option = paths[0][0]
    outputs = [(option, Path(p), option == render_option and is_folder_target(p)) for option, p in paths
               if p is not None]
    check_no_overlap(outputs, [*source_inputs(source), *inputs])
    for option, p, folder in outputs:
        check_writable(Path(p) / "000000.png" if folder else p)


def output_options(outputs: Outputs, stats_json) -> list[tuple[str, object]]:
    return [("--render", outputs.render), ("--export-json", outputs.json), ("--export-bvh", outputs.bvh),
            ("--export-gltf", outputs.gltf), ("--stats-json", stats_json)]


def setting_inputs(cfg, args) -> list[tuple[str, Path]]:
    """Input files besides the source: the config file and the lifter weights (an output must never replace them)."""
    found = [("the config file", Path(args.config) if args.config else DEFAULT_CONFIG),
             ("the lifter weights", resolve_weights(cfg.lifter))]
    if cfg.mmpose.config:
        found += [("the MMPose config", Path(cfg.mmpose.config))]
    if cfg.mmpose.checkpoint:
        found += [("the MMPose checkpoint", Path(cfg.mmpose.checkpoint))]
    return [(what, p) for what, p in found if p.is_file()]


def source_inputs(source) -> list[tuple[str, Path]]:
    """The files a source reads: a video or an image, or a folder and the pictures in it."""
    if source is None or source.kind not in ("image", "video", "replay", "folder"):
        return []
    if source.kind == "folder":
        return [("the source folder", Path(source.name)), *(("a source picture", f) for f in source.files)]
    return [("the source", Path(source.name))]


def run_one(cfg, source, pipeline, outputs: Outputs, window, live, args) -> int:
    """Process one opened source into the requested outputs; returns an exit code. However the run ends (done,
    error, full disk, interrupt), every output is finished and the summary says which were written."""
    controls = Controls(hypotheses=cfg.view.hypotheses, ellipsoids=cfg.view.ellipsoids)
    files = []
    try:
        with contextlib.ExitStack() as stack:
            stack.callback(source.close)
            opened = open_consumers(stack, cfg, source, outputs, live=live, window=window, controls=controls,
                                    say=say)
            consumers, presenter, files = opened.consumers, opened.presenter, opened.files
            say(f"{'live' if live else 'offline'}: {source.describe()}")
            stats = run_source(cfg, source, pipeline, consumers, live=live, controls=controls,
                               max_frames=args.max_frames, say=say)
            if (source.kind == "image" and presenter is not None and presenter.window
                    and not (stats.quit or stats.interrupted or stats.error)):
                finish_outputs(files)   # the outputs are complete before the picture is held on screen
                report_outputs(files)
                say("showing the result: press q or close a window to quit")
                hold(consumers, controls)
    except BaseException:
        report_outputs(files)
        if args.stats_json:
            say(f"NOT written: {args.stats_json} (the run did not finish)")
        raise
    say(stats.summary())
    views_skipped = presenter.skipped_views if presenter is not None else 0
    if views_skipped:
        say(f"the windows skipped drawing {views_skipped} late frames (all were estimated and exported)")
    for warning in source_warnings(source):
        say(warning)
    if args.stats_json:
        files.append(write_stats(args.stats_json, stats, cfg, source, views_skipped, files))
    report_outputs(files)
    failed = [o.failure for o in files if o.failure and o.failure != NO_FRAMES]
    if failed:
        say(f"error: {failed[0]}")
        return EXIT_ERROR
    if stats.interrupted:
        how = f" ({INTERRUPTS.received})" if INTERRUPTS.received else ""
        say(f"interrupted{how}; outputs were finalised")
        return EXIT_INTERRUPTED
    if stats.error:
        say(f"source failed: {stats.error}; outputs so far were kept")
        return EXIT_SOURCE_LOST
    if not all(o.written for o in files) and not stats.quit:
        say("error: no frame was processed, so nothing was written")
        return EXIT_ERROR
    return EXIT_OK


def report_outputs(outputs) -> None:
    """Say once, per output, whether it was written (and how many frames) or not (and why)."""
    for line in summary_lines([o for o in outputs if not getattr(o, "reported", False)]):
        say(line)
    for o in outputs:
        o.reported = True


def write_stats(path, stats, cfg, source, views_skipped: int = 0, outputs=()) -> OutputFile:
    """The run statistics as JSON (atomically); returns it as an output for the summary."""
    stages = {k: {"median_ms": float(np.median(v)), "mean_ms": float(np.mean(v))} for k, v in stats.stage_ms.items()}
    data = {"source": source.name, "kind": source.kind, "mode": stats.mode, "model": cfg.model,
            "hypotheses": cfg.hypotheses, "steps": cfg.steps, "frames": stats.frames, "wall_s": stats.wall_s,
            "fps": stats.fps, "dropped": stats.dropped, "source_skipped": stats.source_skipped,
            "latency_median_ms": stats.latency(50) if stats.latencies_ms else None,
            "latency_p95_ms": stats.latency(95) if stats.latencies_ms else None, "stages": stages,
            "views_skipped": views_skipped, "error": stats.error, "interrupted": stats.interrupted,
            "outputs": [{"path": str(o.path), "written": o.written, "frames": o.frames, "failure": o.failure}
                        for o in outputs]}
    out = OutputFile()
    out.path, out.unit = Path(path), "frames"
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(data, indent=1))
        out.written, out.frames = True, stats.frames
    except (ExportError, OSError) as e:
        out.fail(str(e) if isinstance(e, ExportError) else f"cannot write {path}: {e.strerror or e}")
    return out


def outputs_for(folder: Path, stem: str, image: bool) -> Outputs:
    return Outputs(render=folder / f"{stem}_render.{'png' if image else 'mp4'}", json=folder / f"{stem}.jsonl",
                   bvh=folder / f"{stem}.bvh")


def run_samples(cfg, args, why: str) -> int:
    """No webcam or no display: process the sample media into the outputs folder."""
    folder = Path(cfg.outputs)
    say(f"{why}: processing the sample media instead, outputs go to {folder}/")
    paths = []
    for name in SAMPLES:
        try:
            paths.append(sample_path(name))
        except SampleMissing as e:
            say(str(e))
    if not paths:
        raise RuntimeError("no sample media available; run `python -m pipeline.samples --fetch`")
    pipeline = build_pipeline(cfg)
    code = EXIT_OK
    for path in paths:
        source = open_source(path)
        outputs = outputs_for(folder, Path(path).stem, source.kind == "image")
        check_outputs(output_options(outputs, args.stats_json), source, setting_inputs(cfg, args))
        pipeline.reset()
        code = run_one(cfg, source, pipeline, outputs, window=False, live=False, args=args)
        if code != EXIT_OK:
            return code
    return code


def mute_dead_terminal() -> None:
    """After SIGHUP a terminal's output is gone and writing to it fails (EIO): send stdout and stderr that went to a
    terminal to /dev/null, so the progress bar and the summary cannot stop the outputs from being finished."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    for fd in (1, 2):
        try:
            if os.isatty(fd):
                os.dup2(null, fd)
        except OSError:
            pass
    os.close(null)


def main(argv: list[str] | None = None) -> int:
    INTERRUPTS.on_hangup = mute_dead_terminal
    INTERRUPTS.install()

    try:
        cfg = config_from_argv(argv)
    except ConfigError as e:
        say(f"error: {e}")
        return EXIT_USAGE
    args = build_parser(AppConfig() if cfg is None else cfg).parse_args(argv)
    try:
        apply_args(cfg, args)
        return run(cfg, args)
    except ConfigError as e:
        if args.verbose:
            traceback.print_exc()
        say(f"error: {e}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        say(f"interrupted ({INTERRUPTS.received})" if INTERRUPTS.received else "interrupted")
        return EXIT_INTERRUPTED
    except Exception as e:  # noqa: BLE001 - one line for the user; the traceback with --verbose
        if args.verbose:
            traceback.print_exc()
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        prefix = "" if isinstance(e, UserError) else f"{type(e).__name__}: "
        hint = "" if args.verbose else " (run with --verbose for details)" if prefix else ""
        say(f"error: {prefix}{msg}{hint}")
        return EXIT_ERROR


def run(cfg, args) -> int:
    source_given = args.source is not None
    display = has_display()
    window = display and not args.no_window
    if not display and not args.no_window:
        say("no display (DISPLAY/WAYLAND_DISPLAY unset): running headless")
    target = parse_spec(cfg.source)
    is_webcam = isinstance(target, int)
    outputs = Outputs(render=args.render, json=args.export_json, bvh=args.export_bvh, gltf=args.export_gltf)
    outputs_requested = bool(outputs)

    if is_webcam and not source_given and not outputs_requested:
        if not display:
            return run_samples(cfg, args, "no display for the webcam view")
        try:
            source = open_source(target, webcam_timeout=cfg.live.webcam_timeout_s)
        except SourceError as e:
            return run_samples(cfg, args, f"no webcam ({e})")
    else:
        live_replay = args.live and isinstance(target, Path)
        source = open_source(target, replay=live_replay and not target.is_dir() and parse_kind(target) == "video",
                             speed=args.replay_speed or 1.0, webcam_timeout=cfg.live.webcam_timeout_s)

    try:
        if not window and not outputs_requested:
            stem = "webcam" if is_webcam else "stream" if isinstance(target, str) else target.stem or "output"
            outputs = outputs_for(Path(cfg.outputs), stem, source.kind == "image")
            say(f"headless and no outputs requested: writing {outputs.render}, {outputs.json}, {outputs.bvh}")
        check_outputs(output_options(outputs, args.stats_json), source, setting_inputs(cfg, args))
        live = source.live if not (args.live or args.offline) else args.live
        if live and source.kind in ("image", "folder"):
            live = False
        t0 = time.perf_counter()
        pipeline = build_pipeline(cfg)
        say(f"models ready in {time.perf_counter() - t0:.1f} s (BlazePose {cfg.model}, {cfg.runtime}, {cfg.device})")
    except BaseException:
        source.close()
        raise
    return run_one(cfg, source, pipeline, outputs, window=window, live=live, args=args)


def parse_kind(target) -> str:
    return "image" if Path(str(target)).suffix.lower() in IMAGE_EXTS else "video"


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C while starting up, before main() catches it: nothing to finalise yet
        say("interrupted")
        sys.exit(EXIT_INTERRUPTED)
