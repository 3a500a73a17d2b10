"""The floor: a plane perpendicular to gravity, at the height of the people's lowest feet over time.

Each person and frame gives one observation: the lower ankle's position (camera frame, from the per-frame root solve
before any filtering, so the floor does not lean on what it is used to correct). A static camera keeps all of them
(thinned when the buffer is full), a moving one those of the last window_s seconds.

The plane is fitted to them (robust least squares, scipy) together with the up vector: the body cue's up
(pipeline/gravity.py) enters as a prior with its uncertainty, and the feet, spread over the floor as people walk
about, tilt it. The scale-based depth of a person is ~15 % off, and that error is one error per person (their size
and so their distance are misjudged alike in every frame), not one per foot: each track carries its own scale
nuisance (prior 15 %), and a foot's own residual is its small frame-to-frame part (~5 % of the depth, measured on
vtest.avi, along its viewing ray) plus its height error on the floor. So the tilt comes from how each person's feet
move over the floor relative to each other, and the floor height from all people's scales together; a plane through
(almost) the camera no longer fits far people's feet cheaply (it did when every far foot's 15 % was independent,
and the fit flipped between such planes on vtest.avi with ~5 people in view). The plane's tilt does not depend on
the assumed field of view (a wrong focal length scales every position about the camera alike); its height does.
One person standing still spreads no feet over the floor: then the prior decides the tilt.

Heights are along `up` from the camera centre (the floor is at a negative height: the camera is above it).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from core.skeleton import SOLE_BELOW_ANKLE
from pipeline.gravity import REFIT_S, angle_deg, unit

DEFAULT_CAMERA_HEIGHT = 1.5   # m: assumed before any foot was seen
CORRELATION_S = 0.5           # observations closer in time than this are not independent
DEPTH_SIGMA = 0.15            # relative depth error of a person (the root solve's scale): one per track
FRAME_DEPTH_SIGMA = 0.05      # relative frame-to-frame depth error of a foot (vtest.avi, root depth about its
                              # 0.5-3 s moving mean: median track 2.5-3.3 %, worst 6-12 %)
HEIGHT_SIGMA = 0.05           # m: a foot's own height error on the floor (heel / toe, the lifter)
MAX_FIT_POINTS = 512          # points used by one fit (evenly thinned)
GRID_DEG, GRID_STEP_DEG = 35.0, 5.0   # the tilts scanned around the body cue's up before the fit
GRID_POINTS = 256             # feet used by the scan (evenly thinned): it only finds the start
MIN_FIT_POINTS = 10           # feet before the first fit
MIN_CAMERA_HEIGHT = 0.2       # m: the fitted floor is below the camera (the feet seen are below it)
MAX_REFIT_S = 2.0             # s: a static camera's refits space out to this while they change little (each costs
                              # 15-30 ms: every REFIT_S the world stage took 13 ms of a 49 ms single-person frame)
STEADY_DEG, STEADY_M = 0.25, 0.03   # a refit that moves the plane less than this counts as no change


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


def sole_heights(ankles: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Heights along `up` from the camera centre of the soles under camera-frame ankles (..., 3)."""
    return ankles @ up - SOLE_BELOW_ANKLE


def floor_under_lowest_sole(poses: list[np.ndarray], up: np.ndarray) -> Floor:
    """The floor before it has evidence (a single image, or no one upright yet): under the lowest sole in view, as
    MMPose's 3D demo grounds its lowest keypoint, instead of DEFAULT_CAMERA_HEIGHT below the camera, which left a
    kicking footballer 1.2 m above the grid; at least MIN_CAMERA_HEIGHT below the camera. Not measured: std inf."""
    lowest = float(sole_heights(np.stack([lowest_ankle(p, up) for p in poses]), up).min())
    return Floor(min(lowest, -MIN_CAMERA_HEIGHT), float("inf"))


