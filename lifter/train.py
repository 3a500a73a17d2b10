"""Train the diffusion lifter on simulated candidates from mocap poses, then calibrate and ship the weights.

    python -m lifter.train --config configs/lifter.yaml [--name default] [--sets all|open] [--minutes M] [--device cpu|cuda]

Every step: sample poses -> augment (random bone lengths, mirror, upper/lower mix; yaw and camera come from the
simulator) -> simulate_batch (camera, heatmaps, candidates, normalisation) -> diffusion loss. Fixed seed; AdamW with a
time-based cosine learning rate (the budget is wall time); EMA weights; checkpoints to .cache/lifter/<name>/ every few
minutes (a rerun resumes); loss log .cache/lifter/<name>/log.jsonl. At the end the covariance scale is fitted on
validation poses and weights/lifter/<name>.pt (+ .sha256, + .md model card) is written.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml

from lifter import posture_scale
from lifter.aggregate import coverage, fit_calibration, fit_joint_profile, summarise
from lifter.api import WEIGHTS_DIR, Lifter
from lifter.data.augment import augment_batch
from lifter.model import LifterModel, ModelConfig
from lifter.sampler import training_target
from lifter.schedule import CosineSchedule
from core.paths import cache_dir, repo_root, sha256_file

DEFAULT_CONFIG = repo_root() / "configs" / "lifter.yaml"
OPEN_LICENCE = ("commercial use allowed by every training set: CMU (no resale of the data), HDM05 CC BY-SA 3.0 "
                "(attribution; share-alike may extend to these weights), ReactIdle MIT")
LICENCES = {  # docs/data.md
    "bandai1": "CC BY-NC 4.0 (Bandai-Namco-Research-Motiondataset-1, (c) 2022 Bandai Namco Research Inc.)",
    "bandai2": "CC BY-NC 4.0 (Bandai-Namco-Research-Motiondataset-2, (c) 2022 Bandai Namco Research Inc.)",
    "cmu_01_14": "CMU mocap terms (research and commercial products, no resale of the data); data from mocap.cs.cmu.edu, "
                 "created with funding from NSF EIA-0196217",
    "cmu_dance": "CMU mocap terms (research and commercial products, no resale of the data); data from mocap.cs.cmu.edu, "
                 "created with funding from NSF EIA-0196217",
    "hdm05": "CC BY-SA 3.0 (Mocap Database HDM05, Mueller et al., Tech. report CG-2007-2, Universitaet Bonn, 2007)",
    "reactidle": "MIT (Atxa Landa et al., arXiv:2509.05023, 2025)",
}


def load_config(path: str | Path | None = None) -> dict:
    return yaml.safe_load(Path(path or DEFAULT_CONFIG).read_text())


# ----------------------------------------------------------------------------------------------------- data

def load_split(split: str, datasets: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Poses (M,17,3) world metres of .cache/mocap/<split>.npz (only the listed datasets) and each pose's dataset."""
    path = cache_dir() / "mocap" / f"{split}.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing: run `python -m lifter.data.prepare` first")
    z = np.load(path, allow_pickle=False)
    poses = z["poses"].astype(np.float32)
    names = z["dataset"].astype(str) if "dataset" in z.files else np.full(len(poses), "?")
    if datasets is not None:
        keep = np.isin(names, datasets)
        poses, names = poses[keep], names[keep]
    return poses, names


def balance_weights(names: np.ndarray, alpha: float) -> np.ndarray:
    """Sampling probability per pose so that a dataset of n poses gets a share proportional to n^alpha
    (alpha = 1: uniform over poses; 0: equal per dataset). Keeps one large set from dominating the motions seen."""
    _, inv, counts = np.unique(names, return_inverse=True, return_counts=True)
    share = counts.astype(np.float64) ** alpha
    w = (share / share.sum())[inv] / counts[inv]
    return w / w.sum()


