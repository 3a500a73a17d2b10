"""tools/live_filter: the live One-Euro filter on simulated sequences (how smoothing.temporal_beta was chosen)."""
import numpy as np
import pytest
import torch

from core.paths import cache_dir
from core.smoothing import OneEuroConfig
from tools import live_filter

POSES = cache_dir() / "mocap" / "val_open.npz"


def test_each_segment_gets_its_own_filter():
    mean = torch.zeros(6, 17, 3, dtype=torch.float64)
    mean[3:] = 1.0                                     # a second segment far from the first
    times = np.array([0, 1, 2, 0, 1, 2]) / 30.0
    out = live_filter.filtered(mean, times, np.array([0, 0, 0, 1, 1, 1]), OneEuroConfig())
    assert torch.equal(out, mean)                      # restarted at the second segment: no lag carried over
    mean[4:] = 2.0                                     # a step inside the segment lags
    out = live_filter.filtered(mean, times, np.array([0, 0, 0, 1, 1, 1]), OneEuroConfig())
    assert (out[4] < 2.0).all() and (out[4] > 1.0).all()


def test_lighter_filters_lag_less_and_smooth_less():
    if not POSES.is_file():
        pytest.skip(f"no {POSES} (python -m lifter.data.prepare)")
    torch.set_num_threads(1)
    r = live_filter.run(POSES, 30.0, 0, ["frame", "lag1"], [-1.0, 4.0, 16.0], max_poses=192)["results"]
    for mode in ("frame", "lag1"):
        raw, heavy, light = r[f"{mode} unfiltered"], r[f"{mode} beta 4"], r[f"{mode} beta 16"]
        assert heavy["accel_error_mm"] < light["accel_error_mm"] < raw["accel_error_mm"]
        # the ellipsoids count the filter's move of the mean: the more it moves, the more they hold
        assert raw["coverage90"] < light["coverage90"] < heavy["coverage90"]
        assert all(np.isfinite(v) for v in raw.values())
    # the window already smooths: the temporal lifter's output jitters far less than the frame model's
    assert r["lag1 unfiltered"]["accel_error_mm"] < 0.5 * r["frame unfiltered"]["accel_error_mm"]
