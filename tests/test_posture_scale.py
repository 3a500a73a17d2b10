"""Posture factors on the covariance scale (lifter/posture_scale.py) and where the lifter applies them."""
import numpy as np
import torch

from lifter import posture_scale
from lifter.aggregate import coverage, fit_calibration, inside_ellipsoid, summarise
from lifter.api import Lifter
from lifter.data import everyday as ev
from lifter.data.posture import hip_flexion
from lifter.model import LifterModel, ModelConfig
from lifter.temporal import calibration_for_mode
from tests.test_data_everyday import standing


def seated(n: int) -> np.ndarray:
    return ev.everyday_lower(standing(n), np.random.default_rng(1), kinds=np.full(n, ev.KIND_NAMES.index("chair")))


def lifted(poses: np.ndarray, spread: float, error: float, seed: int):
    """Hypotheses about each pose with `spread` per axis, and a truth `error` per axis away from their mean."""
    g = torch.Generator().manual_seed(seed)
    p = torch.as_tensor(poses, dtype=torch.float64)
    hyps = p[:, None] + spread * torch.randn(len(p), 16, 17, 3, generator=g, dtype=torch.float64)
    hyps[..., 0, :] = 0
    truth = hyps.mean(1) + error * torch.randn(len(p), 17, 3, generator=g, dtype=torch.float64)
    truth[:, 0] = 0
    return hyps, truth


def test_hip_flexion_reads_standing_and_chair_in_any_orientation():
    assert hip_flexion(standing())[0] < 10
    chairs = seated(50)
    assert np.median(hip_flexion(chairs)) > 70
    # the camera frame: any rotation of the whole pose (no up axis needed)
    a = np.radians(70)
    rot = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    assert np.allclose(hip_flexion(chairs @ rot.T), hip_flexion(chairs), atol=1e-6)


def test_fit_widens_the_under_covered_posture_only_and_brings_it_to_ninety_percent():
    # Seated poses' truth lies further from the hypotheses (relative to their spread) than standing poses'.
    h_up, t_up = lifted(standing(600), 0.02, 0.02, 0)
    h_sit, t_sit = lifted(seated(300), 0.02, 0.03, 1)
    hyps, truth = torch.cat([h_up, h_sit]), torch.cat([t_up, t_sit])
    scale = fit_calibration(hyps, truth)
    assert coverage(h_sit, t_sit, scale) < 0.85                    # one scale: the seated group under-covered
    entry = posture_scale.fit(hyps, truth, scale)
    assert 285 <= entry["poses"]["flexed"] <= 300 and entry["poses"]["other"] == 900 - entry["poses"]["flexed"]
    assert entry["flexed"] > 1.3 and entry["other"] == 1.0         # never narrower than the overall scale
    per_pose = posture_scale.apply(scale, hyps.mean(1).numpy(), entry)
    assert per_pose.shape == (900, 17)
    mean, cov = summarise(h_sit, per_pose[600:])
    inside = inside_ellipsoid(t_sit, mean, cov)[:, 1:].double().mean()
    assert 0.87 < float(inside) < 0.93
    mean, cov = summarise(h_up, per_pose[:600])
    assert torch.allclose(cov, summarise(h_up, scale)[1])          # standing poses keep their ellipsoids


def test_apply_picks_each_pose_group_and_keeps_a_per_joint_profile():
    entry = {"threshold_deg": 55.0, "flexed": 1.5, "other": 1.0, "poses": {"flexed": 100, "other": 100}}
    profile = np.linspace(1, 2, 17)
    one = posture_scale.apply(profile, seated(1)[0], entry)
    assert isinstance(one, list) and np.allclose(one, 1.5 * profile)
    both = posture_scale.apply(3.0, np.concatenate([standing(1), seated(1)]), entry)
    assert np.allclose(both[0], 3.0) and np.allclose(both[1], 4.5)
    assert posture_scale.apply(3.0, seated(1)[0], None) == 3.0     # weights without an entry: unchanged


def test_fit_leaves_a_group_with_too_few_poses_at_one():
    h, t = lifted(np.concatenate([standing(200), seated(5)]), 0.02, 0.04, 2)
    entry = posture_scale.fit(h, t, 1.0)
    assert entry["poses"]["flexed"] == 5 and entry["flexed"] == 1.0 and entry["other"] > 1


def _lifter(meta: dict) -> Lifter:
    return Lifter(LifterModel(ModelConfig(width=32, enc_layers=1, heads=2, ffn=32, cond_dim=32, hidden=32,
                                          blocks=1)), 2.0, meta)


def test_lifter_scales_by_the_posture_of_the_estimate_per_window_mode():
    entry = {"threshold_deg": 55.0, "flexed": 1.5, "other": 1.0, "poses": {"flexed": 100, "other": 100}}
    lifter = _lifter({"calibration_posture": entry,
                      "calibration_modes": {"lag1": {"table": {"16,5": 4.0}, "profile": None,
                                                     "posture": dict(entry, flexed=2.0)},
                                            "causal": {"table": {"16,5": 4.0}, "profile": None}}})
    sit, up = seated(1)[0], standing(1)[0]
    assert lifter.calibration_for(16, 5) == 2.0
    assert np.allclose(lifter.calibration_for(16, 5, sit), 3.0) and np.allclose(lifter.calibration_for(16, 5, up), 2.0)
    assert np.allclose(calibration_for_mode(lifter, 16, 5, "lag1", sit), 8.0)
    assert calibration_for_mode(lifter, 16, 5, "causal", sit) == 4.0     # a mode without posture factors
    assert lifter.meta["calibration_posture"] is entry                     # the weights' own entry restored
