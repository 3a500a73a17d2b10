"""The stage interfaces, as typing.Protocols: what a front end, a lifter, a source and a sink must offer. A new
backend, lifter, source or sink implements one of these; pipeline/ wires them (docs/architecture.md).

    source --Frame--> FrontEnd --FrontEndOutput(persons with Candidates)--> Lifter --Estimate3D--> ... --FrameResult--> Sink
"""
from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np

from core import defaults
from core.records import Candidates, Estimate3D, Frame, FrameResult, Person


@runtime_checkable
class TrackState(Protocol):
    """A front end's per-source state, handed from one frame to the next (no globals)."""

    timings_ms: dict[str, float]      # this frame's 2D stage times, stage name -> ms

    def restarted(self) -> TrackState:
        """A fresh state (nothing tracked) that keeps counting person ids, so an id never names two tracks."""


class FrontEndOutput(NamedTuple):
    persons: list[Person]             # each with detection, candidates (and landmarks where the backend has them)
    state: TrackState                 # pass it back with the next frame of the same source


@runtime_checkable
class FrontEnd(Protocol):
    """The 2D stage: frame -> persons with joint candidates (BlazePose: detectors.frontend.FrontEnd; MMPose:
    detectors.mmpose_backend.MMPoseFrontEnd)."""

    def process(self, frame: Frame, state: TrackState | None = None) -> FrontEndOutput:
        """state None starts a source."""


@runtime_checkable
class Lifter(Protocol):
    """The 3D stage for one person: candidates -> N hypotheses, mean, calibrated covariance (lifter.api.Lifter,
    whatever runtime it samples with: lifter.runtimes)."""

    def estimate(self, c: Candidates, n: int = defaults.HYPOTHESES, steps: int = defaults.STEPS, *, init: np.ndarray | None = None,
                 init_t: int | None = None) -> Estimate3D:
        """init: a warm-start pose (17, 3), noised to timestep init_t and denoised from there."""


@runtime_checkable
class Source(Protocol):
    """Frames from a camera, a video, an image or a folder (pipeline.sources)."""

    name: str
    kind: str                         # "webcam" | "video" | "replay" | "image" | "folder"
    live: bool                        # frames arrive on their own clock (newest wins in the runner)
    fps: float
    frame_count: int | None

    def read(self) -> Frame | None:
        """The next frame; None at the end. Raises core.errors.SourceError / SourceLost."""

    def reconnect(self) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class Sink(Protocol):
    """Where results go: exports (export.sinks), windows and renders (visualize.present). A window also has
    poll() -> bool (False: the user asked to quit); the runner calls it when present."""

    def write(self, result: FrameResult) -> None: ...

    def close(self) -> None: ...
