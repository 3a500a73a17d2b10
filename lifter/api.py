"""Runtime API of the diffusion lifter: load shipped weights, condition once per frame, sample N hypotheses, summarise.

    lifter = Lifter.load()                      # weights/lifter/default.pt
    est = lifter.estimate(candidates)           # records.Estimate3D, calibrated covariance
    hyps = lifter.sample(xy_norm, lik, n=16, steps=5)   # (B, N, 17, 3) root-relative camera frame, metres
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import ContextManager, Protocol

import numpy as np
import torch

from core import defaults
from core.records import Candidates, Estimate3D
from core.skeleton import NUM_JOINTS
from lifter import posture_scale
from lifter.aggregate import summarise
from lifter.inputs import candidates_to_inputs
from lifter.model import Condition, LifterModel, ModelConfig
from lifter.sampler import ddim, noise_to, randn
from lifter.schedule import CosineSchedule

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights" / "lifter"
DEFAULT_WARM_T = 200  # warm-start noise level (of T = 1000) used when init is given without init_t


def resolve_weights(name_or_path: str | Path) -> Path:
    p = Path(name_or_path)
    if p.suffix == ".pt" or p.exists():
        return p
    return WEIGHTS_DIR / f"{name_or_path}.pt"


def redraw_candidates(xy: torch.Tensor, lik: torch.Tensor, n: int, generator: torch.Generator | None = None):
    """Per-hypothesis candidate sets: (B,17,K,2), (B,17,K) -> (B*n,17,K,2), (B*n,17,K).

    Each hypothesis keeps the peak (candidate 0) and redraws candidates 1..K-1 from the frame's K candidates with
    probability proportional to likelihood (with replacement), so hypotheses see different plausible 2D evidence.
    """
    b, j, k = lik.shape
    probs = lik.clamp_min(0).reshape(b * j, k).double()
    probs = probs + (probs.sum(1, keepdim=True) <= 0).double()  # all-zero joint -> uniform
    if k <= 1:
        return xy.repeat_interleave(n, 0), lik.repeat_interleave(n, 0)
    where = probs.device if generator is None else generator.device  # draw where the generator lives
    idx = torch.multinomial(probs.to(where), n * (k - 1), replacement=True, generator=generator).to(xy.device)
    idx = idx.view(b, j, n, k - 1).permute(0, 2, 1, 3)                          # (B, n, 17, K-1)
    idx = torch.cat([torch.zeros(b, n, j, 1, dtype=idx.dtype, device=idx.device), idx], dim=3)  # keep the peak
    xy_e = xy[:, None].expand(b, n, j, k, 2)
    lik_e = lik[:, None].expand(b, n, j, k)
    new_xy = xy_e.gather(3, idx[..., None].expand(b, n, j, k, 2))
    new_lik = lik_e.gather(3, idx)
    return new_xy.reshape(b * n, j, k, 2), new_lik.reshape(b * n, j, k)


class SampleRunner(Protocol):
    """A lifter runtime (lifter.runtimes): runs the common case of Lifter.sample (eta 0, one candidate set per
    frame, from noise or a warm start) from the start sample x (B*N, 16, 3) at timestep `start`."""

    def __call__(self, xy: torch.Tensor, lik: torch.Tensor, x: torch.Tensor, n: int, steps: int,
                 start: int) -> torch.Tensor:
        """(B, N, 17, 3) float32 metres, on the lifter's device."""

    def precision(self) -> ContextManager:
        """The context (autocast or none) the other cases run under."""


