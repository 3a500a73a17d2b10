"""The training simulator's 2D errors, measured exactly as tools.realfootage measures real BlazePose's.

    python -m tools.sim_2d_stats [--poses .cache/mocap/val.npz] [--n 1500] [--seed 0] [--real FILE.json]
                                 [--persistence] [--json]

Simulates --n poses (a seeded random subset of --poses) through lifter.simulate.simulate_batch (noise="detector",
K=32), takes the candidates back to image px (undoing lifter.inputs.normalise_candidates) and scores them against the
simulator's own true 2D (SimBatch.xy_true) with tools.realfootage_metrics.stats_2d and nearest_candidate: candidate
0 (the peak) per joint and overall, and the nearest of the K candidates, for all samples and per camera mode
(SimBatch.mode). The visibility column of stats_2d gets candidate 0's likelihood (the simulator has no landmark
visibility; the lifter sees the likelihood). --real: a saved `python -m tools.realfootage --json` result; its clips'
stats_2d are printed next to the simulator's. --persistence: how much of the limb ends' error stays the same through
a clip (clip_persistence; heatmap.real_2d.persistent_share), simulated as the real clips are measured.

"noise joints" (NOISE_JOINTS): the 8 limb ends (elbows, wrists, knees, ankles), whose real errors are mostly noise.
The real head, hips, pelvis, spine/thorax and nose carry joint-definition offsets (head top vs BlazePose's
mid-ears extrapolation, OpenPose hips), which the simulator, scored against its own definitions, has not. Their row is
the mean over those joints of the per-joint median / p90 / gross / swap rates, computed the same way for both.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: see DEVELOPERS.md

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from detectors.candidates import box_to_image  # noqa: E402
from lifter import heatmap_sim  # noqa: E402
from lifter.simulate import SimConfig, simulate_batch  # noqa: E402
from core.paths import cache_dir  # noqa: E402
from tools.realfootage_metrics import GROSS, LIMB_ENDS, nearest_candidate, persistent_share, stats_2d  # noqa: E402

NOISE_JOINTS = LIMB_ENDS
CHUNK = 250  # poses per simulate_batch call (memory; the result does not depend on it for a given seed)


def load_poses(path: Path, n: int, seed: int) -> torch.Tensor:
    """A seeded random subset of n poses (M, 17, 3) from an .npz with key `poses`."""
    poses = np.load(path, allow_pickle=False)["poses"]
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(poses), size=min(n, len(poses)), replace=False)
    return torch.from_numpy(np.asarray(poses[np.sort(idx)], np.float32))


def simulate_2d(poses: torch.Tensor, cfg: SimConfig, seed: int = 0, k: int = 32) -> dict:
    """Simulated candidates in image px and the truth: cand (M, 17, K, 2), lik (M, 17, K), truth (M, 17, 2),
    mode (M,), visible (M, 17)."""
    g = torch.Generator().manual_seed(seed)
    parts = []
    for i in range(0, len(poses), CHUNK):
        sb = simulate_batch(poses[i:i + CHUNK], cfg, g, noise="detector", k=k)
        px = box_to_image(sb.cand_xy.double(), sb.box.double())
        parts.append(dict(cand=px, lik=sb.cand_lik.double(), truth=sb.xy_true.double(), mode=sb.mode,
                          visible=sb.visible))
    return {key: torch.cat([p[key] for p in parts]).numpy() for key in parts[0]}


def clip_persistence(path: Path, cfg: SimConfig, clips: int = 80, frames: int = 100, fps: float = 60.0,
                     seed: int = 0) -> dict:
    """The persistent share of the limb ends' 2D error (tools.realfootage_metrics.persistent_share) on simulated
    clips measured as on the real ones: `clips` runs of `frames` consecutive poses of the file's sequences, each
    under one camera, frames 1/fps apart (so the frame-to-frame correlation, error_rho, is the real clips' at 60
    fps), candidate 0 against the simulator's own 2D truth. The real clips are 100 frames at 60 fps: over 1.7 s the
    correlated noise alone leaves a share in the clip's mean too, which this measures for the simulator's settings."""
    from lifter.data.sequences import sequences_of
    from lifter.simulate import error_rho

    z = np.load(path, allow_pickle=False)
    seq, _frame, _fps = sequences_of(z)
    poses = np.asarray(z["poses"], np.float32)
    change = np.flatnonzero(np.r_[True, seq[1:] != seq[:-1], True])
    starts = [a for a, b in zip(change[:-1], change[1:]) if b - a >= frames]
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(starts), size=min(clips, len(starts)), replace=False)
    p = torch.from_numpy(np.concatenate([poses[starts[i]:starts[i] + frames] for i in np.sort(pick)]))
    times = torch.arange(frames, dtype=torch.float64).repeat(len(pick)) / fps
    g = torch.Generator().manual_seed(seed)
    sb = simulate_batch(p, cfg, g, noise="detector", k=8, group=frames, rho=error_rho(times, frames, cfg))
    px = box_to_image(sb.cand_xy[:, :, 0].double(), sb.box.double()).numpy()
    truth = sb.xy_true.double().numpy()
    shares = [persistent_share(px[i:i + frames], truth[i:i + frames])["persistent_share_limb_ends"]
              for i in range(0, len(p), frames)]
    shares = [v for v in shares if v is not None]
    return {"clips": len(shares), "frames": frames, "fps": fps,
            "persistent_share_limb_ends_mean": round(float(np.mean(shares)), 3) if shares else None,
            "persistent_share_limb_ends_median": round(float(np.median(shares)), 3) if shares else None,
            "setting": heatmap_sim.persistent_share(cfg)}


def noise_joint_row(s: dict) -> dict:
    """Mean over NOISE_JOINTS of the per-joint median / p90 / gross / swap of a stats_2d result."""
    rows = [s["per_joint"][j] for j in NOISE_JOINTS]
    return {key: round(float(np.mean([r[key] for r in rows])), 4)
            for key in ("median_box", "p90_box", "gross_rate", "swap_rate")}


def score(d: dict, select=None) -> dict:
    """stats_2d of candidate 0 (visibility = its likelihood), the noise-joint row and nearest-of-K for the rows
    `select` (bool mask) of simulate_2d's output."""
    sel = np.ones(len(d["truth"]), bool) if select is None else select
    cand, truth = d["cand"][sel], d["truth"][sel]
    s = stats_2d(cand[:, :, 0], truth, d["lik"][sel][:, :, 0])
    return {"candidate0": s, "noise_joints": noise_joint_row(s),
            "nearest_of_k_candidates": nearest_candidate(cand, truth)}


