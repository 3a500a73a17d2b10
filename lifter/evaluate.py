"""Evaluate the diffusion lifter (and the baseline MLP) on any file of 3D poses, through the training simulator.

    python -m lifter.evaluate --poses FILE.npz [--weights default] [--hypotheses 16] [--steps 5]
                              [--noise detector|none] [--seed 0] [--max-poses 2000] [--json]
                              [--variant fp32|bf16|fp16|onnx|compile|graph|graph-bf16] [--device cpu|cuda]
                              [--sequences [--lifter-mode frame|temporal] [--window-mode causal|centred]
                                           [--rate FPS] [--error-correlation] [--persistent-share F]]

FILE.npz: key `poses` (M, 17, 3) float metres, world +Y up, core.skeleton order (e.g. .cache/mocap/test.npz); for
--sequences also `sequence` and `frame` (and optionally `fps`), lifter.data.sequences.

Protocol (fixed, exactly reproducible for a given --seed): at most --max-poses poses, taken evenly spaced over the
file (np.linspace indices); every pose gets one virtual camera from the training distribution
(lifter.simulate.simulate_batch, configs/simulation.yaml) and its candidates (detector-like heatmaps, or the exact
2D with --noise none), drawn in chunks of CHUNK poses from one torch generator seeded with --seed. The lifter
samples N hypotheses per pose (its own generator, seeded with --seed + 1). Metrics, all root-relative in the
camera frame (pelvis = 0), averaged over the 17 joints (pelvis included, as in Human3.6M protocol 1) unless said:
- mpjpe_mean_mm: error of the hypotheses' mean; pa_mpjpe_mean_mm: after similarity Procrustes of the mean;
- mpjpe_best_mm: the best single hypothesis per pose (oracle, as in multi-hypothesis papers);
- coverage90: fraction of joints 1..16 inside their calibrated 90 % ellipsoid (lifter.aggregate, lifter.calibration;
  with the weights' posture factors, lifter.posture_scale: then also coverage90_without_posture, the same without
  them, and flexed_share, the share of poses whose estimated hips are flexed enough to get the flexed factor);
  coverage90_app: the same with the app's joint-definition term added (--definition-mm, default the app's
  core.defaults.DEFINITION_SD_M), which these
  test poses do not need (their truth shares the training's joint definitions): it shows how much wider the app's
  ellipsoids are here;
- spread_error_spearman: Spearman rank correlation between a joint's predicted spread sqrt(trace cov) and its actual
  error, over all (pose, joint 1..16);
- baseline_mpjpe_mm (and baseline_pa_mpjpe_mm): the baseline MLP on the same candidate peaks (null without weights);
- per_camera_mode: the lifter's metrics for the poses seen by each camera mode (webcam, phone, room);
- ms_per_frame: lifter time (condition + sampling, batched) per pose.
Sequence mode (--sequences): every sequence is cut into segments of --segment consecutive poses (the last one of a
sequence shorter); evenly spaced segments are taken until they hold --max-poses poses (a few more at most); each segment gets ONE virtual camera and
body placement for all its frames (lifter.simulate group) and per-frame candidates; windows never cross segments.
--lifter-mode frame lifts each frame alone with --weights, temporal with the temporal weights (--temporal-weights)
over windows (--window-mode causal: the newest frame is the output, as live; centred: offline); in both modes each
segment's hypotheses start from one noise draw in every frame, as the app does (lifter.temporal.lift_sequence).
Added metric: accel_error_mm: mean per-joint acceleration error of the mean pose (second differences over three
consecutive frames, mm / frame^2; triples across a gap are skipped). --rate FPS resamples each segment to FPS
(lifter.data.sequences.resample: linear between consecutive frames, e.g. the 10 fps cache at a phone's 60 fps);
--error-correlation correlates a segment's 2D errors in time as BlazePose's on real video (lifter.simulate.error_rho;
without it every frame's noise is independent, which a window of fast frames could average away). Either way a share
of each landmark's 2D offset stays the same through the segment, as BlazePose's does on the real clips
(configs/simulation.yaml heatmap.real_2d.persistent_share; --persistent-share F in its place, 0 for the protocol
before 2026-12-02: a window can average none of that share away).
--variant runs the same protocol through one of the lifter's fast paths (lifter.runtimes.make_variant), same noise, so
its numbers compare one to one with the plain fp32 run.
Prints one JSON object with --json, else a short summary. Bad input -> one line on stderr, exit status 2.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from core import defaults
from core.skeleton import NUM_JOINTS
from lifter.aggregate import inside_ellipsoid, summarise, with_definition
from lifter import heatmap_sim
from lifter.api import Lifter
from lifter.baseline import Baseline
from lifter.runtimes import VARIANTS, make_variant
from lifter.data.sequences import check_sequences, resample, sequences_of
from lifter.posture_scale import flexed
from lifter.simulate import SimConfig, error_rho, simulate_batch
from lifter.temporal import LIFTER_MODES, MODES, calibration_for_mode, is_temporal, lift_sequence

CHUNK = 250
SEGMENT = 50


class InputError(ValueError):
    """A problem with the command line or the poses file (reported as one line, exit 2)."""


def load_poses(path: Path, max_poses: int) -> tuple[np.ndarray, np.ndarray]:
    """(poses (M, 17, 3) float32, indices into the file) or InputError."""
    if not path.is_file():
        raise InputError(f"poses file not found: {path}")
    try:
        z = np.load(path, allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - any unreadable file is the same user error
        raise InputError(f"cannot read {path} as .npz: {e}") from None
    if not hasattr(z, "files") or "poses" not in z.files:
        raise InputError(f"{path} has no key 'poses' (keys: {', '.join(getattr(z, 'files', [])) or 'none'})")
    poses = z["poses"]
    if poses.ndim != 3 or poses.shape[1:] != (NUM_JOINTS, 3):
        raise InputError(f"'poses' in {path} must be (M, {NUM_JOINTS}, 3), got {tuple(poses.shape)}")
    if not np.issubdtype(poses.dtype, np.number) or len(poses) == 0:
        raise InputError(f"'poses' in {path} must be a non-empty numeric array")
    if not np.isfinite(poses).all():
        raise InputError(f"'poses' in {path} contains NaN or infinite values")
    m = len(poses) if max_poses <= 0 else min(max_poses, len(poses))
    idx = np.linspace(0, len(poses) - 1, m).round().astype(int)
    return poses[idx].astype(np.float32), idx


def load_segments(path: Path, max_poses: int, segment: int, datasets: list[str] | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Sequence mode: (poses (M, 17, 3), segment number (M,), frame (M,), fps) of evenly spaced segments; with
    `datasets`, only the sequences of those sets (the file's `dataset` key)."""
    poses, _ = load_poses(path, 0)
    z = np.load(path, allow_pickle=False)
    keys = sequences_of(z)
    if keys is None:
        raise InputError(f"{path} has no 'sequence' and 'frame' keys (needed by --sequences)")
    seq, frame, fps = keys
    problem = check_sequences(seq, frame, len(poses))
    if problem:
        raise InputError(f"{path}: {problem}")
    if datasets is not None:
        if "dataset" not in z.files:
            raise InputError(f"{path} has no 'dataset' key to choose the sets {datasets} by")
        keep = np.isin(z["dataset"].astype(str), datasets)
        if not keep.any():
            raise InputError(f"{path} holds none of the sets {datasets}")
        poses, seq, frame = poses[keep], seq[keep], frame[keep]
    # Chunks: every sequence cut into runs of `segment` poses; evenly spaced chunks until they hold `want` poses.
    change = np.r_[True, seq[1:] != seq[:-1]]
    first = np.flatnonzero(change)
    cut = np.unique(np.r_[first, [a for f, e in zip(first, np.r_[first[1:], len(poses)])
                                  for a in range(f, e, segment)]])
    chunks = list(zip(cut, np.r_[cut[1:], len(poses)]))
    want = len(poses) if max_poses <= 0 else min(max_poses, len(poses))
    count = max(1, min(len(chunks), -(-want // segment)))
    while True:
        pick = np.unique(np.linspace(0, len(chunks) - 1, count).round().astype(int))
        total = sum(chunks[i][1] - chunks[i][0] for i in pick)
        if total >= want or count >= len(chunks):
            break
        count = min(len(chunks), max(count + 1, int(count * want / max(total, 1))))
    idx = np.concatenate([np.arange(*chunks[i]) for i in pick])
    seg = np.concatenate([np.full(chunks[i][1] - chunks[i][0], k) for k, i in enumerate(pick)])
    return poses[idx], seg, frame[idx], fps


def accel_error(pred: torch.Tensor, truth: torch.Tensor, segment: np.ndarray, frame: np.ndarray) -> float:
    """Mean per-joint acceleration error (mm / frame^2) over triples of consecutive frames of one segment."""
    ok = (segment[2:] == segment[:-2]) & (np.diff(frame)[1:] == 1) & (np.diff(frame)[:-1] == 1)
    if not ok.any():
        return float("nan")
    acc = lambda x: x[2:] - 2 * x[1:-1] + x[:-2]  # noqa: E731
    return float((acc(pred) - acc(truth))[torch.as_tensor(ok)].norm(dim=-1).mean() * 1000)


def procrustes(pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Similarity-align pred (M, J, 3) to truth (rotation, scale, translation), returned aligned."""
    p = pred.double()
    t = truth.double()
    mp, mt = p.mean(1, keepdim=True), t.mean(1, keepdim=True)
    p0, t0 = p - mp, t - mt
    u, s, vh = torch.linalg.svd(p0.transpose(1, 2) @ t0)
    d = torch.sign(torch.linalg.det(u @ vh))
    fix = torch.ones_like(s)
    fix[:, -1] = d
    r = u @ torch.diag_embed(fix) @ vh
    scale = (s * fix).sum(1) / (p0 ** 2).sum((1, 2)).clamp_min(1e-12)
    return (scale[:, None, None] * p0 @ r + mt).to(pred.dtype)


def joint_error(pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    return (pred - truth).norm(dim=-1)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def simulate(poses: np.ndarray, noise: str, seed: int, k: int = defaults.CANDIDATES):
    """The protocol's cameras and candidates: chunks of CHUNK poses, one generator seeded with `seed`."""
    cfg = SimConfig.load()
    g = torch.Generator().manual_seed(seed)
    parts = [simulate_batch(torch.from_numpy(poses[i:i + CHUNK]), cfg, g, noise=noise, k=k)
             for i in range(0, len(poses), CHUNK)]
    cat = lambda name: torch.cat([getattr(s, name) for s in parts])  # noqa: E731
    return cat("cand_xy"), cat("cand_lik"), cat("pose_cam"), cat("visible"), cat("mode"), list(cfg.modes)


def simulate_segments(poses: np.ndarray, segment: np.ndarray, noise: str, seed: int, k: int = defaults.CANDIDATES,
                      times: np.ndarray | None = None, persistent_share: float | None = None):
    """Sequence mode: one camera per segment (one generator seeded with `seed`, segments in order). times (M,)
    seconds: the detector noise of a segment's frames is correlated in time as on real video (error_rho); None:
    every frame's independent. Either way a share of each landmark's offset is the same through the segment
    (heatmap.real_2d.persistent_share, or `persistent_share` in its place; 0: none)."""
    cfg = SimConfig.load()
    if persistent_share is not None:
        cfg = copy.deepcopy(cfg)
        cfg.heatmap.setdefault("real_2d", {})["persistent_share"] = float(persistent_share)
    g = torch.Generator().manual_seed(seed)
    bounds = np.flatnonzero(np.r_[True, segment[1:] != segment[:-1], True])
    parts = [simulate_batch(torch.from_numpy(poses[a:b]), cfg, g, noise=noise, k=k, group=b - a,
                            rho=None if times is None else error_rho(torch.as_tensor(times[a:b]), b - a, cfg))
             for a, b in zip(bounds[:-1], bounds[1:])]
    cat = lambda name: torch.cat([getattr(s, name) for s in parts])  # noqa: E731
    return cat("cand_xy"), cat("cand_lik"), cat("pose_cam"), cat("visible"), cat("mode"), list(cfg.modes)


def run_lifter(lifter, xy: torch.Tensor, lik: torch.Tensor, n: int, steps: int, seed: int) -> tuple[torch.Tensor, float]:
    g = torch.Generator().manual_seed(seed + 1)
    out = []
    t0 = time.perf_counter()
    for i in range(0, len(xy), CHUNK):
        out.append(lifter.sample(xy[i:i + CHUNK], lik[i:i + CHUNK], n=n, steps=steps, generator=g).float().cpu())
    ms = (time.perf_counter() - t0) * 1000 / max(len(xy), 1)
    return torch.cat(out), ms


def metrics(hyps: torch.Tensor, truth: torch.Tensor, calibration: float,
            definition_sd: float = defaults.DEFINITION_SD_M) -> dict:
    """hyps (M, N, 17, 3), truth (M, 17, 3) -> the lifter's metrics (see the module docstring)."""
    mean, cov = summarise(hyps, scale=calibration)
    mean, cov = mean.float(), cov.double()
    err = joint_error(mean, truth)
    best = joint_error(hyps, truth[:, None]).mean(-1).amin(1)
    inside = inside_ellipsoid(truth.double(), mean.double(), cov, 0.9)[:, 1:]
    app = inside_ellipsoid(truth.double(), mean.double(), with_definition(cov, definition_sd), 0.9)[:, 1:]
    spread = torch.sqrt(torch.diagonal(cov, dim1=-2, dim2=-1).sum(-1)).float()[:, 1:]
    return dict(
        mpjpe_mean_mm=float(err.mean() * 1000),
        pa_mpjpe_mean_mm=float(joint_error(procrustes(mean, truth), truth).mean() * 1000),
        mpjpe_best_mm=float(best.mean() * 1000),
        coverage90=float(inside.double().mean()),
        coverage90_app=float(app.double().mean()),
        spread_error_spearman=spearman(spread.flatten().numpy(), err[:, 1:].flatten().numpy()),
    )


def baseline_metrics(xy: torch.Tensor, lik: torch.Tensor, truth: torch.Tensor, name: str) -> dict:
    try:
        base = Baseline.load(name)
    except FileNotFoundError:
        return dict(baseline_mpjpe_mm=None, baseline_pa_mpjpe_mm=None)
    pred = base.predict(xy, lik)
    return dict(baseline_mpjpe_mm=float(joint_error(pred, truth).mean() * 1000),
                baseline_pa_mpjpe_mm=float(joint_error(procrustes(pred, truth), truth).mean() * 1000))


def evaluate(poses_path: Path, weights: str = "default", hypotheses: int = defaults.HYPOTHESES,
             steps: int = defaults.STEPS,
             noise: str = "detector", seed: int = 0, max_poses: int = 2000, baseline: str = "baseline",
             variant: str = "fp32", device: str = "cpu", threads: int = 1, sequences: bool = False,
             lifter_mode: str = "frame", window_mode: str = "causal", temporal_weights: str = "temporal",
             segment: int = SEGMENT, stride: int = 1, rate: float | None = None,
             error_correlation: bool = False, definition_sd: float = defaults.DEFINITION_SD_M,
             persistent_share: float | None = None) -> dict:
    if noise not in ("detector", "none"):
        raise InputError(f"--noise must be detector or none, got {noise!r}")
    if hypotheses < 1 or steps < 1:
        raise InputError("--hypotheses and --steps must be >= 1")
    if variant not in VARIANTS:
        raise InputError(f"--variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {device}: no CUDA device here")
    if variant.startswith("graph") and not device.startswith("cuda"):
        raise InputError(f"--variant {variant} needs --device cuda")
    if lifter_mode not in LIFTER_MODES or window_mode not in MODES:
        raise InputError(f"--lifter-mode must be one of {LIFTER_MODES} and --window-mode one of {MODES}")
    if lifter_mode == "temporal" and not sequences:
        raise InputError("--lifter-mode temporal needs --sequences (a temporal model lifts windows of frames)")
    if sequences and variant != "fp32":
        raise InputError("--sequences runs the plain fp32 lifter (--variant fp32)")
    if (rate is not None or error_correlation or persistent_share is not None) and not sequences:
        raise InputError("--rate, --error-correlation and --persistent-share need --sequences")
    if persistent_share is not None and not 0 <= persistent_share <= 1:
        raise InputError(f"--persistent-share must be in 0..1, got {persistent_share}")
    if rate is not None and not rate > 0:
        raise InputError(f"--rate must be > 0, got {rate}")
    if not definition_sd >= 0:
        raise InputError(f"--definition-mm must be >= 0, got {definition_sd * 1000:g}")
    if sequences:
        poses, segments, frames, fps = load_segments(Path(poses_path), max_poses, segment)
        if rate is not None:     # the same motion at another frame rate (the app's 10-60 fps)
            poses, segments, frames = resample(poses, segments, frames, fps, rate)
            fps = float(rate)
    else:
        poses, _ = load_poses(Path(poses_path), max_poses)
    lifter = None
    if lifter_mode == "temporal":
        weights = temporal_weights
    if weights != "none":
        try:
            lifter = Lifter.load(weights)
        except FileNotFoundError as e:
            raise InputError(f"{e} (--weights none evaluates the baseline alone)") from None
        except Exception as e:  # noqa: BLE001 - a training checkpoint or another file is the same user error
            raise InputError(f"{weights} is not a lifter weights file (Lifter.save format): "
                             f"{type(e).__name__}: {e}") from None
        if lifter_mode == "temporal" and not is_temporal(lifter):
            raise InputError(f"{weights} is a frame model; --lifter-mode temporal needs temporal weights")
        lifter = make_variant(lifter, variant, device, threads)
    t0 = time.perf_counter()
    if sequences:
        xy, lik, truth, visible, mode, mode_names = simulate_segments(
            poses, segments, noise, seed, times=frames / fps if error_correlation else None,
            persistent_share=persistent_share)
    else:
        xy, lik, truth, visible, mode, mode_names = simulate(poses, noise, seed)
    sim_s = time.perf_counter() - t0
    out = dict(n_poses=len(poses), poses=str(poses_path), weights=str(weights), noise=noise, seed=seed,
               hypotheses=hypotheses, steps=steps, variant=variant, device=device)
    if sequences:
        share = heatmap_sim.persistent_share(SimConfig.load()) if persistent_share is None else persistent_share
        out.update(sequences=True, segments=int(segments[-1]) + 1, fps=fps, error_correlation=error_correlation,
                   persistent_share=float(share),
                   lifter_mode=lifter_mode,
                   window_mode=window_mode if lifter_mode == "temporal" else None, stride=stride)
    if lifter is not None:
        if sequences:
            t1 = time.perf_counter()
            hyps = lift_sequence(lifter, xy, lik, frames / fps, segments, hypotheses, steps, lifter_mode,
                                 window_mode, stride, seed)
            ms = (time.perf_counter() - t1) * 1000 / max(len(poses), 1)
        else:
            hyps, ms = run_lifter(lifter, xy, lik, hypotheses, steps, seed)
        temporal = sequences and lifter_mode == "temporal"
        calib = lambda means=None: calibration_for_mode(lifter, hypotheses, steps, window_mode, means) \
            if temporal else lifter.calibration_for(hypotheses, steps, means)  # noqa: E731
        # base: the weights' scale (and profile); scale: per pose, times its posture factor (lifter.posture_scale)
        base, scale = calib(), calib(hyps.mean(1).numpy())
        out.update(calibration=base, definition_sd=definition_sd, **metrics(hyps, truth, scale, definition_sd))
        if scale is not base:
            out.update(coverage90_without_posture=metrics(hyps, truth, base, definition_sd)["coverage90"],
                       flexed_share=float(np.mean(flexed(hyps.mean(1).numpy()))))
        if sequences:
            out["accel_error_mm"] = accel_error(hyps.mean(1), truth, segments, frames)
        # The same metrics per camera mode (webcam / phone / room, lifter/cameras.py).
        pick = lambda s, m: s[m] if isinstance(s, np.ndarray) and s.ndim == 2 else s  # noqa: E731
        out["per_camera_mode"] = {
            name: {"n_poses": int((mode == i).sum()),
                   **metrics(hyps[mode == i], truth[mode == i], pick(scale, (mode == i).numpy()), definition_sd)}
            for i, name in enumerate(mode_names) if (mode == i).sum() >= 3}
    else:
        ms = None
        out.update({k: None for k in ("calibration", "mpjpe_mean_mm", "pa_mpjpe_mean_mm", "mpjpe_best_mm",
                                      "coverage90", "coverage90_app", "spread_error_spearman")})
    out.update(baseline_metrics(xy, lik, truth, baseline))
    out.update(ms_per_frame=ms, joints_in_image=float(visible.float().mean()), sim_seconds=round(sim_s, 2))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Evaluate the lifter on a poses .npz through the simulator")
    ap.add_argument("--poses", required=True, type=Path, help=".npz with key 'poses' (M, 17, 3), metres, world +Y up")
    ap.add_argument("--weights", default="default",
                    help="lifter weights name (weights/lifter/<name>.pt) or path; none: the baseline alone")
    ap.add_argument("--baseline", default="baseline", help="baseline weights name or path")
    ap.add_argument("--hypotheses", type=int, default=defaults.HYPOTHESES)
    ap.add_argument("--steps", type=int, default=defaults.STEPS)
    ap.add_argument("--noise", default="detector", help="detector | none")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-poses", type=int, default=2000, help="evenly spaced subset (0: all)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave torch's default)")
    ap.add_argument("--variant", default="fp32",
                    help="lifter path: fp32 (plain PyTorch), the fast paths bf16 | fp16 | onnx | compile | fp32-fast, "
                         "or on CUDA graph | graph-bf16 | graph-fp16 (lifter.runtimes.make_variant)")
    ap.add_argument("--device", default="cpu", help="cpu | cuda[:N]")
    ap.add_argument("--sequences", action="store_true",
                    help="sequence mode: segments of consecutive poses, one camera each (file needs sequence/frame)")
    ap.add_argument("--lifter-mode", default="frame", help="frame | temporal (with --sequences)")
    ap.add_argument("--window-mode", default="causal", help="temporal: causal (live) | centred (offline)")
    ap.add_argument("--temporal-weights", default="temporal", help="temporal lifter weights name or path")
    ap.add_argument("--segment", type=int, default=SEGMENT, help="poses per segment in sequence mode")
    ap.add_argument("--stride", type=int, default=1, help="temporal: every stride-th frame in a window")
    ap.add_argument("--rate", type=float, default=None,
                    help="sequences: resample each segment to this many frames per second (linear; default: the file's)")
    ap.add_argument("--error-correlation", action="store_true",
                    help="sequences: 2D errors of consecutive frames correlated as on real video (configs/simulation.yaml "
                         "heatmap.real_2d.error_correlation_s; default: independent frames)")
    ap.add_argument("--persistent-share", type=float, default=None,
                    help="sequences: the share of each landmark's 2D offset that stays the same through a segment "
                         "(default: configs/simulation.yaml heatmap.real_2d.persistent_share, measured on real video; "
                         "0: every frame's offset drawn afresh, the protocol before 2026-12-02 session 12)")
    ap.add_argument("--definition-mm", type=float, default=defaults.DEFINITION_SD_M * 1000,
                    help="the joint-definition sd (mm per axis) added for coverage90_app (the app's joint_definition_mm)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    try:
        result = evaluate(args.poses, args.weights, args.hypotheses, args.steps, args.noise, args.seed,
                          args.max_poses, args.baseline, args.variant, args.device,
                          args.threads or torch.get_num_threads(), args.sequences, args.lifter_mode,
                          args.window_mode, args.temporal_weights, args.segment, args.stride, args.rate,
                          args.error_correlation, args.definition_mm / 1000, args.persistent_share)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:24s} {value:.4g}" if isinstance(value, float) else f"{key:24s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
