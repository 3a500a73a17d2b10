"""Smoothing: One-Euro removes jitter at rest, follows fast moves, off means off; the offline centred low-pass has no
lag, its cutoff is where it says, and the pipeline holds a file's frames for it (and only a file's)."""
from __future__ import annotations

import numpy as np

from core.smoothing import OneEuroConfig, OneEuroFilter, centred_mean, centred_sigma, mean_acceleration


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


def test_centred_has_no_lag_and_its_gain_at_the_cutoff_is_half_power():
    t = np.arange(0, 2, 1 / 240)
    ramp = 0.7 * t
    assert abs(centred_mean(t, ramp, 1.0, 6.0) - 0.7) < 1e-9        # a straight line comes through unmoved
    wave = np.sin(2 * np.pi * 6.0 * t)                                # a sine at the cutoff keeps ~1/sqrt(2)
    out = np.array([centred_mean(t, wave, ti, 6.0) for ti in t[100:-100]])
    assert abs(np.abs(out).max() - 2 ** -0.5) < 0.02
    slow = np.sin(2 * np.pi * 1.0 * t)                                # 1 Hz motion passes, 20 Hz noise does not
    fast = np.sin(2 * np.pi * 20.0 * t)
    assert abs(centred_mean(t, slow, 0.75, 6.0) - slow[180]) < 0.01
    assert abs(centred_mean(t, fast, 0.75, 6.0)) < 0.05
    assert abs(centred_sigma(6.0) - 0.02208) < 1e-4


class _Ramp:
    """A lifter whose left wrist moves right at 1 m/s (the frame's time from the call count at `fps`), plus noise."""

    def __init__(self, fps, calibration=None):
        self.fps, self.calls, self.calibration = fps, 0, calibration

    def estimate(self, candidates, n=16, steps=5, **kw):
        from core.records import Estimate3D
        from tests.fakes_app import REST_POSE
        pose = REST_POSE - REST_POSE[0]
        pose[13, 0] += self.calls / self.fps
        self.calls += 1
        hyps = np.repeat(pose[None], 4, 0)
        return Estimate3D(hypotheses=hyps, mean=pose.copy(), covariance=np.tile(np.eye(3) * 1e-4, (17, 1, 1)),
                          calibration=self.calibration)


def _run(offline, fps, frames=30, calibration=None):
    from core.records import Frame
    from pipeline.config import BonesConfig, WarmStartConfig, WorldConfig
    from pipeline.stages import Pipeline
    from tests.fakes_app import FakeFrontEnd
    pipe = Pipeline(frontend=FakeFrontEnd(), lifter=_Ramp(fps, calibration), hypotheses=4, steps=1, offline=offline,
                    warm_start=WarmStartConfig(enabled=False), bones=BonesConfig(enabled=False),
                    world=WorldConfig(enabled=False), definition_sd=0.0)
    out, returned = [], []
    for i in range(frames):
        r = pipe.lift(pipe.detect(Frame(image=np.zeros((480, 640, 3), np.uint8), index=i, timestamp=i / fps)))
        returned.append(r is not None)
        out += [r] if r is not None else []
    out += pipe.flush()
    return out, returned


def test_a_file_is_smoothed_without_lag_and_every_frame_comes_out_in_order():
    from tests.fakes_app import REST_POSE
    live, _ = _run(False, 60.0)
    offline, returned = _run(True, 60.0)
    assert [r.frame.index for r in offline] == list(range(30)) == [r.frame.index for r in live]
    assert returned[:4] == [False] * 4 and all(returned[4:])       # 6 Hz at 60 fps: 4 frames ahead (3 sigma)
    truth = lambda i: REST_POSE[13, 0] - REST_POSE[0, 0] + i / 60.0           # noqa: E731
    for i in range(4, 26):                                          # inside: the ramp comes through unmoved
        assert abs(offline[i].persons[0].estimate.mean[13, 0] - truth(i)) < 1e-9
    assert live[20].persons[0].estimate.mean[13, 0] < truth(20) - 0.005      # One-Euro lags behind it


def test_the_ellipsoids_count_how_far_the_smoothing_moved_the_mean():
    """Live, One-Euro lags behind the wrist's ramp: the covariance is the calibrated second moment about the mean
    reported (the lifter's spread + scale x lag lag^T), as for the reprojection choice; still joints keep theirs."""
    from tests.fakes_app import REST_POSE
    live, _ = _run(False, 60.0, calibration=2.0)
    est = live[20].persons[0].estimate
    lag = REST_POSE[13, 0] - REST_POSE[0, 0] + 20 / 60.0 - est.mean[13, 0]
    assert lag > 0.005
    assert np.isclose(est.covariance[13, 0, 0], 1e-4 + 2.0 * lag**2, rtol=1e-6)
    assert np.allclose(est.covariance[13, 1:, 1:], np.eye(2) * 1e-4)
    assert np.allclose(est.covariance[5], np.eye(3) * 1e-4)
    # offline (60 fps: centred, no lag on the ramp) the covariance is the lifter's
    offline, _ = _run(True, 60.0, calibration=2.0)
    assert np.allclose(offline[20].persons[0].estimate.covariance[13], np.eye(3) * 1e-4, atol=1e-12)


