"""Martinez et al. 2017 style baseline: an MLP from the 17 candidate-0 peaks to the root-relative camera pose.

Input per joint: the peak's box-normalised (x, y) and its likelihood (17 x 3); output 17 x 3 metres, pelvis = 0.
Linear(51 -> 1024) -> 2 residual blocks of [Linear, BatchNorm, ReLU, Dropout] x 2 -> Linear(1024 -> 51).
Trained on the same simulator as the diffusion lifter (detector noise) with the data engineer's augmentation:

    python -m lifter.baseline --train [--minutes 10] [--batch 256] [--seed 0] [--replay 4]
    # writes weights/lifter/baseline.pt and baseline.pt.sha256
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.paths import cache_dir
from core.skeleton import NUM_JOINTS
from lifter.data.augment import augment_batch
from lifter.simulate import SimConfig, simulate_batch

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights" / "lifter"


class Block(nn.Module):
    def __init__(self, width: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class BaselineMLP(nn.Module):
    def __init__(self, width: int = 1024, blocks: int = 2, dropout: float = 0.25):
        super().__init__()
        self.config = dict(width=width, blocks=blocks, dropout=dropout)
        self.inp = nn.Sequential(nn.Linear(NUM_JOINTS * 3, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(dropout))
        self.blocks = nn.Sequential(*[Block(width, dropout) for _ in range(blocks)])
        self.out = nn.Linear(width, NUM_JOINTS * 3)

    def forward(self, peaks: torch.Tensor) -> torch.Tensor:
        """peaks (B, 17, 3) normalised x, y, likelihood -> (B, 17, 3) root-relative pose, metres, pelvis 0."""
        y = self.out(self.blocks(self.inp(peaks.reshape(len(peaks), -1)))).view(-1, NUM_JOINTS, 3)
        return y - y[:, :1]


def peak_inputs(cand_xy: torch.Tensor, cand_lik: torch.Tensor) -> torch.Tensor:
    """(B, 17, K, 2), (B, 17, K) -> (B, 17, 3): candidate 0 (the heatmap peak) and its likelihood."""
    return torch.cat([cand_xy[..., 0, :], cand_lik[..., :1]], -1).float()


class Baseline:
    def __init__(self, model: BaselineMLP, meta: dict | None = None, device: str = "cpu"):
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.meta = dict(meta or {})

    @classmethod
    def load(cls, name_or_path: str | Path = "baseline", device: str = "cpu") -> "Baseline":
        p = Path(name_or_path)
        path = p if (p.suffix == ".pt" or p.exists()) else WEIGHTS_DIR / f"{name_or_path}.pt"
        if not path.is_file():
            raise FileNotFoundError(f"baseline weights not found: {path} (train: python -m lifter.baseline --train)")
        blob = torch.load(path, map_location="cpu", weights_only=True)
        model = BaselineMLP(**blob["config"])
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()})
        return cls(model, blob.get("meta", {}), device)

    def save(self, path: str | Path, half: bool = True) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        sd = {k: (v.half() if half and v.is_floating_point() else v).cpu() for k, v in self.model.state_dict().items()}
        torch.save({"config": self.model.config, "state_dict": sd, "meta": self.meta}, path)
        return path

    def predict(self, cand_xy, cand_lik, batch: int = 4096) -> torch.Tensor:
        """Normalised candidates (B, 17, K, 2), likelihoods (B, 17, K) -> (B, 17, 3) root-relative camera pose."""
        xy = torch.as_tensor(cand_xy, dtype=torch.float32)
        lik = torch.as_tensor(cand_lik, dtype=torch.float32)
        with torch.inference_mode():
            x = peak_inputs(xy, lik).to(self.device)
            return torch.cat([self.model(x[i:i + batch]) for i in range(0, len(x), batch)]).cpu()


def mpjpe_mm(pred: torch.Tensor, truth: torch.Tensor) -> float:
    return float((pred - truth).norm(dim=-1).mean() * 1000)


def train(minutes: float, batch: int, seed: int, out: Path, lr: float = 1e-3, replay: int = 4, pool: int = 50_000,
          log=print) -> Baseline:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    data = cache_dir() / "mocap"
    if not (data / "train.npz").is_file():
        raise FileNotFoundError(f"{data / 'train.npz'} missing: run `python -m lifter.data.prepare` first")
    train_poses = np.load(data / "train.npz")["poses"].astype(np.float32)
    val_poses = np.load(data / "val.npz")["poses"].astype(np.float32)
    cfg = SimConfig.load()
    vi = np.linspace(0, len(val_poses) - 1, 1024).round().astype(int)
    val = simulate_batch(torch.from_numpy(val_poses[vi]), cfg, torch.Generator().manual_seed(1234), k=1)

    model = BaselineMLP()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    # Simulation costs far more than an MLP step: keep the newest simulated samples in a replay pool and take
    # `replay` gradient steps (on random pool batches) per freshly simulated batch.
    pool_x = torch.zeros(0, NUM_JOINTS, 3)
    pool_y = torch.zeros(0, NUM_JOINTS, 3)
    t0 = time.perf_counter()
    budget = minutes * 60
    step, sims, sim_s = 0, 0, 0.0
    while time.perf_counter() - t0 < budget:
        poses = augment_batch(train_poses[rng.integers(0, len(train_poses), batch)], rng)
        ts = time.perf_counter()
        sb = simulate_batch(torch.from_numpy(poses), cfg, g, k=1)
        sim_s += time.perf_counter() - ts
        sims += 1
        pool_x = torch.cat([pool_x, peak_inputs(sb.cand_xy, sb.cand_lik)])[-pool:]
        pool_y = torch.cat([pool_y, sb.pose_cam])[-pool:]
        model.train()
        for r in range(replay):
            progress = (time.perf_counter() - t0) / budget
            for group in opt.param_groups:
                group["lr"] = lr * 0.5 * (1 + np.cos(np.pi * min(progress, 1.0)))
            idx = torch.arange(len(pool_x) - batch, len(pool_x)) if r == 0 else \
                torch.randint(0, len(pool_x), (batch,), generator=g)
            loss = (model(pool_x[idx]) - pool_y[idx]).norm(dim=-1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        if sims % 50 == 0:
            model.eval()
            with torch.inference_mode():
                v = mpjpe_mm(model(peak_inputs(val.cand_xy, val.cand_lik)), val.pose_cam)
            log(f"step {step} ({sims} simulated batches) {time.perf_counter() - t0:.0f}s train {loss.item() * 1000:.1f} mm "
                f"val {v:.1f} mm (sim {sim_s / sims * 1000:.0f} ms/batch)")
    model.eval()
    with torch.inference_mode():
        v = mpjpe_mm(model(peak_inputs(val.cand_xy, val.cand_lik)), val.pose_cam)
    meta = dict(steps=step, simulated=sims * batch, batch=batch, replay=replay, seed=seed, minutes=minutes,
                val_mpjpe_mm=round(v, 2), val="1024 evenly spaced val.npz poses, detector noise, seed 1234",
                trained=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    base = Baseline(model, meta)
    base.save(out)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    out.with_name(out.name + ".sha256").write_text(f"{digest}  {out.name}\n")
    log(f"saved {out} ({meta})")
    return base


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Martinez-style baseline lifter (candidate-0 peaks -> 3D)")
    ap.add_argument("--train", action="store_true", help="train on the simulator and write the weights")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--replay", type=int, default=4, help="gradient steps per simulated batch")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR / "baseline.pt")
    args = ap.parse_args(argv)
    if not args.train:
        ap.print_help()
        return 2
    torch.set_num_threads(args.threads)
    train(args.minutes, args.batch, args.seed, args.out, replay=args.replay)
    return 0


if __name__ == "__main__":
    sys.exit(main())
