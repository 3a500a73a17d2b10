"""Smoothing of the 3D output.

Live: the One-Euro filter (Casiez, Roussel & Vogel, CHI 2012): little lag when joints move fast, strong smoothing when
they are still. It works on arrays of points (..., 3): the adaptive cutoff uses each point's speed (norm of its
velocity), so all three coordinates of a joint are filtered alike. Time comes from frame timestamps, so dropped frames
are handled. A causal filter lags: on the real clips One-Euro cost 2-4 mm MPJPE (docs/realfootage.md).

Files: a video processed offline has the frames after each one, so a centred (zero-phase) low-pass can smooth without
lag: a Gaussian over the frames within 3 sigma on both sides, sigma from the cutoff (the -3 dB frequency; 6 Hz is the
usual cutoff for human movement in biomechanics, Winter, Biomechanics and Motor Control of Human Movement, 2009).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np


@dataclass
class OneEuroConfig:
    enabled: bool = True
    min_cutoff: float = 1.0    # Hz: cutoff at rest (lower = smoother, more lag)
    beta: float = 4.0          # s/m: how fast the cutoff rises with speed (higher = less lag on fast moves)
    d_cutoff: float = 1.0      # Hz: cutoff of the speed estimate
    max_gap: float = 0.5       # s: a longer gap between frames restarts the filter
    offline: str = "centred"   # files processed offline: centred (zero lag, the frames after too) | one_euro (as live)
    offline_cutoff_hz: float = 6.0   # the centred filter's -3 dB frequency
    # beta for the temporal lifter's output (None: beta): its window already smooths, so One-Euro mostly adds lag
    # there; 5 keeps the causal output's jitter at most half the frame model's live jitter (tools/live_filter.py)
    temporal_beta: float | None = 5.0

    def for_lifter(self, lifter_mode: str) -> "OneEuroConfig":
        """The filter settings for a lifter mode's output: temporal_beta in place of beta for 'temporal'."""
        if lifter_mode == "temporal" and self.temporal_beta is not None:
            return replace(self, beta=self.temporal_beta)
        return self


OFFLINE_MODES = ("centred", "one_euro")


def centred_sigma(cutoff_hz: float) -> float:
    """Seconds: the Gaussian whose gain falls to 1/sqrt(2) at cutoff_hz (exp(-2 pi^2 sigma^2 f^2) = 2^-1/2)."""
    return math.sqrt(math.log(2)) / (2 * math.pi * cutoff_hz)


def centred_mean(times: np.ndarray, values: np.ndarray, t: float, cutoff_hz: float) -> np.ndarray:
    """The centred Gaussian low-pass at time t of samples values (M, ...) taken at times (M,) seconds: their
    weighted mean over those within 3 sigma of t (fewer on one side at a stream's ends or after a gap)."""
    times = np.asarray(times, np.float64)
    sigma = centred_sigma(cutoff_hz)
    near = np.abs(times - t) <= 3 * sigma
    if not near.any():     # nothing within reach (a sample rate far above the cutoff's buffer): the nearest sample
        near = np.abs(times - t) == np.abs(times - t).min()
    w = np.exp(-0.5 * ((times[near] - t) / sigma) ** 2)
    return np.tensordot(w / w.sum(), np.asarray(values, np.float64)[near], axes=1)


def _alpha(cutoff, dt: float):
    tau = 1.0 / (2.0 * np.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    def __init__(self, config: OneEuroConfig | None = None):
        self.config = config or OneEuroConfig()
        self.reset()

    def reset(self) -> None:
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        """Filter one sample taken at time t (seconds); returns the smoothed array (same shape)."""
        cfg = self.config
        x = np.asarray(x, dtype=np.float64)
        if not cfg.enabled:
            return x.copy()
        if self._x is None or self._t is None or self._x.shape != x.shape or not (0 < t - self._t <= cfg.max_gap):
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), float(t)
            return x.copy()
        dt = t - self._t
        dx = (x - self._x) / dt
        a_d = _alpha(cfg.d_cutoff, dt)
        self._dx = a_d * dx + (1 - a_d) * self._dx
        speed = np.linalg.norm(self._dx, axis=-1, keepdims=True) if x.ndim else np.abs(self._dx)
        a = _alpha(cfg.min_cutoff + cfg.beta * speed, dt)
        self._x = a * x + (1 - a) * self._x
        self._t = float(t)
        return self._x.copy()


def mean_acceleration(poses: np.ndarray, fps: float) -> float:
    """Jitter measure: mean norm of the second difference of joint positions (m/s^2), poses (T, J, 3)."""
    poses = np.asarray(poses, dtype=np.float64)
    if len(poses) < 3:
        return float("nan")
    acc = (poses[2:] - 2 * poses[1:-1] + poses[:-2]) * fps * fps
    return float(np.linalg.norm(acc, axis=-1).mean())
