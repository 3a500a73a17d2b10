"""Output sinks the app feeds one FrameResult at a time: JSON Lines (appended and flushed per frame), BVH and glTF
(kept in memory, rewritten atomically every few seconds and on close).

Both are context managers; on Ctrl-C (KeyboardInterrupt) the `with` block's exit closes them, so the JSONL holds
every completed frame and the BVH is rewritten with all frames so far. A hard kill leaves the JSONL complete up to
the last flushed line and the BVH as of its last rewrite (a complete, valid file).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from core.errors import ExportError
from core.records import FrameResult, world_joints
from export.bvh import write_bvh
from export.gltf import write_gltf
from export.ik import rest_from_positions, rest_pose
from export.jsonl import dumps, frame_record, header_record

MIN_FREE_BYTES = 16 * 2**20   # refuse to start with less free space than this on the output's disk


def check_writable(path: str | os.PathLike, min_free_bytes: int = MIN_FREE_BYTES) -> Path:
    """Fail before any processing when `path` cannot be written: returns the path, or raises ExportError with a
    one-line reason (directory cannot be created, not writable, read-only disk, disk full). Creates missing parent
    folders; does not touch an existing file at `path`."""
    path = Path(path)
    if path.is_dir():
        raise ExportError(f"cannot write {path}: it is a directory")
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"cannot write {path}: cannot create folder {directory} ({e.strerror or e})") from None
    try:
        # A real write (and fsync) of a probe beside the target: catches permissions, read-only mounts, quotas and
        # file-size limits that os.access would not.
        with tempfile.NamedTemporaryFile(dir=directory, prefix=f".{path.name}.", suffix=".probe") as f:
            f.write(b"\0" * 65536)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise ExportError(f"cannot write {path}: {e.strerror or e}") from None
    free = shutil.disk_usage(directory).free
    if free < min_free_bytes:
        raise ExportError(f"cannot write {path}: disk full ({free / 2**20:.1f} MiB free in {directory})")
    return path


class _Sink:
    """Context manager: closing on exit; a close error is raised unless another error is already unwinding."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.close()
        except ExportError:
            if exc_type is None:   # while another error unwinds, that one is the news
                raise


class JsonlSink(_Sink):
    """One header line at open, then one line per write(), flushed at once, so the file parses line by line up to
    the last completed frame whenever the run stops."""

    def __init__(self, path: str | os.PathLike, include_hypotheses: bool = False, meta: dict | None = None):
        self.path = Path(path)
        self.include_hypotheses = include_hypotheses
        self.frames = 0
        self._complete = 0                 # bytes of complete lines in the file
        self._failed: str | None = None    # the error of a write that failed (the sink writes nothing more)
        try:
            self._file = open(self.path, "w", encoding="utf-8", newline="\n")
        except OSError as e:
            raise ExportError(f"cannot write {self.path}: {e.strerror or e}") from None
        self._line(dumps(header_record(meta, include_hypotheses)))

    def _line(self, text: str) -> None:
        line = text + "\n"
        try:
            self._file.write(line)   # one write call per line: an interrupt never splits a line
            self._file.flush()
        except OSError as e:
            self._failed = f"cannot write {self.path}: {e.strerror or e}"
            self._abandon()
            raise ExportError(self._failed) from None
        self._complete += len(line.encode("utf-8"))

    def _abandon(self) -> None:
        """A write failed part-way (disk full, size limit): cut the file back to its last complete line and drop the
        unwritten rest of the line still buffered, so the file parses up to the last completed frame."""
        raw = getattr(getattr(self._file, "buffer", None), "raw", None)
        if raw is None or raw.closed:
            return
        try:
            raw.truncate(self._complete)
        except OSError:
            pass
        finally:
            raw.close()   # closing the raw file under the buffer discards what the buffer still holds

    def write(self, result: FrameResult) -> None:
        if self._failed:
            raise ExportError(self._failed)
        if self._file.closed:
            raise ValueError(f"{self.path}: sink is closed")
        self._line(dumps(frame_record(result, self.include_hypotheses)))
        self.frames += 1

    def close(self) -> None:
        if self._failed:
            raise ExportError(self._failed)
        if not self._file.closed:
            try:
                self._file.close()
            except OSError as e:
                raise ExportError(f"cannot write {self.path}: {e.strerror or e}") from None



