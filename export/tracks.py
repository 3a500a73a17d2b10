"""One BVH per person: every track id gets its own file, so the motion of different people is never joined.

Naming (`--export-bvh out.bvh`): the first person's track is written to `out.bvh` (a run with one person gives just
that file, as before), every later track to `out_id<ID>.bvh`; `ids` / `paths` (and the app's summary) tell which
id each file holds. A track's file starts at the frame the person first appears and ends at the last frame they
were seen; frames in between without them (a short occlusion that the tracker bridged under the same id) are
interpolated between the poses around the gap (export.sinks.PoseLog.filled). Each file is an export.sinks.BvhSink
(atomic rewrites every few seconds and on close).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import ExportError
from core.records import Frame, FrameResult
from export.sinks import BvhSink, _Sink, world_poses


_EMPTY = np.zeros((0, 0, 3), np.uint8)   # the image of a padding frame (a BvhSink reads only its timestamp)


def track_path(path: Path, track_id: int) -> Path:
    """out.bvh -> out_id3.bvh"""
    return path.with_name(f"{path.stem}_id{track_id}{path.suffix}")


@dataclass
class _Track:
    sink: BvhSink
    written: int                 # frames of the run fed to this track's sink (its first frame is the track's first)
    first: int


class TrackBvhSink(_Sink):
    """BVH per track id (see the module's docstring). `paths` lists the files, `ids` the track ids written; `parts`
    the per-track sinks, each an OutputFile of its own (partial name while running, verified rename on close), so
    the summary names every file."""

    def __init__(self, path, fps: float | None, rewrite_every: float = 2.0, units: str = "m", ground: bool = True,
                 names: str | None = None):
        self.path = Path(path)
        self.fps, self.rewrite_every, self.units, self.ground, self.names = fps, rewrite_every, units, ground, names
        self._tracks: dict[int, _Track] = {}
        self._times: list[float] = []      # every frame's timestamp (padding frames need them)
        self._closed = False
        self._empty: BvhSink | None = None

    @property
    def ids(self) -> list[int]:
        return sorted(self._tracks)

    @property
    def parts(self) -> list[BvhSink]:
        if self._empty is not None:
            return [self._empty]
        return [self._tracks[i].sink for i in self.ids]

    @property
    def paths(self) -> list[Path]:
        return [p.path for p in self.parts]

    @property
    def frames(self) -> int:
        return len(self._times)

    def write(self, result: FrameResult) -> None:
        if self._closed:
            raise ValueError(f"{self.path}: sink is closed")
        n = len(self._times)
        self._times.append(float(result.frame.timestamp))
        for track_id, _ in world_poses(result):
            track = self._tracks.get(track_id) or self._start(track_id, n)
            for i in range(track.written, n):    # frames the person missed since last seen: filled in later
                track.sink.write(FrameResult(frame=Frame(i, self._times[i], _EMPTY)))
            one = [p for p in result.persons if p.id == track_id]
            track.sink.write(FrameResult(frame=result.frame, persons=one, intrinsics=result.intrinsics,
                                         timings_ms=result.timings_ms, world=result.world))
            track.written = n + 1

    def _sink(self, path: Path) -> BvhSink:
        return BvhSink(path, self.fps, self.rewrite_every, self.units, self.ground, self.names)

    def _start(self, track_id: int, first: int) -> _Track:
        path = self.path if not self._tracks else track_path(self.path, track_id)
        track = _Track(self._sink(path), first, first)
        self._tracks[track_id] = track
        return track

    def keep(self, frames: int) -> None:
        """The run's first `frames` frames only: tracks that start later are dropped, the others cut."""
        frames = max(0, int(frames))
        del self._times[frames:]
        for track_id in [i for i, t in self._tracks.items() if t.first >= frames]:
            self._tracks.pop(track_id).sink.abandon()
        for track in self._tracks.values():
            track.sink.keep(frames - track.first)
            track.written = min(track.written, frames)

    def flush(self) -> None:
        """Rewrite every track's partial file now."""
        for track in self._tracks.values():
            track.sink.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self._tracks:   # nobody seen: one valid file (BvhSink writes the default skeleton standing still)
            self._empty = self._sink(self.path)
            for i, t in enumerate(self._times):
                self._empty.write(FrameResult(frame=Frame(i, t, _EMPTY)))
        errors = []
        for part in self.parts:
            try:
                part.close()
            except ExportError as e:   # recorded on the part; the other tracks still get written
                errors.append(str(e))
        self.written = any(p.written for p in self.parts)
        if errors or not self.written:
            self.fail(errors[0] if errors else next((p.failure for p in self.parts if p.failure), "not written"))
