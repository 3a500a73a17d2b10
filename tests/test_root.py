"""Root trajectory: the pelvis translation is recovered from a synthetic projection."""
from __future__ import annotations

import numpy as np

from core.camera import intrinsics_from_fov, project
from pipeline.root import solve_root
from tests.fakes_app import REST_POSE


def test_recovers_known_translation_exactly_without_noise():
    k = intrinsics_from_fov(640, 480, 60)
    for t in ([0.0, 0.0, 3.0], [0.7, -0.3, 5.5], [-1.2, 0.4, 2.2]):
        uv = project(REST_POSE + np.array(t), k)
        np.testing.assert_allclose(solve_root(REST_POSE, uv, k), t, atol=1e-6)


def test_weighted_and_noisy():
    rng = np.random.default_rng(0)
    k = intrinsics_from_fov(1280, 720, 70)
    t = np.array([0.5, 0.2, 4.0])
    uv = project(REST_POSE + t, k) + rng.normal(0, 1.0, (17, 2))
    uv[13] += 300                                     # a wild wrist ...
    w = np.full(17, 0.9)
    w[13] = 0.0                                       # ... with zero score is ignored
    est = solve_root(REST_POSE, np.c_[uv, w], k)
    assert np.linalg.norm(est - t) < 0.05
    # Gauss-Newton improves on the linear start in pixel error.
    err = np.abs(project(REST_POSE + est, k) - uv)[w > 0].mean()
    assert err < 1.5


def test_degenerate_inputs_give_none():
    k = intrinsics_from_fov(640, 480)
    uv = project(REST_POSE + np.array([0, 0, 3.0]), k)
    assert solve_root(REST_POSE, uv, k, weights=np.r_[1, 1, np.zeros(15)]) is None
    assert solve_root(REST_POSE, np.full((17, 2), np.nan), k) is None
