"""Gravity: the up direction in the camera frame (x right, y down, z forward), estimated from the people in view.

Cue (per person and frame, from the lifter's camera-frame 3D pose): a person who stands, walks or balances keeps
the body's centre of mass above the centre of pressure of the supporting foot (or feet), so the vector from that
support point to the centre of mass points up. The support point is the lower ankle (both ankles' midpoint when
they are at about the same height), moved ~6 cm forward (the centre of pressure in quiet stance lies in front of
the ankle) and 8 cm down (the sole). Measured on the real clips (tools.realfootage): torso or leg directions alone
are 6-22 deg off there (the person balances bent over), this cue 3-5 deg once accumulated.

A static camera has one up vector: every observation is kept (thinned when the buffer is full) and the estimate is
their robust mean (Tukey weights around the current estimate, so people bending, sitting or lying are outliers).
A moving camera (mode "moving") uses only the last `window_s` seconds. Pitch and roll given by the user replace the
estimate (each on its own).

Angles: pitch > 0 when the camera looks down; roll > 0 when the camera is turned counter-clockwise about its
viewing direction (seen from behind it), so the world's vertical leans to the right (+x) in the image.
    up = (sin(roll) cos(pitch), -cos(roll) cos(pitch), -sin(pitch))
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.skeleton import SOLE_BELOW_ANKLE

LEVEL_UP = np.array([0.0, -1.0, 0.0])   # a level camera: up is -y
FOOT_FORWARD = 0.06                     # m: centre of pressure in front of the ankle
BOTH_FEET = 0.08                        # m: ankles closer than this in height both carry the body
MIN_BODY_HEIGHT = 0.5                   # m: centre of mass at least this far above the support, else no cue
TUKEY_DEG = 40.0                        # observations further than this from the estimate get weight 0
SYSTEMATIC_DEG = 2.0                    # floor of the reported uncertainty (cue bias, measured on real clips)
OBSERVATION_DEG = 10.0                  # least spread assumed for one observation (one frame says little alone)
PRIOR_WEIGHT = 3.0                      # a level camera counts as three frames' observations: a single photo of a
                                        # dynamic pose (a kick: not in balance) tilts the estimate a quarter of the
                                        # way; after a second of video it weighs a few percent
CORRELATION_S = 0.5                     # observations of one person closer in time than this are not independent
REFIT_S = 0.25                          # s between re-estimates (in between, new poses are only stored): the
                                        # estimate changes slowly and a refit costs a few ms

# Segment mass fractions (Dempster / Winter) on our 17 joints: (joints averaged for the segment centre, mass).
_SEGMENTS = (((9, 10), 0.081), ((0, 7, 8), 0.497), ((11, 12), 0.028), ((14, 15), 0.028), ((12, 13), 0.022),
             ((15, 16), 0.022), ((1, 2), 0.100), ((4, 5), 0.100), ((2, 3), 0.061), ((5, 6), 0.061))


def unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, float)
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def up_from_angles(pitch_deg: float, roll_deg: float) -> np.ndarray:
    p, r = np.radians(pitch_deg), np.radians(roll_deg)
    return np.array([np.sin(r) * np.cos(p), -np.cos(r) * np.cos(p), -np.sin(p)])


def angles_from_up(up: np.ndarray) -> tuple[float, float]:
    """(pitch, roll) in degrees of an up vector in the camera frame."""
    u = unit(up)
    return float(np.degrees(np.arcsin(np.clip(-u[2], -1, 1)))), float(np.degrees(np.arctan2(u[0], -u[1])))


def angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.degrees(np.arccos(np.clip(np.sum(unit(a) * unit(b), -1), -1.0, 1.0)))


def world_rotation(up: np.ndarray) -> np.ndarray:
    """3x3 R (world = R @ camera): rows are the world axes in camera coordinates; +Y = up, -Z = the camera's
    viewing direction made horizontal, X = Y x Z (the camera's right, made horizontal)."""
    y = unit(up)
    forward = np.array([0.0, 0.0, 1.0])
    horizontal = forward - forward.dot(y) * y
    if np.linalg.norm(horizontal) < 1e-6:   # looking straight up or down: any horizontal heading will do
        horizontal = np.array([0.0, -1.0, 0.0]) - y[1] * y
    z = -unit(horizontal)
    return np.stack([np.cross(y, z), y, z])


def shortest_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """3x3 rotation turning unit(a) onto unit(b) about their common normal (Rodrigues)."""
    a, b = unit(a), unit(b)
    v, c = np.cross(a, b), float(a @ b)
    if c < -1 + 1e-9:
        raise ValueError("opposite vectors")
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx / (1 + c)


def centre_of_mass(poses: np.ndarray) -> np.ndarray:
    """(..., 17, 3) joints -> (..., 3) approximate centre of mass."""
    total = sum(w for _, w in _SEGMENTS)
    return sum(w * poses[..., list(j), :].mean(-2) for j, w in _SEGMENTS) / total


def support_point(poses: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(..., 17, 3) -> (..., 3): the centre of pressure under the supporting foot (or feet), given an up vector
    (3,), or one per pose (..., 3)."""
    up = unit(up)
    r, l = poses[..., 3, :], poses[..., 6, :]
    hr, hl = np.sum(r * up, -1), np.sum(l * up, -1)
    lower = np.where((hr < hl)[..., None], r, l)
    ankle = np.where((np.abs(hr - hl) < BOTH_FEET)[..., None], 0.5 * (r + l), lower)
    forward = unit(np.cross(up, poses[..., 4, :] - poses[..., 1, :]))   # across the hips: front or back
    face = poses[..., 9, :] - poses[..., 8, :]                           # the nose is in front of the thorax
    forward = forward * np.where(np.sum(forward * face, -1) < 0, -1.0, 1.0)[..., None]
    forward = unit(forward - np.sum(forward * up, -1, keepdims=True) * up)
    return ankle + FOOT_FORWARD * forward - SOLE_BELOW_ANKLE * up


def observe_many(poses: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 17, 3) camera-frame poses and the up (3,) or one per pose (N, 3) that picks their support -> (N, 3) unit
    up cues and (N,) which are valid (finite, and the centre of mass well above the support: not sitting or lying)."""
    v = centre_of_mass(poses) - support_point(poses, up)
    n = np.linalg.norm(v, axis=-1)
    ok = np.isfinite(n) & (n >= MIN_BODY_HEIGHT)
    return np.where(ok[:, None], v / np.maximum(n, 1e-12)[:, None], 0.0), ok


def robust_mean(obs: np.ndarray, weights: np.ndarray, start: np.ndarray, iterations: int = 4,
                prior: np.ndarray = LEVEL_UP, prior_weight: float = PRIOR_WEIGHT) -> tuple[np.ndarray, np.ndarray]:
    """Tukey-weighted mean direction of unit vectors (N, 3) with weights (N,), from `start`, then `prior` added as
    `prior_weight` more observations. Returns (unit mean, final weights of the observations)."""
    mean = unit(start)
    w = weights
    for _ in range(iterations):
        off = angle_deg(obs, mean[None]) / TUKEY_DEG
        w = weights * np.where(off < 1, (1 - off**2) ** 2, 0.0)
        if w.sum() <= 0:
            return mean, w
        mean = unit((obs * w[:, None]).sum(0))
    return unit(mean * w.sum() + prior_weight * prior), w


@dataclass
class Gravity:
    up: np.ndarray          # (3,) unit, camera frame
    std_deg: float          # 1-sigma angular uncertainty (inf: nothing seen yet; 0: given by the user)
    source: str             # "estimated" | "given" | "default" (level camera: nothing seen yet)

    @property
    def angles(self) -> tuple[float, float]:
        return angles_from_up(self.up)


class GravityEstimator:
    """One per source (camera): fed every person of every frame, gives the current up vector.

    mode "static": all observations (thinned to `capacity`), "moving": those of the last window_s seconds.
    pitch / roll: the user's values in degrees (None: estimated)."""

    def __init__(self, mode: str = "static", window_s: float = 2.0, pitch: float | None = None,
                 roll: float | None = None, capacity: int = 2048):
        self.mode, self.window_s, self.pitch, self.roll = mode, float(window_s), pitch, roll
        self.capacity = capacity
        self.reset()

    def reset(self) -> None:
        self._poses = np.zeros((0, 17, 3))
        self._times = np.zeros(0)
        self._weights = np.zeros(0)
        self._up = LEVEL_UP.copy()
        self._std = float("inf")
        self._fit_t: float | None = None

    def due(self, t: float) -> bool:
        """Time for a re-estimate (always while there are few poses: cheap, and the estimate moves fast then)."""
        return (not np.isfinite(self._std) or self._fit_t is None or len(self._poses) < 64
                or not 0 <= t - self._fit_t < REFIT_S)

    def _add(self, poses: list[np.ndarray], t: float) -> None:
        poses = [np.asarray(p, float) - np.asarray(p, float)[0] for p in poses
                 if np.shape(p) == (17, 3) and np.isfinite(p).all()]
        if poses:
            self._poses = np.concatenate([self._poses, np.stack(poses)])
            self._times = np.concatenate([self._times, np.full(len(poses), t)])
            self._weights = np.concatenate([self._weights, np.ones(len(poses))])
        if self.mode == "moving":
            keep = self._times > t - self.window_s
            self._poses, self._times, self._weights = self._poses[keep], self._times[keep], self._weights[keep]
        if len(self._poses) > self.capacity:    # static: keep every other one, each standing for two
            self._poses, self._times, self._weights = self._poses[::2], self._times[::2], self._weights[::2] * 2

    def update(self, poses: list[np.ndarray], t: float) -> Gravity:
        """poses: this frame's absolute (or root-relative) camera-frame (17, 3) poses of every person. The cues of
        all kept poses are recomputed with the current estimate (which foot supports, which way is forward depend
        on it), twice, so early frames seen with a poor estimate do not bias it."""
        if self.pitch is not None and self.roll is not None:
            return Gravity(up_from_angles(self.pitch, self.roll), 0.0, "given")
        self._add(poses, t)
        for _ in range(2 if self.due(t) else 0):
            obs, ok = observe_many(self._poses, self._up)
            if not ok.any():
                break
            obs, times, weights = obs[ok], self._times[ok], self._weights[ok]
            start = unit((obs * weights[:, None]).sum(0)) if not np.isfinite(self._std) else self._up
            up, w = robust_mean(obs, weights, start)
            if w.sum() > 0:
                self._up = up
                spread = np.radians(angle_deg(obs, up[None]))
                scatter = np.sqrt((w * spread**2).sum() / w.sum())
                span = max(float(times.max() - times.min()), 1e-3)
                # Observations within CORRELATION_S of each other count once: n_eff ~ span / CORRELATION_S.
                independent = max(1.0, min(float(w.sum()), span / CORRELATION_S))
                scatter = max(np.degrees(scatter), OBSERVATION_DEG)
                self._std = float(np.hypot(scatter / np.sqrt(independent), SYSTEMATIC_DEG))
                self._fit_t = t
        up, std = self._up, self._std
        if not np.isfinite(std):
            return self._with_given(Gravity(up.copy(), std, "default"))
        return self._with_given(Gravity(up.copy(), std, "estimated"))

    def _with_given(self, g: Gravity) -> Gravity:
        if self.pitch is None and self.roll is None:
            return g
        pitch, roll = g.angles
        pitch = self.pitch if self.pitch is not None else pitch
        roll = self.roll if self.roll is not None else roll
        return Gravity(up_from_angles(pitch, roll), g.std_deg, g.source if g.source == "estimated" else "given")
