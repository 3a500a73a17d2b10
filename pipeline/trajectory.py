"""Root trajectory: the pelvis position (camera frame) filtered by a constant-velocity Kalman filter.

Measurements: the per-frame root solve (pipeline/root.py: metric position from the 2D keypoints, the intrinsics and
the person's bone lengths). Its error is mostly along the viewing ray (depth from scale: ~15 %) and small across it
(~1 % of the distance), so its covariance is elongated along the ray. Once the floor is known, a second measurement
says how far along the pelvis ray the person stands with the lower foot on the floor (precise when the camera looks
down on the people, weak when the ray runs nearly parallel to the floor); the filter weighs the two.

Physical bounds: speed at most max_speed, the velocity changes by at most max_accel * dt per frame; a measurement
further than the gate (Mahalanobis) is ignored, and after `max_rejected` ignored ones in a row the filter restarts
on the measurement (the person really is somewhere else). One RootFilter per track: a new track starts a new filter.

A 6-state filter is a few lines of numpy; filterpy would add matplotlib to the install for the same equations.
"""
from __future__ import annotations

import numpy as np

from core.skeleton import SOLE_BELOW_ANKLE

DEPTH_SIGMA = 0.15        # relative error of the scale-based depth (1 sigma)
LATERAL_SIGMA = 0.01      # relative error across the ray
ACCEL_SIGMA = 3.0         # m/s^2: white-noise acceleration of the motion model
GATE = 25.0               # Mahalanobis distance^2 beyond which a measurement is ignored (chi2(3): p ~ 1e-5)
FOOT_SIGMA = 0.05         # m: how well the lower foot sits on the floor (heel strike, toe off, estimate noise)
MIN_RAY_SLOPE = 0.05      # |ray . up| below this: the floor says nothing about the depth


def ray_covariance(position: np.ndarray, depth: float = DEPTH_SIGMA, lateral: float = LATERAL_SIGMA) -> np.ndarray:
    """3x3 measurement covariance of a root at `position`: depth error along the ray, lateral across it."""
    d = float(np.linalg.norm(position))
    u = position / max(d, 1e-9)
    along = np.outer(u, u)
    return (depth * d) ** 2 * along + (lateral * d) ** 2 * (np.eye(3) - along)


class RootFilter:
    def __init__(self, max_speed: float = 3.0, max_accel: float = 10.0, max_gap: float = 1.0,
                 max_rejected: int = 5):
        self.max_speed, self.max_accel, self.max_gap, self.max_rejected = max_speed, max_accel, max_gap, max_rejected
        self.reset()

    def reset(self) -> None:
        self.x: np.ndarray | None = None       # (6,) position, velocity
        self.p: np.ndarray | None = None       # (6, 6)
        self.t: float | None = None
        self.rejected = 0

    @property
    def position(self) -> np.ndarray | None:
        return None if self.x is None else self.x[:3].copy()

    def _start(self, z: np.ndarray, t: float) -> None:
        self.x = np.r_[z, np.zeros(3)]
        self.p = np.zeros((6, 6))
        self.p[:3, :3] = ray_covariance(z)
        self.p[3:, 3:] = np.eye(3) * 1.0 ** 2     # walking speed unknown: 1 m/s
        self.t, self.rejected = t, 0

    def _predict(self, t: float) -> None:
        dt = t - self.t
        f = np.eye(6)
        f[:3, 3:] = np.eye(3) * dt
        q = np.zeros((6, 6))   # white acceleration noise integrated over dt
        q[:3, :3] = np.eye(3) * dt**4 / 4
        q[:3, 3:] = q[3:, :3] = np.eye(3) * dt**3 / 2
        q[3:, 3:] = np.eye(3) * dt**2
        self.x = f @ self.x
        self.p = f @ self.p @ f.T + q * ACCEL_SIGMA**2
        self.t = t

    def _correct(self, h: np.ndarray, z: np.ndarray, r: np.ndarray, gate: bool = True) -> bool:
        """Kalman update with measurement z = h @ x + noise(r); False when gated out."""
        y = z - h @ self.x
        s = h @ self.p @ h.T + r
        s_inv = np.linalg.inv(s)
        if gate and float(y @ s_inv @ y) > GATE:
            return False
        k = self.p @ h.T @ s_inv
        self.x = self.x + k @ y
        self.p = (np.eye(6) - k @ h) @ self.p
        return True

    def _bound(self, v_before: np.ndarray, dt: float) -> None:
        """Physical limits: acceleration, then speed."""
        dv = self.x[3:] - v_before
        limit = self.max_accel * max(dt, 1e-3)
        if np.linalg.norm(dv) > limit:
            self.x[3:] = v_before + dv * (limit / np.linalg.norm(dv))
        speed = np.linalg.norm(self.x[3:])
        if speed > self.max_speed:
            self.x[3:] *= self.max_speed / speed

    def update(self, measured: np.ndarray | None, t: float, floor: tuple | None = None) -> np.ndarray | None:
        """One frame: the per-frame root solve (camera frame, or None) at time t -> the filtered root.
        floor: (lower ankle relative to the pelvis, up, floor height) once the floor is known (see `ground`).
        The root moves at most max_speed * dt from the last frame's."""
        z = None if measured is None else np.asarray(measured, float)
        if z is not None and not np.isfinite(z).all():
            z = None
        if self.x is None or t - self.t > self.max_gap or t < self.t:
            if z is not None:
                self._start(z, t)
                if floor is not None:   # a new track stands on the floor from its first frame
                    self._ground(*floor)
            return self.position
        dt = t - self.t
        v_before, p_before = self.x[3:].copy(), self.x[:3].copy()
        self._predict(t)
        if z is not None:
            h = np.zeros((3, 6))
            h[:, :3] = np.eye(3)
            if self._correct(h, z, ray_covariance(z)):
                self.rejected = 0
            else:
                self.rejected += 1
                if self.rejected > self.max_rejected:
                    self._start(z, t)
                    if floor is not None:
                        self._ground(*floor)
                    return self.position
        if floor is not None:
            self._ground(*floor)
        self._bound(v_before, dt)
        step = self.x[:3] - p_before
        if np.linalg.norm(step) > self.max_speed * dt:
            self.x[:3] = p_before + step * (self.max_speed * dt / np.linalg.norm(step))
        return self.position

    def _ground(self, foot_offset: np.ndarray, up: np.ndarray, floor_height: float) -> None:
        """The lower foot stands on the floor: along the ray through the current root, the depth at which
        (root + foot_offset) . up == floor_height + sole. foot_offset: that ankle relative to the pelvis."""
        pos = self.x[:3]
        d = float(np.linalg.norm(pos))
        u = pos / max(d, 1e-9)
        slope = float(u @ up)
        if abs(slope) < MIN_RAY_SLOPE:
            return
        depth = (floor_height + SOLE_BELOW_ANKLE - float(foot_offset @ up)) / slope
        if depth <= 0:
            return
        h = np.zeros((1, 6))
        h[0, :3] = u
        # The floor's own uncertainty is one offset shared by every frame and person (it moves them all alike), so
        # it is not noise of this frame's measurement: only the foot's own error is.
        sigma = FOOT_SIGMA / abs(slope)
        self._correct(h, np.array([depth]), np.array([[sigma**2]]), gate=False)
