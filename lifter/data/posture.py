"""Posture category of a pose from its geometry: standing, seated (incl. crouching) or floor (kneeling, lying,
sitting on the ground). Used to report the training mix per category and to build the held-out seated/floor group.

Poses are (M, 17, 3) metres, +Y up (world frame, any yaw). Rules (leg = mean thigh + shin length; heights above
the lowest ankle, which stands for the floor):
- floor:   the trunk within 45 deg of horizontal (lying), or the pelvis lower than 0.25 leg (sitting on the ground),
           or a knee lower than 0.12 leg (kneeling);
- seated:  the pelvis lower than 0.8 leg with the thighs flexed >= 55 deg from the trunk axis (chair, stool, squat);
- standing: everything else (walking, running, reaching, dancing...).
"""
from __future__ import annotations

import numpy as np

from core.skeleton import JOINT_INDEX as J

CATEGORIES = ("standing", "seated", "floor")


def _unit(v: np.ndarray) -> np.ndarray:
    return v / (np.linalg.norm(v, axis=-1, keepdims=True) + 1e-9)


def hip_flexion(poses: np.ndarray) -> np.ndarray:
    """(M, 17, 3) -> (M,) degrees: the angle between each thigh and the trunk axis pointing down (0 standing
    straight, 90 thighs at right angles to the trunk), the mean of both legs. Any orientation: it needs no up axis,
    so it also reads a root-relative pose in the camera frame (lifter.posture_scale)."""
    p = np.asarray(poses, dtype=np.float64)
    trunk = _unit(p[:, J["thorax"]] - p[:, J["pelvis"]])
    thighs = _unit(p[:, [J["r_knee"], J["l_knee"]]] - p[:, [J["r_hip"], J["l_hip"]]])
    return np.degrees(np.arccos(np.clip((thighs * -trunk[:, None]).sum(-1), -1, 1))).mean(1)


def posture(poses: np.ndarray) -> np.ndarray:
    """(M, 17, 3) -> (M,) category names (CATEGORIES)."""
    p = np.asarray(poses, dtype=np.float64)
    thigh = np.linalg.norm(p[:, [J["r_knee"], J["l_knee"]]] - p[:, [J["r_hip"], J["l_hip"]]], axis=-1).mean(1)
    shin = np.linalg.norm(p[:, [J["r_ankle"], J["l_ankle"]]] - p[:, [J["r_knee"], J["l_knee"]]], axis=-1).mean(1)
    leg = thigh + shin
    height = p[:, J["pelvis"], 1] - p[:, [J["r_ankle"], J["l_ankle"]], 1].min(1)
    trunk = _unit(p[:, J["thorax"]] - p[:, J["pelvis"]])
    flex = hip_flexion(p)
    knee = p[:, [J["r_knee"], J["l_knee"]], 1].min(1) - p[:, [J["r_ankle"], J["l_ankle"]], 1].min(1)
    floor = (np.abs(trunk[:, 1]) < np.cos(np.radians(45))) | (height < 0.25 * leg) | (knee < 0.12 * leg)
    seated = ~floor & (height < 0.8 * leg) & (flex >= 55)
    return np.where(floor, "floor", np.where(seated, "seated", "standing"))