class Lifter:
    def __init__(self, model: LifterModel, calibration: float = 1.0, meta: dict | None = None, device: str = "cpu",
                 runner: SampleRunner | None = None):
        self.runner = runner      # None: every case runs the eager loop below (lifter.runtimes.with_runtime sets it)
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.cfg: ModelConfig = model.cfg
        self.schedule = CosineSchedule(T=self.cfg.T)
        self.alpha_bar = self.schedule.alpha_bar()
        self.calibration = float(calibration)
        self.meta = dict(meta or {})

    @property
    def T(self) -> int:
        return self.cfg.T

    @classmethod
    def load(cls, name_or_path: str | Path = "default", device: str = "cpu") -> "Lifter":
        path = resolve_weights(name_or_path)
        if not path.is_file():
            raise FileNotFoundError(f"lifter weights not found: {path}")
        blob = torch.load(path, map_location="cpu", weights_only=True)
        model = LifterModel(ModelConfig.from_dict(blob["config"]))
        model.load_state_dict({k: v.float() for k, v in blob["state_dict"].items()})
        return cls(model, blob.get("calibration", 1.0), blob.get("meta", {}), device)

    def calibration_for(self, n: int, steps: int, means=None):
        """Covariance scale for N hypotheses and S steps. The spread of the hypotheses depends on both, so the
        weights carry a table fitted on validation poses (meta["calibration_table"], keys "N,S"); the nearest
        fitted setting is used (steps first, then N, on a log scale), else the single default-setting scale. With a
        per-joint profile (meta["calibration_profile"], lifter.aggregate.fit_joint_profile) one scale per joint.
        With the estimated means ((17, 3) or (M, 17, 3)) and a posture entry (meta["calibration_posture"]), each
        pose's scale times its posture group's factor (lifter.posture_scale.apply: (17,) or (M, 17))."""
        profile = self.meta.get("calibration_profile")
        scale = self._scalar_calibration(n, steps)
        scale = scale if not profile else [scale * float(f) for f in profile]
        return scale if means is None else posture_scale.apply(scale, means, self.meta.get("calibration_posture"))

    def _scalar_calibration(self, n: int, steps: int) -> float:
        table = self.meta.get("calibration_table") or {}
        if not table:
            return self.calibration

        def distance(key: str) -> tuple[float, float]:
            kn, ks = (int(v) for v in key.split(","))
            return abs(math.log(ks / steps)), abs(math.log(kn / n))

        return float(table[min(table, key=distance)])

    def save(self, path: str | Path, half: bool = False) -> Path:
        """Write config, weights (float16 if half), calibration and meta to one .pt file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        sd = {k: (v.half() if half and v.is_floating_point() else v).cpu() for k, v in self.model.state_dict().items()}
        torch.save({"config": self.cfg.to_dict(), "state_dict": sd, "calibration": self.calibration,
                    "meta": self.meta}, path)
        return path

    def _inputs(self, cand_xy, cand_lik) -> tuple[torch.Tensor, torch.Tensor]:
        xy = torch.as_tensor(np.asarray(cand_xy) if not isinstance(cand_xy, torch.Tensor) else cand_xy)
        lik = torch.as_tensor(np.asarray(cand_lik) if not isinstance(cand_lik, torch.Tensor) else cand_lik)
        if xy.dim() == 3:
            xy, lik = xy[None], lik[None]
        return xy.to(self.device, torch.float32), lik.to(self.device, torch.float32)

    def condition(self, cand_xy, cand_lik) -> Condition:
        """Box-normalised candidates (B,17,K,2), likelihoods (B,17,K) -> per-frame condition (compute once per frame)."""
        xy, lik = self._inputs(cand_xy, cand_lik)
        with torch.inference_mode():
            return self.model.condition(xy, lik)

    def sample(
        self,
        cand_xy,
        cand_lik,
        n: int = defaults.HYPOTHESES,
        steps: int = defaults.STEPS,
        eta: float = 0.0,
        generator: torch.Generator | None = None,
        init=None,
        init_t: int | None = None,
        per_hypothesis_draw: bool = False,
    ) -> torch.Tensor:
        """N hypotheses per frame: (B, N, 17, 3) root-relative camera-frame metres.

        init: (B,17,3) warm-start pose (e.g. the previous frame's mean); it is noised to timestep init_t (0..T, default
        DEFAULT_WARM_T; 0 returns init unchanged) and denoised from there in `steps` DDIM steps.
        per_hypothesis_draw: every hypothesis redraws its K candidates from the frame's pool (peak kept).
        """
        xy, lik = self._inputs(cand_xy, cand_lik)
        b = xy.shape[0]
        warm_from = None if init is None else (DEFAULT_WARM_T if init_t is None else int(init_t))
        if self.runner is not None:
            if eta == 0.0 and not per_hypothesis_draw and (warm_from is None or warm_from > 0):
                with torch.inference_mode():
                    x, start = start_sample(self, b, n, generator, init, warm_from)
                return self.runner(xy, lik, x, n, steps, start)
            with self.runner.precision():
                return self._sample(xy, lik, n, steps, eta, generator, init, warm_from, per_hypothesis_draw).float()
        return self._sample(xy, lik, n, steps, eta, generator, init, warm_from, per_hypothesis_draw)

    def _sample(self, xy, lik, n, steps, eta, generator, init, warm_from, per_hypothesis_draw) -> torch.Tensor:
        b = xy.shape[0]
        with torch.inference_mode():
            if per_hypothesis_draw:
                cond = self.model.condition(*redraw_candidates(xy, lik, n, generator))
            else:
                cond = self.model.condition(xy, lik).repeat(n)
            x, start = start_sample(self, b, n, generator, init, warm_from)
            ts = self.schedule.timesteps(steps, start)
            x = ddim(lambda z, t: self.model.denoise(z, t, cond), x, ts, self.alpha_bar, self.cfg.target, eta,
                     generator, clip_x0=3.0 * self.cfg.pose_scale)
            return self.model.from_internal(x).view(b, n, xy.shape[1], 3)

    def estimate(self, c: Candidates, n: int = defaults.HYPOTHESES, steps: int = defaults.STEPS, eta: float = 0.0,
                 generator: torch.Generator | None = None, init=None, init_t: int | None = None,
                 per_hypothesis_draw: bool = False) -> Estimate3D:
        """One person's candidates -> Estimate3D (hypotheses, mean, calibrated covariance; root_translation zero).

        Without a generator a fixed seed is used, so the same input gives the same output (steady video).
        """
        return self.estimate_batch([c], n, steps, eta, generator, None if init is None else [init], init_t,
                                   per_hypothesis_draw)[0]

    def estimate_batch(self, cands: list[Candidates], n: int = defaults.HYPOTHESES, steps: int = defaults.STEPS,
                       eta: float = 0.0, generator: torch.Generator | None = None, inits: list | None = None,
                       init_t: int | None = None, per_hypothesis_draw: bool = False) -> list[Estimate3D]:
        """Several people of one frame in one sampling call (a batch of B = len(cands)): one Estimate3D each.
        inits: one warm-start pose (17, 3) per person, or None for all (every person then starts from noise).
        With one person this is `estimate` exactly (same fixed seed, same noise)."""
        if not cands:
            return []
        inputs = [candidates_to_inputs(c) for c in cands]      # each a batch of one
        xy, lik = torch.cat([i[0] for i in inputs]), torch.cat([i[1] for i in inputs])
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        init = None
        if inits is not None:
            init = torch.stack([torch.as_tensor(np.asarray(i), dtype=torch.float32).reshape(-1, 3) for i in inits])
        hyps = self.sample(xy, lik, n=n, steps=steps, eta=eta, generator=generator, init=init, init_t=init_t,
                           per_hypothesis_draw=per_hypothesis_draw)
        out = []
        for h in hyps:
            scale = self.calibration_for(n, steps, h.mean(0).cpu().numpy())
            mean, cov = summarise(h, scale)
            out.append(Estimate3D(hypotheses=h.cpu().numpy().astype(np.float32),
                                  mean=mean.cpu().numpy().astype(np.float32),
                                  covariance=cov.cpu().numpy().astype(np.float32), calibration=scale))
        return out


def start_sample(lifter: Lifter, b: int, n: int, generator: torch.Generator | None, init=None,
                 warm_from: int | None = None) -> tuple[torch.Tensor, int]:
    """(x at the start timestep (b*n, 16, 3) on lifter.device, start): pure noise at T without init; else init
    (b, 17, 3) metres, repeated n times and noised to warm_from. Every sampling path (the eager loop, every runtime)
    starts here, so they agree for the same generator; the noise is drawn on the generator's device
    (lifter.sampler.randn), so Lifter.estimate's fixed CPU generator also serves a CUDA lifter."""
    shape = (b * n, NUM_JOINTS - 1, 3)
    if init is None:
        return randn(shape, generator, lifter.device), lifter.T
    x0 = lifter.model.to_internal(torch.as_tensor(init, dtype=torch.float32).to(lifter.device))
    x0 = x0.reshape(b, 1, *shape[1:]).expand(b, n, *shape[1:]).reshape(shape)
    return noise_to(x0, warm_from, lifter.alpha_bar, generator), warm_from


