"""pipeline/reprojection.py: the mean from the hypotheses that reproject best onto the 2D peaks."""
import numpy as np

from core.camera import intrinsics_from_fov, project
from pipeline.reprojection import best_mean, reprojection_errors
from tests.fakes_app import REST_POSE


def test_the_hypotheses_that_match_the_2d_win():
    k = intrinsics_from_fov(640, 480, 60.0)
    root = np.array([0.0, 0.0, 3.0])
    truth = REST_POSE - REST_POSE[0]
    peaks = np.concatenate([project(truth + root, k), np.ones((17, 1))], 1)
    rng = np.random.default_rng(0)
    good = truth + rng.normal(0, 0.005, (4, 17, 3))
    bad = truth + rng.normal(0, 0.005, (12, 17, 3))
    bad[:, 13, 0] += 0.25                                  # a wrist that projects 0.25 m to the side
    hyps = np.concatenate([bad[:6], good, bad[6:]])
    err = reprojection_errors(hyps, root, peaks, k)
    assert set(np.argsort(err)[:4]) == {6, 7, 8, 9}
    assert np.allclose(best_mean(hyps, root, peaks, k, keep=0.25), good.mean(0))
    assert np.allclose(best_mean(hyps, root, peaks, k, keep=1.0), hyps.mean(0))


def test_zero_likelihood_joints_do_not_count():
    k = intrinsics_from_fov(640, 480, 60.0)
    root = np.array([0.0, 0.0, 3.0])
    truth = REST_POSE - REST_POSE[0]
    peaks = np.concatenate([project(truth + root, k), np.ones((17, 1))], 1)
    peaks[13, 2] = 0.0                                      # the wrist is not seen
    moved = truth.copy()
    moved[13, 0] += 0.25
    assert np.allclose(reprojection_errors(np.stack([truth, moved]), root, peaks, k), 0.0, atol=1e-9)


def test_one_root_per_hypothesis_equals_each_alone():
    k = intrinsics_from_fov(640, 480, 60.0)
    truth = REST_POSE - REST_POSE[0]
    peaks = np.concatenate([project(truth + np.array([0.0, 0.0, 3.0]), k), np.ones((17, 1))], 1)
    rng = np.random.default_rng(1)
    hyps = truth + rng.normal(0, 0.02, (5, 17, 3))
    roots = np.array([0.0, 0.0, 3.0]) + rng.normal(0, 0.05, (5, 3))
    each = [reprojection_errors(h[None], r, peaks, k)[0] for h, r in zip(hyps, roots)]
    assert np.allclose(reprojection_errors(hyps, roots, peaks, k), each)
