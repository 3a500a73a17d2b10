"""The temporal lifter at run time: each frame's condition sees a window of frames; hypotheses are trajectories.

A temporal model (ModelConfig.temporal_layers > 0, trained by lifter.train_temporal) is the frame model with
per-joint attention over a window of `window` frames on the condition encoder's joint tokens
(lifter.model.TemporalEncoder): every frame's candidates are encoded once, the window's tokens are mixed over time,
and the output frame's pose is denoised from that condition. Frame times go in as seconds relative to the window's
last slot, so any frame rate, dropped frames and uneven intervals are fine; slots with no frame (before a sequence
starts or after it ends) are padding the attention skips.

- causal (live): the window ends at the newest frame, which is the output (no added latency);
- centred (offline): the window is centred on the output frame and uses the frames after it.

The denoiser runs for the output frame only (N hypotheses x S steps, as the frame model), so a live frame costs the
frame model's time plus the small attention over cached tokens. (Denoising the whole window jointly was measured at
2.3x (T=5) to 4x (T=7) the frame model's time per live frame on this CPU, too slow for 30 FPS.)

Trajectories: hypothesis i starts from the same noise z[i] in every frame of a sequence (drawn once per person), so
with deterministic DDIM it follows the condition smoothly instead of being redrawn each frame; each frame's
hypotheses are still a sample of the model's distribution, so the calibration (fitted on windows by
lifter.train_temporal) holds per frame.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from core.records import Candidates, Estimate3D
from core.skeleton import NUM_JOINTS
from lifter.aggregate import summarise
from lifter.inputs import candidates_to_inputs
from lifter.sampler import ddim

MODES = ("causal", "centred")
LIFTER_MODES = ("frame", "temporal")


def is_temporal(lifter) -> bool:
    return getattr(lifter.cfg, "temporal_layers", 0) > 0


def window_slots(frames: int, mode: str) -> tuple[int, int]:
    """(slots before the output frame, slots after it) of a window."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return (frames - 1, 0) if mode == "causal" else ((frames - 1) // 2, frames // 2)


def calibration_for_mode(lifter, n: int, steps: int, mode: str = "causal"):
    """The covariance scale (per joint with a profile) for N, S in a window mode: the weights' per-mode table
    (meta["calibration_modes"]), else Lifter.calibration_for."""
    entry = (lifter.meta.get("calibration_modes") or {}).get(mode)
    if not entry:
        return lifter.calibration_for(n, steps)
    saved = lifter.meta.get("calibration_table"), lifter.meta.get("calibration_profile")
    lifter.meta["calibration_table"], lifter.meta["calibration_profile"] = entry["table"], entry.get("profile")
    try:
        return lifter.calibration_for(n, steps)
    finally:
        lifter.meta["calibration_table"], lifter.meta["calibration_profile"] = saved


def denoise(lifter, cond, noise: torch.Tensor, steps: int) -> torch.Tensor:
    """cond (B rows), noise (B*N, 16, 3) the start sample at T -> (B, N, 17, 3) metres (deterministic DDIM)."""
    n = noise.shape[0] // cond.rows
    c = cond.repeat(n)
    with torch.inference_mode():
        x = ddim(lambda z, t: lifter.model.denoise(z, t, c), noise, lifter.schedule.timesteps(steps),
                 lifter.alpha_bar, lifter.cfg.target, 0.0, None, clip_x0=3.0 * lifter.cfg.pose_scale)
        return lifter.model.from_internal(x).view(cond.rows, n, NUM_JOINTS, 3)


def hypothesis_noise(n: int, seed: int) -> torch.Tensor:
    """One person's start noise (N, 16, 3), reused every frame (hypotheses that are trajectories)."""
    return torch.randn(n, NUM_JOINTS - 1, 3, generator=torch.Generator().manual_seed(seed))


