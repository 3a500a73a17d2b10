"""The temporal lifter at run time: each frame's condition sees a window of frames; hypotheses are trajectories.

A temporal model (ModelConfig.temporal_layers > 0, trained by lifter.train_temporal) is the frame model with
per-joint attention over a window of `window` frames on the condition encoder's joint tokens
(lifter.model.TemporalEncoder): every frame's candidates are encoded once, the window's tokens are mixed over time,
and the output frame's pose is denoised from that condition. Frame times go in as seconds relative to the window's
last slot, so any frame rate, dropped frames and uneven intervals are fine; slots with no frame (before a sequence
starts or after it ends) are padding the attention skips.

- causal (live): the window ends at the newest frame, which is the output (no added latency);
- lag1 (live, one frame behind): the output is the frame before the newest (window slots: frames - 2 before it, 1
  after it), so it sees one frame of the future at one frame period of added latency (the training windows put the
  output at a random slot, so this window is in their distribution; its calibration is its own,
  meta["calibration_modes"]["lag1"]); the pipeline holds each frame until the next one arrives
  (pipeline.stages.Pipeline.lift / flush);
- centred (offline): the window is centred on the output frame and uses the frames after it.
Slots after the output frame that have no frame (the end of a sequence, a flushed stream) are padding too. With a
window rate (stride k) a slot is k frames, so lag1 then waits k frames.

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

MODES = ("causal", "lag1", "centred")
LIFTER_MODES = ("frame", "temporal")


def is_temporal(lifter) -> bool:
    return getattr(lifter.cfg, "temporal_layers", 0) > 0


def window_slots(frames: int, mode: str) -> tuple[int, int]:
    """(slots before the output frame, slots after it) of a window."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode == "causal":
        return frames - 1, 0
    if mode == "lag1":
        return frames - 2, 1
    return (frames - 1) // 2, frames // 2


CALIBRATION_KEYS = {"table": "calibration_table", "profile": "calibration_profile", "posture": "calibration_posture"}


def calibration_for_mode(lifter, n: int, steps: int, mode: str = "causal", means=None):
    """The covariance scale (per joint with a profile; per pose with means and a posture entry) for N, S in a window
    mode: the weights' per-mode entry (meta["calibration_modes"]), else Lifter.calibration_for."""
    entry = (lifter.meta.get("calibration_modes") or {}).get(mode)
    if not entry:
        return lifter.calibration_for(n, steps, means)
    saved = {key: lifter.meta.get(key) for key in CALIBRATION_KEYS.values()}
    lifter.meta.update({key: entry.get(part) for part, key in CALIBRATION_KEYS.items()})
    try:
        return lifter.calibration_for(n, steps, means)
    finally:
        lifter.meta.update(saved)


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


def window_index(starts: np.ndarray, ends: np.ndarray, frames: int, mode: str, stride: int = 1,
                 pos: np.ndarray | None = None):
    """For each output position pos[i] (default i; its sequence spans [starts[i], ends[i]) of the arrays): the
    window's array indices (M, frames) and padding (M, frames) bool. stride: every stride-th frame."""
    before, _ = window_slots(frames, mode)
    pos = np.arange(len(starts)) if pos is None else np.asarray(pos)
    idx = pos[:, None] + (np.arange(frames) - before)[None] * stride
    pad = (idx < starts[:, None]) | (idx >= ends[:, None])
    return np.where(pad, pos[:, None], idx), pad


