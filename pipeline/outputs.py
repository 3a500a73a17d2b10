"""One source through the pipeline into its outputs: the part the app (app.py, one source) and the batch command
(pipeline/batch.py, many sources on Ray workers) share. Which sinks a run writes (render, JSON Lines, BVH, glTF),
opened on the caller's ExitStack so they are finalised however the run ends, and the loop that runs them
(pipeline.runner, live or offline)."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from export.sinks import BvhSink, GltfSink, JsonlSink
from export.tracks import TrackBvhSink
from pipeline.config import AppConfig
from pipeline.factory import say_stderr
from pipeline.runner import RunStats, run_live, run_offline
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


def open_consumers(stack: contextlib.ExitStack, cfg: AppConfig, source, outputs: Outputs, *, live: bool,
                   window: bool = False, controls: Controls | None = None,
                   say: Callable[[str], None] = say_stderr) -> Opened:
    """The sinks (and the window / render presenter) for `outputs`, each closed by `stack`."""
    consumers, presenter, render_path = [], None, None
    if outputs.json:
        meta = {"source": source.name, "model": cfg.model, "hypotheses": cfg.hypotheses, "steps": cfg.steps}
        consumers.append(stack.enter_context(JsonlSink(outputs.json, meta=meta)))
    # BVH: one file per track id (export.tracks); following one person (max_people 1), one file that moves on to
    # the person's new id after a loss (export.sinks.PersonFollower). glTF: one file, one person.
    bvh_sink = TrackBvhSink if cfg.max_people > 1 else BvhSink
    for path, sink in ((outputs.bvh, bvh_sink), (outputs.gltf, GltfSink)):
        if path:
            consumers.append(stack.enter_context(sink(path, fps=None if live else source.fps,
                                                      names=cfg.skeleton_names)))
    if window or outputs.render:
        writer = None
        if outputs.render:
            writer = RenderWriter(outputs.render, fps=source.fps, single=source.kind == "image")
            render_path = writer.path
        controls = controls or Controls(hypotheses=cfg.view.hypotheses, ellipsoids=cfg.view.ellipsoids)
        view = make_view(cfg.view.width, cfg.view.height, visible=window, controls=controls, say=say)
        presenter = Presenter(view, controls, window=window, writer=writer, hypotheses=cfg.hypotheses,
                              steps=cfg.steps, live=live, say=say)
        stack.callback(presenter.close)
        consumers.append(presenter)
        if window:
            say(KEY_HELP)
    return Opened(consumers, presenter, render_path)


def run_source(cfg: AppConfig, source, pipeline, consumers, *, live: bool, controls=None,
               max_frames: int | None = None, progress: bool = True,
               say: Callable[[str], None] = say_stderr) -> RunStats:
    """Run the source through the pipeline into the consumers in the chosen mode (settings from cfg)."""
    if live:
        return run_live(source, pipeline, consumers, controls=controls, reconnect=cfg.live.reconnect,
                        reconnect_max_s=cfg.live.reconnect_max_s, max_frames=max_frames, say=say,
                        pipelined=cfg.live.pipelined)
    return run_offline(source, pipeline, consumers, controls=controls, max_frames=max_frames, say=say,
                       pipelined=cfg.offline.pipelined, progress=progress)


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
    return out
