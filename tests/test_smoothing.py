"""One-Euro filter: removes jitter at rest, follows fast moves, off means off."""
from __future__ import annotations

import numpy as np

from core.smoothing import OneEuroConfig, OneEuroFilter, mean_acceleration


def run(cfg, poses, fps=30.0):
    f = OneEuroFilter(cfg)
    return np.stack([f(p, i / fps) for i, p in enumerate(poses)])


def test_reduces_jitter_of_a_still_pose():
    rng = np.random.default_rng(0)
    poses = np.zeros((120, 17, 3)) + rng.normal(0, 0.01, (120, 17, 3))
    out = run(OneEuroConfig(min_cutoff=1.0, beta=0.5), poses)
    assert mean_acceleration(out, 30) < 0.2 * mean_acceleration(poses, 30)


def test_follows_a_fast_move_with_small_lag():
    t = np.arange(60) / 30.0
    poses = np.zeros((60, 17, 3))
    poses[..., 0] = (2.0 * t)[:, None]                # 2 m/s along x
    lagged = run(OneEuroConfig(min_cutoff=1.0, beta=0.0), poses)
    adaptive = run(OneEuroConfig(min_cutoff=1.0, beta=5.0), poses)
    lag0 = np.abs(lagged[-1, 0, 0] - poses[-1, 0, 0])
    lag1 = np.abs(adaptive[-1, 0, 0] - poses[-1, 0, 0])
    assert lag1 < 0.3 * lag0


def test_disabled_and_gap_restart():
    x = np.random.default_rng(1).normal(size=(17, 3))
    f = OneEuroFilter(OneEuroConfig(enabled=False))
    np.testing.assert_array_equal(f(x, 0.0), x)
    g = OneEuroFilter(OneEuroConfig(max_gap=0.5))
    g(np.zeros((17, 3)), 0.0)
    np.testing.assert_array_equal(g(x, 5.0), x)       # long gap: restart at the new sample
    assert not np.allclose(g(np.zeros((17, 3)), 5.03), 0)
