"""Pose-space augmentation for the lifter, vectorised over a batch (M, 17, 3), world +Y up; rng passed in.

All functions are pure numpy (a batch of 1024 poses takes well under a few ms each).
"""
from __future__ import annotations

import numpy as np

from core.skeleton import FLIP_PERM
from lifter.data import everyday as ev
from lifter.data.bodies import body_lengths
from lifter.data.retarget import UPPER_BONES, bone_lengths, bone_vectors, from_bone_vectors, retarget

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
                  yaw: bool = True, lengths: np.ndarray | None = None, body: dict | None = None,
                  everyday: dict | None = None, direction_sigma: float = 0.0) -> np.ndarray:
    """The per-batch recipe: upper/lower mixing with a shuffled partner, everyday postures (lifter.data.everyday:
    seated / kneeling / crouching lower bodies, hands to the face, lying), mirroring, random yaw, then each pose's
    OWN bone lengths varied by anthropometric factors (lifter.data.bodies.body_lengths; body = its keyword
    arguments), or the given (M, 16) lengths. everyday: probabilities {"lower": p, "face": p, "lie": p}."""
    out = poses.astype(np.float32, copy=True)
    m = len(out)
    if p_mix > 0:
        sel = rng.random(m) < p_mix
        if sel.any():
            partner = out[rng.permutation(m)[sel]]
            out[sel] = mix_upper_lower(out[sel], partner)
    for key, fn in (("lower", ev.everyday_lower), ("face", ev.reach_face), ("lie", ev.lie_down)):
        p = (everyday or {}).get(key, 0.0)
        sel = rng.random(m) < p if p > 0 else np.zeros(m, bool)
        if sel.any():
            out[sel] = fn(out[sel], rng)
    if p_mirror > 0:
        sel = rng.random(m) < p_mirror
        out[sel] = mirror(out[sel])
    if direction_sigma > 0:
        out = bone_direction_noise(out, rng, direction_sigma)
    if yaw:
        out = random_yaw(out, rng)
    if lengths is None:
        lengths = body_lengths(out, rng, **(body or {}))
    return retarget(out, lengths).astype(np.float32)