def window_index(starts: np.ndarray, ends: np.ndarray, frames: int, mode: str, stride: int = 1):
    """For each output position i (its sequence spans [starts[i], ends[i]) of the arrays): the window's array
    indices (M, frames) and padding (M, frames) bool. stride: every stride-th frame."""
    before, _ = window_slots(frames, mode)
    pos = np.arange(len(starts))
    idx = pos[:, None] + (np.arange(frames) - before)[None] * stride
    pad = (idx < starts[:, None]) | (idx >= ends[:, None])
    return np.where(pad, pos[:, None], idx), pad


def window_times(times: np.ndarray, idx: np.ndarray, pad: np.ndarray, slot: int, stride: int,
                 dt: float) -> np.ndarray:
    """Frame times of windows relative to their last slot (M, frames); padding slots at the interval dt."""
    synthetic = (np.arange(idx.shape[1]) - slot)[None] * stride * dt
    tau = np.where(pad, synthetic, times[idx] - times[:, None])
    return tau - tau[:, -1:]


def lift_sequence(lifter, xy: torch.Tensor, lik: torch.Tensor, times: np.ndarray, sequence: np.ndarray,
                  n: int, steps: int, lifter_mode: str = "temporal", mode: str = "causal", stride: int = 1,
                  seed: int = 0, chunk: int = 256, rate: float | None = None) -> torch.Tensor:
    """Poses of sequences in order: xy (M,17,K,2), lik (M,17,K) box-normalised candidates, times (M,) seconds,
    sequence (M,) ids (windows never cross sequences) -> (M, N, 17, 3). Each sequence's hypotheses start from one
    noise table (seed + its number) in every frame, for the frame model as for the temporal one (as the app).
    stride: every stride-th frame in a window; rate (frames per second, overrides stride): the stride for that window
    rate at the median frame interval (window_stride, as TemporalStream)."""
    m = len(times)
    change = np.r_[True, np.asarray(sequence)[1:] != np.asarray(sequence)[:-1]]
    seq_no = np.cumsum(change) - 1
    noise = torch.stack([hypothesis_noise(n, seed + int(s)) for s in range(int(seq_no[-1]) + 1)]) if m else None
    with torch.inference_mode():
        tokens = []
        for i in range(0, m, chunk):
            tokens.append(lifter.model.encoder(xy[i:i + chunk].float(), lik[i:i + chunk].float())[0])
        tokens = torch.cat(tokens) if tokens else torch.zeros(0)
    if lifter_mode == "temporal" and is_temporal(lifter):
        frames = lifter.cfg.window
        first = np.flatnonzero(change)
        times = np.asarray(times, np.float64)
        gaps = np.diff(times)[~change[1:]]
        dt = float(np.median(gaps)) if len(gaps) else 0.1
        if rate:
            stride = window_stride(dt, rate)
        idx, pad = window_index(first[seq_no], np.r_[first[1:], m][seq_no], frames, mode, stride)
        slot = window_slots(frames, mode)[0]
        tau = window_times(times, idx, pad, slot, stride, dt)
    elif lifter_mode in LIFTER_MODES:
        frames, idx, pad, tau, slot = 1, np.arange(m)[:, None], np.zeros((m, 1), bool), np.zeros((m, 1)), 0
    else:
        raise ValueError(f"lifter_mode must be one of {LIFTER_MODES}, got {lifter_mode!r}")
    out = []
    for i in range(0, m, chunk):
        sl = slice(i, min(m, i + chunk))
        wi = torch.as_tensor(idx[sl]).flatten()
        with torch.inference_mode():
            if frames > 1:
                cond = lifter.model.window_condition(tokens[wi], torch.as_tensor(tau[sl]).flatten().float(),
                                                     torch.as_tensor(pad[sl]).flatten(), frames)
                cond = cond.select(torch.arange(sl.stop - sl.start) * frames + slot)
            else:
                cond = lifter.model.window_condition(tokens[wi])
        z = noise[torch.as_tensor(seq_no[sl])].reshape(-1, NUM_JOINTS - 1, 3)
        out.append(denoise(lifter, cond, z, steps))
    return torch.cat(out) if out else torch.zeros(0, n, NUM_JOINTS, 3)


