"""The live One-Euro filter on simulated sequences: what it does to each lifter mode's output.

    python -m tools.live_filter [--poses .cache/mocap/val_open.npz] [--rate 30] [--seed 0]
                                [--modes frame lag1] [--betas -1 4 8 16] [--json]

Each held segment of --poses (resampled to --rate frames per second, one camera each, 2D errors correlated in time as
on video) is lifted as `lifter.evaluate --sequences` lifts it: the frame model (`lifter` of configs/app.yaml) for
mode `frame`, the temporal lifter with that window for causal / lag1 / centred. Its mean then goes through One-Euro
per segment, as a live stream's does in the app (configs/app.yaml smoothing: min_cutoff, d_cutoff; beta from
--betas, -1: no filter), and its ellipsoids are taken about the mean reported (lifter.aggregate.about, as
pipeline/stages.py does). The app's held bones and reprojection choice are left out (the lifter's mean goes in).
Prints MPJPE, PA-MPJPE, acceleration error (mm/frame^2), coverage90 and coverage90 with the joint-definition term
per mode and beta. Used to choose smoothing.temporal_beta (weights/lifter/temporal.md, session 16).
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: see DEVELOPERS.md

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from core.paths import cache_dir  # noqa: E402
from core.smoothing import OneEuroFilter  # noqa: E402
from lifter.aggregate import about, inside_ellipsoid, summarise, with_definition  # noqa: E402
from lifter.api import Lifter  # noqa: E402
from lifter.data.sequences import resample  # noqa: E402
from lifter.evaluate import (SEGMENT, accel_error, joint_error, load_segments, procrustes,  # noqa: E402
                             simulate_segments)
from lifter.temporal import MODES, calibration_for_mode, lift_sequence  # noqa: E402
from pipeline.config import load_config  # noqa: E402


def filtered(mean: torch.Tensor, times: np.ndarray, segments: np.ndarray, config) -> torch.Tensor:
    """One-Euro over each segment's means in order (a fresh filter per segment, as per person and stream)."""
    out = mean.clone()
    for s in np.unique(segments):
        f = OneEuroFilter(config)
        for i in np.flatnonzero(segments == s):
            out[i] = torch.as_tensor(f(mean[i].numpy(), float(times[i])), dtype=out.dtype)
    return out


def run(poses_path: Path, rate: float, seed: int, modes: list[str], betas: list[float],
        hypotheses: int = 16, steps: int = 5, max_poses: int = 0) -> dict:
    cfg = load_config()
    poses, segments, frames, fps = load_segments(poses_path, max_poses, SEGMENT)
    poses, segments, frames = resample(poses, segments, frames, fps, rate)
    times = frames / rate
    xy, lik, truth, *_ = simulate_segments(poses, segments, "detector", seed, times=times)
    truth64 = truth.double()
    out = dict(poses=str(poses_path), rate=rate, seed=seed, n_poses=len(poses), hypotheses=hypotheses, steps=steps,
               min_cutoff=cfg.smoothing.min_cutoff, d_cutoff=cfg.smoothing.d_cutoff, results={})
    for mode in modes:
        temporal = mode != "frame"
        lifter = Lifter.load(cfg.temporal_lifter if temporal else cfg.lifter)
        hyps = lift_sequence(lifter, xy, lik, times, segments, hypotheses, steps, "temporal" if temporal else "frame",
                             mode if temporal else "causal", 1, seed).double()
        means = hyps.mean(1).numpy()
        scale = (calibration_for_mode(lifter, hypotheses, steps, mode, means) if temporal
                 else lifter.calibration_for(hypotheses, steps, means))
        mean, cov = summarise(hyps, scale=scale)            # float64, as hyps
        for beta in betas:
            rep = mean if beta < 0 else filtered(mean, times, segments, replace(cfg.smoothing, beta=beta))
            c = about(cov, rep - mean, scale)
            inside = inside_ellipsoid(truth64, rep, c, 0.9)[:, 1:]
            app = inside_ellipsoid(truth64, rep, with_definition(c, cfg.joint_definition_mm / 1000), 0.9)[:, 1:]
            out["results"][f"{mode} beta {beta:g}" if beta >= 0 else f"{mode} unfiltered"] = dict(
                mpjpe_mm=float(joint_error(rep, truth64).mean() * 1000),
                pa_mpjpe_mm=float(joint_error(procrustes(rep.float(), truth), truth).mean() * 1000),
                accel_error_mm=accel_error(rep.float(), truth, segments, frames),
                coverage90=float(inside.double().mean()), coverage90_app=float(app.double().mean()))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="The live One-Euro filter on simulated sequences, per lifter mode")
    ap.add_argument("--poses", type=Path, default=cache_dir() / "mocap" / "val_open.npz",
                    help="poses .npz with sequence/frame keys (default: the validation split of the open sets)")
    ap.add_argument("--rate", type=float, default=30.0, help="frames per second the segments are resampled to")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--modes", nargs="+", default=["frame", "lag1"], choices=["frame", *MODES])
    ap.add_argument("--betas", nargs="+", type=float, default=[-1.0, 4.0, 8.0, 16.0],
                    help="One-Euro beta values (-1: no filter)")
    ap.add_argument("--max-poses", type=int, default=0, help="evenly spaced subset of segments' poses (0: all)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not args.rate > 0:
        print("error: --rate must be > 0", file=sys.stderr)
        return 2
    if not args.poses.is_file():
        print(f"error: {args.poses} not found (python -m lifter.data.prepare writes it)", file=sys.stderr)
        return 2
    torch.set_num_threads(max(1, args.threads))
    result = run(args.poses, args.rate, args.seed, args.modes, args.betas, max_poses=args.max_poses)
    if args.json:
        print(json.dumps(result))
    else:
        for name, r in result["results"].items():
            print(f"{name:22s} " + "  ".join(f"{k} {v:.4g}" for k, v in r.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