class Augmenter:
    """Per-batch pose augmentation (lifter.data.augment.augment_batch): upper/lower mixing, everyday postures,
    mirroring, random yaw, each pose's own bone lengths varied by anthropometric factors, optional bone-direction
    noise."""

    def __init__(self, cfg: dict):
        self.kw = {"p_mix": cfg.get("mix_prob", 0.3), "p_mirror": cfg.get("mirror_prob", 0.5),
                   "body": cfg.get("body") or {}, "everyday": cfg.get("everyday") or {},
                   "direction_sigma": cfg.get("direction_sigma", 0.0)}

    def __call__(self, poses: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.ascontiguousarray(augment_batch(poses, rng, **self.kw), dtype=np.float32)


@dataclass
class Batch:
    xy: torch.Tensor     # (B,17,K,2) normalised candidates
    lik: torch.Tensor    # (B,17,K)
    pose: torch.Tensor   # (B,17,3) root-relative camera-frame target


def simulate(poses: np.ndarray, sim_cfg, g: torch.Generator, k: int, none_share: float = 0.0) -> Batch:
    """World poses -> simulated lifter inputs; the first round(none_share * B) rows without detector noise."""
    from lifter.simulate import simulate_batch

    p = torch.as_tensor(poses, dtype=torch.float32)
    n_none = int(round(none_share * len(p)))
    parts = []
    # The simulator runs single-threaded: with 2 threads on a busy CPU its small ops were measured up to 100x slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if n_none:
            parts.append(simulate_batch(p[:n_none], sim_cfg, g, noise="none", k=k))
        if n_none < len(p):
            parts.append(simulate_batch(p[n_none:], sim_cfg, g, noise="detector", k=k))
    finally:
        torch.set_num_threads(threads)
    cat = lambda name: torch.cat([getattr(s, name) for s in parts])  # noqa: E731
    return Batch(cat("cand_xy"), cat("cand_lik"), cat("pose_cam"))


def fixed_batch(poses: np.ndarray, n: int, sim_cfg, seed: int, k: int, noise: str = "detector",
                chunk: int = 256) -> Batch:
    """A reproducible simulated evaluation batch of n poses drawn evenly from `poses` (simulated in chunks)."""
    idx = np.linspace(0, len(poses) - 1, min(n, len(poses))).round().astype(int)
    g = torch.Generator().manual_seed(seed)
    parts = [simulate(poses[idx[i:i + chunk]], sim_cfg, g, k, none_share=1.0 if noise == "none" else 0.0)
             for i in range(0, len(idx), chunk)]
    return Batch(*(torch.cat([getattr(p, f) for p in parts]) for f in ("xy", "lik", "pose")))


class SimPool:
    """A ring of simulated samples, partly refreshed every step.

    Simulating a batch (heatmaps + candidate sampling) can cost more than the training step itself; reusing each
    simulated sample a few times (with fresh diffusion noise and joint dropout each time) keeps most of the
    diversity for a fraction of the cost. With fresh >= batch the pool is bypassed.
    """

    def __init__(self, size: int, make):
        self.make = make  # n -> Batch of n fresh samples
        parts, n = [], 0
        while n < size:
            parts.append(make(min(256, size - n)))
            n += parts[-1].xy.shape[0]
        self.xy = torch.cat([p.xy for p in parts])
        self.lik = torch.cat([p.lik for p in parts])
        self.pose = torch.cat([p.pose for p in parts])
        self.next = 0

    def refresh(self, n: int) -> None:
        b = self.make(n)
        idx = (self.next + torch.arange(n)) % self.xy.shape[0]
        self.xy[idx], self.lik[idx], self.pose[idx] = b.xy, b.lik, b.pose
        self.next = int(idx[-1] + 1) % self.xy.shape[0]

    def draw(self, n: int, g: torch.Generator) -> Batch:
        idx = torch.randint(0, self.xy.shape[0], (n,), generator=g)
        return Batch(self.xy[idx], self.lik[idx], self.pose[idx])


# ------------------------------------------------------------------------------------------------- training

def drop_joints(lik: torch.Tensor, p: float, g: torch.Generator) -> torch.Tensor:
    """Zero all candidates' likelihoods of each joint with probability p (a missing joint carries no evidence)."""
    if p <= 0:
        return lik
    keep = torch.rand(lik.shape[:-1], generator=g, device=lik.device) >= p
    return lik * keep[..., None]


def diffusion_loss(model: LifterModel, batch: Batch, alpha_bar: torch.Tensor, g: torch.Generator,
                   repeats: int = 1, joint_drop: float = 0.0) -> torch.Tensor:
    """Mean squared error of the network's eps / x0 / v prediction at uniformly drawn timesteps 1..T."""
    lik = drop_joints(batch.lik, joint_drop, g)
    cond = model.condition(batch.xy, lik).repeat(repeats)
    x0 = model.to_internal(batch.pose).repeat_interleave(repeats, 0)
    t = torch.randint(1, model.cfg.T + 1, (x0.shape[0],), generator=g)
    eps = torch.randn(x0.shape, generator=g)
    ab = alpha_bar[t].float()[:, None, None]
    xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
    pred = model.denoise(xt, t, cond)
    return torch.nn.functional.mse_loss(pred, training_target(x0, eps, ab, model.cfg.target))


class EMA:
    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))  # short warm-up so early checkpoints are usable
        for pe, pm in zip(self.model.parameters(), model.parameters()):
            pe.lerp_(pm.detach(), 1 - d)


