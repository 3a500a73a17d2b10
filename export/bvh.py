"""BVH writer for our 17-joint skeleton: hierarchy, inverse kinematics (export/ik.py) and an atomic file write.

The file: +Y up, the subject faces +Z in the rest pose (T-pose), lengths in metres by default (units="cm" on
request; Blender's importer takes either through its Scale option). The root "pelvis" has 6 channels
(Xposition Yposition Zposition + 3 rotations), every other joint 3 rotation channels; ankles, wrists and the
head end in End Sites. Six zero-offset helper joints "<child>_base" orient the bones leaving the pelvis and the
thorax (see export/ik.py for why), so the file has 23 joints. Rotation channel orders are chosen per joint so
the usual large motions (knee/elbow hinges, turning round) never sit on the gimbal-locked middle axis.
Rotations compose as in every BVH reader: R = R_first @ R_second @ R_third (intrinsic, listed order).
"""
from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from core.outputs import atomic_write
from core.skeleton import CHILDREN, JOINT_NAMES, NUM_JOINTS
from export.ik import BRANCHES, LEAVES, Rest, global_rotations, normalise_bones, rest_from_positions
from export.names import rename

END_SITE_FRACTION = 0.3   # End Site length as a fraction of the leaf's own bone (hands, feet, head top)
UNIT_SCALE = {"m": 1.0, "cm": 100.0}

_LEGS = {"r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle"}
_ARMS = {"l_shoulder", "l_elbow", "l_wrist", "r_shoulder", "r_elbow", "r_wrist"}


@dataclass(frozen=True)
class RigJoint:
    name: str
    parent: int   # index into RIG; -1 for the root
    joint: int    # our joint index (core/skeleton.py), -1 for a helper
    bone: int     # helpers: the child joint whose bone they turn; -1 otherwise
    order: str    # rotation channel order, e.g. "ZXY"


def _order(name: str) -> str:
    # The middle axis of an Euler triple is limited to +-90 deg: make it the bone's own (twist) axis.
    if name == "pelvis":
        return "YXZ"   # heading first: turning round is common, lying face down is not
    if name in _LEGS:
        return "ZYX"   # bone along Y; knee hinge about X is the last axis
    if name in _ARMS:
        return "ZXY"   # bone along X; elbow hinge about Y is the last axis
    return "ZYX"       # spine, thorax, neck, head: bone along Y


def _build_rig() -> tuple[RigJoint, ...]:
    rig: list[RigJoint] = []

    def visit(j: int, parent: int) -> None:
        me = len(rig)
        rig.append(RigJoint(JOINT_NAMES[j], parent, j, -1, _order(JOINT_NAMES[j])))
        for c in CHILDREN[j]:
            if j in BRANCHES:
                helper = len(rig)
                rig.append(RigJoint(JOINT_NAMES[c] + "_base", me, -1, c, "ZXY"))
                visit(c, helper)
            else:
                visit(c, me)

    visit(0, -1)
    return tuple(rig)


RIG = _build_rig()
RIG_NAMES = tuple(r.name for r in RIG)


@dataclass
class BvhMotion:
    """What a BVH file encodes: the rig's rest and the per-frame channel values, plus the poses they reproduce."""
    rest: Rest
    positions: np.ndarray   # (T, 17, 3) metres, +Y up: the bone-length-normalised (and grounded) poses
    motion: np.ndarray      # (T, 3 + 3 * len(RIG)) root position (metres) then each rig joint's angles (degrees)


def rig_offsets(rest: Rest) -> np.ndarray:
    """(len(RIG), 3) OFFSET of each rig joint in metres (root and helpers: zero)."""
    out = np.zeros((len(RIG), 3))
    for k, r in enumerate(RIG):
        if r.joint > 0:
            out[k] = rest.offsets[r.joint]
    return out


def end_site_offset(rest: Rest, leaf: int) -> np.ndarray:
    return END_SITE_FRACTION * rest.lengths[leaf] * rest.directions[leaf]


def solve(positions: np.ndarray, ground: bool = True, rest: Rest | None = None) -> BvhMotion:
    """Positions (T, 17, 3) metres, +Y up -> rig rest (median bone lengths) and per-frame channel values.

    ground: shift every frame by one vertical offset so the median (over frames) of the lowest joint is at y = 0
    (the camera-centred world otherwise puts the floor about a camera height below 0).
    """
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 3 or positions.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"positions must be (T, {NUM_JOINTS}, 3), got {positions.shape}")
    if not np.isfinite(positions).all():
        raise ValueError("positions contain NaN or inf")
    rest = rest or rest_from_positions(positions)
    p = normalise_bones(positions, rest.lengths)
    if ground and len(p):
        p[..., 1] -= ground_height(p)
    g, helpers = global_rotations(p, rest)
    t = len(p)
    glob = [g[:, r.joint] if r.joint >= 0 else helpers[r.bone] for r in RIG]
    motion = np.empty((t, 3 + 3 * len(RIG)))
    motion[:, :3] = p[:, 0]
    for k, r in enumerate(RIG):
        local = glob[k] if r.parent < 0 else np.swapaxes(glob[r.parent], -1, -2) @ glob[k]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # gimbal lock: scipy still returns angles that rebuild the matrix
            angles = Rotation.from_matrix(local.reshape(-1, 3, 3)).as_euler(r.order, degrees=True) if t else \
                np.zeros((0, 3))
        motion[:, 3 + 3 * k:6 + 3 * k] = np.unwrap(angles, period=360.0, axis=0) if t else angles
    return BvhMotion(rest, p, motion)


