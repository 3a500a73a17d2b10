"""Metrics of tools.realfootage: 3D accuracy and coverage of a method against truth, and 2D error statistics of the
front end against the truth projected into the image.

3D (all root-relative: pelvis = 0; mm; averaged over the 17 joints, pelvis included, as lifter.evaluate does):
- mpjpe_mm, per_joint_mpjpe_mm; pa_mpjpe_mm after similarity Procrustes on all 17 joints; pa_mpjpe_limbs_mm with
  Procrustes fitted and scored on the 12 limb joints (the truth's hips and shoulders are surface keypoints);
- with hypotheses: mpjpe_best_mm (the best single hypothesis per frame); with a covariance: coverage90, the fraction
  of joints 1..16 inside their 90 % ellipsoid (lifter.aggregate.inside_ellipsoid; per_joint_coverage90 per joint),
  and with `definition_sd` (the app's joint-definition term, core.defaults.DEFINITION_SD_M) also
  coverage90_without_definition, the ellipsoids of the lifter's calibration alone (that term taken off the
  diagonal); with the frames' video indices:
  accel_error_mm, the mean per-joint acceleration error (mm / frame^2, root-relative, over triples of consecutive
  video frames; lifter.evaluate.accel_error): how much a method jitters (or lags) beyond the truth's own motion.
2D (px and as a fraction of the person's box: the larger side of the truth's 2D bounding box in that frame):
per-joint median / p90 error, median signed offset (x, y: a bias, e.g. from the truth's other joint definitions
(OpenPose hips, head top) rather than noise), gross-error rate (error > GROSS of the box), left/right swap rate (the
detection is nearer the mirrored joint's truth than its own; limb joints only), mean visibility score.
"""
from __future__ import annotations

import numpy as np
import torch

from lifter.aggregate import inside_ellipsoid
from lifter.evaluate import accel_error, joint_error, procrustes
from core.skeleton import FLIP_PERM, JOINT_NAMES, LIMB_JOINTS, ROOT

GROSS = 0.1   # a 2D error above this fraction of the box size counts as gross
# The 8 limb ends (elbows, wrists, knees, ankles), whose real errors are mostly BlazePose's own: the head, hips, pelvis,
# spine/thorax and nose also carry the truth's other joint definitions (tools.sim_2d_stats).
LIMB_ENDS = ("l_elbow", "r_elbow", "l_wrist", "r_wrist", "l_knee", "r_knee", "l_ankle", "r_ankle")
# Offsets (video frames) tried between a clip's video and its truth: a quarter frame apart, up to 4 frames either way.
SYNC_LAGS = np.round(np.arange(-4.0, 4.0 + 1e-9, 0.25), 2)
SYNC_MIN_FRAMES = 30   # fewer frames with a detection than this: no estimate (the clip is taken as in sync)


def root_relative(joints: np.ndarray) -> np.ndarray:
    j = np.asarray(joints, dtype=np.float64)
    return j - j[..., ROOT:ROOT + 1, :]


def _mm(x) -> float:
    return round(float(x) * 1000, 1)


def pose_metrics(pred, truth, hyps=None, cov=None, frames=None, definition_sd: float = 0.0) -> dict:
    """pred, truth (M, 17, 3) metres; hyps (M, N, 17, 3) and cov (M, 17, 3, 3) optional; frames (M,) the video
    frame of each row (for the acceleration error). See the module docstring."""
    pred_t = torch.from_numpy(root_relative(pred))
    truth_t = torch.from_numpy(root_relative(truth))
    err = joint_error(pred_t, truth_t)
    limbs = list(LIMB_JOINTS)
    out = {
        "mpjpe_mm": _mm(err.mean()),
        "pa_mpjpe_mm": _mm(joint_error(procrustes(pred_t, truth_t), truth_t).mean()),
        "pa_mpjpe_limbs_mm": _mm(joint_error(procrustes(pred_t[:, limbs], truth_t[:, limbs]),
                                             truth_t[:, limbs]).mean()),
    }
    if hyps is not None:
        h = torch.from_numpy(root_relative(hyps))
        out["mpjpe_best_mm"] = _mm(joint_error(h, truth_t[:, None]).mean(-1).amin(1).mean())
    if cov is not None:
        # The hypotheses' mean is what the ellipsoids are centred on (pred for the app's output).
        inside = inside_ellipsoid(truth_t, pred_t, torch.tensor(np.asarray(cov, np.float64)), 0.9)
        out["coverage90"] = round(float(inside[:, 1:].double().mean()), 3)
        out["per_joint_coverage90"] = {name: round(float(c), 3)
                                       for name, c in zip(JOINT_NAMES[1:], inside[:, 1:].double().mean(0))}
        if definition_sd > 0:
            alone = torch.tensor(np.asarray(cov, np.float64) - definition_sd**2 * np.eye(3))
            out["coverage90_without_definition"] = round(float(
                inside_ellipsoid(truth_t, pred_t, alone, 0.9)[:, 1:].double().mean()), 3)
    if frames is not None:
        out["accel_error_mm"] = round(accel_error(pred_t, truth_t, np.zeros(len(pred_t), int), np.asarray(frames)), 2)
    out["per_joint_mpjpe_mm"] = {name: _mm(e) for name, e in zip(JOINT_NAMES, err.mean(0))}
    return out


