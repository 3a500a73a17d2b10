import torch

from lifter.aggregate import (CHI2_3DOF_90, FLOOR_M, about, coverage, fit_calibration, inside_ellipsoid, summarise,
                              with_definition)


def random_cov(g, m):
    a = torch.randn(m, 3, 3, generator=g, dtype=torch.float64) * 0.05
    return a @ a.transpose(-1, -2) + 1e-3 * torch.eye(3, dtype=torch.float64)


def test_summarise_recovers_known_gaussian():
    g = torch.Generator().manual_seed(0)
    cov = random_cov(g, 4)
    mean = torch.randn(4, 3, generator=g, dtype=torch.float64)
    z = torch.randn(20000, 4, 3, generator=g, dtype=torch.float64)
    hyps = mean + torch.einsum("jab,njb->nja", torch.linalg.cholesky(cov), z)
    m, c = summarise(hyps, scale=2.0)
    assert torch.allclose(m, mean, atol=0.01)
    assert torch.allclose(c, 2.0 * (cov + FLOOR_M**2 * torch.eye(3, dtype=torch.float64)), atol=2e-3)
    _, c1 = summarise(hyps[:1])
    assert torch.allclose(c1, FLOOR_M**2 * torch.eye(3, dtype=torch.float64).expand(4, 3, 3))


def test_inside_ellipsoid_fraction_is_q_for_the_true_gaussian():
    g = torch.Generator().manual_seed(1)
    cov = random_cov(g, 1)[0]
    x = torch.randn(40000, 1, 3, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(cov).T
    inside = inside_ellipsoid(x, torch.zeros(3, dtype=torch.float64), cov)
    assert abs(inside.double().mean().item() - 0.9) < 0.01
    assert CHI2_3DOF_90 == 6.2514


def test_calibration_reaches_ninety_percent_on_synthetic_data():
    # Hypotheses are drawn with half the spread of the truth's error: the fitted scale must be ~4 (= 2^2).
    g = torch.Generator().manual_seed(2)
    m, n, j = 800, 32, 17
    cov = random_cov(g, j)
    chol = torch.linalg.cholesky(cov)
    centre = torch.randn(m, j, 3, generator=g, dtype=torch.float64)
    centre[:, 0] = 0
    hyps = centre[:, None] + 0.5 * torch.einsum("jab,mnjb->mnja", chol, torch.randn(m, n, j, 3, generator=g, dtype=torch.float64))
    truth = centre + torch.einsum("jab,mjb->mja", chol, torch.randn(m, j, 3, generator=g, dtype=torch.float64))
    hyps[:, :, 0] = 0
    truth[:, 0] = 0
    scale = fit_calibration(hyps, truth)
    assert 3.0 < scale < 5.5
    assert abs(coverage(hyps, truth, scale) - 0.9) < 0.005
    # Fresh data from the same process: still close to 0.9 (the fit is not just memorising).
    hyps2 = centre[:, None] + 0.5 * torch.einsum("jab,mnjb->mnja", chol, torch.randn(m, n, j, 3, generator=g, dtype=torch.float64))
    truth2 = centre + torch.einsum("jab,mjb->mja", chol, torch.randn(m, j, 3, generator=g, dtype=torch.float64))
    hyps2[:, :, 0] = 0
    truth2[:, 0] = 0
    assert abs(coverage(hyps2, truth2, scale) - 0.9) < 0.03
    assert coverage(hyps2, truth2, 1.0) < 0.6  # uncalibrated spread is overconfident


def test_joint_profile_fixes_a_joint_the_scalar_under_covers():
    """Joint 1's errors are 3x its spread, the others' match theirs: the scalar fit sits between, the profile lifts
    joint 1 above 1 and the per-joint scales then cover every joint near 90 %."""
    from lifter.aggregate import coverage, fit_calibration, fit_joint_profile

    g = torch.Generator().manual_seed(0)
    m, n, j = 400, 32, 5
    hyps = torch.randn(m, n, j, 3, generator=g) * 0.05
    truth = hyps.mean(1) + torch.randn(m, j, 3, generator=g) * 0.05
    truth[:, 1] = hyps[:, :, 1].mean(1) + torch.randn(m, 3, generator=g) * 0.15
    scalar = fit_calibration(hyps, truth, joints=list(range(j)))
    profile = fit_joint_profile(hyps, truth)
    # The scalar (~3.5) is pulled up by joint 1; the others need ~1 in absolute terms, ~0.3 of it.
    assert profile[1] > 2.0 and all(0.2 < p < 0.5 for i, p in enumerate(profile) if i != 1)
    per_joint = [scalar * p for p in profile]
    for k in range(j):
        assert abs(coverage(hyps, truth, per_joint, joints=[k]) - 0.9) < 0.05


def test_about_another_point_adds_the_offset_with_the_same_scale():
    g = torch.Generator().manual_seed(3)
    hyps = torch.randn(16, 17, 3, generator=g, dtype=torch.float64) * 0.05
    scale = torch.linspace(1.0, 3.0, 17, dtype=torch.float64)
    mean, cov = summarise(hyps, scale)
    centre = mean + torch.randn(17, 3, generator=g, dtype=torch.float64) * 0.03
    d = hyps - centre            # second moment about centre, with the sample covariance's N - 1: S + off off^T
    off = mean - centre
    by_hand = (torch.einsum("nji,njk->jik", d, d) - 16 * torch.einsum("ji,jk->jik", off, off)) / 15 \
        + torch.einsum("ji,jk->jik", off, off) + FLOOR_M**2 * torch.eye(3, dtype=torch.float64)
    assert torch.allclose(about(cov, off, scale), scale[:, None, None] * by_hand)
    assert torch.allclose(about(cov, torch.zeros(17, 3, dtype=torch.float64), scale), cov)


def test_definition_term_holds_a_constant_offset_the_spread_does_not():
    """Truth displaced by a fixed joint-definition offset (20 mm per axis, Gaussian over joints) falls outside the
    hypotheses' tight ellipsoids; with the definition term (sd^2 I, unscaled) the 90 % ellipsoid holds ~90 %."""
    g = torch.Generator().manual_seed(5)
    hyps = torch.randn(4000, 16, 17, 3, generator=g, dtype=torch.float64) * 0.002
    mean, cov = summarise(hyps, 1.0)
    truth = mean + torch.randn(4000, 17, 3, generator=g, dtype=torch.float64) * 0.02
    assert inside_ellipsoid(truth, mean, cov).double().mean() < 0.2
    wide = with_definition(cov, 0.02)
    assert torch.allclose(wide - cov, 0.02**2 * torch.eye(3, dtype=torch.float64).expand_as(cov))
    assert 0.87 < inside_ellipsoid(truth, mean, wide).double().mean() < 0.93
