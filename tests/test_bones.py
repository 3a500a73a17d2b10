"""pipeline/bones.py: a person's bone lengths held to their median over the video, directions kept."""
import numpy as np

from lifter.data.retarget import bone_lengths, bone_vectors
from pipeline.bones import TrackBones
from pipeline.config import BonesConfig
from core.records import Estimate3D
from tests.fakes_app import fake_estimate


def test_lengths_follow_the_median_and_directions_are_kept():
    """Frames whose hypotheses are all too big or too small: the track's lengths settle at the median."""
    rng = np.random.default_rng(0)
    bones = TrackBones(BonesConfig(window=50, min_frames=5))
    base = fake_estimate(n=8, seed=0)
    true_len = np.median(bone_lengths(base.hypotheses.astype(np.float64)), axis=0)
    seen = []
    for i in range(40):
        scale = 1.0 + 0.1 * rng.standard_normal()          # a frame whose estimate is too big or too small
        est = Estimate3D(hypotheses=(base.hypotheses * scale).astype(np.float32),
                         mean=(base.mean * scale).astype(np.float32), covariance=base.covariance.copy())
        raw_dirs = bone_vectors(est.hypotheses.astype(np.float64))
        bones.apply(est)
        seen.append(bone_lengths(est.mean.astype(np.float64)))
        if i >= 4:
            # Every hypothesis has the track's lengths; each bone still points the same way.
            assert np.allclose(bone_lengths(est.hypotheses.astype(np.float64)), seen[-1], atol=1e-5)
            new_dirs = bone_vectors(est.hypotheses.astype(np.float64))
            cos = (raw_dirs * new_dirs).sum(-1) / np.linalg.norm(raw_dirs, axis=-1) / np.linalg.norm(new_dirs, axis=-1)
            assert cos.min() > 0.9999
    late = np.stack(seen[20:])
    assert np.abs(late / true_len - 1).max() < 0.06         # the median of +-10 % frames is within a few %
    assert late.std(0).max() < 0.01 * true_len.max()        # and steady from frame to frame


def test_mean_gets_the_hypotheses_lengths_not_its_own_shortened_ones():
    """Hypotheses that disagree in depth average to a pose with short bones; the mean takes the hypotheses' lengths."""
    rng = np.random.default_rng(2)
    base = fake_estimate(n=2, seed=3).mean.astype(np.float64)
    hyps = np.repeat(base[None], 16, 0)
    hyps[:, 13, 2] += rng.choice([-0.15, 0.15], 16)            # the wrist in front of or behind the elbow
    hyps = hyps.astype(np.float32)
    est = Estimate3D(hypotheses=hyps, mean=hyps.mean(0), covariance=np.tile(np.eye(3, dtype=np.float32), (17, 1, 1)))
    forearm = lambda p: np.linalg.norm(p[..., 13, :] - p[..., 12, :], axis=-1)  # noqa: E731
    assert forearm(est.mean) < np.median(forearm(hyps)) - 0.01
    TrackBones(BonesConfig(min_frames=1)).apply(est)
    assert abs(forearm(est.mean) - np.median(forearm(hyps))) < 1e-4


def test_world_scale_sets_the_total_length():
    est = fake_estimate(n=4, seed=4)
    world = est.mean.astype(np.float64) * 1.2
    TrackBones(BonesConfig(min_frames=1, scale="world")).apply(est, world)
    assert abs(bone_lengths(est.mean.astype(np.float64)).sum() - bone_lengths(world).sum()) < 1e-4


def test_too_few_frames_leave_the_estimate_alone():
    bones = TrackBones(BonesConfig(min_frames=5))
    est = fake_estimate(n=4, seed=1)
    before = est.mean.copy()
    bones.apply(est)
    assert np.array_equal(est.mean, before)
