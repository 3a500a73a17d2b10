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


class _SplitLifter:
    """4 hypotheses on the person, 12 with the left wrist 0.25 m to the side: the reprojection choice moves the mean
    off the hypotheses' mean at that joint."""

    def estimate(self, candidates, n=16, steps=5, **kw):
        from core.records import Estimate3D
        from lifter.aggregate import summarise
        rng = np.random.default_rng(2)
        truth = REST_POSE - REST_POSE[0]
        hyps = truth + rng.normal(0, 0.01, (16, 17, 3))
        hyps[4:, 13, 0] += 0.25
        hyps[:, 0] = 0
        mean, cov = summarise(hyps, 2.0)
        return Estimate3D(hypotheses=hyps, mean=mean.numpy(), covariance=cov.numpy(), calibration=2.0)


def test_the_app_covariance_is_about_the_mean_it_reports():
    """With the reprojection choice the reported mean is not the hypotheses' mean: the covariance the app exports
    is the calibrated second moment of the hypotheses about the reported mean (by hand here), so the ellipsoid
    drawn around that mean still holds the hypotheses the lifter spread."""
    from core.records import Frame
    from core.smoothing import OneEuroConfig
    from pipeline.config import BonesConfig, ReprojectionConfig, WarmStartConfig, WorldConfig
    from pipeline.stages import Pipeline
    from tests.fakes_app import FakeFrontEnd

    def run(keep, sd=0.0):
        pipe = Pipeline(frontend=FakeFrontEnd(), lifter=_SplitLifter(), hypotheses=16, steps=5, definition_sd=sd,
                        warm_start=WarmStartConfig(enabled=False), smoothing=OneEuroConfig(enabled=False),
                        bones=BonesConfig(enabled=False), world=WorldConfig(enabled=False),
                        reprojection=ReprojectionConfig(keep=keep))
        frame = Frame(image=np.zeros((480, 640, 3), np.uint8), index=0, timestamp=0.0)
        return pipe.lift(pipe.detect(frame)).persons[0].estimate

    plain, chosen = run(1.0), run(0.25)
    hyps = plain.hypotheses
    assert np.allclose(plain.mean, hyps.mean(0)) and np.allclose(chosen.hypotheses, hyps)
    assert abs(chosen.mean[13, 0] - hyps[:4, 13, 0].mean()) < 1e-6          # the 4 that reproject win
    d = hyps - chosen.mean
    by_hand = 2.0 * (np.einsum("nji,njk->jik", d, d) / 15 - np.einsum("ji,jk->jik", d.mean(0), d.mean(0)) / 15
                     + 0.005**2 * np.eye(3))
    assert np.allclose(chosen.covariance, by_hand, atol=1e-9)
    assert chosen.covariance[13, 0, 0] > 3 * plain.covariance[13, 0, 0]   # + 2 x (0.19 m)^2 on 2 x 0.024
    # The joint-definition term: sd^2 on the diagonal of every joint, not scaled by the calibration.
    assert np.allclose(run(0.25, sd=0.02).covariance, by_hand + 0.02**2 * np.eye(3), atol=1e-9)