def test_a_slow_file_is_smoothed_as_live():
    """10 fps is below twice the 6 Hz cutoff: One-Euro, nothing held (vtest.avi)."""
    live, _ = _run(False, 10.0)
    offline, returned = _run(True, 10.0)
    assert returned[1:] == [True] * 29
    assert np.allclose([r.persons[0].estimate.mean for r in offline], [r.persons[0].estimate.mean for r in live])


def test_a_person_leaving_while_frames_are_held_keeps_their_smoothing_state():
    """Offline at 60 fps the pipeline holds 4 lifted frames; a second person seen only in frames 0-9 still gets a
    finite, smoothed pose in each of those frames (their state lives until their last held frame is finished)."""
    from core.records import Frame
    from pipeline.config import BonesConfig, WarmStartConfig, WorldConfig
    from pipeline.stages import Pipeline
    from tests.fakes_app import FakeFrontEnd

    class TwoThenOne(FakeFrontEnd):
        def process(self, frame, state=None):
            out = super().process(frame, state)
            if frame.index < 10:
                import dataclasses
                second = dataclasses.replace(out.persons[0], id=1)
                out.persons.append(second)
            return out

    pipe = Pipeline(frontend=TwoThenOne(), lifter=_Ramp(60.0), hypotheses=4, steps=1, offline=True,
                    warm_start=WarmStartConfig(enabled=False), bones=BonesConfig(enabled=False),
                    world=WorldConfig(enabled=False))
    out = []
    for i in range(20):
        r = pipe.lift(pipe.detect(Frame(image=np.zeros((480, 640, 3), np.uint8), index=i, timestamp=i / 60.0)))
        out += [r] if r is not None else []
    out += pipe.flush()
    assert [r.frame.index for r in out] == list(range(20))
    assert [len(r.persons) for r in out] == [2] * 10 + [1] * 10
    assert all(np.isfinite(p.estimate.mean).all() for r in out for p in r.persons)
    # Their last frame (9) is smoothed over their frames 5-9 (the lifter's 19th call: wrist at +19/60 m raw), so it
    # lies behind the ramp; had their state gone with the frame that no longer shows them, it would be the raw value.
    from tests.fakes_app import REST_POSE
    raw = REST_POSE[13, 0] - REST_POSE[0, 0] + 19 / 60.0
    assert out[9].persons[1].estimate.mean[13, 0] < raw - 0.005
    assert 1 not in pipe._tracks


def test_the_temporal_lifter_is_filtered_with_its_own_beta(tmp_path):
    """Its window already smooths: live, its pose goes through One-Euro at smoothing.temporal_beta (null: beta);
    the frame model's, and the root translation (solved from each frame's 2D), at beta."""
    from core.records import Frame
    from pipeline.config import BonesConfig, WorldConfig, load_config
    from pipeline.stages import Pipeline
    from tests.fakes_app import FakeFrontEnd
    from tests.test_temporal import temporal_lifter

    cfg = OneEuroConfig(beta=4.0, temporal_beta=8.0)
    assert cfg.for_lifter("temporal").beta == 8.0 and cfg.for_lifter("frame").beta == 4.0
    assert OneEuroConfig(beta=4.0, temporal_beta=None).for_lifter("temporal").beta == 4.0
    assert load_config().smoothing.temporal_beta == 5.0
    (tmp_path / "null.yaml").write_text("smoothing:\n  temporal_beta: null\n")
    assert load_config(tmp_path / "null.yaml").smoothing.temporal_beta is None

    img = np.zeros((120, 160, 3), np.uint8)
    betas = {}
    for mode, lifter in (("temporal", temporal_lifter()), ("frame", _Ramp(30.0))):
        pipe = Pipeline(frontend=FakeFrontEnd(), lifter=lifter, hypotheses=3, steps=2, lifter_mode=mode,
                        temporal_window="causal", smoothing=cfg, bones=BonesConfig(enabled=False),
                        world=WorldConfig(enabled=False), definition_sd=0.0)
        for i in range(3):
            pipe.process(Frame(index=i, timestamp=i / 30.0, image=img))
        (track,) = [pipe._tracks.get(i) for i in pipe._tracks.ids()]
        betas[mode] = (track.pose_filter.config.beta, track.root_filter.config.beta)
    assert betas == {"temporal": (8.0, 4.0), "frame": (4.0, 4.0)}   # the root, solved from the 2D: the base beta
