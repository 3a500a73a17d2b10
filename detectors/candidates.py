"""Joint candidates from heatmaps (Holmquist & Wandt, ICCV 2023).

The runtime (real BlazePose heatmaps) and the lifter's training simulator (synthetic heatmaps) both call
`sample_candidates` and `combine_candidates`, so the lifter trains on candidates drawn exactly as at run time.
"""
from __future__ import annotations

import numpy as np
import torch


def sampling_generator(seed: int | None = None) -> torch.Generator:
    """The candidate sampler's random stream of one front end: seeded (the same outputs every run) or from the
    system's entropy (seed None)."""
    generator = torch.Generator()
    if seed is not None:
        generator.manual_seed(seed)
    else:
        generator.seed()
    return generator


def heatmap_values(logits: torch.Tensor) -> torch.Tensor:
    """Raw heatmap logits -> per-cell likelihood in 0..1 (the value a candidate carries)."""
    return torch.sigmoid(logits)


def sample_candidates(
    heat: torch.Tensor, k: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw K candidates per joint from heatmaps.

    heat: (..., J, H, W) likelihoods in 0..1.
    Returns xy (..., J, K, 2) in continuous cell units (x = column, y = row; cell centres at integers) and
    likelihood (..., J, K). Candidate 0 is the peak refined by the 3x3 centroid around it; candidates 1..K-1 are
    drawn with replacement in proportion to the map (negatives clamped; an all-zero map is drawn uniformly) and
    placed uniformly inside their cell, so candidates are not locked to the 4-pixel grid.
    """
    *lead, j, h, w = heat.shape
    flat = heat.reshape(-1, h * w).float().clamp_min(0)
    n = flat.shape[0]
    # Peak with sub-cell refinement.
    peak = flat.argmax(dim=1)
    py, px = peak // w, peak % w
    # The 3x3 around the peak (zero outside the map), gathered directly: unfold would build (n, 9, H*W).
    d = torch.tensor([-1, 0, 1], device=heat.device)
    rows = (py[:, None] + d).repeat_interleave(3, 1)  # (n, 9) row-major over the 3x3
    cols = (px[:, None] + d).repeat(1, 3)
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    patch = flat.gather(1, rows.clamp(0, h - 1) * w + cols.clamp(0, w - 1)) * inside  # (n, 9)
    offs = torch.tensor([-1.0, 0.0, 1.0], device=heat.device)
    wsum = patch.sum(1).clamp_min(1e-12)
    dy = (patch.view(n, 3, 3).sum(2) * offs).sum(1) / wsum
    dx = (patch.view(n, 3, 3).sum(1) * offs).sum(1) / wsum
    peak_xy = torch.stack([px.float() + dx, py.float() + dy], dim=1)
    peak_lik = flat.gather(1, peak.view(n, 1))
    if k <= 1:
        xy, lik = peak_xy[:, None], peak_lik
    else:
        probs = flat + (flat.sum(1, keepdim=True) <= 0).float()  # flat map -> uniform
        idx = torch.multinomial(probs, k - 1, replacement=True, generator=generator)
        jitter = torch.rand((n, k - 1, 2), generator=generator, device=heat.device) - 0.5
        sxy = torch.stack([(idx % w).float(), (idx // w).float()], dim=2) + jitter
        xy = torch.cat([peak_xy[:, None], sxy], dim=1)
        lik = torch.cat([peak_lik, flat.gather(1, idx)], dim=1)
    return xy.view(*lead, j, k, 2), lik.view(*lead, j, k)


def combine_candidates(
    xy: torch.Tensor, lik: torch.Tensor, table: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    """Map candidates of source joints to output joints by a weight table.

    table: (J_out, J_src); output candidate i of joint j = sum_s table[j, s] * candidate i of source s.
    Candidates are paired by index (peak with peak, sample i with sample i), so a derived joint such as the pelvis
    (mid-hips) gets the mid-point of independent draws: a draw from its own distribution. Its likelihood is the
    weighted geometric mean of the sources' likelihoods (weights |w| normalised).
    xy: (..., J_src, K, 2), lik: (..., J_src, K).
    """
    t = torch.as_tensor(table, dtype=xy.dtype, device=xy.device)
    out_xy = torch.einsum("os,...skc->...okc", t, xy)
    a = t.abs() / t.abs().sum(1, keepdim=True)
    out_lik = torch.exp(torch.einsum("os,...sk->...ok", a, torch.log(lik.clamp_min(1e-12))))
    return out_xy, out_lik


def crop_box(xy, scale: float = 1.2):
    """Axis-aligned square box around 2D points: (..., 3) = centre x, centre y, side.

    This is the lifter's input normalisation; the runtime and the simulator both use it on the 17 peaks.
    xy: (..., J, 2), numpy or torch.
    """
    if isinstance(xy, torch.Tensor):
        lo, hi = xy.amin(-2), xy.amax(-2)
        side = ((hi - lo).amax(-1) * scale).clamp_min(1e-6)
        return torch.cat([(lo + hi) / 2, side[..., None]], -1)
    lo, hi = xy.min(-2), xy.max(-2)
    side = np.maximum((hi - lo).max(-1) * scale, 1e-6)
    return np.concatenate([(lo + hi) / 2, side[..., None]], -1)


def _centre_and_half_side(xy, box):
    """The box's centre (..., 1.., 2) and half side (..., 1.., 1), broadcastable against xy."""
    extra = xy.ndim - box.ndim  # number of axes between the box's batch axes and the coordinate axis
    c = box[..., :2]
    s = box[..., 2:3]
    for _ in range(extra):
        c = c[..., None, :]
        s = s[..., None, :]
    return c, s / 2


def normalise_to_box(xy, box):
    """Image px -> box coordinates in [-1, 1] (x right, y down). xy (..., J, K, 2) or (..., J, 2), box (..., 3)."""
    c, half = _centre_and_half_side(xy, box)
    return (xy - c) / half


def box_to_image(xy, box):
    """normalise_to_box undone: box coordinates -> image px. xy (..., J, K, 2) or (..., J, 2), box (..., 3)."""
    c, half = _centre_and_half_side(xy, box)
    return xy * half + c