def window_times(times: np.ndarray, idx: np.ndarray, pad: np.ndarray, slot: int, stride: int,
                 dt: float, pos: np.ndarray | None = None) -> np.ndarray:
    """Frame times of windows (output positions pos, default 0..M-1) relative to their last slot (M, frames);
    padding slots at the interval dt from the output frame."""
    pos = np.arange(len(idx)) if pos is None else np.asarray(pos)
    synthetic = (np.arange(idx.shape[1]) - slot)[None] * stride * dt
    tau = np.where(pad, synthetic, times[idx] - times[pos][:, None])
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
                                                     torch.as_tensor(pad[sl]).flatten(), frames, slot)
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
    """One person's live window: the encoder tokens and times of the last frames and the person's start noise.
    `add` takes a frame's candidates, `sample(t)` returns the N hypotheses (N, 17, 3) of the frame at time t (default
    the newest) from its window in `mode` (window_slots): causal, the newest frame is the output; lag1, the caller
    asks for a frame once the next one is in (pipeline.stages.Pipeline holds the frame that long). Slots after the
    output frame that the stream has not seen (the last frame of a stream, flushed) are padding. rate: the window's
    slots are every stride-th frame (lifter.temporal.window_stride from the median frame interval), so the window
    spans (window - 1) / rate seconds on any source at or above that rate; None: every frame."""
    lifter: object
    n: int
    steps: int
    seed: int = 0
    rate: float | None = None
    mode: str = "causal"
    _tokens: list = field(default_factory=list)
    _times: list = field(default_factory=list)
    _noise: torch.Tensor | None = None

    def __post_init__(self) -> None:
        window_slots(2, self.mode)                                    # an unknown mode fails here

    def reset(self) -> None:
        self._tokens, self._times = [], []

    def _interval(self) -> float:
        gaps = np.diff(self._times)
        return float(np.median(gaps)) if len(gaps) else 0.0

    def add(self, xy: torch.Tensor, lik: torch.Tensor, t: float) -> None:
        """A frame's candidates: xy (1,17,K,2), lik (1,17,K) box-normalised, t seconds."""
        runner = getattr(self.lifter, "window_runner", None)
        if self._times and t <= self._times[-1]:
            self.reset()                                              # time went back: a seek or a new video
        with torch.inference_mode():
            self._tokens.append(runner.encode(xy, lik) if runner else self.lifter.model.encoder(xy.float(),
                                                                                                 lik.float())[0])
        self._times.append(float(t))
        keep = (self.lifter.cfg.window - 1) * window_stride(self._interval(), self.rate) + 1
        self._tokens, self._times = self._tokens[-keep:], self._times[-keep:]

    def sample(self, t: float | None = None, mode: str | None = None) -> torch.Tensor:
        """The hypotheses (N, 17, 3) metres of the frame at time t (the nearest one held; default the newest), from
        its window in `mode` (default the stream's)."""
        mode = mode or self.mode
        f = self.lifter.cfg.window
        runner = getattr(self.lifter, "window_runner", None)
        m = len(self._times)
        j = m - 1 if t is None else int(np.argmin(np.abs(np.asarray(self._times) - t)))
        interval = self._interval()
        stride = window_stride(interval, self.rate)
        slot = window_slots(f, mode)[0]
        idx, pad = window_index(np.zeros(1, int), np.full(1, m), f, mode, stride, pos=np.array([j]))
        tau = window_times(np.asarray(self._times), idx, pad, slot, stride, interval or 1 / 30, pos=np.array([j]))
        tau, pad = torch.as_tensor(tau[0], dtype=torch.float32), torch.as_tensor(pad[0])
        window = torch.cat([self._tokens[r] for r in idx[0]])
        if self._noise is None or self._noise.shape[0] != self.n:
            self._noise = hypothesis_noise(self.n, self.seed)
        if runner is not None:
            return runner.sample(window, tau, pad, self._noise, self.steps, slot)
        with torch.inference_mode():
            cond = self.lifter.model.window_condition(window, tau, pad, f, slot)
        return denoise(self.lifter, cond, self._noise, self.steps)[0]

    def step(self, xy: torch.Tensor, lik: torch.Tensor, t: float) -> torch.Tensor:
        """add, then sample the newest frame (causal; in another mode its future slots are padding)."""
        self.add(xy, lik, t)
        return self.sample()

    def add_candidates(self, c: Candidates, t: float) -> None:
        xy, lik, _box = candidates_to_inputs(c)
        self.add(xy, lik, t)

    def estimate_at(self, t: float | None = None, mode: str | None = None) -> Estimate3D:
        """The frame at time t (default the newest) from its window in `mode` (default the stream's) -> Estimate3D
        (hypotheses, mean, the mode's calibrated covariance; root_translation zero), as Lifter.estimate for the
        frame model."""
        mode = mode or self.mode
        hyps = self.sample(t, mode)
        scale = calibration_for_mode(self.lifter, self.n, self.steps, mode, hyps.mean(0).numpy())
        mean, cov = summarise(hyps, scale)
        return Estimate3D(hypotheses=hyps.numpy().astype(np.float32), mean=mean.numpy().astype(np.float32),
                          covariance=cov.numpy().astype(np.float32), calibration=scale)

    def estimate(self, c: Candidates, t: float) -> Estimate3D:
        """The newest frame of this person (its candidates at time t, seconds) -> estimate_at(t)."""
        self.add_candidates(c, t)
        return self.estimate_at(t)
