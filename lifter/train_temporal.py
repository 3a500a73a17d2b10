"""Fine-tune a temporal lifter from a frame model on windows of mocap sequences, then calibrate and ship it.

    python -m lifter.train_temporal --init default --name temporal --frames 7 --minutes 60 --threads 1

The temporal model starts as the frame model (weights copied; the temporal attention's output projections are zero,
so before training it IS the frame model) and learns only what time adds. The condition encoder stays frozen (its
per-frame features are the frame model's) unless --train-encoder; the denoiser and the temporal layers train.
--spatial adds attention across the joints after each temporal layer (to a shipped model given by --from-weights
too; zero residual branches, so it starts as that model).

Windows (WindowSampler): an anchor pose of a training clip at a random slot of the window, the other slots at an app
frame rate drawn log-uniformly in 10-60 fps with +-15 % interval jitter and dropped frames (an interval doubled or
tripled); the cache's 10 fps clip is interpolated linearly at those times. Slots before the clip's start or after its
end are padding (people entering / leaving), and some windows get extra padding at the start. Every frame of a window
shares one body (bone lengths, mirroring, everyday posture) and one simulated camera (lifter.simulate group); the
candidates are drawn per frame. The diffusion loss (x0 at uniform timesteps) over the real slots, the last slot (the
live output) weighted more with --edge-weight.

--jitter-weight adds the live output's jitter (jitter_loss): each window gets one frame more, the causal windows that
end at its last two frames predict their newest pose from the same noise, and the predicted move from one frame to
the next is scored against the truth's move. The diffusion loss sees only the window of the later frame.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.paths import cache_dir, repo_root
from core.skeleton import NUM_JOINTS
from lifter import posture_scale
from lifter.aggregate import coverage, fit_calibration, fit_joint_profile
from lifter.api import Lifter
from lifter.data import everyday as ev
from lifter.data.augment import mirror
from lifter.data.bodies import body_lengths
from lifter.data.retarget import retarget
from lifter.data.sequences import sequences_of
from lifter.model import LifterModel, ModelConfig
from lifter.sampler import split_prediction, training_target
from lifter.schedule import CosineSchedule
from lifter.temporal import CALIBRATION_KEYS, MODES, denoise, hypothesis_noise, window_slots
from lifter.train import EMA, balance_weights, drop_joints, load_config, resume, ship

FPS_RANGE = (10.0, 60.0)
INTERVAL_JITTER = 0.15
DROP_PROB = 0.08          # an interval is 2-3 frame periods (a dropped frame)
EXTRA_PAD_PROB = 0.1      # a window whose oldest slots are padding (a person just entered)
CALIBRATION_GRID = ((16, 1), (16, 2), (16, 5), (16, 10), (64, 5))
CALIBRATION_FPS = (10.0, 10.0)   # calibration windows at the app's window rate (configs/app.yaml temporal_rate)


# ------------------------------------------------------------------------------------------------ sequences

@dataclass
class Clips:
    poses: np.ndarray     # (M, 17, 3) in clip order
    times: np.ndarray     # (M,) seconds
    start: np.ndarray     # (M,) index of the clip's first pose
    end: np.ndarray       # (M,) index after its last pose
    names: np.ndarray     # (M,) dataset


def load_clips(split: str, datasets: list[str]) -> Clips:
    z = np.load(cache_dir() / "mocap" / f"{split}.npz", allow_pickle=False)
    names = z["dataset"].astype(str)
    keep = np.isin(names, datasets)
    seq, frame, fps = sequences_of(z)
    poses, seq, frame, names = z["poses"][keep].astype(np.float32), seq[keep], frame[keep], names[keep]
    change = np.r_[True, seq[1:] != seq[:-1]]
    cid = np.cumsum(change) - 1
    first = np.flatnonzero(change)
    return Clips(poses, frame / fps, first[cid], np.r_[first[1:], len(poses)][cid], names)


class WindowSampler:
    """Windows of `frames` slots around anchor poses, at random app frame rates (see the module docstring)."""

    def __init__(self, clips: Clips, frames: int, fps_range: tuple[float, float] = FPS_RANGE):
        self.c, self.frames, self.fps_range = clips, frames, fps_range
        # One monotone time axis over all clips (clip k shifted by k x 1e5 s) for searchsorted.
        clip_no = np.cumsum(np.r_[True, clips.start[1:] != clips.start[:-1]]) - 1
        self.gt = clip_no * 1e5 + clips.times
        self.clip_no = clip_no

    def sample(self, anchors: np.ndarray, rng: np.random.Generator):
        """anchors (B,) pose indices -> poses (B, F, 17, 3), tau (B, F) s relative to the last slot, pad (B, F)."""
        b, f, c = len(anchors), self.frames, self.c
        fps = np.exp(rng.uniform(np.log(self.fps_range[0]), np.log(self.fps_range[1]), b))
        step = (1 / fps)[:, None] * (1 + rng.uniform(-INTERVAL_JITTER, INTERVAL_JITTER, (b, f - 1)))
        step = step * (1 + (rng.random((b, f - 1)) < DROP_PROB) * rng.integers(1, 3, (b, f - 1)))
        off = np.concatenate([np.zeros((b, 1)), np.cumsum(step, 1)], 1)
        slot = rng.integers(0, f, b)
        t = c.times[anchors][:, None] + off - off[np.arange(b), slot][:, None]
        lo, hi = c.times[c.start[anchors]][:, None], c.times[c.end[anchors] - 1][:, None]
        pad = (t < lo - 1e-6) | (t > hi + 1e-6)
        extra = (rng.random(b) < EXTRA_PAD_PROB) * rng.integers(1, f, b)
        pad |= (np.arange(f)[None] < np.minimum(extra, slot)[:, None])
        g = self.clip_no[anchors][:, None] * 1e5 + np.clip(t, lo, hi)
        j = np.clip(np.searchsorted(self.gt, g), c.start[anchors][:, None] + 1, c.end[anchors][:, None] - 1)
        single = (c.end[anchors] - c.start[anchors] == 1)[:, None]
        i0 = np.where(single, c.start[anchors][:, None], j - 1)
        i1 = np.where(single, i0, j)
        span = np.maximum(self.gt[i1] - self.gt[i0], 1e-9)
        w = np.clip((g - self.gt[i0]) / span, 0, 1)[..., None, None]
        poses = (1 - w) * c.poses[i0] + w * c.poses[i1]
        poses = np.where(pad[..., None, None], c.poses[anchors][:, None], poses)
        return poses.astype(np.float32), (off - off[:, -1:]).astype(np.float32), pad


def augment_windows(poses: np.ndarray, rng: np.random.Generator, cfg: dict) -> np.ndarray:
    """(B, F, 17, 3) -> the same augmentation for every frame of a window: everyday posture (same draws per frame),
    mirroring, the window's own bone lengths x anthropometric factors (from its first frame)."""
    b, f = poses.shape[:2]
    out = poses.copy()
    for key, fn in (("lower", ev.everyday_lower), ("face", ev.reach_face), ("lie", ev.lie_down)):
        p = (cfg.get("everyday") or {}).get(key, 0.0)
        sel = rng.random(b) < p if p > 0 else np.zeros(b, bool)
        if sel.any():
            state = rng.bit_generator.state
            for k in range(f):
                r = np.random.default_rng()
                r.bit_generator.state = state          # the same posture draws for every frame of the window
                out[sel, k] = fn(out[sel, k], r)
            rng.random(1)                              # move on from the shared state
    flip = rng.random(b) < cfg.get("mirror_prob", 0.5)
    out[flip] = mirror(out[flip])
    lengths = body_lengths(out[:, 0], rng, **(cfg.get("body") or {}))
    return retarget(out.reshape(b * f, NUM_JOINTS, 3), np.repeat(lengths, f, 0)).astype(np.float32).reshape(out.shape)