def world_poses(result: FrameResult) -> list[tuple[int, np.ndarray]]:
    """(id, (17, 3) absolute joint positions in the frame's +Y-up world, feet locked) of every person with a finite
    3D estimate."""
    out = []
    for p in result.persons:
        if p.estimate is not None:
            pose = world_joints(p.estimate, result.world)
            if np.isfinite(pose).all():
                out.append((int(p.id), pose))
    return out


class PersonFollower:
    """Which person the BVH records: the first one with a 3D pose. Our tracker gives a NEW id when it re-detects
    a person after losing them, so when the followed id is absent and a track that was never seen before appears
    (the nearest one to the last pose if several), the follower moves on to it; ids already seen alongside the
    followed person are never taken (they are other people). Frames without the followed person give None."""

    def __init__(self, person_id: int | None = None):
        self.person_id = person_id
        self._fixed = person_id is not None
        self._seen: set[int] = set()
        self._last: np.ndarray | None = None

    def choose(self, people: list[tuple[int, np.ndarray]]) -> np.ndarray | None:
        poses = dict(people)
        if self.person_id is None and people:
            self.person_id = people[0][0]
        elif self.person_id not in poses and not self._fixed:
            new = [(i, pose) for i, pose in people if i not in self._seen]
            if new and self._last is not None:
                root = self._last[0]
                self.person_id = min(new, key=lambda item: float(np.linalg.norm(item[1][0] - root)))[0]
        self._seen.update(poses)
        pose = poses.get(self.person_id)
        if pose is not None:
            self._last = pose
        return pose


class PoseLog:
    """One pose (or none) and one timestamp per frame, kept in growing float32/float64 arrays: ~0.2 KiB per frame
    (an hour at 30 FPS: ~25 MiB), where a list of per-frame arrays costs several times that."""

    def __init__(self, capacity: int = 256):
        self._poses = np.zeros((capacity, 17, 3), np.float32)
        self._have = np.zeros(capacity, bool)
        self._times = np.zeros(capacity, np.float64)
        self.n = 0

    def __len__(self) -> int:
        return self.n

    def append(self, pose: np.ndarray | None, timestamp: float = 0.0) -> None:
        if self.n == len(self._have):   # double: amortised O(1), at most 2x the memory in use
            grow = lambda a: np.concatenate([a, np.zeros_like(a)])  # noqa: E731
            self._poses, self._have, self._times = grow(self._poses), grow(self._have), grow(self._times)
        if pose is not None:
            self._poses[self.n] = pose
            self._have[self.n] = True
        self._times[self.n] = timestamp
        self.n += 1

    @property
    def times(self) -> np.ndarray:
        return self._times[:self.n]

    def held(self) -> np.ndarray | None:
        """(T, 17, 3): a frame without a pose holds the previous pose; frames before the first pose take the first.
        None when there is no pose at all."""
        have = self._have[:self.n]
        if not have.any():
            return None
        last = np.maximum.accumulate(np.where(have, np.arange(self.n), -1))   # latest frame with a pose, or -1
        return self._poses[np.where(last < 0, int(np.argmax(have)), last)]


def hold_missing(poses: list[np.ndarray | None]) -> np.ndarray | None:
    """PoseLog.held for a list of poses (None: no pose in that frame)."""
    log = PoseLog(max(len(poses), 1))
    for p in poses:
        log.append(p)
    return log.held()


