"""One-Euro filter (Casiez, Roussel & Vogel, CHI 2012) for the 3D output: little lag when joints move fast, strong
smoothing when they are still.

Works on arrays of points (..., 3): the adaptive cutoff uses each point's speed (norm of its velocity), so all three
coordinates of a joint are filtered alike. Time comes from frame timestamps, so dropped frames are handled.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class OneEuroConfig:
    enabled: bool = True
    min_cutoff: float = 1.0    # Hz: cutoff at rest (lower = smoother, more lag)
    beta: float = 4.0          # s/m: how fast the cutoff rises with speed (higher = less lag on fast moves)
    d_cutoff: float = 1.0      # Hz: cutoff of the speed estimate
    max_gap: float = 0.5       # s: a longer gap between frames restarts the filter


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