class FloorEstimator:
    def __init__(self, mode: str = "static", window_s: float = 2.0, capacity: int = 4096):
        self.mode, self.window_s, self.capacity = mode, float(window_s), capacity
        self.reset()

    def reset(self) -> None:
        self._points = np.zeros((0, 3))
        self._times = np.zeros(0)
        self._groups = np.zeros(0, int)      # which person (track) each point belongs to
        self._next_group = 0
        self._fit: Floor | None = None       # the last plane fit, reused until the next refit is due
        self._fit_t: float | None = None
        self._interval = REFIT_S

    def update(self, poses: list[np.ndarray], up: np.ndarray, t: float, up_std_deg: float = float("inf"),
               tilt: bool = True, groups: list[int] | None = None) -> Floor:
        """poses: this frame's absolute camera-frame poses (raw root); up: the body cue's up vector and its
        uncertainty (the prior); tilt False: keep `up` as it is (the user gave it). groups: one key per pose, the
        same for every frame of one person (a track's serial number); None: every pose is a person of its own."""
        up = unit(up)
        if groups is None:
            groups = list(range(self._next_group, self._next_group + len(poses)))
        kept = [(lowest_ankle(p, up), g) for p, g in zip(poses, groups) if np.isfinite(p).all()]
        self._next_group = max([self._next_group, *[g + 1 for g in groups]])
        if kept:
            self._points = np.concatenate([self._points, np.stack([k for k, _ in kept])])
            self._times = np.concatenate([self._times, np.full(len(kept), t)])
            self._groups = np.concatenate([self._groups, np.array([g for _, g in kept], int)])
        if self.mode == "moving":
            self._keep(self._times > t - self.window_s)
        if len(self._points) > self.capacity:
            self._keep(slice(None, None, 2))
        if not len(self._points):
            return Floor(-DEFAULT_CAMERA_HEIGHT, float("inf"))
        heights = sole_heights(self._points, up)
        median = float(np.median(heights))
        spread = 1.4826 * float(np.median(np.abs(heights - median)))
        span = float(self._times.max() - self._times.min())
        independent = max(1.0, min(len(heights), span / CORRELATION_S))
        floor = Floor(median, spread / np.sqrt(independent) if len(heights) > 1 else float("inf"), up, up_std_deg)
        if not (tilt and np.isfinite(up_std_deg) and len(heights) >= MIN_FIT_POINTS):
            return floor
        if self._fit is None or self._fit_t is None or not 0 <= t - self._fit_t < self.refit_interval():
            step = max(1, len(self._points) // MAX_FIT_POINTS)
            fit = fit_plane(self._points[::step], self._groups[::step], up, up_std_deg, floor,
                            independent / len(heights), self._fit)
            steady = (self._fit is not None and self._fit.up is not None and fit.up is not None
                      and float(angle_deg(fit.up, self._fit.up)) < STEADY_DEG
                      and abs(fit.height - self._fit.height) < STEADY_M)
            self._interval = min(MAX_REFIT_S, 2 * self._interval) if steady else REFIT_S
            self._fit, self._fit_t = fit, t
        return self._fit

    @property
    def seen_s(self) -> float:
        """Seconds between the first and the last foot kept (0 before a plane fit)."""
        if self._fit is None or not len(self._times):
            return 0.0
        return float(self._times.max() - self._times.min())

    def refit_interval(self) -> float:
        """Seconds until the next fit: REFIT_S while the fits move the plane; for a static camera whose fits change
        it by less than STEADY_DEG / STEADY_M the interval doubles, up to MAX_REFIT_S (its floor does not move; new
        evidence only refines it). A moving camera refits every REFIT_S."""
        return REFIT_S if self.mode == "moving" else self._interval

    def _keep(self, which) -> None:
        self._points, self._times, self._groups = self._points[which], self._times[which], self._groups[which]


def _basis(prior_up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    helper = np.array([1.0, 0, 0]) if abs(prior_up[0]) < 0.9 else np.array([0, 0, 1.0])
    e1 = unit(np.cross(prior_up, helper))
    return e1, np.cross(prior_up, e1)


def profile_costs(points: np.ndarray, index: np.ndarray, ups: np.ndarray, share: float) -> np.ndarray:
    """(M,) least-squares cost of the feet for each candidate up (M, 3), every person's scale solved in closed form
    (linearised: d = exp(-s) ~ 1 - s) and the floor height by a scan. Cheap enough to scan a grid of tilts: the
    fit's cost has local minima (a plane through the camera at the body cue's tilt, with every person shrunk), so
    the least-squares fit starts from the best of the grid."""
    n_groups = int(index.max()) + 1
    m = ups @ points.T                                        # (M, N) heights along each up
    w = share / (FRAME_DEPTH_SIGMA**2 * m**2 + HEIGHT_SIGMA**2)
    lam = 1.0 / DEPTH_SIGMA**2

    onehot = np.zeros((len(index), n_groups))
    onehot[np.arange(len(index)), index] = 1.0

    def per_group(v):
        return v @ onehot
    # sum_i w (m_i - b d_k)^2 + lam (d_k - 1)^2, b = height + sole: minimised over d_k, then over b on a grid
    a, m2, wk = per_group(w * m)[..., None], per_group(w * m * m)[..., None], per_group(w)[..., None]
    b = -np.geomspace(0.2, 30.0, 40)
    cost = (m2 + lam - (b * a + lam) ** 2 / (b**2 * wk + lam)).sum(1)
    return 0.5 * cost.min(1)


def fit_plane(points: np.ndarray, groups: np.ndarray, prior_up: np.ndarray, prior_std_deg: float, start: Floor,
              share: float, previous: Floor | None = None) -> Floor:
    """Up vector and floor height from ankle points (N, 3) of people `groups` (N,) and a prior up (unit) with its
    1-sigma angle. Each group's points are scaled about the camera by its own factor exp(s), s ~ N(0, DEPTH_SIGMA).
    share: independent observations per point (time correlation), scales the feet's weight. The fit starts from
    the best tilt of a grid scan and from the previous fit (a static camera's estimate stays where it converged
    unless the evidence now favours another plane), and keeps the lower cost."""
    e1, e2 = _basis(prior_up)
    _, index = np.unique(groups, return_inverse=True)
    n_groups = int(index.max()) + 1
    prior = np.radians(max(prior_std_deg, 0.1))
    weight = np.sqrt(share)

    def up_of(x):
        return unit(prior_up + x[0] * e1 + x[1] * e2)

    def residuals(x):
        u = up_of(x)
        m = points @ u
        sigma = np.hypot(FRAME_DEPTH_SIGMA * m, HEIGHT_SIGMA)
        # in each person's own (unscaled) frame, so that the frame-to-frame noise's cost does not shrink with the
        # plane's distance (residuals in the scaled frame pulled the floor towards the camera by ~13 % at 5 % noise)
        feet = (m - (SOLE_BELOW_ANKLE + x[2]) * np.exp(-x[3:])[index]) / sigma * weight
        return np.r_[feet, x[0] / prior, x[1] / prior, x[3:] / DEPTH_SIGMA]

    rows = np.arange(len(points))

    def jacobian(x):
        """Analytic (a foot depends on the tilt, the height and its own person's scale): a numerical one over
        ~40 persons' scales made a refit take 0.5-3 s on vtest.avi."""
        v = prior_up + x[0] * e1 + x[1] * e2
        u = v / np.linalg.norm(v)
        m = points @ u
        sigma = np.hypot(FRAME_DEPTH_SIGMA * m, HEIGHT_SIGMA)
        d = np.exp(-x[3:])[index]
        base = SOLE_BELOW_ANKLE + x[2]
        dr_dm = weight * (1 / sigma - (m - base * d) * FRAME_DEPTH_SIGMA**2 * m / sigma**3)
        project = (np.eye(3) - np.outer(u, u)) / np.linalg.norm(v)
        jac = np.zeros((len(points) + 2 + n_groups, 3 + n_groups))
        jac[rows, 0] = dr_dm * (points @ (project @ e1))
        jac[rows, 1] = dr_dm * (points @ (project @ e2))
        jac[rows, 2] = -weight * d / sigma
        jac[rows, 3 + index] = weight * base * d / sigma
        jac[len(points), 0] = jac[len(points) + 1, 1] = 1 / prior
        jac[len(points) + 2 + np.arange(n_groups), 3 + np.arange(n_groups)] = 1 / DEPTH_SIGMA
        return jac

    grid = np.tan(np.radians(np.arange(-GRID_DEG, GRID_DEG + 0.1, GRID_STEP_DEG)))
    gx, gy = (g.ravel() for g in np.meshgrid(grid, grid))
    starts = []
    if previous is not None and previous.up is not None and previous.up @ prior_up > 0.5:
        u = previous.up / (previous.up @ prior_up)
        scale = (previous.height + SOLE_BELOW_ANKLE) / (previous.up @ points.T)    # ~ each foot's scale
        s0 = np.log(np.clip(np.bincount(index, scale, n_groups) / np.bincount(index, None, n_groups), 0.3, 3.0))
        starts.append(np.r_[u @ e1, u @ e2, previous.height, s0])
        gx, gy = np.r_[u @ e1, gx], np.r_[u @ e2, gy]     # the previous tilt scanned too (row 0)
    ups = unit(prior_up[None] + gx[:, None] * e1 + gy[:, None] * e2)
    thin = max(1, len(points) // GRID_POINTS)
    cost = profile_costs(points[::thin], index[::thin], ups, share * thin) + 0.5 * (gx**2 + gy**2) / prior**2
    # The grid's best tilt is a second start only when it lies a grid step or more from the previous plane (another
    # basin); nearer, the grid cannot tell them apart and both solves ended at the same cost on vtest.avi, the grid's
    # after 16-33 iterations (50-100 ms), the previous plane's after 5-10: a settled floor's refit is one short solve.
    best = int(np.argmin(cost[1:]) + 1) if starts else int(np.argmin(cost))
    if not starts or float(angle_deg(ups[best], ups[0])) >= GRID_STEP_DEG:
        starts.insert(0, np.r_[gx[best], gy[best], start.height, np.zeros(n_groups)])
    bounds = (np.r_[-np.inf, -np.inf, -np.inf, np.full(n_groups, -np.inf)],
              np.r_[np.inf, np.inf, -MIN_CAMERA_HEIGHT, np.full(n_groups, np.inf)])
    for x0 in starts:
        x0[2] = min(x0[2], -MIN_CAMERA_HEIGHT - 1e-3)
    # lsmr, not the exact solver: its SVD on a multithreaded BLAS took seconds on a loaded machine (vtest.avi)
    fits = [least_squares(residuals, x0, jac=jacobian, loss="soft_l1", f_scale=2.0, bounds=bounds, tr_solver="lsmr")
            for x0 in starts]
    fit = min(fits, key=lambda f: f.cost)
    up = up_of(fit.x)
    try:
        cov = np.linalg.inv(fit.jac.T @ fit.jac)
    except np.linalg.LinAlgError:
        return start
    up_std = float(np.degrees(np.sqrt(max(cov[0, 0], cov[1, 1]))))
    return Floor(float(fit.x[2]), float(np.sqrt(cov[2, 2])), up, up_std)
