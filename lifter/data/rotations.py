"""Vectorised axis rotations and Euler compositions shared by the BVH and ASF/AMC readers (degrees in, (F,3,3) out)."""
from __future__ import annotations

import numpy as np


def axis_rotation(axis: str, degrees: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) about x, y or z by `degrees` (right-handed, counter-clockwise)."""
    a = np.deg2rad(np.asarray(degrees, dtype=np.float64))
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    axis = axis.lower()
    if axis == "x":
        rows = ((o, z, z), (z, c, -s), (z, s, c))
    elif axis == "y":
        rows = ((c, z, s), (z, o, z), (-s, z, c))
    elif axis == "z":
        rows = ((c, -s, z), (s, c, z), (z, z, o))
    else:
        raise ValueError(f"unknown rotation axis {axis!r}")
    return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)


def euler_intrinsic(order: str, degrees: np.ndarray) -> np.ndarray:
    """R = R_order[0] @ R_order[1] @ R_order[2] (BVH convention: channels are applied in the listed order, intrinsic).

    degrees: (..., len(order)), column i is the angle about order[i].
    """
    degrees = np.asarray(degrees, dtype=np.float64)
    out = None
    for i, axis in enumerate(order):
        r = axis_rotation(axis, degrees[..., i])
        out = r if out is None else out @ r
    if out is None:
        out = np.broadcast_to(np.eye(3), degrees.shape[:-1] + (3, 3)).copy()
    return out
