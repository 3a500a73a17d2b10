"""Pose files as sequences: the `sequence` / `frame` / `fps` keys and each pose's time in seconds.

A pose file (.npz) may carry, beside `poses` (M, 17, 3):
- `sequence` (M,): one id per pose (int or string); poses of one sequence are one take, in order;
- `frame` (M,) int: the frame number at the file's `fps`, increasing within a sequence (gaps allowed: dropped or
  removed frames);
- `fps` (scalar, optional; default DEFAULT_FPS): so pose i lies at frame[i] / fps seconds.

The mocap cache (`python -m lifter.data.prepare`) writes `sequence` = the clip id and `frame` at its output rate.
Caches prepared before that carry `clip` and the SOURCE frame index in `frame`; `sequence_keys` converts them (the
resampling step of a clip is its typical frame difference).
"""
from __future__ import annotations

import numpy as np

DEFAULT_FPS = 10.0


def resample_step(source_frames: np.ndarray) -> float:
    """The source frames per output frame of one clip: the mean of its frame differences below 1.6 x the smallest
    (nearest-frame resampling of 25 fps to 10 fps alternates 2 and 3; larger gaps are removed still poses)."""
    d = np.diff(np.asarray(source_frames, np.int64))
    d = d[d > 0]
    if len(d) == 0:
        return 1.0
    return float(d[d <= 1.6 * d.min()].mean())


def sequence_keys(clip: np.ndarray, source_frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sequence ids, frame numbers at the output rate) from clip ids and source frame indices (in order per clip)."""
    clip = np.asarray(clip)
    frame = np.zeros(len(clip), np.int64)
    for c in np.unique(clip):
        sel = np.flatnonzero(clip == c)
        src = np.asarray(source_frame)[sel].astype(np.int64)
        r = np.round((src - src[0]) / resample_step(src)).astype(np.int64)
        ramp = np.arange(len(r))
        frame[sel] = np.maximum.accumulate(r - ramp) + ramp     # strictly increasing (uneven steps never collide)
    return clip.copy(), frame


def sequences_of(z) -> tuple[np.ndarray, np.ndarray, float] | None:
    """(sequence (M,), frame (M,) int, fps) of a loaded .npz (or dict), or None when it has no sequence keys.
    An old mocap cache (clip + source frame index, no `sequence`) is converted by sequence_keys."""
    files = set(getattr(z, "files", None) or z.keys())
    fps = float(z["fps"]) if "fps" in files else DEFAULT_FPS
    if "sequence" in files and "frame" in files:
        return np.asarray(z["sequence"]), np.asarray(z["frame"]).astype(np.int64), fps
    if "clip" in files and "frame" in files:
        seq, frame = sequence_keys(z["clip"], z["frame"])
        return seq, frame, fps
    return None


def check_sequences(sequence: np.ndarray, frame: np.ndarray, n: int) -> str | None:
    """A problem with the sequence keys of a file of n poses (one line), or None."""
    if sequence.shape != (n,) or frame.shape != (n,):
        return f"'sequence' and 'frame' must be ({n},), got {sequence.shape} and {frame.shape}"
    change = np.r_[True, sequence[1:] != sequence[:-1]]
    ids = sequence[change]
    if len(np.unique(ids)) != len(ids):
        return "the poses of each sequence must be contiguous in the file"
    bad = ~change[1:] & (np.diff(frame) <= 0)
    if bad.any():
        return f"'frame' must increase within a sequence (pose {int(np.flatnonzero(bad)[0]) + 1})"
    return None


def resample(poses: np.ndarray, sequence: np.ndarray, frame: np.ndarray, fps: float,
             rate: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sequences of poses (M, 17, 3) at `fps` (frame numbers `frame`) -> the same motion at `rate` frames per second:
    joints interpolated linearly between consecutive frames; a gap in the frame numbers ends a run (nothing is
    made up across it), whose new frame numbers keep its place in time. Returns (poses, sequence, frame)."""
    sequence, frame = np.asarray(sequence), np.asarray(frame)
    run = np.r_[True, (sequence[1:] != sequence[:-1]) | (np.diff(frame) != 1)]
    starts = np.flatnonzero(run)
    out_p, out_s, out_f = [], [], []
    for a, b in zip(starts, np.r_[starts[1:], len(poses)]):
        t = (frame[a:b] - frame[a]) / fps
        new_t = np.arange(0.0, t[-1] + 1e-9, 1.0 / rate)
        flat = np.asarray(poses[a:b], np.float64).reshape(b - a, -1)
        out_p.append(np.stack([np.interp(new_t, t, col) for col in flat.T], 1).reshape(len(new_t), *poses.shape[1:]))
        out_s.append(np.repeat(sequence[a:a + 1], len(new_t)))
        out_f.append(int(round(frame[a] * rate / fps)) + np.arange(len(new_t)))
    return (np.concatenate(out_p).astype(np.asarray(poses).dtype), np.concatenate(out_s), np.concatenate(out_f))