class ThreadTuner:
    """Picks 1 or 2 torch threads by measured step time and re-checks every `recheck` steps (the CPU is shared: on a
    busy machine one thread was measured 2x faster than two, on an idle one two are faster). A trial of the other
    option stops after one step that is more than twice as slow as the current median."""

    def __init__(self, options=(1, 2), trial_steps: int = 4, recheck_steps: int = 400):
        self.options, self.trial, self.recheck = list(options), trial_steps, recheck_steps
        self.best, self.best_times = options[0], []
        self.trying: int | None = options[1]  # first trial right after a short warm-up on the first option
        self.trial_times: list[float] = []
        self.since = -trial_steps
        torch.set_num_threads(self.best)

    def record(self, seconds: float) -> None:
        self.since += 1
        if self.since <= 0:  # warm-up on the first option
            self.best_times.append(seconds)
            if self.since == 0:
                torch.set_num_threads(self.trying)
            return
        if self.trying is None:
            self.best_times = (self.best_times + [seconds])[-50:]
            if self.since >= self.recheck:
                self.trying, self.trial_times, self.since = [o for o in self.options if o != self.best][0], [], 1
                torch.set_num_threads(self.trying)
            return
        self.trial_times.append(seconds)
        ref = float(np.median(self.best_times[-20:]))
        if seconds > 2 * ref or len(self.trial_times) >= self.trial:
            trial = float(np.median(self.trial_times))
            if trial < ref:
                self.best, self.best_times = self.trying, self.trial_times[:]
            print(f"threads: {self.best} (median step s: trial {self.trying} -> {trial:.2f}, reference {ref:.2f})",
                  flush=True)
            self.trying, self.since = None, 0
            torch.set_num_threads(self.best)


def resume(path: Path, model: torch.nn.Module, ema: EMA, opt: torch.optim.Optimizer, g: torch.Generator,
           rng: np.random.Generator) -> dict:
    """A run's checkpoint loaded into the model, its EMA, the optimiser and both random generators; returns the
    checkpoint (step, elapsed, ...)."""
    ck = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(ck["model"])
    ema.model.load_state_dict(ck["ema"])
    opt.load_state_dict(ck["opt"])
    g.set_state(ck["torch_rng"])
    rng.bit_generator.state = ck["np_rng"]
    return ck


def lr_at(progress: float, step: int, tc: dict) -> float:
    warm = min(1.0, (step + 1) / max(1, tc["warmup_steps"]))
    cos = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return warm * (tc["min_lr"] + (tc["lr"] - tc["min_lr"]) * cos)


