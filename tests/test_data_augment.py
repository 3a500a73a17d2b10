"""Retargeting and pose-space augmentation: exact lengths, preserved directions, symmetric jitter, mirror, mixing."""
import numpy as np
import torch

from lifter.data.augment import (augment_batch, bone_direction_noise, hip_yaw, mirror, mix_upper_lower, random_yaw,
                                 rotate_yaw)
from lifter.data.retarget import (BONE_PAIR, PAIR_NAMES, bone_lengths, bone_vectors, canonical_bone_lengths,
                                  random_bone_lengths, retarget)
from core.skeleton import BONES, FLIP_PERM, JOINT_INDEX as J, LEFT, RIGHT


def random_poses(n, seed=0):
    """Plausible-ish random poses: canonical lengths, random bone directions, pelvis at the origin."""
    rng = np.random.default_rng(seed)
    poses = np.zeros((n, 17, 3), dtype=np.float64)
    d = rng.standard_normal((n, 16, 3))
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    lengths = canonical_bone_lengths()
    for b, (p, c) in enumerate(BONES):
        poses[:, c] = poses[:, p] + lengths[b] * d[:, b]
    return poses


def test_canonical_skeleton_is_symmetric_adult():
    lengths = canonical_bone_lengths()
    assert lengths.shape == (16,) and (lengths > 0).all()
    for b, (_, c) in enumerate(BONES):
        if c in LEFT:
            mirror_bone = [k for k, (_, cc) in enumerate(BONES) if cc == RIGHT[LEFT.index(c)]][0]
            assert lengths[b] == lengths[mirror_bone]
    # ankle -> head top along the chain: about 1.6 m (plus foot height ~1.70 m stature)
    chain = [J["r_knee"], J["r_ankle"], J["spine"], J["thorax"], J["neck"], J["head"]]
    total = sum(lengths[[k for k, (_, c) in enumerate(BONES) if c == j][0]] for j in chain)
    assert 1.5 < total < 1.7


def test_retarget_sets_lengths_exactly_and_keeps_directions():
    poses = random_poses(64) * 1.3
    target = random_bone_lengths(64, np.random.default_rng(1))
    out = retarget(poses, target)
    np.testing.assert_allclose(bone_lengths(out), target, rtol=1e-5)
    va, vb = bone_vectors(poses), bone_vectors(out)
    cos = (va * vb).sum(-1) / np.linalg.norm(va, axis=-1) / np.linalg.norm(vb, axis=-1)
    np.testing.assert_allclose(cos, 1.0, atol=1e-6)
    np.testing.assert_allclose(out[:, 0], poses[:, 0])
    # torch gives the same answer
    t = retarget(torch.from_numpy(poses), torch.from_numpy(target.astype(np.float64)))
    np.testing.assert_allclose(t.numpy(), out, atol=1e-9)


def test_random_bone_lengths_symmetric_with_expected_spread():
    rng = np.random.default_rng(2)
    base = canonical_bone_lengths()
    lengths = random_bone_lengths(20000, rng, base=base, global_sigma=0.06, bone_sigma=0.05)
    for b, (_, c) in enumerate(BONES):
        partner = [k for k in range(16) if BONE_PAIR[k] == BONE_PAIR[b] and k != b]
        for k in partner:
            np.testing.assert_array_equal(lengths[:, b], lengths[:, k])
    ratio = lengths / base
    assert abs(ratio.mean() - 1.0) < 0.01
    assert abs(ratio[:, 1].std() - np.hypot(0.06, 0.05)) < 0.01   # product of the two factors
    assert len(PAIR_NAMES) == 10


def test_mirror_twice_is_identity_and_swaps_sides():
    poses = random_poses(32)
    once = mirror(poses)
    np.testing.assert_allclose(mirror(once), poses)
    np.testing.assert_allclose(once[:, J["l_wrist"], 0], -poses[:, J["r_wrist"], 0])
    np.testing.assert_allclose(bone_lengths(once), bone_lengths(poses)[:, np.array(
        [[k for k, (p, c) in enumerate(BONES) if c == FLIP_PERM[cc]][0] for _, cc in BONES])])


def test_yaw_rotation_keeps_height_and_lengths_and_moves_hip_yaw():
    poses = random_poses(16)
    angles = np.linspace(-3, 3, 16)
    out = rotate_yaw(poses, angles)
    np.testing.assert_allclose(out[..., 1], poses[..., 1])
    np.testing.assert_allclose(bone_lengths(out), bone_lengths(poses))
    delta = np.angle(np.exp(1j * (hip_yaw(out) - hip_yaw(poses) - angles)))
    np.testing.assert_allclose(delta, 0.0, atol=1e-9)
    r = random_yaw(poses, np.random.default_rng(0))
    np.testing.assert_allclose(bone_lengths(r), bone_lengths(poses))


def test_mix_keeps_lengths_of_a_legs_of_a_and_torso_direction_of_b():
    a = random_poses(50, seed=3)
    b = random_poses(50, seed=4) * 1.2
    out = mix_upper_lower(a, b)
    np.testing.assert_allclose(bone_lengths(out), bone_lengths(a), rtol=1e-6)
    legs = [J[n] for n in ("r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle")]
    np.testing.assert_allclose(out[:, legs], a[:, legs], atol=1e-9)
    # B's torso, turned so its hip line matches A's yaw
    b_turned = rotate_yaw(b, hip_yaw(a) - hip_yaw(b))
    k = [i for i, (p, c) in enumerate(BONES) if c == J["spine"]][0]
    u = bone_vectors(out)[:, k] / np.linalg.norm(bone_vectors(out)[:, k], axis=-1, keepdims=True)
    w = bone_vectors(b_turned)[:, k] / np.linalg.norm(bone_vectors(b_turned)[:, k], axis=-1, keepdims=True)
    np.testing.assert_allclose(u, w, atol=1e-6)


def test_direction_noise_and_batch_recipe_keep_valid_skeletons():
    rng = np.random.default_rng(5)
    poses = random_poses(1024).astype(np.float32)
    noisy = bone_direction_noise(poses, rng, 0.05)
    np.testing.assert_allclose(bone_lengths(noisy), bone_lengths(poses), rtol=1e-4)
    assert np.abs(noisy - poses).max() > 1e-3
    lengths = random_bone_lengths(1024, rng)
    out = augment_batch(poses, rng, lengths=lengths, direction_sigma=0.02)
    assert out.shape == poses.shape and out.dtype == np.float32 and np.isfinite(out).all()
    np.testing.assert_allclose(bone_lengths(out), lengths, rtol=1e-4)
    np.testing.assert_allclose(out[:, 0], 0.0, atol=1e-7)