@dataclass
class WindowBatch:
    xy: torch.Tensor      # (B*F, 17, K, 2)
    lik: torch.Tensor     # (B*F, 17, K)
    pose: torch.Tensor    # (B*F, 17, 3)
    tau: torch.Tensor     # (B*F,)
    pad: torch.Tensor     # (B*F,) bool
    frames: int


def simulate_windows(poses: np.ndarray, tau: np.ndarray, pad: np.ndarray, sim_cfg, g: torch.Generator, k: int,
                     none_share: float) -> WindowBatch:
    """Windows (B, F, 17, 3) -> candidates with one camera per window; the first round(none_share B) exact 2D. The
    detector-like 2D errors of a window's frames are correlated in time as BlazePose's on real video
    (lifter.simulate.error_rho: exp(-dt / heatmap.real_2d.error_correlation_s), frame times tau (B, F) seconds)."""
    from lifter.simulate import error_rho, simulate_batch

    b, f = poses.shape[:2]
    p = torch.as_tensor(poses).reshape(b * f, NUM_JOINTS, 3)
    n_none = int(round(none_share * b)) * f
    parts = []
    if n_none:
        parts.append(simulate_batch(p[:n_none], sim_cfg, g, noise="none", k=k, group=f))
    if n_none < len(p):
        rho = error_rho(torch.as_tensor(tau).reshape(-1)[n_none:], f, sim_cfg)
        parts.append(simulate_batch(p[n_none:], sim_cfg, g, noise="detector", k=k, group=f, rho=rho))
    cat = lambda name: torch.cat([getattr(s, name) for s in parts])  # noqa: E731
    return WindowBatch(cat("cand_xy"), cat("cand_lik"), cat("pose_cam"), torch.as_tensor(tau).flatten(),
                       torch.as_tensor(pad).flatten(), f)


