"""One source through the pipeline into its outputs: the part the app (app.py, one source) and the batch command
(pipeline/batch.py, many sources on Ray workers) share. Which sinks a run writes (render, JSON Lines, BVH, glTF),
opened on the caller's ExitStack so they are finalised however the run ends (`finish_outputs`: the frame sinks cut
to the same frames, each file verified and renamed, what was written recorded on it; core/outputs.py), and the loop
that runs them (pipeline.runner, live or offline)."""
from __future__ import annotations

import contextlib
import itertools
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from core.errors import ExportError, SourceError
from export.sinks import BvhSink, GltfSink, JsonlSink, align_frames
from export.tracks import TrackBvhSink
from pipeline.config import AppConfig
from pipeline.factory import say_stderr, set_source
from pipeline.runner import RunStats, run_live, run_offline
from pipeline.sources import open_source
from visualize.controls import KEY_HELP, Controls
from visualize.present import Presenter
from visualize.render import RenderWriter, make_view


@dataclass
class Outputs:
    """The files one source is turned into; None: not written."""
    render: str | Path | None = None
    json: str | Path | None = None
    bvh: str | Path | None = None
    gltf: str | Path | None = None

    def paths(self) -> list:
        return [self.render, self.json, self.bvh, self.gltf]

    def __bool__(self) -> bool:
        return any(p is not None for p in self.paths())


@dataclass
class Opened:
    consumers: list
    presenter: Presenter | None
    render_path: Path | None     # the render's real path (an image source renders a PNG)
    files: list = field(default_factory=list)   # every file output (core.outputs.OutputFile), frame sinks first


class Interrupts:
    """Every catchable signal that ends a run (Ctrl-C, kill, a closed terminal or dropped SSH connection, Ctrl-\\)
    ends it the same way: KeyboardInterrupt, caught by the runner, then the outputs are finalised (the app exits 130).
    While outputs are being finished (`deferred`) a signal is only noted, so it cannot cut a file short."""

    SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")

    def __init__(self):
        self.received: str | None = None
        self._defer = 0
        self.on_hangup: Callable[[], None] | None = None

    def install(self) -> None:
        for name in self.SIGNALS:
            if hasattr(signal, name):
                try:
                    signal.signal(getattr(signal, name), self._handle)
                except ValueError:  # not the main thread (a test, a worker): leave signals alone
                    return

    def _handle(self, signum, frame) -> None:
        self.received = signal.Signals(signum).name
        if signum == getattr(signal, "SIGHUP", None) and self.on_hangup is not None:
            self.on_hangup()
        if not self._defer:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def deferred(self):
        self._defer += 1
        try:
            yield
        finally:
            self._defer -= 1


INTERRUPTS = Interrupts()


def finish_outputs(files) -> None:
    """Close every file output, the frame sinks first cut to the frames all of them hold; a failure is recorded on
    the output (its `failure`), never raised, so every output gets its chance to be finished."""
    with INTERRUPTS.deferred():
        align_frames(files)
        for o in files:
            try:
                o.close()
            except ExportError as e:
                o.fail(str(e))
            except OSError as e:   # a writer's own error: still one line in the summary
                o.fail(f"cannot write {o.path}: {e.strerror or e}")