def evaluate(lifter: Lifter, batch: Batch, n: int = 16, steps: int = 5, eta: float = 0.0, seed: int = 0,
             chunk: int = 256) -> tuple[torch.Tensor, dict]:
    """Sample hypotheses for a batch -> (hyps (M,N,17,3), {mpjpe_mm of the mean, ms_per_frame})."""
    g = torch.Generator().manual_seed(seed)
    hyps = []
    t0 = time.perf_counter()
    for i in range(0, batch.xy.shape[0], chunk):
        hyps.append(lifter.sample(batch.xy[i:i + chunk], batch.lik[i:i + chunk], n=n, steps=steps, eta=eta,
                                  generator=g))
    ms = 1000 * (time.perf_counter() - t0) / batch.xy.shape[0]
    hyps = torch.cat(hyps)
    err = (hyps.mean(1) - batch.pose).norm(dim=-1).mean()
    return hyps, {"mpjpe_mm": 1000 * float(err), "ms_per_frame_batched": ms}


def train(cfg: dict, train_poses: np.ndarray, val_batch: Batch | None, out: Path, minutes: float | None = None,
          steps: int | None = None, device: str = "cpu", log_every: int = 20, sim_cfg=None,
          weights: np.ndarray | None = None) -> tuple[LifterModel, dict]:
    """Train (resuming from out/last.pt when present) until `minutes` of training wall time or `steps` steps.

    weights: per-pose sampling probabilities (default uniform). Returns the EMA model and a summary dict.
    out/log.jsonl gets one line per log_every steps (and one per checkpoint).
    """
    from lifter.simulate import SimConfig

    tc = cfg["train"]
    sim_cfg = sim_cfg or SimConfig.load()
    budget = 60.0 * (minutes if minutes is not None else tc["minutes"])
    torch.manual_seed(tc["seed"])
    model = LifterModel(ModelConfig.from_dict(cfg["model"])).to(device)
    ema = EMA(model, tc["ema"])
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "norm" in name or name.endswith("joint") else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": tc["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}], lr=tc["lr"], betas=(0.9, 0.99))
    g = torch.Generator().manual_seed(tc["seed"])
    rng = np.random.default_rng(tc["seed"])
    augment = Augmenter(cfg.get("augment", {}))
    alpha_bar = CosineSchedule(T=model.cfg.T).alpha_bar()
    out.mkdir(parents=True, exist_ok=True)
    step, elapsed, best = 0, 0.0, float("inf")
    last = out / "last.pt"
    if last.is_file():
        ck = resume(last, model, ema, opt, g, rng)
        step, elapsed, best = ck["step"], ck["elapsed"], ck.get("best", float("inf"))
        print(f"resumed {last} at step {step}, {elapsed / 60:.1f} min")

    def save_checkpoint():
        nonlocal best
        summary = {"step": step, "elapsed_s": round(elapsed, 1)}
        if val_batch is not None:
            _, m = evaluate(Lifter(copy.deepcopy(ema.model).cpu()), val_batch, n=8, steps=cfg["sampling"]["steps"])
            summary["val_mpjpe_mm"] = round(m["mpjpe_mm"], 2)
            if m["mpjpe_mm"] < best:
                best = m["mpjpe_mm"]
                torch.save({"ema": ema.model.state_dict(), "step": step, "val_mpjpe_mm": best}, out / "best.pt")
        torch.save({"model": model.state_dict(), "ema": ema.model.state_dict(), "opt": opt.state_dict(),
                    "torch_rng": g.get_state(), "np_rng": rng.bit_generator.state, "step": step,
                    "elapsed": elapsed, "best": best, "config": cfg}, out / "last.tmp")
        (out / "last.tmp").replace(last)
        with open(out / "log.jsonl", "a") as f:
            f.write(json.dumps({"checkpoint": True, **summary}) + "\n")
        print("checkpoint", summary, flush=True)

    def fresh(n: int) -> Batch:
        idx = rng.choice(len(train_poses), n, p=weights)
        return simulate(augment(train_poses[idx], rng), sim_cfg, g, tc["k"], tc["none_share"])

    t_pool = time.perf_counter()
    use_pool = tc.get("fresh_per_step", tc["batch"]) < tc["batch"]
    pool = SimPool(tc["pool"], fresh) if use_pool else None
    if pool is not None:
        print(f"simulated a pool of {tc['pool']} in {time.perf_counter() - t_pool:.0f} s", flush=True)
    tuner = ThreadTuner() if tc.get("threads", 2) == "auto" else None
    model.train()
    last_ckpt = elapsed
    run_loss, run_n = 0.0, 0
    t_prev = time.perf_counter()
    while (steps is None or step < steps) and (steps is not None or elapsed < budget):
        if pool is not None:
            pool.refresh(tc["fresh_per_step"])
            batch = pool.draw(tc["batch"], g)
        else:
            batch = fresh(tc["batch"])
        if device != "cpu":
            batch = Batch(batch.xy.to(device), batch.lik.to(device), batch.pose.to(device))
        progress = step / steps if steps is not None else elapsed / budget
        for group in opt.param_groups:
            group["lr"] = lr_at(progress, step, tc)
        loss = diffusion_loss(model, batch, alpha_bar.to(device), g, tc["repeats"], tc["joint_drop"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), tc["grad_clip"])
        opt.step()
        ema.update(model, step)
        step += 1
        now = time.perf_counter()
        if tuner is not None:
            tuner.record(now - t_prev)
        elapsed += now - t_prev
        t_prev = now
        run_loss += float(loss.detach())
        run_n += 1
        if step % log_every == 0:
            with open(out / "log.jsonl", "a") as f:
                f.write(json.dumps({"step": step, "loss": run_loss / run_n, "lr": opt.param_groups[0]["lr"],
                                    "elapsed_s": round(elapsed, 1)}) + "\n")
            run_loss, run_n = 0.0, 0
        if elapsed - last_ckpt >= 60 * tc["ckpt_minutes"]:
            save_checkpoint()
            last_ckpt = elapsed
            t_prev = time.perf_counter()  # evaluation time is not training time
    save_checkpoint()
    return ema.model.cpu().eval(), {"steps": step, "train_minutes": elapsed / 60, "best_val_mpjpe_mm": best}


