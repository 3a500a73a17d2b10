"""One BVH per person: every track id gets its own file, so the motion of different people is never joined.

Naming (`--export-bvh out.bvh`): the first person's track is written to `out.bvh` (a run with one person gives just
that file, as before), every later track to `out_id<ID>.bvh`; `ids` / `paths` (and the app's summary) tell which
id each file holds. A track's file starts at the frame the person first appears and ends at the last frame they
were seen; frames in between without them (a short occlusion that the tracker bridged under the same id) hold the
last pose. Each file is an export.sinks.BvhSink (atomic rewrites every few seconds and on close).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

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


@dataclass
class TrackBvhSink(_Sink):
    """BVH per track id (see the module's docstring). `paths` lists the files, `ids` the track ids written."""
    path: Path
    fps: float | None
    rewrite_every: float = 2.0
    units: str = "m"
    ground: bool = True
    names: str | None = None       # bone-name preset (export/names.py)
    _tracks: dict[int, _Track] = field(default_factory=dict)
    _times: list[float] = field(default_factory=list)     # every frame's timestamp (padding frames need them)
    _closed: bool = False

    def __post_init__(self):
        self.path = Path(self.path)

    @property
    def ids(self) -> list[int]:
        return sorted(self._tracks)

    @property
    def paths(self) -> list[Path]:
        return [self._tracks[i].sink.path for i in self.ids]

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
            for i in range(track.written, n):    # frames the person missed since last seen: the last pose holds
                track.sink.write(FrameResult(frame=Frame(i, self._times[i], _EMPTY)))
            one = [p for p in result.persons if p.id == track_id]
            track.sink.write(FrameResult(frame=result.frame, persons=one, intrinsics=result.intrinsics,
                                         timings_ms=result.timings_ms, world=result.world))
            track.written = n + 1

    def _start(self, track_id: int, first: int) -> _Track:
        path = self.path if not self._tracks else track_path(self.path, track_id)
        track = _Track(BvhSink(path, self.fps, self.rewrite_every, self.units, self.ground, self.names), first, first)
        self._tracks[track_id] = track
        return track

    def flush(self) -> None:
        """Rewrite every track's file now."""
        for track in self._tracks.values():
            track.sink.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self._tracks:   # nobody seen: one valid file (BvhSink writes the default skeleton standing still)
            with BvhSink(self.path, self.fps, self.rewrite_every, self.units, self.ground, self.names) as empty:
                for i, t in enumerate(self._times):
                    empty.write(FrameResult(frame=Frame(i, t, _EMPTY)))
            return
        for track in self._tracks.values():
            track.sink.close()


