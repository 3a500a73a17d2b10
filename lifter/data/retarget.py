"""Bone-length retargeting on our 17-joint skeleton: keep every bone's direction, replace its length.

Poses are (M, 17, 3) with bone order core.skeleton.BONES (16 bones). Rebuilding is one matrix product with the
(17, 16) ancestor matrix (joint j = root + sum of the bone vectors on its path), so the same code runs on numpy
arrays and torch tensors.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from core.skeleton import BONES, JOINT_NAMES, NUM_JOINTS, PARENTS

# Bone (by its child joint) -> symmetric pair name used in configs/data.yaml canonical_bones.
_PAIR_OF_CHILD = {"hip": "hip", "knee": "thigh", "ankle": "shin", "spine": "lower_spine", "thorax": "upper_spine",
                  "neck": "neck", "head": "head", "shoulder": "clavicle", "elbow": "upper_arm", "wrist": "forearm"}
PAIR_NAMES = ("hip", "thigh", "shin", "lower_spine", "upper_spine", "neck", "head", "clavicle", "upper_arm", "forearm")
# (16,) index of each bone's pair in PAIR_NAMES: left and right bones share one entry (symmetric jitter).
BONE_PAIR = np.array([PAIR_NAMES.index(_PAIR_OF_CHILD[JOINT_NAMES[c].split("_")[-1]]) for _, c in BONES])
# Bone groups: the legs (pelvis -> hips -> knees -> ankles) and the rest (spine, head, arms).
LOWER_BONES = np.array([b for b, (_, c) in enumerate(BONES) if c in (1, 2, 3, 4, 5, 6)])
UPPER_BONES = np.array([b for b in range(len(BONES)) if b not in LOWER_BONES])
_PARENT_IDX = np.array([p for p, _ in BONES])
_CHILD_IDX = np.array([c for _, c in BONES])


def _ancestor_matrix() -> np.ndarray:
    """A (17, 16): A[j, b] = 1 when bone b lies on the path root -> j."""
    bone_of_child = {c: b for b, (_, c) in enumerate(BONES)}
    a = np.zeros((NUM_JOINTS, len(BONES)), dtype=np.float32)
    for j in range(NUM_JOINTS):
        k = j
        while PARENTS[k] >= 0:
            a[j, bone_of_child[k]] = 1.0
            k = PARENTS[k]
    return a


ANCESTORS = _ancestor_matrix()


def canonical_bone_lengths(config: dict | None = None) -> np.ndarray:
    """(16,) metres in BONES order from configs/data.yaml canonical_bones (symmetric, ~1.70 m adult)."""
    if config is None:
        return _default_lengths().copy()
    pairs = config["canonical_bones"]
    return np.array([pairs[PAIR_NAMES[k]] for k in BONE_PAIR], dtype=np.float32)


@lru_cache(maxsize=1)
def _default_lengths() -> np.ndarray:
    from lifter.data.splits import load_config
    return canonical_bone_lengths(load_config())


def bone_vectors(poses):
    """(M, 16, 3) child - parent per bone (numpy or torch)."""
    return poses[..., _CHILD_IDX, :] - poses[..., _PARENT_IDX, :]


def bone_lengths(poses):
    v = bone_vectors(poses)
    return (v * v).sum(-1) ** 0.5


def from_bone_vectors(vectors, root):
    """Rebuild joints (M, 17, 3) from bone vectors (M, 16, 3) and root positions (M, 3) (numpy or torch)."""
    if isinstance(vectors, np.ndarray):
        return np.matmul(ANCESTORS.astype(vectors.dtype), vectors) + root[..., None, :]
    import torch
    a = torch.as_tensor(ANCESTORS, dtype=vectors.dtype, device=vectors.device)
    return torch.matmul(a, vectors) + root[..., None, :]


def retarget(poses, lengths, eps: float = 1e-8):
    """Same bone directions, new lengths (16,) or (M, 16); the root joint stays where it is (numpy or torch)."""
    v = bone_vectors(poses)
    norm = (v * v).sum(-1, keepdims=True) ** 0.5
    unit = v / (norm + eps)
    return from_bone_vectors(unit * lengths[..., None], poses[..., 0, :])


def random_bone_lengths(n: int, rng: np.random.Generator, base: np.ndarray | None = None,
                        global_sigma: float = 0.06, bone_sigma=0.05, clip: float = 3.0) -> np.ndarray:
    """(n, 16) lengths: base * s * f_pair, s ~ N(1, global_sigma) per sample, f ~ N(1, bone_sigma) per bone pair
    (the same factor for left and right; bone_sigma a scalar or one value per PAIR_NAMES). base: (16,) or (n, 16).
    Draws are clipped at `clip` sigmas so no length can go negative."""
    if base is None:
        base = canonical_bone_lengths()
    s = 1.0 + global_sigma * np.clip(rng.standard_normal((n, 1)), -clip, clip)
    f = 1.0 + np.asarray(bone_sigma) * np.clip(rng.standard_normal((n, len(PAIR_NAMES))), -clip, clip)
    return (np.asarray(base, dtype=np.float32) * s * f[:, BONE_PAIR]).astype(np.float32)