# ------------------------------------------------------------------------------------------------- model

def temporal_from_frame(frame: Lifter, layers: int, frames: int, spatial: bool = False) -> LifterModel:
    """The frame model with temporal layers (zero output projections: before training it is the frame model)."""
    cfg = ModelConfig.from_dict({**frame.cfg.to_dict(), "temporal_layers": layers, "window": frames,
                                 "temporal_spatial": spatial})
    return grown(frame.model, cfg, "temporal.")


def grown(model: LifterModel, cfg: ModelConfig, new: str) -> LifterModel:
    """A model of config cfg holding `model`'s weights; only parameters under `new` are new (their residual
    branches start at zero, so the grown model computes what `model` did)."""
    out = LifterModel(cfg)
    missing = out.load_state_dict(model.state_dict(), strict=False)
    assert not missing.unexpected_keys and all(k.startswith(new) for k in missing.missing_keys), missing
    return out


def shipped_temporal(name: str, init: str) -> Lifter:
    """A shipped temporal model to go on training (--from-weights), which must be built on the frame model --init."""
    shipped = Lifter.load(name)
    if shipped.meta.get("frame_model") not in (None, init):
        raise SystemExit(f"--from-weights {name} is built on {shipped.meta.get('frame_model')}, not --init {init}")
    return shipped


def frame_tokens(model: LifterModel, batch: WindowBatch, lik: torch.Tensor) -> torch.Tensor:
    """Every frame's joint tokens (B*F, 17, width); no gradient through a frozen encoder (the default)."""
    with torch.set_grad_enabled(torch.is_grad_enabled() and model.encoder.proj.weight.requires_grad):
        return model.encoder(batch.xy, lik)[0]


def slot_weights(frames: int, edge: float) -> torch.Tensor:
    """(F,) loss weight of each window slot: the last slot (the causal output, which sees no future frame) `edge`,
    the one before it (lag1's output) (edge + 1) / 2, the rest 1. edge 1: every real frame alike."""
    w = torch.ones(frames)
    w[-1] = edge
    if frames > 1:
        w[-2] = (edge + 1) / 2
    return w


def window_loss(model: LifterModel, batch: WindowBatch, alpha_bar: torch.Tensor, g: torch.Generator,
                repeats: int, joint_drop: float, edge: float = 1.0, tokens: torch.Tensor | None = None) -> torch.Tensor:
    """The frame model's loss (x0 / eps / v at uniform timesteps) on every real frame of the windows, each frame
    weighted by its slot (slot_weights; a weighted mean, so edge 1 is the plain mean). tokens: the frames' encoder
    tokens when already computed (joint dropout then already applied)."""
    real = ~batch.pad
    if tokens is None:
        tokens = frame_tokens(model, batch, drop_joints(batch.lik, joint_drop, g))
    cond = model.window_condition(tokens, batch.tau, batch.pad, batch.frames).select(real).repeat(repeats)
    x0 = model.to_internal(batch.pose[real]).repeat_interleave(repeats, 0)
    t = torch.randint(1, model.cfg.T + 1, (x0.shape[0],), generator=g)
    eps = torch.randn(x0.shape, generator=g)
    ab = alpha_bar[t].float()[:, None, None]
    pred = model.denoise(ab.sqrt() * x0 + (1 - ab).sqrt() * eps, t, cond)
    err = (pred - training_target(x0, eps, ab, model.cfg.target)).pow(2).flatten(1).mean(1)
    slot = torch.arange(real.numel()) % batch.frames
    w = slot_weights(batch.frames, edge)[slot[real]].repeat_interleave(repeats, 0)
    return (w * err).sum() / w.sum()


def split_pair(batch: WindowBatch, tokens: torch.Tensor):
    """Windows of F+1 frames -> (window, tokens) of their first F frames and of their last F frames (the same
    person one frame later), each with times relative to its own last slot."""
    f = batch.frames - 1
    b = batch.pose.shape[0] // batch.frames

    def part(sl: slice):
        cut = lambda x: x.reshape(b, f + 1, *x.shape[1:])[:, sl].reshape(b * f, *x.shape[1:])  # noqa: E731
        tau = batch.tau.reshape(b, f + 1)[:, sl]
        return (WindowBatch(cut(batch.xy), cut(batch.lik), cut(batch.pose), (tau - tau[:, -1:]).reshape(-1),
                            cut(batch.pad), f), cut(tokens))

    return part(slice(0, f)), part(slice(1, f + 1))