# ---------------------------------------------------------------------------------------------------- output

def ship(lifter: Lifter, name: str, weights_dir: Path = WEIGHTS_DIR) -> Path:
    """Write weights/<name>.pt and its .sha256 (meta reduced to plain JSON types so weights_only loading works)."""
    lifter.meta = json.loads(json.dumps(lifter.meta, default=str))
    path = lifter.save(weights_dir / f"{name}.pt")
    (weights_dir / f"{name}.pt.sha256").write_text(f"{sha256_file(path)}  {path.name}\n")
    return path


def write_card(path: Path, lifter: Lifter) -> Path:
    """Model card for shipped weights: data and licences, model, training run, calibration. The measured sections
    an existing card holds from "## Evaluation" on (test tables, added after the run) are kept."""
    m, c = lifter.meta, lifter.cfg
    sm = m.get("summary", {})
    n_params = sum(p.numel() for p in lifter.model.parameters())
    lic = "\n".join(f"- `{d}`: {t}" for d, t in m.get("licences", {}).items())
    text = f"""# Diffusion lifter `{m.get('name', path.stem)}`

Candidate-conditioned diffusion model lifting BlazePose joint candidates (17 joints x K candidates, box-normalised)
to N root-relative 3D hypotheses in the camera frame (metres); mean + calibrated per-joint covariance via
`lifter.aggregate.summarise(hyps, lifter.calibration_for(n, steps))`. Load with `lifter.api.Lifter.load("{m.get('name', path.stem)}")`.

## Licence of these weights
**{m.get('licence', '?')}** (follows the training data's licences). Training data:
{lic}
Training poses: {m.get('train_poses', '?')} (`.cache/mocap/train.npz` from `python -m lifter.data.prepare`, sets
{', '.join(m.get('sets', []))}; dataset share of draws ~ n^{m.get('balance', '?')}).

## Model
- Condition (once per frame): per joint, cos^2-bump grid features ({c.grid} per axis over +-{c.grid_range}) of the peak
  candidate x its likelihood and of all K candidates (likelihood-weighted mean), + joint embedding -> transformer
  ({c.enc_layers} layers, width {c.width}, {c.heads} heads, FFN {c.ffn}) -> flattened -> {c.cond_dim}-d vector.
- Denoiser: `{c.denoiser}` (hidden {c.hidden}, {c.blocks} residual blocks with adaptive LayerNorm from condition +
  timestep) over the 16 non-root joints x 3, pose x {c.pose_scale} inside the diffusion.
- Diffusion: cosine schedule, T = {c.T}, prediction target `{c.target}`, DDIM sampling (any S, eta).
- Parameters: {n_params / 1e6:.2f} M; file stored as float32.

## Training run
- Command: `{m.get('command', '?')}`
- Steps: {sm.get('steps', '?')}, training time {sm.get('train_minutes', 0):.1f} min, wall {sm.get('wall_minutes', 0):.1f} min
  (incl. simulation pool if any, checkpoint evaluations and calibration); machine: {sm.get('machine', '?')}; torch
  {sm.get('torch', '?')}.
- Best validation MPJPE during training (N=8, S=5, 768 val poses, detector noise): {sm.get('best_val_mpjpe_mm', float('nan')):.1f} mm.
- Calibration: covariance scale {lifter.calibration:.3f}, fitted on {sm.get('calib_poses', '?')} validation poses
  (half detector noise, half exact 2D; N={sm.get('calib_n', '?')}, S={sm.get('calib_steps', '?')}), joints 1..16; validation MPJPE
  {sm.get('calib_mpjpe_mm', float('nan')):.1f} mm, coverage90 after the fit {sm.get('calib_coverage90', float('nan')):.3f}.
"""
    if m.get("calibration_table"):
        text += ("- Calibration table (the hypothesis spread depends on N and S; `Lifter.calibration_for(n, steps)` uses "
                 f"the nearest), fitted on {sm.get('calib_table_poses', sm.get('calib_poses', '?'))} validation poses: "
                 + ", ".join(f"N={k.split(',')[0]} S={k.split(',')[1]}: {v}" for k, v in m["calibration_table"].items())
                 + "\n")
    if m.get("calibration_profile"):
        text += ("- Per-joint calibration profile (x the table's scale; fitted on the detector-noise half, N=16 S=5, "
                 "`lifter.aggregate.fit_joint_profile`): " + ", ".join(f"{v:.2f}" for v in m["calibration_profile"]) + "\n")
    if m.get("calibration_posture"):
        pc = m["calibration_posture"]
        text += (f"- Posture factors (x the profile; `lifter.posture_scale`, estimated hip flexion >= {pc['threshold_deg']:g} "
                 f"deg or not, same hypotheses): flexed {pc['flexed']:.3f} ({pc['poses']['flexed']} poses), other "
                 f"{pc['other']:.3f} ({pc['poses']['other']} poses)\n")
    if m.get("evaluation_md"):
        text += "\n" + m["evaluation_md"].strip() + "\n"
    elif path.is_file() and "\n## Evaluation" in (old := path.read_text()):
        text += "\n" + old[old.index("\n## Evaluation") + 1:]
    path.write_text(text)
    return path


