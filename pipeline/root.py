"""Root trajectory: the pelvis position in the camera frame from 2D keypoints, a root-relative 3D pose and intrinsics.

Find t minimising sum_j w_j |project(P_j + t) - u_j|^2: a linear (DLT-style) weighted least squares on the
cross-multiplied projection equations gives the start, a few Gauss-Newton steps on the pixel error refine it.
"""
from __future__ import annotations

import numpy as np

from core.camera import project

MIN_DEPTH = 0.2   # metres: a solution closer than this to the camera is rejected


def _linear(pose: np.ndarray, xn: np.ndarray, w: np.ndarray) -> np.ndarray | None:
    """(x + tx) - a (z + tz) = 0 and (y + ty) - b (z + tz) = 0 for normalised image coords (a, b); linear in t."""
    a, b = xn[:, 0], xn[:, 1]
    one, zero = np.ones_like(a), np.zeros_like(a)
    rows = np.concatenate([np.stack([one, zero, -a], 1), np.stack([zero, one, -b], 1)])
    rhs = np.concatenate([a * pose[:, 2] - pose[:, 0], b * pose[:, 2] - pose[:, 1]])
    sw = np.sqrt(np.concatenate([w, w]))
    sol, _res, rank, _sv = np.linalg.lstsq(rows * sw[:, None], rhs * sw, rcond=None)
    return sol if rank == 3 else None


def solve_root(pose: np.ndarray, keypoints: np.ndarray, k: np.ndarray, weights: np.ndarray | None = None,
               iterations: int = 5) -> np.ndarray | None:
    """Translation t (3,) with project(pose + t, k) ~ keypoints.

    pose: (J, 3) root-relative camera-frame metres; keypoints: (J, 2) px, or (J, 3) with a score column used as
    weight when `weights` is None; k: 3x3 intrinsics. Returns None when fewer than 3 joints carry weight or the
    solution lies behind / too close to the camera.
    """
    pose = np.asarray(pose, dtype=np.float64)
    kp = np.asarray(keypoints, dtype=np.float64)
    w = np.asarray(weights if weights is not None else (kp[:, 2] if kp.shape[1] > 2 else np.ones(len(kp))), float)
    uv = kp[:, :2]
    ok = np.isfinite(uv).all(1) & np.isfinite(pose).all(1) & np.isfinite(w) & (w > 0)
    if ok.sum() < 3:
        return None
    pose, uv, w = pose[ok], uv[ok], w[ok] / w[ok].max()
    kinv = np.linalg.inv(k)
    xn = (np.concatenate([uv, np.ones((len(uv), 1))], 1) @ kinv.T)[:, :2]
    t = _linear(pose, xn, w)
    if t is None or not np.isfinite(t).all():
        return None
    fx, fy = k[0, 0], k[1, 1]
    sw = np.sqrt(np.repeat(w, 2))
    for _ in range(iterations):
        p = pose + t
        z = np.clip(p[:, 2], 1e-6, None)
        r = (project(p, k) - uv).reshape(-1)
        jac = np.zeros((len(p), 2, 3))   # d(u, v) / d(t)
        jac[:, 0, 0] = fx / z
        jac[:, 0, 2] = -fx * p[:, 0] / z**2
        jac[:, 1, 1] = fy / z
        jac[:, 1, 2] = -fy * p[:, 1] / z**2
        jac = jac.reshape(-1, 3)
        step, *_ = np.linalg.lstsq(jac * sw[:, None], -r * sw, rcond=None)
        t = t + step
        if np.linalg.norm(step) < 1e-6:
            break
    if not np.isfinite(t).all() or t[2] + pose[:, 2].min() < MIN_DEPTH:
        return None
    return t