def window_stride(interval: float, rate: float | None) -> int:
    """Frames between a window's slots so that the window runs at about `rate` frames per second on a source whose
    frames come every `interval` seconds (1 without a rate, or on a source slower than it)."""
    if not rate or not interval or interval <= 0:
        return 1
    return max(1, int(round(1.0 / (interval * rate))))


@dataclass
class TemporalStream:
    """One person's live window (causal): the encoder tokens and times of the last frames and the person's start
    noise. `step` takes the newest frame's candidates and returns its N hypotheses (N, 17, 3). rate: the window's
    slots are every stride-th frame (lifter.temporal.window_stride from the median frame interval), so the window
    spans (window - 1) / rate seconds on any source at or above that rate; None: every frame."""
    lifter: object
    n: int
    steps: int
    seed: int = 0
    rate: float | None = None
    _tokens: list = field(default_factory=list)
    _times: list = field(default_factory=list)
    _noise: torch.Tensor | None = None

    def reset(self) -> None:
        self._tokens, self._times = [], []

    def step(self, xy: torch.Tensor, lik: torch.Tensor, t: float) -> torch.Tensor:
        """xy (1,17,K,2), lik (1,17,K) box-normalised, t seconds -> (N, 17, 3) metres."""
        f = self.lifter.cfg.window
        runner = getattr(self.lifter, "window_runner", None)
        if self._times and t <= self._times[-1]:
            self.reset()                                              # time went back: a seek or a new video
        with torch.inference_mode():
            self._tokens.append(runner.encode(xy, lik) if runner else self.lifter.model.encoder(xy.float(),
                                                                                                 lik.float())[0])
        self._times.append(float(t))
        gaps = np.diff(self._times)
        stride = window_stride(float(np.median(gaps)) if len(gaps) else 0.0, self.rate)
        self._tokens, self._times = self._tokens[-(f - 1) * stride - 1:], self._times[-(f - 1) * stride - 1:]
        if self._noise is None or self._noise.shape[0] != self.n:
            self._noise = hypothesis_noise(self.n, self.seed)
        real = list(range(len(self._times) - 1, -1, -stride))[:f][::-1]   # the window's frames, oldest first
        have = len(real)
        rows = [real[0]] * (f - have) + real                          # padding slots repeat the oldest frame
        times = [self._times[r] for r in real]
        dt = (times[-1] - times[0]) / (have - 1) if have > 1 else stride / 30
        tau = torch.tensor([(self._times[r] - times[-1]) if k >= f - have else (k - f + 1) * dt
                            for k, r in enumerate(rows)], dtype=torch.float32)
        pad = torch.tensor([True] * (f - have) + [False] * have)
        window = torch.cat([self._tokens[r] for r in rows])
        if runner is not None:
            return runner.sample(window, tau, pad, self._noise, self.steps)
        with torch.inference_mode():
            cond = self.lifter.model.window_condition(window, tau, pad, f)
            cond = cond.select(torch.tensor([f - 1]))
        return denoise(self.lifter, cond, self._noise, self.steps)[0]

    def estimate(self, c: Candidates, t: float) -> Estimate3D:
        """The newest frame of this person (its candidates at time t, seconds) -> Estimate3D (hypotheses, mean,
        causal-mode calibrated covariance; root_translation zero), as Lifter.estimate for the frame model."""
        xy, lik, _box = candidates_to_inputs(c)
        hyps = self.step(xy, lik, t)
        mean, cov = summarise(hyps, calibration_for_mode(self.lifter, self.n, self.steps, "causal"))
        return Estimate3D(hypotheses=hyps.numpy().astype(np.float32), mean=mean.numpy().astype(np.float32),
                          covariance=cov.numpy().astype(np.float32))
