"""Accuracy of the lifter's runtimes against fp32 (lifter.evaluate's protocol: same simulated candidates, same
sampling noise) for several variants at once (lifter.runtimes.VARIANTS).

    python -m lifter.fast --poses .cache/mocap/test.npz --max-poses 300 --modes fp32 bf16 onnx
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from core import defaults
from lifter.evaluate import load_poses, metrics, run_lifter, simulate
from lifter.loading import load_lifter
from lifter.runtimes import make_variant


def compare(poses: Path, weights: str = "default", variants=("fp32", "bf16", "onnx"), n: int = defaults.HYPOTHESES,
            steps: int = defaults.STEPS,
            max_poses: int = 300, seed: int = 0, threads: int = 1) -> dict:
    """lifter.evaluate's protocol (same simulated candidates, same sampling noise) for each variant."""
    base, source = load_lifter(weights)
    pose_arr, _ = load_poses(Path(poses), max_poses)
    xy, lik, truth, _ = simulate(pose_arr, "detector", seed)
    out = {"weights": source, "poses": str(poses), "n_poses": len(pose_arr), "hypotheses": n, "steps": steps,
           "threads": threads, "variants": {}}
    ref = None
    for v in variants:
        lifter = make_variant(base, v, threads=threads)
        hyps, ms = run_lifter(lifter, xy, lik, n, steps, seed)
        row = {"ms_per_frame": round(ms, 3), **{k: round(float(x), 3) for k, x in
                                                metrics(hyps, truth, base.calibration).items()}}
        if ref is None:
            ref = hyps
        else:
            row["max_abs_diff_vs_first_mm"] = round(float((hyps - ref).abs().max()) * 1000, 4)
            row["mean_diff_vs_first_mm"] = round(float((hyps.mean(1) - ref.mean(1)).norm(dim=-1).mean()) * 1000, 4)
        out["variants"][v] = row
    first = out["variants"][variants[0]]["mpjpe_mean_mm"]
    for v in variants[1:]:
        out["variants"][v]["mpjpe_delta_mm"] = round(out["variants"][v]["mpjpe_mean_mm"] - first, 3)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Accuracy of the lifter's fast paths against fp32 (lifter.evaluate protocol)")
    ap.add_argument("--poses", type=Path, default=Path(".cache/mocap/test.npz"))
    ap.add_argument("--weights", default="default")
    ap.add_argument("--modes", nargs="+", default=["fp32", "bf16", "onnx"],
                    help="fp32 bf16 fp16 onnx compile fp32-fast (the first is the reference)")
    ap.add_argument("--hypotheses", type=int, default=defaults.HYPOTHESES)
    ap.add_argument("--steps", type=int, default=defaults.STEPS)
    ap.add_argument("--max-poses", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    result = compare(args.poses, args.weights, args.modes, args.hypotheses, args.steps, args.max_poses, args.seed,
                     args.threads)
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
