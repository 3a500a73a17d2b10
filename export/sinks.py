"""Output sinks the app feeds one FrameResult at a time: JSON Lines (appended and flushed per frame), BVH and glTF
(kept in memory, rewritten atomically every few seconds and on close).

Both follow core.outputs: while the run goes on they live under their partial names (o.partial.jsonl,
o.partial.bvh); close() verifies them and renames them to their final names, and afterwards says what was written
(`written`, `frames`, `failure`). Both are context managers; on Ctrl-C (KeyboardInterrupt) the `with` block's exit
closes them, so the JSONL holds every completed frame and the BVH all frames so far; `keep(n)` first cuts both to
the frames both hold. A hard kill leaves the partial JSONL complete up to the last flushed line and the partial BVH
as of its last rewrite (a complete, valid file); `python -m export.convert o.partial.jsonl o.bvh` rebuilds the BVH
with every frame of the JSONL.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from array import array
from pathlib import Path

import numpy as np

from core.errors import ExportError
from core.outputs import NO_FRAMES, OutputFile, atomic_write, discard, fsync_file, partial_path, publish, reason
from core.records import FrameResult, world_joints
from export.bvh import bvh_document
from export.gltf import gltf_bytes
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


class _Sink(OutputFile):
    """Context manager: closing on exit; a close error is raised unless another error is already unwinding. Every
    sink is a core.outputs.OutputFile: after close it says whether its final name holds it (`written`), with how
    many frames, or why not (`failure`)."""

    def close(self) -> None:
        raise NotImplementedError

    def keep(self, frames: int) -> None:
        """Drop every frame after the first `frames` (before close), so that all sinks of a run hold the same frames
        however it ended (an interrupt can fall between two sinks' writes of one frame)."""
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
    the last completed frame whenever the run stops. The lines go to `partial_path(path)` (o.partial.jsonl) while
    the run goes on; close() checks it and renames it to `path`. A write that fails (disk full) cuts the file back to
    its last complete line; close() still publishes those frames (and `failure` says why it stopped)."""

    def __init__(self, path: str | os.PathLike, include_hypotheses: bool = False, meta: dict | None = None):
        self.path = Path(path)
        self.partial = partial_path(self.path)
        self.include_hypotheses = include_hypotheses
        self._ends = array("q")             # byte offset after each complete line (the header's first)
        self._failed: str | None = None    # the error of a write that failed (the sink writes nothing more)
        self._closed = False
        try:
            self._file = open(self.partial, "w", encoding="utf-8", newline="\n")
        except OSError as e:
            raise ExportError(f"cannot write {self.path}: {reason(e)}") from None
        self._line(dumps(header_record(meta, include_hypotheses)))

    @property
    def _complete(self) -> int:
        return self._ends[-1] if self._ends else 0

    @property
    def frames(self) -> int:
        """Frame lines complete in the file (counted when a line is written, so an interrupt between the write and
        the count cannot make them disagree)."""
        return max(0, len(self._ends) - 1)

    def _line(self, text: str) -> None:
        line = text + "\n"
        try:
            self._file.write(line)   # one write call per line: an interrupt never splits a line
            self._file.flush()
        except OSError as e:
            self._failed = f"cannot write {self.path}: {reason(e)}"
            self._abandon()
            raise ExportError(self._failed) from None
        self._ends.append(self._complete + len(line.encode("utf-8")))

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
        if self._closed:
            raise ValueError(f"{self.path}: sink is closed")
        self._line(dumps(frame_record(result, self.include_hypotheses)))

    def keep(self, frames: int) -> None:
        if frames >= self.frames or self._closed:
            return
        del self._ends[frames + 1:]
        self._cut()

    def _cut(self) -> None:
        """The file holds exactly the complete lines counted (close and keep)."""
        raw = getattr(getattr(self._file, "buffer", None), "raw", None)
        try:
            if raw is not None and not raw.closed:
                self._file.flush()
                self._file.truncate(self._complete)
            else:   # after a failed write the file is closed: only the path is left to cut
                os.truncate(self.partial, self._complete)
        except OSError as e:
            self._fail(f"cannot write {self.path}: {reason(e)}")

    def _fail(self, why: str) -> None:
        self._failed = self._failed or why

    def _finish_file(self) -> None:
        """Flush, fsync and close the partial file (after a failed write its raw file is closed already)."""
        self._cut()
        raw = getattr(getattr(self._file, "buffer", None), "raw", None)
        if raw is not None and raw.closed:
            return
        try:
            fsync_file(self._file)
            self._file.close()
        except OSError as e:
            self._fail(f"cannot write {self.path}: {reason(e)}")
            self._abandon()

    def _verify(self, p: Path) -> None:
        if p.stat().st_size != self._complete:
            raise ExportError(f"cannot write {self.path}: {p.stat().st_size} bytes on disk, {self._complete} written")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._finish_file()
        if self.frames == 0:
            discard(self.partial)
            self.fail(self._failed or NO_FRAMES)
        else:
            try:
                publish(self.partial, self.path, self._verify)
                self.written = True
            except ExportError as e:
                self._fail(str(e))
            if self._failed:
                self.fail(self._failed)
        if self._failed:
            raise ExportError(self._failed)


def align_frames(outputs) -> int:
    """Cut every frame sink (anything with `keep`) to the frames all of them hold, so a run that stopped between two
    sinks' writes of one frame (an interrupt, a full disk) leaves a JSONL and a BVH with the same frames. Returns
    that number (None when there is no frame sink)."""
    sinks = [o for o in outputs if hasattr(o, "keep")]
    if not sinks:
        return None
    n = min(s.frames for s in sinks)
    for s in sinks:
        s.keep(n)
    return n


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

    def filled(self) -> np.ndarray | None:
        """(T, 17, 3), one pose per frame. A frame without a pose between two frames with one is interpolated
        linearly in time (a person missed for a moment moves to where they are seen again instead of holding still
        and then jumping there); frames after the last pose hold it, frames before the first take the first; equal
        timestamps hold. None when there is no pose at all."""
        n = self.n
        have = self._have[:n]
        if not have.any():
            return None
        idx = np.arange(n)
        prev = np.maximum.accumulate(np.where(have, idx, -1))                # latest frame with a pose, or -1
        nxt = np.minimum.accumulate(np.where(have, idx, n)[::-1])[::-1]      # next frame with a pose, or n
        prev = np.where(prev < 0, int(np.argmax(have)), prev)
        nxt = np.where(nxt >= n, prev, nxt)
        t = self._times[:n]
        span = t[nxt] - t[prev]
        w = np.clip(np.divide(t - t[prev], span, out=np.zeros(n), where=span > 0), 0.0, 1.0)[:, None, None]
        return ((1.0 - w) * self._poses[prev] + w * self._poses[nxt]).astype(np.float32)


def fill_missing(poses: list[np.ndarray | None], times=None) -> np.ndarray | None:
    """PoseLog.filled for a list of poses (None: no pose in that frame) and their timestamps (default: the frame
    index)."""
    t = np.arange(len(poses), dtype=np.float64)
    if times is not None and all(x is not None for x in times):
        t = np.asarray(times, dtype=np.float64)
    log = PoseLog(max(len(poses), 1))
    for p, ti in zip(poses, t):
        log.append(p, float(ti))
    return log.filled()


def frame_rate(fps: float | None, timestamps) -> float:
    """Frames per second for a file with constant frame time (BVH) that lasts as long as the frames did: from the
    timestamps, (frames - 1) / (last - first), so a variable-frame-rate video, a live camera that dropped frames or a
    video with skipped corrupt frames plays in real time; else the given fps (one frame); else 30."""
    times = np.asarray([t for t in timestamps if t is not None], dtype=np.float64)
    times = times[np.isfinite(times)]
    if len(times) >= 2 and times[-1] > times[0]:
        return (len(times) - 1) / float(times[-1] - times[0])
    if fps and np.isfinite(fps) and fps > 0:
        return float(fps)
    return 30.0


class BvhSink(_Sink):
    """BVH of one person (PersonFollower: the first with a 3D estimate, re-acquired under a new track id after a
    loss); frames without that person are interpolated between the poses around them (PoseLog.filled), so the file
    has exactly one frame per write(). Poses stay in memory (PoseLog, ~0.2 KiB per frame). While the run goes on the
    whole file is rewritten atomically to `partial_path(path)` (o.partial.bvh) at most every `rewrite_every` seconds
    of processing (a valid file at any moment, for a hard kill); close() writes `path` (atomically, size checked) and
    removes the partial file. Bone lengths are the medians over all frames so far, so they settle as the run goes on.

    fps: the source's frame rate, used when the timestamps cannot give one (a single frame); the frame time comes
    from the frames' timestamps (frame_rate), so the file lasts as long as the source did.
    rewrite_every: seconds between rewrites (0: every frame); grows to 10x the last rewrite's cost on long runs.
    """

    def __init__(self, path: str | os.PathLike, fps: float | None, rewrite_every: float = 2.0,
                 units: str = "m", ground: bool = True, names: str | None = None):
        self.path = Path(path)
        self.partial = partial_path(self.path)
        self.fps = fps
        self.rewrite_every = float(rewrite_every)
        self.units = units
        self.ground = ground
        self.names = names           # bone-name preset (export/names.py)
        self._follower = PersonFollower()
        self._log = PoseLog()
        self._written = 0            # frames in the partial file on disk
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
        if self.failure:
            raise ExportError(self.failure)
        if self._closed:
            raise ValueError(f"{self.path}: sink is closed")
        self._log.append(self._follower.choose(world_poses(result)), float(result.frame.timestamp))
        if result.world is not None and result.world.up_source != "default":
            self._floor_known = True   # the world stage put the floor at y = 0: no shift of our own
        if time.perf_counter() >= self._next_rewrite:
            self.flush()

    def keep(self, frames: int) -> None:
        self._log.n = min(self._log.n, max(0, int(frames)))

    def _positions(self) -> np.ndarray:
        positions = self._log.filled()
        if positions is None:  # nobody seen yet: a valid file with the default skeleton standing still
            positions = np.repeat(rest_pose(rest_from_positions(None))[None], len(self._log), axis=0)
        return positions.astype(np.float64)

    def _document(self, positions: np.ndarray) -> str | bytes:
        """The whole file for these poses (a subclass writes another format of the same poses)."""
        return bvh_document(positions, frame_rate(self.fps, self._log.times), units=self.units,
                            ground=self.grounded, names=self.names)[0]

    def _write(self, path: Path) -> None:
        try:
            atomic_write(path, self._document(self._positions()))
        except ExportError as e:
            self.fail(str(e).replace(str(path), str(self.path)))
            discard(self.partial)
            raise ExportError(self.failure) from None

    def flush(self) -> None:
        """Rewrite the partial file with every frame so far (no-op when nothing new)."""
        if self._written == len(self._log) or self.failure:
            return
        start = time.perf_counter()
        self._write(self.partial)
        self._written = len(self._log)
        cost = time.perf_counter() - start
        # Each rewrite costs O(frames so far): on long runs keep that under ~10 % of the time (0: every frame).
        self._interval = max(self.rewrite_every, 10.0 * cost) if self.rewrite_every > 0 else 0.0
        self._next_rewrite = time.perf_counter() + self._interval

    def abandon(self) -> None:
        """Drop this output unwritten (its partial file too): a run cut before its first frame."""
        self._closed = True
        discard(self.partial)

    @property
    def grounded(self) -> bool:
        """Shift the take to the floor ourselves: only when asked and the world stage has not put it at y = 0."""
        return self.ground and not self._floor_known

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.failure:
            discard(self.partial)
            raise ExportError(self.failure)
        if not len(self._log):
            discard(self.partial)
            self.fail(NO_FRAMES)
            return
        self._write(self.path)
        self.written = True
        discard(self.partial)


class GltfSink(BvhSink):
    """The same person and poses as BvhSink (same follower, same held frames, same rewrite schedule, the same
    partial-name and verified-rename rules), written as a skinned, animated glTF 2.0 binary (export/gltf.py) with
    the frames' own timestamps as key times (units: metres always)."""

    def _document(self, positions: np.ndarray) -> bytes:
        return gltf_bytes(positions, self._log.times, fps=frame_rate(self.fps, self._log.times),
                          ground=self.grounded, names=self.names)[0]
