"""BVH reader and vectorised forward kinematics (any channel order, End Sites kept as joints).

Rotation channels compose intrinsically in the order they are listed (R = R_c1 @ R_c2 @ R_c3), the usual BVH rule.
Position channels: "add" puts them on top of OFFSET (the common reading of the spec for the root);
"replace" uses them as the whole local translation (Bandai and ReActIdle write OFFSET into every joint's
position channels, so adding would double every bone).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from lifter.data.rotations import euler_intrinsic

_POS = ("xposition", "yposition", "zposition")
_ROT = ("xrotation", "yrotation", "zrotation")


@dataclass
class BvhSkeleton:
    names: list[str]              # joints in file order; End Sites are "<parent>_end"
    parents: np.ndarray           # (J,) int, -1 for the root
    offsets: np.ndarray           # (J, 3) rest translation from the parent, file units
    channels: list[list[str]]     # per joint, lower-case channel names ([] for End Sites)
    first_column: np.ndarray      # (J,) int, where each joint's channels start in a motion row

    def index(self, name: str) -> int:
        return self.names.index(name)


@dataclass
class BvhClip:
    skeleton: BvhSkeleton
    motion: np.ndarray            # (F, C) float64, the selected rows only
    frame_time: float             # seconds
    source_frames: int = 0        # rows in the file
    frame_index: np.ndarray | None = None   # (F,) which file rows `motion` holds

    @property
    def num_frames(self) -> int:
        return int(self.motion.shape[0])


def parse_bvh(text: str, select: Callable[[int, float], np.ndarray] | None = None) -> BvhClip:
    """Parse a BVH file. select(num_frames, frame_time) -> row indices parses only those rows (much faster when
    resampling 120 fps to 10 fps)."""
    head, sep, body = text.partition("MOTION")
    if not sep:
        raise ValueError("no MOTION section")
    tokens = head.split()
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[list[str]] = []
    stack: list[int] = []
    pending: int | None = None
    i = 0
    while i < len(tokens):
        t = tokens[i]
        tl = t.lower()
        if tl in ("root", "joint"):
            pending = len(names)
            names.append(tokens[i + 1])
            parents.append(stack[-1] if stack else -1)
            offsets.append([0.0, 0.0, 0.0])
            channels.append([])
            i += 2
        elif tl == "end":  # End Site
            pending = len(names)
            names.append(names[stack[-1]] + "_end")
            parents.append(stack[-1])
            offsets.append([0.0, 0.0, 0.0])
            channels.append([])
            i += 2
        elif t == "{":
            if pending is None:
                raise ValueError("'{' without a joint")
            stack.append(pending)
            pending = None
            i += 1
        elif t == "}":
            stack.pop()
            i += 1
        elif tl == "offset":
            offsets[stack[-1]] = [float(v) for v in tokens[i + 1:i + 4]]
            i += 4
        elif tl == "channels":
            n = int(tokens[i + 1])
            channels[stack[-1]] = [c.lower() for c in tokens[i + 2:i + 2 + n]]
            i += 2 + n
        else:  # HIERARCHY and anything unknown
            i += 1
    if stack:
        raise ValueError("unbalanced braces in HIERARCHY")
    counts = np.array([len(c) for c in channels])
    first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int)
    skel = BvhSkeleton(names, np.array(parents), np.array(offsets, dtype=np.float64), channels, first)

    # MOTION: "Frames: n", "Frame Time: t", then n rows of numbers (normally one line per frame).
    lines = body.lstrip().split("\n", 2)
    n_frames = int(lines[0].split(":")[1])
    frame_time = float(lines[1].split(":")[1])
    n_ch = int(counts.sum())
    rows = [r for r in lines[2].split("\n") if r.strip()] if len(lines) > 2 else []
    motion = None
    if len(rows) >= n_frames:
        n_total = n_frames
        index = np.arange(n_total) if select is None else np.asarray(select(n_total, frame_time), dtype=int)
        values = np.array(" ".join(rows[k] for k in index).split(), dtype=np.float64)
        if values.size == len(index) * n_ch:
            motion = values.reshape(len(index), n_ch)
    if motion is None:  # rows wrapped over lines or a short file: parse every number, keep complete rows only
        values = np.array(" ".join(rows).split(), dtype=np.float64)
        n_total = min(n_frames, values.size // n_ch if n_ch else 0)
        index = np.arange(n_total) if select is None else np.asarray(select(n_total, frame_time), dtype=int)
        motion = values[: n_total * n_ch].reshape(n_total, n_ch)[index]
    return BvhClip(skel, motion, frame_time, n_total, index)


def bvh_fk(clip: BvhClip, frames: np.ndarray | None = None, position_mode: str = "add",
           return_rotations: bool = False):
    """Global joint positions (F, J, 3) in file units (and optionally global rotations (F, J, 3, 3)).

    frames: rows of clip.motion to evaluate (default all).
    """
    skel = clip.skeleton
    motion = clip.motion if frames is None else clip.motion[np.asarray(frames)]
    n = motion.shape[0]
    J = len(skel.names)
    offsets = skel.offsets
    g_rot = np.empty((n, J, 3, 3))
    g_pos = np.empty((n, J, 3))
    for j in range(J):
        ch = skel.channels[j]
        c0 = skel.first_column[j]
        # Local translation
        t = np.broadcast_to(offsets[j], (n, 3)).copy()
        pos_cols = [(c0 + k, _POS.index(c)) for k, c in enumerate(ch) if c in _POS]
        if pos_cols:
            if position_mode == "replace":
                t[:] = 0.0
            elif position_mode != "add":
                raise ValueError(f"position_mode must be 'add' or 'replace', not {position_mode!r}")
            for col, axis in pos_cols:
                t[:, axis] += motion[:, col]
        # Local rotation
        rot = [(c0 + k, c[0]) for k, c in enumerate(ch) if c in _ROT]
        if rot:
            cols = [c for c, _ in rot]
            order = "".join(a for _, a in rot)
            r = euler_intrinsic(order, motion[:, cols])
        else:
            r = np.broadcast_to(np.eye(3), (n, 3, 3))
        p = skel.parents[j]
        if p < 0:
            g_rot[:, j] = r
            g_pos[:, j] = t
        else:
            g_rot[:, j] = g_rot[:, p] @ r
            g_pos[:, j] = g_pos[:, p] + np.einsum("fab,fb->fa", g_rot[:, p], t)
    return (g_pos, g_rot) if return_rotations else g_pos