def calibrate(lifter: Lifter, batch: Batch, n: int, steps: int, eta: float = 0.0) -> dict:
    hyps, m = evaluate(lifter, batch, n=n, steps=steps, eta=eta, seed=1)
    scale = fit_calibration(hyps, batch.pose)
    lifter.calibration = scale
    return {"calibration": scale, "calib_mpjpe_mm": m["mpjpe_mm"], "calib_coverage90": coverage(hyps, batch.pose, scale),
            "calib_poses": int(batch.xy.shape[0]), "calib_n": n, "calib_steps": steps}


# Settings the shipped weights carry a calibration scale for (N hypotheses, S steps); others use the nearest.
CALIBRATION_GRID = ((16, 1), (16, 2), (16, 5), (16, 10), (16, 25), (64, 5), (64, 10))


def calibration_batch(val_poses: np.ndarray, poses: int, sim_cfg, k: int) -> Batch:
    """Validation poses for calibration: half detector-noise, half exact-2D, so both regimes land near 90 %."""
    half = poses // 2
    parts = [fixed_batch(val_poses, half, sim_cfg, seed=321, k=k),
             fixed_batch(val_poses[1::2], half, sim_cfg, seed=322, k=k, noise="none")]
    return Batch(*(torch.cat([getattr(b, f) for b in parts]) for f in ("xy", "lik", "pose")))


