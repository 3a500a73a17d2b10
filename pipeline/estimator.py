"""The Python API: 3D poses from images, for programs and notebooks.

    import cv2
    from pipeline import Estimator

    est = Estimator(model="full", hypotheses=16, steps=5, device="cpu")
    result = est.process(cv2.imread("person.jpg"))             # core.records.FrameResult
    pose = result.persons[0].estimate.mean                      # (17, 3) metres, camera frame, pelvis at 0
    for result in est.run("clip.mp4"): ...                      # a video, image, folder or webcam index

The same pipeline as the app (pipeline.factory.build_pipeline, settings checked by pipeline.config), without windows
or exports. Frames given to process() one by one are one stream (tracking, warm starts, smoothing carry over);
reset() starts a new one.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from core.records import Frame, FrameResult
from core.protocols import Source
from pipeline.config import AppConfig, apply_options, load_config
from pipeline.factory import build_pipeline, say_stderr, set_source
from pipeline.sources import open_source, parse_spec


class Estimator:
    def __init__(self, model: str | None = None, hypotheses: int | None = None, steps: int | None = None,
                 device: str | None = None, *, config: AppConfig | str | Path | None = None, say=say_stderr,
                 **options):
        """Settings: configs/app.yaml (or `config`, a file or an AppConfig), overridden by the arguments (None: keep);
        more options by name: backend, runtime, lifter, fov (pipeline.config.OPTIONS). Bad values raise
        core.errors.ConfigError."""
        cfg = config if isinstance(config, AppConfig) else load_config(config)
        self.config = apply_options(cfg, model=model, hypotheses=hypotheses, steps=steps, device=device, **options)
        self.pipeline = build_pipeline(self.config, say=say)
        self._for_process()
        self._index, self._t0 = 0, None

    def _for_process(self) -> None:
        """Frames given to process() run as live: the temporal window `auto` is causal, so a call returns its own
        frame's result (a program's loop, a notebook's single picture); temporal_window="lag1" asks for the
        look-ahead."""
        set_source(self.pipeline, self.config, live=True)

    def process(self, frame_bgr: np.ndarray, timestamp: float | None = None) -> FrameResult | None:
        """One BGR uint8 image (H, W, 3) of the current stream; timestamp in seconds (default: the wall clock since
        the stream's first frame). With a temporal window that looks ahead (temporal_window lag1 / centred given;
        `auto` is causal here) the
        result is an earlier frame's (result.frame.index), None while the first frames are held; flush() returns the
        held ones, and ready() any other result this call finished (once a stream, when a live look-ahead gives way
        to causal: Pipeline.ready)."""
        now = time.perf_counter()
        if self._t0 is None:
            self._t0 = now
        frame = Frame(index=self._index, timestamp=now - self._t0 if timestamp is None else float(timestamp),
                      image=np.ascontiguousarray(frame_bgr), source="array", captured_at=now)
        self._index += 1
        return self.pipeline.process(frame)

    def run(self, source: Source | str | int | Path) -> Iterator[FrameResult]:
        """Every frame of a source (a pipeline.sources.Source, or what app.py's --source takes), as a new stream.
        A file runs as the app runs it offline (a temporal window `auto` centred, smoothing.offline), a webcam as
        live (`auto` causal; lag1 gives way to causal where the next frame is more than temporal_max_wait_ms away);
        frames given to process() run as live."""
        self.reset()
        src = source if isinstance(source, Source) else open_source(parse_spec(str(source)))
        live = bool(getattr(src, "live", True))
        set_source(self.pipeline, self.config, live)
        try:
            for frame in iter(src.read, None):
                result = self.pipeline.process(frame)
                if result is not None:
                    yield result
                    yield from self.pipeline.ready()
            yield from self.pipeline.flush()
        finally:
            self._for_process()
            if src is not source:
                src.close()

    def flush(self) -> list[FrameResult]:
        """The frames still held at the end of the stream given to process() (a temporal window that looks ahead)."""
        return self.pipeline.flush()

    def ready(self) -> list[FrameResult]:
        """Results finished by the last process() call besides the one it returned (Pipeline.ready)."""
        return self.pipeline.ready()

    def reset(self) -> None:
        """Forget the stream: tracking, warm starts and smoothing start over."""
        self.pipeline.reset()
        self._index, self._t0 = 0, None