def sim_stats(d: dict, modes: dict) -> dict:
    """Scores for all samples, the full-body modes together (footage like the real clips: the whole person in the
    frame) and each camera mode."""
    names = list(modes)
    full = np.isin(d["mode"], [i for i, n in enumerate(names) if modes[n].get("full_body")])
    out = {"all": score(d), "full_body": score(d, full)}
    for i, name in enumerate(names):
        sel = d["mode"] == i
        if sel.sum() >= 20:
            out[name] = score(d, sel)
    return out


def real_stats(path: Path) -> dict:
    """The clips' stats_2d of a saved tools.realfootage JSON, with the same noise-joint row."""
    data = json.loads(Path(path).read_text())
    out = {}
    for clip, c in data.get("clips", {}).items():
        s = c.get("stats_2d")
        if s:
            out[f"real {clip}"] = {"candidate0": s["candidate0"], "noise_joints": noise_joint_row(s["candidate0"]),
                                   "nearest_of_k_candidates": s["nearest_of_k_candidates"]}
    return out


def compact(r: dict) -> dict:
    """One row: overall median / p90 / gross / swap, visibility (or likelihood) on ok vs gross errors, the noise
    joints' row and nearest-of-K median / p90."""
    c, n, k = r["candidate0"], r["noise_joints"], r["nearest_of_k_candidates"]
    return {"median": c["median_box"], "p90": c["p90_box"], "gross": c["gross_rate"], "swap": c["swap_rate_limbs"],
            "vis_ok": c.get("visibility_mean_ok"), "vis_gross": c.get("visibility_mean_gross"),
            "limb_median": n["median_box"], "limb_p90": n["p90_box"], "limb_gross": n["gross_rate"],
            "limb_swap": n["swap_rate"], "near_median": k["median_box"], "near_p90": k["p90_box"]}


def table(rows: dict) -> str:
    keys = ["median", "p90", "gross", "swap", "vis_ok", "vis_gross", "limb_median", "limb_p90", "limb_gross",
            "limb_swap", "near_median", "near_p90"]
    lines = [f"{'':12} " + " ".join(f"{k:>11}" for k in keys)]
    for name, r in rows.items():
        c = compact(r)
        lines.append(f"{name:12} " + " ".join(f"{'-' if c[k] is None else c[k]:>11}" for k in keys))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="The simulator's 2D error statistics next to real BlazePose's")
    ap.add_argument("--poses", type=Path, default=None, help="npz with key poses (default .cache/mocap/val.npz)")
    ap.add_argument("--n", type=int, default=1500, help="poses to simulate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--config", type=Path, default=None, help="simulation config (default configs/simulation.yaml)")
    ap.add_argument("--real", type=Path, default=None, help="a saved `python -m tools.realfootage --json` result")
    ap.add_argument("--persistence", action="store_true",
                    help="also the persistent share of the 2D error on simulated 100-frame, 60 fps clips of the "
                         "poses file's sequences (clip_persistence), beside the real clips' (with --real)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    path = args.poses or cache_dir() / "mocap" / "val.npz"
    if not path.is_file():
        print(f"sim_2d_stats: no poses file {path} (python -m lifter.data.prepare writes it)", file=sys.stderr)
        return 1
    cfg = SimConfig.load(args.config)
    sim = sim_stats(simulate_2d(load_poses(path, args.n, args.seed), cfg, args.seed), cfg.modes)
    real = real_stats(args.real) if args.real else {}
    persistence = None
    if args.persistence:
        persistence = {"sim": clip_persistence(path, cfg, seed=args.seed),
                       **{name: r["candidate0"].get("persistent_share_limb_ends") for name, r in real.items()}}
    command = "python -m tools.sim_2d_stats " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.json:
        out = {"date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
               "command": command.strip(), "gross_threshold_box": GROSS, "noise_joints": list(NOISE_JOINTS),
               "sim": sim, "real": real}
        if persistence is not None:
            out["persistence"] = persistence
        print(json.dumps(out, indent=1))
    else:
        print(table({**{f"sim {k}": v for k, v in sim.items()}, **real}))
        if persistence is not None:
            print("persistent share of the limb ends' 2D error (100 frames at 60 fps):",
                  json.dumps(persistence))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