def open_consumers(stack: contextlib.ExitStack, cfg: AppConfig, source, outputs: Outputs, *, live: bool,
                   window: bool = False, controls: Controls | None = None,
                   say: Callable[[str], None] = say_stderr) -> Opened:
    """The sinks (and the window / render presenter) for `outputs`; `stack` finishes them (finish_outputs) and then
    closes the windows, however the run ends. Afterwards each of `Opened.files` says whether it was written."""
    opened = Opened([], None, None)

    def close_all():
        finish_outputs(opened.files)
        if opened.presenter is not None:
            with INTERRUPTS.deferred():
                opened.presenter.close()

    stack.callback(close_all)
    if outputs.json:
        # which weights made the 3D: results of `open` and `default` differ by 8-14 mm on real footage
        meta = {"source": source.name, "fps": source.fps, "model": cfg.model, "hypotheses": cfg.hypotheses,
                "steps": cfg.steps, "joint_definition_mm": cfg.joint_definition_mm, "lifter": str(cfg.lifter_weights),
                "lifter_mode": cfg.lifter_mode}
        opened.files.append(JsonlSink(outputs.json, meta=meta))
    # BVH: one file per track id (export.tracks); following one person (max_people 1), one file that moves on to
    # the person's new id after a loss (export.sinks.PersonFollower). glTF: one file, one person.
    bvh_sink = TrackBvhSink if cfg.max_people > 1 else BvhSink
    for path, sink in ((outputs.bvh, bvh_sink), (outputs.gltf, GltfSink)):
        if path:
            opened.files.append(sink(path, fps=source.fps, names=cfg.skeleton_names))
    opened.consumers.extend(opened.files)
    if window or outputs.render:
        writer = None
        if outputs.render:
            writer = RenderWriter(outputs.render, fps=source.fps, single=source.kind == "image")
            opened.render_path = writer.path
            opened.files.append(writer)
        controls = controls or Controls(hypotheses=cfg.view.hypotheses, ellipsoids=cfg.view.ellipsoids)
        view = make_view(cfg.view.width, cfg.view.height, visible=window, controls=controls, say=say)
        opened.presenter = Presenter(view, controls, window=window, writer=writer, hypotheses=cfg.hypotheses,
                                     steps=cfg.steps, live=live, say=say)
        opened.consumers.append(opened.presenter)
        if window:
            say(KEY_HELP)
    return opened


def run_source(cfg: AppConfig, source, pipeline, consumers, *, live: bool, controls=None,
               max_frames: int | None = None, progress: bool = True,
               say: Callable[[str], None] = say_stderr) -> RunStats:
    """Run the source through the pipeline into the consumers in the chosen mode (settings from cfg)."""
    set_source(pipeline, cfg, live)
    if live:
        return run_live(source, pipeline, consumers, controls=controls, reconnect=cfg.live.reconnect,
                        reconnect_max_s=cfg.live.reconnect_max_s, max_frames=max_frames, say=say,
                        pipelined=cfg.live.pipelined)
    settle_world(cfg, source, pipeline, say)
    return run_offline(source, pipeline, consumers, controls=controls, max_frames=max_frames, say=say,
                       pipelined=cfg.offline.pipelined, progress=progress)


def settle_world(cfg: AppConfig, source, pipeline, say: Callable[[str], None] = say_stderr) -> int:
    """Offline video file: the world stage's look-ahead (Pipeline.settle_world) on its first cfg.world.settle_s
    seconds, read from a second opening of the file. Not for live sources, images or streams (nothing to look ahead
    at), nor when the user gave pitch and roll. Returns the frames used (0: none)."""
    world = cfg.world
    if (not world.enabled or world.settle_s <= 0 or source.kind != "video" or not Path(source.name).is_file()
            or (cfg.camera_pitch is not None and cfg.camera_roll is not None)
            or not hasattr(pipeline, "settle_world")):
        return 0
    try:
        ahead = open_source(source.name)
    except SourceError as e:
        say(f"warning: the world's look-ahead was skipped ({e})")
        return 0
    try:
        return pipeline.settle_world(itertools.takewhile(lambda f: f.timestamp < world.settle_s,
                                                         iter(ahead.read, None)))
    except Exception as e:  # noqa: BLE001 - a broken file or a failing stage: the run proper meets and reports it
        say(f"warning: the world's look-ahead stopped early ({type(e).__name__}: {e})")
        return 0
    finally:
        ahead.close()


def source_warnings(source) -> list[str]:
    """What the source skipped or lost on the way (undecodable files or frames, an early end)."""
    out = []
    if source.bad_files:
        out.append(f"warning: {source.name}: skipped {source.bad_files} image files that could not be decoded")
    if source.bad_frames:
        out.append(f"warning: {source.name}: skipped {source.bad_frames} frames that could not be decoded "
                   "(corrupt data)")
    if source.truncated:
        out.append(f"warning: {source.name} ended early: only {source.delivered} frames could be decoded "
                   "(truncated or corrupt file); the outputs hold those frames")
    if source.videos_skipped:
        out.append(f"warning: {source.name}: skipped {source.videos_skipped} video files in the folder (a folder is "
                   "read as pictures; pass a video itself as --source)")
    if not source.delivered and source.late_frames:
        out.append(f"warning: {source.name}: the replay skipped all {source.late_frames} frames (--replay-speed "
                   "too fast for the reader); nothing was processed")
    return out