def calibration_table(lifter: Lifter, batch: Batch, eta: float = 0.0, grid=CALIBRATION_GRID) -> dict:
    """{"N,S": covariance scale} fitted for each sampling setting in the grid."""
    table = {}
    for n, steps in grid:
        hyps, _ = evaluate(lifter, batch, n=n, steps=steps, eta=eta, seed=1)
        table[f"{n},{steps}"] = round(float(fit_calibration(hyps, batch.pose)), 4)
        print(f"calibration N={n} S={steps}: {table[f'{n},{steps}']}", flush=True)
    return table


def joint_profile(lifter: Lifter, batch: Batch, sampling: dict, table: dict) -> dict:
    """Per-joint calibration factors (lifter.aggregate.fit_joint_profile) at the default (N, S), fitted on the
    detector-noise half of the calibration batch (the regime of real footage) relative to the table's scalar, and
    on the same hypotheses the posture factors on top of them (lifter.posture_scale.fit) -> the meta entries
    calibration_profile and calibration_posture."""
    det = Batch(*(getattr(batch, f)[: batch.xy.shape[0] // 2] for f in ("xy", "lik", "pose")))
    hyps, _ = evaluate(lifter, det, n=sampling["n"], steps=sampling["steps"], eta=sampling["eta"], seed=1)
    reference = table.get(f"{sampling['n']},{sampling['steps']}", lifter.calibration)
    profile = fit_joint_profile(hyps, det.pose, reference=float(reference))
    posture = posture_scale.fit(hyps, det.pose, [float(reference) * f for f in profile])
    print("calibration profile:", profile, "posture:", posture, flush=True)
    return {"calibration_profile": profile, "calibration_posture": posture}


def recalibrate(name: str, poses: int, config: str | None = None, keep_table: bool = False) -> Path:
    """Fit the (N, S) calibration table (unless keep_table and the weights have one) and the per-joint profile of
    shipped weights, and re-ship them (new sha256, model card)."""
    cfg = load_config(config)
    from lifter.simulate import SimConfig

    lifter = Lifter.load(name)
    val_poses, _ = load_split("val", lifter.meta.get("sets") or cfg["sets"]["all"])
    batch = calibration_batch(val_poses, poses, SimConfig.load(), cfg["train"]["k"])
    if not (keep_table and lifter.meta.get("calibration_table")):
        lifter.meta["calibration_table"] = calibration_table(lifter, batch, cfg["sampling"]["eta"])
        lifter.meta.setdefault("summary", {})["calib_table_poses"] = int(batch.xy.shape[0])
    lifter.meta.update(joint_profile(lifter, batch, cfg["sampling"], lifter.meta["calibration_table"]))
    path = ship(lifter, name)
    write_card(WEIGHTS_DIR / f"{name}.md", lifter)
    return path


def snapshot(name: str, out: Path, sets: list[str], calib_poses: int = 512, config: str | None = None) -> Path:
    """The EMA weights of the last checkpoint of a running (or stopped) training run .cache/lifter/<name>/last.pt,
    calibrated at the default (N, S) on validation poses, as a Lifter file at `out` (to measure a run before it
    ends)."""
    from lifter.simulate import SimConfig

    cfg = load_config(config)
    ck = torch.load(cache_dir() / "lifter" / name / "last.pt", map_location="cpu", weights_only=False)
    model = LifterModel(ModelConfig.from_dict(ck["config"]["model"]))
    model.load_state_dict(ck["ema"])
    lifter = Lifter(model)
    val_poses, _ = load_split("val", sets)
    s = cfg["sampling"]
    calibrate(lifter, calibration_batch(val_poses, calib_poses, SimConfig.load(), cfg["train"]["k"]), s["n"], s["steps"])
    lifter.meta = {"name": f"{name}@{ck['step']}", "snapshot_of": name, "step": int(ck["step"])}
    return lifter.save(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(DEFAULT_CONFIG))
    ap.add_argument("--name", default="default")
    ap.add_argument("--sets", default="all", choices=["all", "open"])
    ap.add_argument("--minutes", type=float, default=None)
    ap.add_argument("--steps", type=int, default=None, help="fixed number of steps instead of a time budget")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", default=None, help="torch threads: 1, 2 or auto (default: the config's)")
    ap.add_argument("--no-ship", action="store_true", help="train and checkpoint only")
    ap.add_argument("--recalibrate", action="store_true",
                    help="only fit the (N, S) calibration table of shipped weights/lifter/<name>.pt and re-ship them")
    ap.add_argument("--calib-poses", type=int, default=1024, help="validation poses for --recalibrate")
    ap.add_argument("--keep-table", action="store_true", help="--recalibrate: fit only the per-joint profile")
    ap.add_argument("--snapshot", type=Path, default=None,
                    help="only write the run's last checkpoint, calibrated, as a Lifter file at this path")
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    if args.threads is not None:
        cfg["train"]["threads"] = args.threads if args.threads == "auto" else int(args.threads)
    threads = cfg["train"].get("threads", 2)
    # Before any subcommand: two OpenMP threads on a busy 2-core CPU were measured up to 100x slower than one.
    torch.set_num_threads(1 if threads == "auto" else int(threads))
    if args.recalibrate:
        print(f"wrote {recalibrate(args.name, args.calib_poses, args.config, args.keep_table)}")
        return
    if args.snapshot is not None:
        print(f"wrote {snapshot(args.name, args.snapshot, cfg['sets'][args.sets], config=args.config)}")
        return
    from lifter.simulate import SimConfig

    sim_cfg = SimConfig.load()
    sets = cfg["sets"][args.sets]
    train_poses, train_names = load_split("train", sets)
    val_poses, _ = load_split("val", sets)
    weights = balance_weights(train_names, cfg["train"].get("balance", 1.0))
    k = cfg["train"]["k"]
    val_batch = fixed_batch(val_poses, cfg["eval"]["val_poses"], sim_cfg, seed=123, k=k)
    out = cache_dir() / "lifter" / args.name
    print(f"train {len(train_poses)} poses ({', '.join(sets)}), val {len(val_poses)}; out {out}", flush=True)
    t0 = time.time()
    ema_model, summary = train(cfg, train_poses, val_batch, out, minutes=args.minutes, steps=args.steps,
                               device=args.device, sim_cfg=sim_cfg, weights=weights)
    if args.no_ship:
        return
    s = cfg["sampling"]
    lifter = Lifter(ema_model)
    # Calibrate on detector-noise and exact-2D validation poses alike, so both regimes land near 90 % coverage.
    calib_batch = calibration_batch(val_poses, cfg["eval"]["calib_poses"], sim_cfg, k)
    summary.update(calibrate(lifter, calib_batch, s["n"], s["steps"], s["eta"]))
    table = calibration_table(lifter, calib_batch, s["eta"])
    profiles = joint_profile(lifter, calib_batch, s, table)
    summary.update({"wall_minutes": (time.time() - t0) / 60, "machine": f"{platform.machine()} {platform.processor()} "
                    f"{torch.get_num_threads()} threads", "torch": str(torch.__version__)})
    lifter.meta = {"name": args.name, "sets": sets, "licences": {d: LICENCES.get(d, "?") for d in sets},
                   "licence": "CC BY-NC 4.0" if any(d.startswith("bandai") for d in sets) else OPEN_LICENCE,
                   "command": f"python -m lifter.train --config {args.config} --name {args.name} --sets {args.sets}"
                              + (f" --minutes {args.minutes}" if args.minutes else ""),
                   "train_poses": int(len(train_poses)), "balance": cfg["train"].get("balance", 1.0),
                   "summary": summary, "calibration_table": table, **profiles}
    path = ship(lifter, args.name)
    write_card(WEIGHTS_DIR / f"{args.name}.md", lifter)
    (out / "summary.json").write_text(json.dumps(lifter.meta, indent=1))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)", json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
