"""DDIM sampling (Song et al. 2021): a pure function of the denoiser, the start x, the timesteps, eta and a generator.

The denoiser predicts eps, x0 or v (Salimans & Ho 2022); all three are converted to (x0, eps) before the update,
so one sampler serves every prediction target. eta = 0 is deterministic DDIM, eta = 1 is DDPM-like ancestral noise.
"""
from __future__ import annotations

from typing import Callable

import torch

TARGETS = ("eps", "x0", "v")


def split_prediction(pred: torch.Tensor, x: torch.Tensor, ab: torch.Tensor, target: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Network output at noise level ab (scalar tensor) -> (x0, eps)."""
    a, s = ab.sqrt(), (1 - ab).sqrt()
    if target == "eps":
        eps = pred
        x0 = (x - s * eps) / a
    elif target == "x0":
        x0 = pred
        eps = (x - a * x0) / s.clamp_min(1e-8)
    elif target == "v":
        x0 = a * x - s * pred
        eps = s * x + a * pred
    else:
        raise ValueError(f"unknown target {target!r}; expected one of {TARGETS}")
    return x0, eps


def training_target(x0: torch.Tensor, eps: torch.Tensor, ab: torch.Tensor, target: str) -> torch.Tensor:
    """What the network should output for x_t = sqrt(ab) x0 + sqrt(1-ab) eps. ab broadcastable to x0."""
    if target == "eps":
        return eps
    if target == "x0":
        return x0
    if target == "v":
        return ab.sqrt() * eps - (1 - ab).sqrt() * x0
    raise ValueError(f"unknown target {target!r}; expected one of {TARGETS}")


def ddim(
    denoise: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    timesteps: torch.Tensor,
    alpha_bar: torch.Tensor,
    target: str = "v",
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    clip_x0: float | None = None,
) -> torch.Tensor:
    """Run DDIM from x at timesteps[0] down to timesteps[-1] (normally 0).

    denoise(x, t) -> prediction, t a long tensor (rows,) of the current timestep.
    timesteps: (S+1,) descending long; alpha_bar: (T+1,) with alpha_bar[0] = 1.
    clip_x0: clamp the predicted clean sample to +-clip_x0 (guards eps-prediction at the noisiest step).
    Returns x at the last timestep (the clean sample when it is 0).
    """
    ab_all = alpha_bar.to(device=x.device, dtype=torch.float64)
    for i in range(len(timesteps) - 1):
        t, t_prev = int(timesteps[i]), int(timesteps[i + 1])
        ab, ab_prev = ab_all[t], ab_all[t_prev]
        pred = denoise(x, torch.full((x.shape[0],), t, dtype=torch.long, device=x.device))
        x0, eps = split_prediction(pred, x, ab.to(x.dtype), target)
        if clip_x0 is not None:
            x0 = x0.clamp(-clip_x0, clip_x0)
            eps = (x - ab.sqrt().to(x.dtype) * x0) / (1 - ab).sqrt().clamp_min(1e-8).to(x.dtype)
        sigma = eta * ((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev)).clamp_min(0).sqrt()
        dir_coef = (1 - ab_prev - sigma**2).clamp_min(0).sqrt()
        x = ab_prev.sqrt().to(x.dtype) * x0 + dir_coef.to(x.dtype) * eps
        if eta > 0 and t_prev > 0:
            x = x + sigma.to(x.dtype) * randn(x.shape, generator, x.device, x.dtype)
    return x


def noise_to(x0: torch.Tensor, t: int, alpha_bar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Forward-noise a clean x0 to timestep t (t = 0 returns x0 unchanged)."""
    if t <= 0:
        return x0
    ab = alpha_bar[t].to(device=x0.device, dtype=x0.dtype)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * randn(x0.shape, generator, x0.device, x0.dtype)


def randn(shape, generator: torch.Generator | None, device: torch.device | str,
          dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Standard normal noise on `device`, drawn where the generator lives: a CPU generator driving a CUDA lifter
    gives the same numbers as on the CPU (and works at all: torch refuses a generator of another device)."""
    where = device if generator is None else generator.device
    return torch.randn(shape, generator=generator, device=where, dtype=dtype).to(device)
