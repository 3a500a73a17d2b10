"""Pose-space augmentation for the lifter, vectorised over a batch (M, 17, 3), world +Y up; rng passed in.

All functions are pure numpy (a batch of 1024 poses takes well under a few ms each).
"""
from __future__ import annotations

import numpy as np

from lifter.data.retarget import bone_lengths, bone_vectors, from_bone_vectors, random_bone_lengths, retarget
from core.skeleton import BONES, FLIP_PERM

# Bones rebuilt from pose A in mix_upper_lower (pelvis -> hips -> knees -> ankles); the rest come from pose B.
LOWER_BONES = np.array([b for b, (_, c) in enumerate(BONES) if c in (1, 2, 3, 4, 5, 6)])
UPPER_BONES = np.array([b for b in range(len(BONES)) if b not in LOWER_BONES])
_FLIP = np.array(FLIP_PERM)


def mirror(poses: np.ndarray) -> np.ndarray:
    """Reflect through the vertical plane x = 0 and swap left/right labels (a valid pose of a mirrored person)."""
    out = poses[..., _FLIP, :].copy()
    out[..., 0] *= -1.0
    return out


def rotate_yaw(poses: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Rotate each pose about +Y through the origin by angles (M,) radians (right-handed)."""
    c, s = np.cos(angles)[:, None], np.sin(angles)[:, None]
    x, z = poses[..., 0], poses[..., 2]
    out = poses.copy()
    out[..., 0] = c * x + s * z
    out[..., 2] = -s * x + c * z
    return out


def random_yaw(poses: np.ndarray, rng: np.random.Generator, max_angle: float = np.pi) -> np.ndarray:
    return rotate_yaw(poses, rng.uniform(-max_angle, max_angle, size=len(poses)))


def hip_yaw(poses: np.ndarray) -> np.ndarray:
    """Yaw (M,) of the right->left hip line, in the angle convention of rotate_yaw."""
    v = poses[:, 4] - poses[:, 1]
    return np.arctan2(-v[:, 2], v[:, 0])


def mix_upper_lower(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Legs of A with the torso/head/arms of B: B is first turned about +Y so its hip line has A's yaw, then the
    pose is rebuilt from A's lower-body bone directions, B's upper-body bone directions and A's bone lengths."""
    b = rotate_yaw(b, hip_yaw(a) - hip_yaw(b))
    va, vb = bone_vectors(a), bone_vectors(b)
    length = bone_lengths(a)[..., None]
    nb = np.sqrt((vb * vb).sum(-1, keepdims=True)) + 1e-8
    out = va.copy()
    out[:, UPPER_BONES] = (vb / nb)[:, UPPER_BONES] * length[:, UPPER_BONES]
    return from_bone_vectors(out, a[:, 0])


def bone_direction_noise(poses: np.ndarray, rng: np.random.Generator, sigma: float = 0.03) -> np.ndarray:
    """Perturb every bone direction by ~sigma radians (isotropic), keep lengths and the root."""
    v = bone_vectors(poses)
    n = np.sqrt((v * v).sum(-1, keepdims=True)) + 1e-8
    d = v / n + sigma * rng.standard_normal(v.shape).astype(v.dtype)
    d /= np.sqrt((d * d).sum(-1, keepdims=True)) + 1e-8
    return from_bone_vectors(d * n, poses[:, 0])


def augment_batch(poses: np.ndarray, rng: np.random.Generator, *, p_mix: float = 0.3, p_mirror: float = 0.5,
                  yaw: bool = True, lengths: np.ndarray | None = None, jitter: tuple[float, float] = (0.06, 0.05),
                  direction_sigma: float = 0.0) -> np.ndarray:
    """The usual per-batch recipe: upper/lower mixing with a shuffled partner, mirroring, random yaw, then
    retargeting to random adult bone lengths (canonical +- jitter, or the given (M, 16) lengths)."""
    out = poses.astype(np.float32, copy=True)
    m = len(out)
    if p_mix > 0:
        sel = rng.random(m) < p_mix
        if sel.any():
            partner = out[rng.permutation(m)[sel]]
            out[sel] = mix_upper_lower(out[sel], partner)
    if p_mirror > 0:
        sel = rng.random(m) < p_mirror
        out[sel] = mirror(out[sel])
    if direction_sigma > 0:
        out = bone_direction_noise(out, rng, direction_sigma)
    if yaw:
        out = random_yaw(out, rng)
    if lengths is None:
        lengths = random_bone_lengths(m, rng, global_sigma=jitter[0], bone_sigma=jitter[1])
    return retarget(out, lengths).astype(np.float32)