def box_size(uv: np.ndarray) -> np.ndarray:
    """(M, 17, 2) px -> (M,) the larger side of each frame's 2D bounding box."""
    return (uv.max(1) - uv.min(1)).max(-1)


def stats_2d(det_xy, truth_uv, visibility=None) -> dict:
    """det_xy, truth_uv (M, 17, 2) px; visibility (M, 17) optional -> per-joint and overall 2D error statistics."""
    det, uv = np.asarray(det_xy, np.float64), np.asarray(truth_uv, np.float64)
    box = box_size(uv)[:, None]
    err = np.linalg.norm(det - uv, axis=-1)                       # (M, 17)
    frac = err / box
    mirrored = np.linalg.norm(det - uv[:, list(FLIP_PERM)], axis=-1)
    swapped = mirrored < err
    limbs = list(LIMB_JOINTS)
    per_joint = {}
    for j, name in enumerate(JOINT_NAMES):
        row = {"median_px": round(float(np.median(err[:, j])), 1),
               "p90_px": round(float(np.quantile(err[:, j], 0.9)), 1),
               "median_box": round(float(np.median(frac[:, j])), 4),
               "p90_box": round(float(np.quantile(frac[:, j], 0.9)), 4),
               "gross_rate": round(float((frac[:, j] > GROSS).mean()), 3)}
        row["median_offset_box"] = [round(float(v), 4) for v in np.median((det[:, j] - uv[:, j]) / box, axis=0)]
        if j in limbs:
            row["swap_rate"] = round(float(swapped[:, j].mean()), 3)
        if visibility is not None:
            row["visibility_mean"] = round(float(np.mean(visibility[:, j])), 3)
        per_joint[name] = row
    out = {"frames": int(len(det)), "box_px_median": round(float(np.median(box)), 1),
           "median_box": round(float(np.median(frac)), 4), "p90_box": round(float(np.quantile(frac, 0.9)), 4),
           "gross_rate": round(float((frac > GROSS).mean()), 3),
           "swap_rate_limbs": round(float(swapped[:, limbs].mean()), 3), "per_joint": per_joint}
    out.update(persistent_share(det, uv))
    if visibility is not None:
        vis = np.asarray(visibility, np.float64)
        gross = frac > GROSS
        out["visibility_mean_ok"] = round(float(vis[~gross].mean()), 3) if (~gross).any() else None
        out["visibility_mean_gross"] = round(float(vis[gross].mean()), 3) if gross.any() else None
    return out


def persistent_share(det_xy, truth_uv) -> dict:
    """How much of the limb ends' 2D error stays the same through the clip: per joint |mean error|^2 / mean |error|^2
    (box units) over the frames without a gross error, after taking off each frame's median error over the limb ends
    (a shift of the whole person, which the lifter's box normalisation removes). 0: the error is new every frame; 1:
    one fixed offset. persistent_share_limb_ends pools the 8 joints (sum of the numerators / sum of the denominators).
    On video a window of frames averages the changing part away but not the fixed one."""
    det, uv = np.asarray(det_xy, np.float64), np.asarray(truth_uv, np.float64)
    ends = [JOINT_NAMES.index(n) for n in LIMB_ENDS]
    e = (det[:, ends] - uv[:, ends]) / box_size(uv)[:, None, None]       # (M, 8, 2)
    e = e - np.median(e, axis=1, keepdims=True)                           # the person's shift (robust to a miss)
    ok = (np.linalg.norm(e, axis=-1) <= GROSS).all(1)
    if ok.sum() < 2:
        return {"persistent_share_limb_ends": None, "persistent_share": {}}
    e = e[ok]
    fixed = (e.mean(0) ** 2).sum(-1)                                     # (8,)
    total = (e ** 2).sum(-1).mean(0)
    return {"persistent_share_limb_ends": round(float(fixed.sum() / total.sum()), 3),
            "persistent_share": {n: round(float(f / t), 3) for n, f, t in zip(LIMB_ENDS, fixed, total)}}