def jitter_loss(model: LifterModel, a: WindowBatch, tokens_a: torch.Tensor, b: WindowBatch, tokens_b: torch.Tensor,
                alpha_bar: torch.Tensor, g: torch.Generator, repeats: int = 1) -> torch.Tensor:
    """The live output's jitter: the causal windows ending one frame apart (a, then b) predict their newest pose
    from the same noise at the same timestep (uniform, as the diffusion loss: no timestep is special), and the move of
    the predicted clean pose from a to b is scored against the truth's move (mean squared error, diffusion units).
    Sampling with DDIM from the same start noise in every frame (lifter.temporal) turns steadier predictions into a
    steadier output. (Scoring whole DDIM samples instead let the network game the few sampling timesteps: 10 minutes of
    training took the validation error from 65 to 108 mm.)"""
    f = a.frames
    last = torch.arange(f - 1, a.pose.shape[0], f)
    real = ~(a.pad[last] | b.pad[last])
    if not bool(real.any()):
        return torch.zeros(())
    xa, xb = (model.to_internal(w.pose[last][real]).repeat_interleave(repeats, 0) for w in (a, b))
    t = torch.randint(1, model.cfg.T + 1, (xa.shape[0],), generator=g)
    eps = torch.randn(xa.shape, generator=g)
    ab = alpha_bar[t].float()[:, None, None]

    def clean(win: WindowBatch, tokens: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        cond = model.window_condition(tokens, win.tau, win.pad, f, slot=f - 1).select(real).repeat(repeats)
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
        return split_prediction(model.denoise(xt, t, cond), xt, ab, model.cfg.target)[0]

    return (clean(b, tokens_b, xb) - clean(a, tokens_a, xa) - (xb - xa)).pow(2).mean()


def slot_conditions(lifter: Lifter, batch: WindowBatch, mode: str, chunk: int = 128):
    """The output frame's condition (W rows) and truth (W, 17, 3) of every window whose output slot (`mode`) is a
    real frame."""
    f = batch.frames
    s = window_slots(f, mode)[0]
    conds, truth = [], []
    for w0 in range(0, batch.pose.shape[0] // f, chunk):
        sl = slice(w0 * f, min(batch.pose.shape[0], (w0 + chunk) * f))
        rows = torch.arange(s, sl.stop - sl.start, f)
        rows = rows[~batch.pad[sl][rows]]
        with torch.inference_mode():
            tokens, _ = lifter.model.encoder(batch.xy[sl], batch.lik[sl])
            conds.append(lifter.model.window_condition(tokens, batch.tau[sl], batch.pad[sl], f).select(rows))
        truth.append(batch.pose[sl][rows])
    cat = lambda name: torch.cat([getattr(c, name) for c in conds])  # noqa: E731
    cond = type(conds[0])(cat("tokens"), cat("vec"), cat("inp"),
                          [torch.cat([c.mods[i] for c in conds]) for i in range(len(conds[0].mods))])
    return cond, torch.cat(truth)


def slot_hypotheses(lifter: Lifter, cond, n: int, steps: int, seed: int = 0) -> torch.Tensor:
    """(W, N, 17, 3): each window's output frame from its own noise (lifter.temporal.hypothesis_noise)."""
    z = torch.cat([hypothesis_noise(n, seed * 100_003 + w) for w in range(cond.rows)])
    return torch.cat([denoise(lifter, cond.select(torch.arange(i, min(cond.rows, i + 256))),
                              z[i * n:min(cond.rows, i + 256) * n], steps) for i in range(0, cond.rows, 256)])


def fixed_windows(clips: Clips, frames: int, count: int, sim_cfg, seed: int, k: int,
                  none_share: float = 0.0, fps_range: tuple[float, float] = FPS_RANGE) -> WindowBatch:
    """A reproducible batch of windows around evenly spaced anchors."""
    rng = np.random.default_rng(seed)
    anchors = np.linspace(0, len(clips.poses) - 1, count).round().astype(int)
    sampler, g = WindowSampler(clips, frames, fps_range), torch.Generator().manual_seed(seed)
    parts = [simulate_windows(*sampler.sample(anchors[i:i + 128], rng), sim_cfg, g, k, none_share)
             for i in range(0, count, 128)]
    return WindowBatch(*(torch.cat([getattr(p, n) for p in parts]) for n in ("xy", "lik", "pose", "tau", "pad")),
                       frames)


def window_metrics(lifter: Lifter, batch: WindowBatch, n: int, steps: int, seed: int = 0) -> dict:
    out = {}
    for mode in ("causal", "centred"):
        cond, truth = slot_conditions(lifter, batch, mode)
        h = slot_hypotheses(lifter, cond, n, steps, seed)
        out[f"{mode}_mpjpe_mm"] = round(1000 * float((h.mean(1) - truth).norm(dim=-1).mean()), 2)
    return out


# ---------------------------------------------------------------------------------------------- training

def lr_at(progress: float, step: int, lr: float, min_lr: float, warmup: int) -> float:
    warm = min(1.0, (step + 1) / warmup)
    return warm * (min_lr + (lr - min_lr) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def train(args, cfg: dict, out: Path) -> tuple[LifterModel, dict]:
    from lifter.simulate import SimConfig

    tc = cfg["train"]
    sim_cfg = SimConfig.load()
    frame = Lifter.load(args.init)
    shipped = shipped_temporal(args.from_weights, args.init) if args.from_weights else None
    if shipped is not None:
        args.frames = shipped.cfg.window                 # its window, whatever --frames says
    sets = frame_sets(frame, cfg)
    clips = load_clips("train", sets)
    val = fixed_windows(load_clips("val", sets), args.frames, args.val_windows, sim_cfg, seed=123, k=tc["k"])
    weights = balance_weights(clips.names, tc.get("balance", 1.0))
    torch.manual_seed(tc["seed"])
    # A shipped temporal model's network goes on training (its window and layers); optimiser and data stream start
    # afresh (the run folder that trained it is gone with its session).
    if shipped is None:
        model = temporal_from_frame(frame, args.layers, args.frames, args.spatial)
    elif args.spatial and not shipped.cfg.temporal_spatial:   # joint layers added to a shipped window model
        model = grown(shipped.model, ModelConfig.from_dict({**shipped.cfg.to_dict(), "temporal_spatial": True}),
                      "temporal.spatial.")
    else:
        model = shipped.model
    for name, p in model.encoder.named_parameters():
        # The per-frame features stay the frame model's unless --train-encoder (then at lr x old_lr_scale).
        p.requires_grad_(args.train_encoder or name.startswith("flat."))
    params = [p for p in model.parameters() if p.requires_grad]
    new = [p for name, p in model.named_parameters() if name.startswith("temporal.")]
    old = [p for name, p in model.named_parameters() if p.requires_grad and not name.startswith("temporal.")]
    ema = EMA(model, tc["ema"])
    # The new layers learn at lr, the frame model's trained parts at lr x old_lr_scale (fine-tuning, not relearning).
    opt = torch.optim.AdamW([{"params": new, "scale": 1.0}, {"params": old, "scale": args.old_lr_scale}],
                            lr=args.lr, betas=(0.9, 0.99), weight_decay=tc["weight_decay"])
    g = torch.Generator().manual_seed(tc["seed"] + 14)
    rng = np.random.default_rng(tc["seed"] + 14)
    jitter = args.jitter_weight > 0
    sampler = WindowSampler(clips, args.frames + jitter)     # one frame more: two causal windows a frame apart
    alpha_bar = CosineSchedule(T=model.cfg.T).alpha_bar()
    out.mkdir(parents=True, exist_ok=True)
    step, elapsed, start_step = 0, 0.0, 0
    last = out / "last.pt"
    if last.is_file():
        ck = resume(last, model, ema, opt, g, rng)
        step, elapsed, start_step = ck["step"], ck["elapsed"], ck.get("start_step", 0)
        print(f"resumed {last} at step {step}, {elapsed / 60:.1f} min", flush=True)
    elif args.continue_from:
        # An earlier run's weights, EMA, optimiser moments and data stream go on; the lr schedule (warm-up + cosine
        # over --minutes) starts afresh, the EMA's warm-up does not.
        ck = resume(args.continue_from, model, ema, opt, g, rng)
        start_step = ck["step"] + ck.get("start_step", 0)
        print(f"continuing {args.continue_from} after {start_step} steps", flush=True)
    budget = 60 * args.minutes
    s = cfg["sampling"]

    def log(entry: dict) -> None:
        with open(out / "log.jsonl", "a") as fh:
            fh.write(json.dumps(entry) + "\n")
        print(json.dumps(entry), flush=True)

    def checkpoint() -> None:
        m = window_metrics(Lifter(copy.deepcopy(ema.model).eval()), val, 8, s["steps"])
        torch.save({"model": model.state_dict(), "ema": ema.model.state_dict(), "opt": opt.state_dict(),
                    "torch_rng": g.get_state(), "np_rng": rng.bit_generator.state, "step": step,
                    "elapsed": elapsed, "start_step": start_step, "config": model.cfg.to_dict(), "args": vars(args)},
                   out / "last.tmp")
        (out / "last.tmp").replace(last)
        log({"checkpoint": True, "step": step, "elapsed_s": round(elapsed, 1), **m})

    if step == 0:
        start = Lifter(copy.deepcopy(ema.model).eval()) if start_step or args.from_weights else frame
        log({"start_step": start_step, "frame_model": args.init, "from_weights": args.from_weights,
             **window_metrics(start, val, 8, s["steps"])})
    model.train()
    last_ckpt, run, run_jitter = elapsed, [], []
    t_prev = time.perf_counter()
    while elapsed < budget:
        anchors = rng.choice(len(clips.poses), args.batch, p=weights)
        poses, tau, pad = sampler.sample(anchors, rng)
        batch = simulate_windows(augment_windows(poses, rng, cfg.get("augment", {})), tau, pad, sim_cfg, g,
                                 tc["k"], tc["none_share"])
        for group in opt.param_groups:
            group["lr"] = group["scale"] * lr_at(elapsed / budget, step, args.lr, args.lr / 30, args.warmup)
        tokens = frame_tokens(model, batch, drop_joints(batch.lik, tc["joint_drop"], g))
        if jitter:   # the diffusion loss on the later window, the jitter between the two
            (a, tokens_a), (batch, tokens) = split_pair(batch, tokens)
        loss = window_loss(model, batch, alpha_bar, g, tc["repeats"], tc["joint_drop"], args.edge_weight, tokens)
        if jitter:
            jit = jitter_loss(model, a, tokens_a, batch, tokens, alpha_bar, g, tc["repeats"])
            loss = loss + args.jitter_weight * jit
            run_jitter.append(float(jit.detach()))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, tc["grad_clip"])
        opt.step()
        ema.update(model, start_step + step)
        step += 1
        now = time.perf_counter()
        elapsed += now - t_prev
        t_prev = now
        run.append(float(loss.detach()))
        if step % 20 == 0:
            log({"step": step, "loss": round(float(np.mean(run)), 5), "elapsed_s": round(elapsed, 1),
                 "s_per_step": round(elapsed / step, 3) if step else None,
                 **({"jitter": round(float(np.mean(run_jitter)), 5)} if run_jitter else {})})
            run, run_jitter = [], []
        if elapsed - last_ckpt >= 60 * args.ckpt_minutes:
            checkpoint()
            last_ckpt = elapsed
            t_prev = time.perf_counter()
    checkpoint()
    return ema.model.eval(), {"steps": step, "start_step": start_step, "train_minutes": elapsed / 60,
                              "frame_model": args.init, "from_weights": args.from_weights,
                              "edge_weight": args.edge_weight, "jitter_weight": args.jitter_weight,
                              "spatial": model.cfg.temporal_spatial, "train_encoder": args.train_encoder}


def calibrate(lifter: Lifter, batch: WindowBatch, sets: list[str], grid=CALIBRATION_GRID, default=(16, 5),
              profile_poses: int = 0, seed: int = 7, modes=MODES) -> dict:
    """Per mode: the (N, S) covariance-scale table fitted on the output frames of validation windows (`batch`: half
    detector noise, half exact 2D, at the app's window rate), and the per-joint profile at the default (N, S) fitted
    on validation sequences as the app and lifter.evaluate --sequences lift them (sequence_profile: detector noise,
    the regime of real footage), relative to the table's scale (as the frame model's lifter.train.joint_profile).
    `sets`: the frame model's training sets, the only ones whose validation sequences the profile uses."""
    result = {}
    for mode in modes:
        cond, truth = slot_conditions(lifter, batch, mode)
        entry = result.setdefault(mode, {"table": {}})
        for n, steps in grid:
            h = slot_hypotheses(lifter, cond, n, steps, seed=1)
            entry["table"][f"{n},{steps}"] = round(fit_calibration(h, truth), 4)
            print("calibration", mode, n, steps, entry["table"][f"{n},{steps}"], flush=True)
        scale = entry["table"][f"{default[0]},{default[1]}"]
        entry.update(sequence_profile(lifter, mode, scale, *default, profile_poses, seed, sets))
        print("calibration profile", mode, entry, flush=True)
    return result


PROFILE_DRAWS = 2   # cameras per validation segment in the per-joint profile (sequence_profile)


def balanced_segments(poses: np.ndarray, seg: np.ndarray, frame: np.ndarray, draws: int):
    """Validation segments for the calibration profile: every segment `draws` times (simulate_segments gives each
    copy its own camera and noise), and the segments most of whose poses are seated or on the floor
    (lifter.data.posture) repeated further so that they weigh as much as the standing ones: a profile fitted to 0.9
    on a mix that is 13 % seated (open's validation sequences) under-covers seated footage."""
    from lifter.data.posture import posture

    ids = np.unique(seg)
    not_standing = posture(poses) != "standing"
    everyday = np.array([not_standing[seg == i].mean() > 0.5 for i in ids])
    extra = max(1, round((~everyday).sum() / everyday.sum())) if everyday.any() else 1
    copies = [np.flatnonzero(seg == i) for i, e in zip(ids, everyday) for _ in range(draws * (extra if e else 1))]
    idx = np.concatenate(copies)
    new_seg = np.repeat(np.arange(len(copies)), [len(c) for c in copies])
    return poses[idx], new_seg, frame[idx], int(everyday.sum()), int(len(ids))


def sequence_profile(lifter: Lifter, mode: str, reference: float, n: int, steps: int, poses: int,
                     seed: int, sets: list[str], draws: int = PROFILE_DRAWS) -> dict:
    """The per-joint profile (x reference) fitted on validation sequences lifted as the app lifts them: segments of
    consecutive frames of .cache/mocap/val.npz at its rate (10 fps: the app's window rate, configs/app.yaml
    temporal_rate), one camera per segment, detector noise, one noise draw per segment (lifter.evaluate's sequence
    protocol on the validation split). Windows sampled at jittered 10-60 fps rates (the training windows) measured
    coverage 0.877 at 10 fps and 0.907 at 30 fps with one scale, and 0.850 in this protocol: the spread relative to
    the error depends on the window's time span and on whole sequences under one camera. poses (0: all) of the
    frame model's sets, each segment under `draws` cameras and seated / floor segments weighted as the standing ones
    (balanced_segments): 2000 poses under one camera each (40 cameras) left the fit to chance (test coverage 0.86 or
    0.89 with another seed). On the same hypotheses the posture factors on top of the profile
    (lifter.posture_scale.fit: the poses with flexed hips had stayed under 0.9)."""
    from lifter.evaluate import SEGMENT, load_segments, simulate_segments
    from lifter.temporal import lift_sequence

    # only the frame model's sets: `open`'s profile must not come from Bandai's sequences (their licence, their actors)
    poses_, seg, frame, fps = load_segments(cache_dir() / "mocap" / "val.npz", poses, SEGMENT, sets)
    poses_, seg, frame, everyday, segments = balanced_segments(poses_, seg, frame, draws)
    xy, lik, truth, *_ = simulate_segments(poses_, seg, "detector", seed)
    h = lift_sequence(lifter, xy, lik, frame / fps, seg, n, steps, "temporal", mode, seed=seed)
    profile = fit_joint_profile(h, truth, reference=reference)
    scale = [reference * f for f in profile]
    posture = posture_scale.fit(h, truth, scale)
    return {"profile": profile, "posture": posture, "profile_poses": int(len(poses_)), "profile_segments": segments,
            "profile_everyday_segments": everyday, "profile_draws": draws, "profile_fps": float(fps),
            "detector_mpjpe_mm": round(1000 * float((h.mean(1) - truth).norm(dim=-1).mean()), 2),
            "detector_coverage90": round(coverage(h, truth, scale), 4),
            "detector_coverage90_posture": round(coverage(h, truth, posture_scale.apply(scale, h.mean(1).numpy(), posture)), 4)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(repo_root() / "configs" / "lifter.yaml"))
    ap.add_argument("--init", default="default", help="the frame model's weights to start from")
    ap.add_argument("--name", default="temporal")
    ap.add_argument("--out", type=Path, default=None, help="run folder (default <cache>/lifter/<name>)")
    ap.add_argument("--frames", type=int, default=9, help="window length T")
    ap.add_argument("--layers", type=int, default=2, help="temporal attention layers")
    ap.add_argument("--spatial", action="store_true",
                    help="attention across the joints after each temporal layer (added to --from-weights' model)")
    ap.add_argument("--train-encoder", action="store_true",
                    help="train the per-frame condition encoder too (at lr x --old-lr-scale; frozen by default)")
    ap.add_argument("--batch", type=int, default=14, help="windows per step")
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--old-lr-scale", type=float, default=0.2, help="learning rate factor of the frame model's parts")
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--ckpt-minutes", type=float, default=5)
    ap.add_argument("--val-windows", type=int, default=96)
    ap.add_argument("--calib-windows", type=int, default=768)
    ap.add_argument("--profile-poses", type=int, default=0,
                    help="validation sequence poses for the per-joint calibration profile (0: all)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--edge-weight", type=float, default=1.0,
                    help="loss weight of a window's last slot (the causal output; lag1's slot gets half the excess)")
    ap.add_argument("--jitter-weight", type=float, default=0.0,
                    help="weight of the live jitter loss (jitter_loss: the newest pose of causal windows a frame apart "
                         "moves as the truth does); 0: off")
    ap.add_argument("--from-weights", default=None, metavar="NAME",
                    help="start from this shipped temporal model (built on --init) instead of the frame model")
    ap.add_argument("--continue-from", type=Path, default=None,
                    help="an earlier run's last.pt to continue with a fresh lr schedule (when --out has no last.pt)")
    ap.add_argument("--no-ship", action="store_true")
    ap.add_argument("--ship-only", action="store_true", help="calibrate and ship the run's last checkpoint")
    ap.add_argument("--recalibrate", default=None, metavar="MODE[,MODE]",
                    help=f"calibration only: recompute these window modes ({', '.join(MODES)}) of the shipped "
                         "weights --name (no training) and rewrite them")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = load_config(args.config)
    if args.recalibrate:
        modes = args.recalibrate.split(",")
        if not set(modes) <= set(MODES):
            ap.error(f"--recalibrate: modes are {', '.join(MODES)}")
        recalibrate(args, cfg, modes, argv)
        return
    out = args.out or cache_dir() / "lifter" / args.name
    t0 = time.time()
    if args.ship_only:
        ck = torch.load(out / "last.pt", map_location="cpu", weights_only=False)
        model = LifterModel(ModelConfig.from_dict(ck["config"]))
        model.load_state_dict(ck["ema"])
        model.eval()
        summary = {"steps": ck["step"], "start_step": ck.get("start_step", 0), "train_minutes": ck["elapsed"] / 60,
                   "frame_model": args.init, "from_weights": ck["args"].get("from_weights"),
                   "edge_weight": ck["args"].get("edge_weight", 1.0),
                   "jitter_weight": ck["args"].get("jitter_weight", 0.0),
                   "spatial": model.cfg.temporal_spatial, "train_encoder": ck["args"].get("train_encoder", False)}
    else:
        model, summary = train(args, cfg, out)
    if args.no_ship:
        return
    frame = Lifter.load(args.init)
    lifter = Lifter(model)
    modes = calibrate(lifter, calibration_windows(model, cfg, frame, args.calib_windows), frame_sets(frame, cfg),
                      profile_poses=args.profile_poses)
    lifter.calibration = modes["causal"]["table"]["16,5"]
    summary.update({"wall_minutes": (time.time() - t0) / 60, "machine": f"{platform.machine()} "
                    f"{torch.get_num_threads()} threads", "torch": str(torch.__version__),
                    "calib_windows": int(args.calib_windows), "calib_fps": list(CALIBRATION_FPS)})
    lifter.meta = {**{k: frame.meta.get(k) for k in ("sets", "licences", "licence", "train_poses", "balance")},
                   "name": args.name, "frame_model": args.init, "lifter_mode": "temporal",
                   "command": "python -m lifter.train_temporal " + " ".join(argv if argv is not None else sys.argv[1:]),
                   "summary": summary, "calibration_modes": modes,
                   **{key: modes["causal"].get(part) for part, key in CALIBRATION_KEYS.items()}}
    path = ship(lifter, args.name)
    (out / "summary.json").write_text(json.dumps(lifter.meta, indent=1, default=str))
    print(f"wrote {path}", json.dumps(summary, default=str), flush=True)


def frame_sets(frame: Lifter, cfg: dict) -> list[str]:
    """The mocap sets the frame model was trained on: the temporal model trains and calibrates on those alone."""
    return frame.meta.get("sets") or cfg["sets"]["all"]


def calibration_windows(model: LifterModel, cfg: dict, frame: Lifter, count: int) -> WindowBatch:
    """The calibration's validation windows (calibrate): half detector noise, half exact 2D, at CALIBRATION_FPS."""
    from lifter.simulate import SimConfig

    half = count // 2
    val = load_clips("val", frame_sets(frame, cfg))
    parts = [fixed_windows(val, model.cfg.window, half, SimConfig.load(), 321, cfg["train"]["k"],
                           fps_range=CALIBRATION_FPS),
             fixed_windows(val, model.cfg.window, half, SimConfig.load(), 322, cfg["train"]["k"], none_share=1.0,
                           fps_range=CALIBRATION_FPS)]
    return WindowBatch(*(torch.cat([getattr(p, n) for p in parts]) for n in ("xy", "lik", "pose", "tau", "pad")),
                       model.cfg.window)


def recalibrate(args, cfg: dict, modes: list[str], argv: list[str] | None) -> None:
    """Calibration only: the shipped weights' entries of `modes` (meta["calibration_modes"]) computed afresh by
    calibrate on the same validation windows and sequences as at shipping, without training; the other modes'
    entries and the network stay as they are. Weights, their .sha256 and the record of the command are rewritten
    (--no-ship: only printed, e.g. to check that a stored mode is reproduced)."""
    lifter = Lifter.load(args.name)
    frame = Lifter.load(lifter.meta.get("frame_model") or args.init)
    fresh = calibrate(lifter, calibration_windows(lifter.model, cfg, frame, args.calib_windows), frame_sets(frame, cfg),
                      profile_poses=args.profile_poses, modes=modes)
    table = dict(lifter.meta.get("calibration_modes") or {})
    for mode, entry in fresh.items():
        if mode in table:
            print(f"{mode}: stored {json.dumps(table[mode])}", flush=True)
        print(f"{mode}: now    {json.dumps(entry)}", flush=True)
        table[mode] = entry
    lifter.meta["calibration_modes"] = table
    if "causal" in fresh:                    # the weights' default calibration is the causal mode's
        lifter.meta.update({key: fresh["causal"].get(part) for part, key in CALIBRATION_KEYS.items()})
        lifter.calibration = fresh["causal"]["table"]["16,5"]
    if args.no_ship:
        return
    command = "python -m lifter.train_temporal " + " ".join(argv if argv is not None else sys.argv[1:])
    lifter.meta["recalibrations"] = [*(lifter.meta.get("recalibrations") or []),
                                     {"command": command, "modes": modes, "torch": str(torch.__version__),
                                      "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}]
    print(f"wrote {ship(lifter, args.name)}", flush=True)


if __name__ == "__main__":
    main()
