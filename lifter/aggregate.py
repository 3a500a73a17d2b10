"""Hypotheses -> mean and per-joint covariance, the 90 % ellipsoid test, and the covariance calibration fit.

The raw spread of diffusion hypotheses is not a calibrated uncertainty; one scalar (fitted on validation data so that
the q-ellipsoids hold the truth a fraction q of the time) makes it one. A small diagonal floor keeps the covariance
invertible for joints the model is sure about (and for the pelvis, which is 0 in every hypothesis).
"""
from __future__ import annotations

import torch
from scipy.stats import chi2

CHI2_3DOF_90 = 6.2514
FLOOR_M = 0.005  # 5 mm standard deviation added on the diagonal before scaling


def chi2_3dof(q: float) -> float:
    if abs(q - 0.9) < 1e-12:
        return CHI2_3DOF_90

    return float(chi2.ppf(q, 3))


def _t(x) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.as_tensor(x)


def summarise(hyps, scale=1.0, floor: float = FLOOR_M) -> tuple[torch.Tensor, torch.Tensor]:
    """hyps (..., N, J, 3) -> mean (..., J, 3), cov (..., J, 3, 3) = scale * (sample covariance + floor^2 I).

    scale: one number, one per joint (J,), or one per pose and joint (..., J) (lifter.posture_scale). The sample
    covariance uses N - 1 (N = 1 gives the floor alone).
    """
    h = _t(hyps).double()
    n = h.shape[-3]
    mean = h.mean(-3)
    d = h - mean.unsqueeze(-3)
    cov = torch.einsum("...nji,...njk->...jik", d, d) / max(n - 1, 1)
    cov = cov + floor**2 * torch.eye(3, dtype=h.dtype)
    dtype = _t(hyps).dtype if _t(hyps).is_floating_point() else torch.float64
    s = torch.as_tensor(scale, dtype=h.dtype, device=h.device)
    s = s[..., None, None] if s.ndim >= 1 else s
    return mean.to(dtype), (s * cov).to(dtype)


def about(cov, offset, scale=1.0) -> torch.Tensor:
    """The calibrated covariance (..., J, 3, 3) of hypotheses about another point than their mean, `offset` (..., J, 3)
    away from it: scale * (sample covariance + offset offset^T + floor^2 I), their second moment about that point.
    For an output whose mean is not the hypotheses' mean (the app's reprojection choice): its ellipsoids are centred
    there, so their size must count the offset too. scale: one number, (J,) or (..., J), as in summarise."""
    c, o = _t(cov).double(), _t(offset).double()
    s = torch.as_tensor(scale, dtype=torch.float64)
    s = s[..., None, None] if s.ndim >= 1 else s
    return (c + s * o.unsqueeze(-1) * o.unsqueeze(-2)).to(_t(cov).dtype)


def with_definition(cov, sd: float) -> torch.Tensor:
    """cov (..., J, 3, 3) + sd^2 I: the joint-definition uncertainty (core.defaults.DEFINITION_SD_M) on top of the
    calibrated covariance, for truth from a system that defines the joints its own way. Not scaled by the calibration:
    it is not the lifter's spread."""
    c = _t(cov)
    return (c.double() + float(sd) ** 2 * torch.eye(3, dtype=torch.float64)).to(c.dtype)


def mahalanobis_sq(truth, mean, cov) -> torch.Tensor:
    """(..., J, 3) truth and mean, (..., J, 3, 3) cov -> squared Mahalanobis distance (..., J)."""
    d = (_t(truth) - _t(mean)).double()
    sol = torch.linalg.solve(_t(cov).double(), d.unsqueeze(-1)).squeeze(-1)
    return (d * sol).sum(-1)


def inside_ellipsoid(truth, mean, cov, q: float = 0.9) -> torch.Tensor:
    """bool (..., J): the truth lies inside the q-probability ellipsoid of N(mean, cov)."""
    return mahalanobis_sq(truth, mean, cov) <= chi2_3dof(q)


def fit_calibration(hyps, truth, q: float = 0.9, joints=None, floor: float = FLOOR_M) -> float:
    """Scalar s such that a fraction q of the joints lies inside the q-ellipsoid of s * cov.

    hyps (M, N, J, 3), truth (M, J, 3). joints: indices to fit on (default: all but the pelvis when J = 17, since the
    root-relative pelvis is exactly 0 in both and always inside).
    """
    truth = _t(truth)
    if joints is None:
        joints = list(range(1, truth.shape[-2])) if truth.shape[-2] == 17 else list(range(truth.shape[-2]))
    mean, cov = summarise(hyps, 1.0, floor)
    d2 = mahalanobis_sq(truth, mean, cov)[..., joints].flatten()
    return float(torch.quantile(d2, q) / chi2_3dof(q))


def fit_joint_profile(hyps, truth, q: float = 0.9, floor: float = FLOOR_M, reference: float | None = None) -> list[float]:
    """Per-joint factors (J,) on top of a scalar calibration: joint j's own q-quantile scale over `reference` (default:
    the scalar fit of all joints on the same data); the pelvis, 0 in every root-relative hypothesis, keeps 1. Joints
    the scalar under-covers (the hips next to the pelvis, say) get > 1, the others < 1."""
    truth = _t(truth)
    mean, cov = summarise(hyps, 1.0, floor)
    d2 = mahalanobis_sq(truth, mean, cov).reshape(-1, truth.shape[-2])
    overall = fit_calibration(hyps, truth, q, floor=floor) if reference is None else reference
    per = torch.quantile(d2, q, dim=0) / chi2_3dof(q)
    profile = (per / overall).tolist()
    if truth.shape[-2] == 17:
        profile[0] = 1.0
    return [round(float(v), 4) for v in profile]


def coverage(hyps, truth, scale, q: float = 0.9, joints=None, floor: float = FLOOR_M) -> float:
    """Fraction of joints (default: all but the pelvis) inside the calibrated q-ellipsoid (scale: one or (J,))."""
    truth = _t(truth)
    if joints is None:
        joints = list(range(1, truth.shape[-2])) if truth.shape[-2] == 17 else list(range(truth.shape[-2]))
    mean, cov = summarise(hyps, scale, floor)
    return float(inside_ellipsoid(truth, mean, cov, q)[..., joints].double().mean())