def benchmark(lifter: Lifter, n: int = defaults.HYPOTHESES, steps: int = defaults.STEPS, k: int = defaults.CANDIDATES,
              repeats: int = 50, seed: int = 0) -> dict:
    """Single-frame latency of condition + sampling (ms): median and 90th percentile over `repeats` frames."""
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(repeats + 5, 1, 17, k, 2, generator=g) * 1.6 - 0.8
    lik = torch.rand(repeats + 5, 1, 17, k, generator=g)
    times = []
    for i in range(repeats + 5):
        t = time.perf_counter()
        lifter.sample(xy[i], lik[i], n=n, steps=steps, generator=g)
        times.append(1000 * (time.perf_counter() - t))
    times = sorted(times[5:])
    return {"n": n, "steps": steps, "threads": torch.get_num_threads(), "median_ms": round(times[len(times) // 2], 2),
            "p90_ms": round(times[int(0.9 * len(times))], 2)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Lifter sampling latency on one frame (random candidates).")
    ap.add_argument("--weights", default="default")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, nargs="+", default=[16])
    ap.add_argument("--steps", type=int, nargs="+", default=[1, 2, 5, 10, 25])
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    lifter = Lifter.load(args.weights)
    for n in args.n:
        for s in args.steps:
            print(json.dumps(benchmark(lifter, n, s)), flush=True)


if __name__ == "__main__":
    main()
