"""The floor: a plane perpendicular to gravity, at the height of the people's lowest feet over time.

Each person and frame gives one observation: the lower ankle's position (camera frame, from the per-frame root solve
before any filtering, so the floor does not lean on what it is used to correct). A static camera keeps all of them
(thinned when the buffer is full), a moving one those of the last window_s seconds.

The plane is fitted to them (robust least squares, scipy) together with the up vector: the body cue's up
(pipeline/gravity.py) enters as a prior with its uncertainty, and the feet, spread over the floor as people walk
about, tilt it. Each foot's height residual is weighed by how uncertain it is: the scale-based depth is ~15 % off, and
that error moves the foot along its viewing ray, so by depth x (ray . up) in height. The plane's tilt does not depend
on the assumed field of view (a wrong focal length scales every position about the camera alike); its height does.
One person standing still spreads no feet over the floor: then the prior decides the tilt.

Heights are along `up` from the camera centre (the floor is at a negative height: the camera is above it).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from core.skeleton import SOLE_BELOW_ANKLE
from pipeline.gravity import REFIT_S, unit

DEFAULT_CAMERA_HEIGHT = 1.5   # m: assumed before any foot was seen
CORRELATION_S = 0.5           # observations closer in time than this are not independent
DEPTH_SIGMA = 0.15            # relative depth error of a foot (the root solve's)
HEIGHT_SIGMA = 0.05           # m: a foot's own height error on the floor (heel / toe, the lifter)
MAX_FIT_POINTS = 1024         # points used by one fit (evenly thinned)


@dataclass
class Floor:
    height: float       # floor height along up from the camera centre (m; negative: below the camera)
    std: float          # 1-sigma uncertainty of the height (m; inf before any foot was seen)
    up: np.ndarray | None = None   # the up vector after the fit (None: the prior's)
    up_std_deg: float = float("inf")

    @property
    def camera_height(self) -> float:
        return -self.height


def lowest_ankle(pose: np.ndarray, up: np.ndarray) -> np.ndarray:
    """The ankle lower along `up` of an absolute camera-frame (17, 3) pose."""
    return pose[3] if pose[3].dot(up) < pose[6].dot(up) else pose[6]


class FloorEstimator:
    def __init__(self, mode: str = "static", window_s: float = 2.0, capacity: int = 4096):
        self.mode, self.window_s, self.capacity = mode, float(window_s), capacity
        self.reset()

    def reset(self) -> None:
        self._points = np.zeros((0, 3))
        self._times = np.zeros(0)
        self._fit: Floor | None = None       # the last plane fit, reused for REFIT_S
        self._fit_t: float | None = None

    def update(self, poses: list[np.ndarray], up: np.ndarray, t: float, up_std_deg: float = float("inf"),
               tilt: bool = True) -> Floor:
        """poses: this frame's absolute camera-frame poses (raw root); up: the body cue's up vector and its
        uncertainty (the prior); tilt False: keep `up` as it is (the user gave it)."""
        up = unit(up)
        new = [lowest_ankle(p, up) for p in poses if np.isfinite(p).all()]
        if new:
            self._points = np.concatenate([self._points, np.stack(new)])
            self._times = np.concatenate([self._times, np.full(len(new), t)])
        if self.mode == "moving":
            keep = self._times > t - self.window_s
            self._points, self._times = self._points[keep], self._times[keep]
        if len(self._points) > self.capacity:
            self._points, self._times = self._points[::2], self._times[::2]
        if not len(self._points):
            return Floor(-DEFAULT_CAMERA_HEIGHT, float("inf"))
        heights = self._points @ up - SOLE_BELOW_ANKLE
        median = float(np.median(heights))
        spread = 1.4826 * float(np.median(np.abs(heights - median)))
        span = float(self._times.max() - self._times.min())
        independent = max(1.0, min(len(heights), span / CORRELATION_S))
        floor = Floor(median, spread / np.sqrt(independent) if len(heights) > 1 else float("inf"), up, up_std_deg)
        if not (tilt and np.isfinite(up_std_deg) and len(heights) >= 10):
            return floor
        if self._fit is None or self._fit_t is None or not 0 <= t - self._fit_t < REFIT_S:
            self._fit = fit_plane(self._points[::max(1, len(self._points) // MAX_FIT_POINTS)], up, up_std_deg,
                                  floor, independent / len(heights))
            self._fit_t = t
        return self._fit


def fit_plane(points: np.ndarray, prior_up: np.ndarray, prior_std_deg: float, start: Floor, share: float) -> Floor:
    """Up vector and floor height from ankle points (N, 3) and a prior up (unit) with its 1-sigma angle.
    share: independent observations per point (time correlation), scales the fit's confidence."""
    helper = np.array([1.0, 0, 0]) if abs(prior_up[0]) < 0.9 else np.array([0, 0, 1.0])
    e1 = unit(np.cross(prior_up, helper))
    e2 = np.cross(prior_up, e1)
    depth = np.linalg.norm(points, axis=1)
    rays = points / depth[:, None]
    prior = np.radians(max(prior_std_deg, 0.1))

    def up_of(x):
        return unit(prior_up + x[0] * e1 + x[1] * e2)

    def residuals(x):
        u = up_of(x)
        sigma = np.hypot(DEPTH_SIGMA * depth * (rays @ u), HEIGHT_SIGMA)
        feet = (points @ u - SOLE_BELOW_ANKLE - x[2]) / sigma * np.sqrt(share)
        return np.r_[feet, x[0] / prior, x[1] / prior]

    fit = least_squares(residuals, np.array([0.0, 0.0, start.height]), loss="soft_l1", f_scale=2.0)
    up = up_of(fit.x)
    try:
        cov = np.linalg.inv(fit.jac.T @ fit.jac)
    except np.linalg.LinAlgError:
        return start
    up_std = float(np.degrees(np.sqrt(max(cov[0, 0], cov[1, 1]))))
    return Floor(float(fit.x[2]), float(np.sqrt(cov[2, 2])), up, up_std)