def frame_rate(fps: float | None, timestamps) -> float:
    """The given fps, else 1 / the median step between increasing timestamps (live cameras), else 30."""
    if fps:
        return float(fps)
    steps = np.diff(np.asarray([t for t in timestamps if t is not None], dtype=np.float64))
    steps = steps[steps > 0]
    return 1.0 / float(np.median(steps)) if len(steps) else 30.0


class BvhSink(_Sink):
    """BVH of one person (PersonFollower: the first with a 3D estimate, re-acquired under a new track id after a
    loss); frames without that person hold the last pose, so the file has exactly one frame per write(). Poses stay in
    memory (PoseLog, ~0.2 KiB per frame); the whole file is rewritten
    (temporary file + os.replace) at most every `rewrite_every` seconds of processing, and on close. Bone lengths
    are the medians over all frames so far, so they settle as the run goes on.

    fps: the source's frame rate (frame time 1 / fps); None takes it from the frames' timestamps (live cameras).
    rewrite_every: seconds between rewrites (0: every frame); grows to 10x the last rewrite's cost on long runs.
    """

    def __init__(self, path: str | os.PathLike, fps: float | None, rewrite_every: float = 2.0,
                 units: str = "m", ground: bool = True, names: str | None = None):
        self.path = Path(path)
        self.fps = fps
        self.rewrite_every = float(rewrite_every)
        self.units = units
        self.ground = ground
        self.names = names           # bone-name preset (export/names.py)
        self._follower = PersonFollower()
        self._log = PoseLog()
        self._written = 0            # frames in the file on disk
        self._next_rewrite = time.perf_counter() + self.rewrite_every
        self._interval = self.rewrite_every
        self._closed = False
        self._floor_known = False

    @property
    def person_id(self) -> int | None:
        """The track id recorded in the latest frame (see PersonFollower)."""
        return self._follower.person_id

    @property
    def frames(self) -> int:
        return len(self._log)

    def write(self, result: FrameResult) -> None:
        if self._closed:
            raise ValueError(f"{self.path}: sink is closed")
        self._log.append(self._follower.choose(world_poses(result)), float(result.frame.timestamp))
        if result.world is not None and result.world.up_source != "default":
            self._floor_known = True   # the world stage put the floor at y = 0: no shift of our own
        if time.perf_counter() >= self._next_rewrite:
            self.flush()

    def flush(self) -> None:
        """Rewrite the file with every frame so far (no-op when nothing new)."""
        if self._written == len(self._log):
            return
        start = time.perf_counter()
        positions = self._log.held()
        if positions is None:  # nobody seen yet: a valid file with the default skeleton standing still
            positions = np.repeat(rest_pose(rest_from_positions(None))[None], len(self._log), axis=0)
        try:
            self._write_file(positions.astype(np.float64))
        except OSError as e:
            raise ExportError(f"cannot write {self.path}: {e.strerror or e}") from None
        self._written = len(positions)
        cost = time.perf_counter() - start
        # Each rewrite costs O(frames so far): on long runs keep that under ~10 % of the time (0: every frame).
        self._interval = max(self.rewrite_every, 10.0 * cost) if self.rewrite_every > 0 else 0.0
        self._next_rewrite = time.perf_counter() + self._interval

    @property
    def grounded(self) -> bool:
        """Shift the take to the floor ourselves: only when asked and the world stage has not put it at y = 0."""
        return self.ground and not self._floor_known

    def _write_file(self, positions: np.ndarray) -> None:
        write_bvh(self.path, positions, frame_rate(self.fps, self._log.times), units=self.units,
                  ground=self.grounded, names=self.names)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.flush()


class GltfSink(BvhSink):
    """The same person and poses as BvhSink (same follower, same held frames, same rewrite schedule), written as a
    skinned, animated glTF 2.0 binary (export/gltf.py) with the frames' own timestamps as key times (units: metres
    always)."""

    def _write_file(self, positions: np.ndarray) -> None:
        write_gltf(self.path, positions, self._log.times, fps=frame_rate(self.fps, self._log.times),
                   ground=self.grounded, names=self.names)