def ground_height(positions: np.ndarray) -> float:
    """The floor of a (T, 17, 3) +Y-up sequence: the median over frames of the lowest joint's height (the animation
    exports subtract it, since the camera-centred world puts the floor about a camera height below 0)."""
    return float(np.median(positions[..., 1].min(axis=1))) if len(positions) else 0.0


def forward_kinematics(rest: Rest, motion: np.ndarray) -> np.ndarray:
    """(T, 17, 3) our joints' positions (metres) from channel values: the inverse of solve, for checks."""
    offsets = rig_offsets(rest)
    t = len(motion)
    rot = np.empty((t, len(RIG), 3, 3))
    pos = np.empty((t, len(RIG), 3))
    for k, r in enumerate(RIG):
        local = Rotation.from_euler(r.order, motion[:, 3 + 3 * k:6 + 3 * k], degrees=True).as_matrix()
        if r.parent < 0:
            rot[:, k], pos[:, k] = local, motion[:, :3]
        else:
            rot[:, k] = rot[:, r.parent] @ local
            pos[:, k] = pos[:, r.parent] + rot[:, r.parent] @ offsets[k]
    out = np.empty((t, NUM_JOINTS, 3))
    for k, r in enumerate(RIG):
        if r.joint >= 0:
            out[:, r.joint] = pos[:, k]
    return out


def _fmt(v) -> str:
    return " ".join(f"{x:.6f}" for x in np.round(v, 6) + 0.0)  # + 0.0 turns -0.0 into 0.0


def _hierarchy(lines: list[str], k: int, depth: int, offsets: np.ndarray, ends: dict[int, np.ndarray],
               children: dict[int, list[int]], names: str | None) -> None:
    """Append rig joint k and its subtree. A plain function on purpose: a nested function that calls itself is a
    reference cycle holding its closure (here the whole motion) until the cyclic GC runs, which on long runs let
    every periodic BVH rewrite's arrays pile up (tools/soak.py measured +160 MiB over 5000 frames)."""
    pad, r = "  " * depth, RIG[k]
    lines.append(f"{pad}{'ROOT' if r.parent < 0 else 'JOINT'} {rename(r.name, names)}")
    lines.append(pad + "{")
    lines.append(f"{pad}  OFFSET {_fmt(offsets[k])}")
    rot = " ".join(f"{a}rotation" for a in r.order)
    lines.append(f"{pad}  CHANNELS {'6 Xposition Yposition Zposition' if r.parent < 0 else '3'} {rot}")
    for c in children[k]:
        _hierarchy(lines, c, depth + 1, offsets, ends, children, names)
    if r.joint in ends:
        lines.extend([f"{pad}  End Site", pad + "  {", f"{pad}    OFFSET {_fmt(ends[r.joint])}", pad + "  }"])
    lines.append(pad + "}")


def bvh_text(data: BvhMotion, frame_time: float, units: str = "m", names: str | None = None) -> str:
    """names: a bone-name preset (export/names.py; None: our Human3.6M names)."""
    scale = UNIT_SCALE[units]
    offsets = rig_offsets(data.rest) * scale
    children = {k: [c for c, r in enumerate(RIG) if r.parent == k] for k in range(len(RIG))}
    ends = {j: end_site_offset(data.rest, j) * scale for j in LEAVES}
    lines = ["HIERARCHY"]
    _hierarchy(lines, 0, 0, offsets, ends, children, names)
    motion = data.motion.copy()
    motion[:, :3] *= scale
    lines += ["MOTION", f"Frames: {len(motion)}", f"Frame Time: {frame_time:.10f}"]
    buf = io.StringIO()
    np.savetxt(buf, motion, fmt="%.6f")
    table = buf.getvalue()
    buf.close()   # np.savetxt leaves buf in a reference cycle: free its copy of the table now, not at the next GC
    return "\n".join(lines) + "\n" + table


def bvh_document(positions: np.ndarray, fps: float, units: str = "m", ground: bool = True,
                 names: str | None = None) -> tuple[str, BvhMotion]:
    """Positions (T, 17, 3) metres, world frame (+Y up) -> (the BVH file's text, what it encodes); names: a
    bone-name preset (export/names.py)."""
    if units not in UNIT_SCALE:
        raise ValueError(f"units must be one of {sorted(UNIT_SCALE)}, not {units!r}")
    if not fps > 0 or not np.isfinite(fps):
        raise ValueError(f"fps must be positive, got {fps}")
    data = solve(positions, ground=ground)
    return bvh_text(data, 1.0 / fps, units, names), data


def write_bvh(path: str | os.PathLike, positions: np.ndarray, fps: float, units: str = "m",
              ground: bool = True, names: str | None = None) -> BvhMotion:
    """Positions (T, 17, 3) metres, world frame (+Y up) -> a BVH file at `path`, written atomically
    (core.outputs.atomic_write: a reader never sees a partial file). Returns what it wrote.
    names: bone-name preset (export/names.py)."""
    text, data = bvh_document(positions, fps, units, ground, names)
    atomic_write(path, text, encoding="ascii")
    return data
