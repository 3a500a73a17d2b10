"""Cosine noise schedule (Nichol & Dhariwal 2021) over discrete timesteps 0..T.

Timestep 0 is clean data (alpha_bar = 1); training draws t in 1..T; sampling walks from T (or a warm-start level)
down to 0. Keeping t = 0 as "no noise" makes a warm start at init_t = 0 return the initial pose unchanged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class CosineSchedule:
    T: int = 1000
    s: float = 0.008
    max_beta: float = 0.999

    def alpha_bar(self) -> torch.Tensor:
        """(T+1,) float64 cumulative signal fraction; index 0 is exactly 1."""
        t = torch.arange(self.T + 1, dtype=torch.float64) / self.T
        f = torch.cos((t + self.s) / (1 + self.s) * math.pi / 2) ** 2
        ab = f / f[0]
        # Clip betas as in the paper so the last step is not singular.
        beta = (1 - ab[1:] / ab[:-1]).clamp(max=self.max_beta)
        return torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(1 - beta, 0)])

    def timesteps(self, steps: int, start: int | None = None) -> torch.Tensor:
        """(steps+1,) long, descending from `start` (default T) to 0, evenly spaced; steps >= 1."""
        start = self.T if start is None else int(start)
        if start <= 0:
            return torch.zeros(1, dtype=torch.long)
        steps = max(1, min(int(steps), start))
        return torch.linspace(start, 0, steps + 1, dtype=torch.float64).round().long()