def truth_at(values, index, valid, frames: int, lag: float) -> tuple[np.ndarray, np.ndarray]:
    """The truth of video frames 0..frames-1 for a video `lag` frames behind its truth (video frame f shows the
    truth's time f - lag, in video frames): values (M, 17, D) at the video frames `index` (M,), valid (M, 17) ->
    (frames, 17, D) linearly interpolated between the two truth frames around f - lag, and (frames, 17) valid where
    both are valid (the one frame where f - lag is a whole frame)."""
    values, index = np.asarray(values, np.float64), np.asarray(index, int)
    n = int(max(index.max() + 1, frames))
    full = np.full((n, *values.shape[1:]), np.nan)
    ok = np.zeros((n, values.shape[1]), bool)
    full[index], ok[index] = values, np.asarray(valid, bool)
    t = np.arange(frames) - float(lag)
    lo = np.floor(t + 1e-9).astype(int)
    a = np.clip(t - lo, 0.0, 1.0)
    hi = np.where(a > 1e-9, lo + 1, lo)                 # a whole frame needs only itself
    inside = (lo >= 0) & (hi < n)
    lo_c, hi_c = np.clip(lo, 0, n - 1), np.clip(hi, 0, n - 1)
    out = (1 - a)[:, None, None] * full[lo_c] + a[:, None, None] * full[hi_c]
    good = inside[:, None] & ok[lo_c] & ok[hi_c]
    out[~good] = np.nan
    return out, good


def sync_lag(det_xy, truth_uv, index, valid, lags=SYNC_LAGS) -> dict:
    """How many video frames a clip's video lags its truth (phones are not genlocked; a triangulation's frame
    numbers need not be the video's), from the 2D alone: det_xy (F, 17, 2) px the front end's landmarks of video
    frames 0..F-1 (NaN without a detection), truth_uv (M, 17, 2) the truth projected, at the video frames `index`.
    The lag is where the median error of the 8 limb ends (the joints whose 2D truth and detection mean the same
    point; over the frames every lag can score, the same frames for each) is least: the vertex of a parabola through
    the lags within 5 % of the least. Independent of any 3D estimate, so every method is scored against the same
    re-timed truth.
    -> {"lag_frames", "limb_end_median_px" per lag, "frames"}; lag 0 with fewer than SYNC_MIN_FRAMES frames."""
    det, lags = np.asarray(det_xy, np.float64), np.asarray(lags, np.float64)
    ends = [JOINT_NAMES.index(n) for n in LIMB_ENDS]
    errors, usable = [], np.isfinite(det[:, ends]).all((1, 2))
    for lag in lags:
        uv, good = truth_at(truth_uv, index, valid, len(det), lag)
        usable &= good[:, ends].all(1)
        errors.append(np.linalg.norm(det[:, ends] - uv[:, ends], axis=-1))
    if usable.sum() < SYNC_MIN_FRAMES:
        return {"lag_frames": 0.0, "limb_end_median_px": {}, "frames": int(usable.sum())}
    med = np.array([float(np.median(e[usable])) for e in errors])
    # The minimum is flat over about a frame: the vertex of a parabola through the lags within 5 % of it.
    near = med <= med.min() * 1.05
    best = float(lags[int(np.argmin(med))])
    if near.sum() >= 3:
        c2, c1, _ = np.polyfit(lags[near], med[near], 2)
        if c2 > 0:
            best = float(np.clip(-c1 / (2 * c2), lags[near].min(), lags[near].max()))
    return {"lag_frames": round(best, 2),
            "limb_end_median_px": {f"{lag:+.2f}": round(m, 2) for lag, m in zip(lags, med)},
            "frames": int(usable.sum())}


def nearest_candidate(cand_xy, truth_uv) -> dict:
    """cand_xy (M, 17, K, 2), truth_uv (M, 17, 2): how close the nearest of the K candidates gets (box fraction)."""
    uv = np.asarray(truth_uv, np.float64)
    d = np.linalg.norm(np.asarray(cand_xy, np.float64) - uv[:, :, None], axis=-1).min(-1) / box_size(uv)[:, None]
    return {"median_box": round(float(np.median(d)), 4), "p90_box": round(float(np.quantile(d, 0.9)), 4),
            "gross_rate": round(float((d > GROSS).mean()), 3)}
