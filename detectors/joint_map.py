"""THE one map from BlazePose's 33 landmarks to our 17 joints (core.skeleton order).

Each of our joints is a fixed linear combination of BlazePose landmarks, stored as TABLE (17 x 33); it maps
landmark positions (`TABLE @ xy33`) and, through detectors.candidates.combine_candidates, heatmap candidates.
BlazePose names joints from the subject's view: 11/12 left/right shoulder, 13/14 elbows, 15/16 wrists,
23/24 hips, 25/26 knees, 27/28 ankles, 7/8 ears, 0 nose.

Derived joints:
- pelvis = mid-hips; thorax = mid-shoulders; spine = mid(pelvis, thorax); neck/nose = nose;
- head (top of the head) = mid-ears + HEAD_EXTENSION * (mid-ears - thorax): the ears sit about at the skull's
  centre, and the thorax -> ears direction points along the neck, so extending it past the ears reaches the crown.
  HEAD_EXTENSION = 0.5 puts it at the top of the head on messi5.jpg (checked on the overlay).
"""
from __future__ import annotations

import numpy as np
import torch

from core import defaults
from core.records import Candidates
from core.skeleton import JOINT_INDEX, NUM_JOINTS
from detectors.candidates import combine_candidates, heatmap_values, sample_candidates

NUM_BLAZEPOSE = 33
HEAD_EXTENSION = 0.5

# BlazePose landmark indices used here.
NOSE, L_EAR, R_EAR = 0, 7, 8
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 11, 12, 13, 14, 15, 16
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 23, 24, 25, 26, 27, 28


def _table() -> np.ndarray:
    t = np.zeros((NUM_JOINTS, NUM_BLAZEPOSE))
    direct = {
        "r_hip": R_HIP, "r_knee": R_KNEE, "r_ankle": R_ANKLE,
        "l_hip": L_HIP, "l_knee": L_KNEE, "l_ankle": L_ANKLE,
        "l_shoulder": L_SHOULDER, "l_elbow": L_ELBOW, "l_wrist": L_WRIST,
        "r_shoulder": R_SHOULDER, "r_elbow": R_ELBOW, "r_wrist": R_WRIST,
        "neck": NOSE,
    }
    for name, src in direct.items():
        t[JOINT_INDEX[name], src] = 1.0
    t[JOINT_INDEX["pelvis"], [L_HIP, R_HIP]] = 0.5
    t[JOINT_INDEX["thorax"], [L_SHOULDER, R_SHOULDER]] = 0.5
    t[JOINT_INDEX["spine"], [L_HIP, R_HIP, L_SHOULDER, R_SHOULDER]] = 0.25
    e = HEAD_EXTENSION
    t[JOINT_INDEX["head"], [L_EAR, R_EAR]] = 0.5 * (1.0 + e)
    t[JOINT_INDEX["head"], [L_SHOULDER, R_SHOULDER]] = -0.5 * e
    return t


TABLE = _table()
TABLE.setflags(write=False)
# Source landmarks the table uses (sample only these heatmaps).
USED = tuple(int(i) for i in np.flatnonzero(np.abs(TABLE).sum(0)))


def map_points(points33: np.ndarray) -> np.ndarray:
    """(..., 33, D) BlazePose points -> (..., 17, D) our joints."""
    return np.einsum("os,...sd->...od", TABLE, points33)


def world_joints(world33: np.ndarray) -> np.ndarray:
    """(..., 33, 3) BlazePose world landmarks (metres, origin between the hips, camera-like axes: x right, y down,
    z away from the camera, as MediaPipe's pose_world_landmarks; records.Landmarks.world) -> (..., 17, 3) our
    joints relative to the pelvis, the lifter's root-relative camera-frame convention. tools/realfootage measured
    the axes against triangulated truth in the camera frame (docs/realfootage.md)."""
    joints = map_points(np.asarray(world33, dtype=np.float64)[..., :3])
    return joints - joints[..., JOINT_INDEX["pelvis"]:JOINT_INDEX["pelvis"] + 1, :]


def candidates_from_heatmaps(values, crop_to_image: np.ndarray, table: np.ndarray, k: int,
                             cell_px: float, generator=None):
    """Sample K candidates on each source heatmap and map them to our joints.

    values: (S, H, W) likelihoods 0..1 (torch or numpy) for the S source joints that `table` (17 x S) combines;
    cell (c, r) is crop px (cell_px * c, cell_px * r); crop_to_image is the crop's 2x3 affine to image px.
    Returns records.Candidates (17, K, 2) image px and (17, K) likelihood.
    """
    heat = torch.as_tensor(np.asarray(values, dtype=np.float32)) if not isinstance(values, torch.Tensor) else values
    return candidates_of_crops(heat[None], [crop_to_image], table, k, cell_px, generator)[0]


def candidates_of_crops(values: torch.Tensor, crop_to_image: list[np.ndarray], table: np.ndarray, k: int,
                        cell_px: float, generator=None) -> list:
    """candidates_from_heatmaps for P crops at once (values (P, S, H, W), one affine per crop): one sampling call
    for all people of a frame (the per-call overhead was most of its cost); one crop gives exactly the same draws."""
    xy, lik = sample_candidates(values.float(), k, generator=generator)
    out = []
    for i, affine in enumerate(crop_to_image):
        m = torch.as_tensor(affine, dtype=xy.dtype)
        xy_img = (xy[i] * cell_px) @ m[:, :2].T + m[:, 2]
        out_xy, out_lik = combine_candidates(xy_img, lik[i], table)
        out.append(Candidates(xy=out_xy.numpy().astype(np.float64), likelihood=out_lik.numpy().astype(np.float64)))
    return out


def blazepose_candidates(landmarks, k: int = defaults.CANDIDATES, generator=None, crop_px: int = 256):
    """records.Landmarks (heatmap logits 39 x 64 x 64) -> records.Candidates for our 17 joints."""
    return blazepose_candidates_many([landmarks], k, generator, crop_px)[0]


def blazepose_candidates_many(landmarks: list, k: int = defaults.CANDIDATES, generator=None,
                              crop_px: int = 256) -> list:
    """blazepose_candidates for several people (one list item each), sampled in one call."""
    if not landmarks:
        return []
    used = list(USED)
    logits = torch.from_numpy(np.stack([np.asarray(lm.heatmaps[used], dtype=np.float32) for lm in landmarks]))
    cell_px = crop_px / landmarks[0].heatmaps.shape[-1]
    return candidates_of_crops(heatmap_values(logits), [lm.roi.crop_to_image(crop_px) for lm in landmarks],
                               TABLE[:, used], k, cell_px, generator)
