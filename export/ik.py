"""Inverse kinematics for the BVH export: joint rotations from 3D joint positions of our 17-joint skeleton.

World frame: +Y up, metres; the rest pose faces +Z with the subject's left along +X (the BVH habit).

The rig is our 17 joints plus one zero-offset helper joint "<child>_base" for every bone that leaves a branching
joint (pelvis -> hips and spine, thorax -> neck and shoulders), as CMU's BVH files do with LHipJoint and the
clavicles. One rotation per joint cannot point three child bones along arbitrary directions (the angles between
them change from frame to frame in real motion), so the branching joint's own rotation is the body frame and each
helper turns its one bone from the rest direction onto the observed one. With bone lengths fixed to the
sequence's medians, forward kinematics then reproduces the (bone-length-normalised) positions exactly.

Rotations:
- pelvis / thorax: a full frame, x = right->left hip (shoulder) axis, y = the spine (neck) bone made orthogonal.
- helpers: the shortest rotation from the rest direction (median over the sequence, in the branching frame) to
  the observed direction.
- hips and shoulders: the bone direction plus the limb's bend-plane normal n = upper x lower bone; knees and elbows
  use the same normal, so their local rotation is a pure hinge and all twist sits in the hip / shoulder.
  Near-straight limbs have no reliable normal (noise of a few mm turns it by tens of degrees): below 20 deg of
  bend its sign is taken from a reference and it fades linearly into that reference, which it equals below 5 deg.
  The reference keeps the twist (about the upper bone) of the last frame bent >= 20 deg, measured from the
  "twist-free" normal: the rest normal carried by the shortest turn of the upper bone from its rest direction in
  the pelvis / thorax frame (so it follows the body and the bone). Before any such frame the twist is 0. So a
  straight leg or a hanging arm jittering around 0 deg never flips.
- spine and neck: the bone direction plus the lateral axis of the pelvis+thorax (thorax) frames made orthogonal.
- ankles, wrists, head (leaves): no child bone, so no observable rotation; their local rotation is the identity.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.skeleton import CHILDREN, JOINT_INDEX, JOINT_NAMES, NUM_JOINTS, PARENTS

_X, _Y = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
_J = JOINT_INDEX

# Rest direction of every bone (indexed by its child joint), T-pose, facing +Z, left = +X.
REST_DIRECTION = np.zeros((NUM_JOINTS, 3))
for _name, _d in {
    "r_hip": -_X, "r_knee": -_Y, "r_ankle": -_Y, "l_hip": _X, "l_knee": -_Y, "l_ankle": -_Y,
    "spine": _Y, "thorax": _Y, "neck": _Y, "head": _Y,
    "l_shoulder": _X, "l_elbow": _X, "l_wrist": _X, "r_shoulder": -_X, "r_elbow": -_X, "r_wrist": -_X,
}.items():
    REST_DIRECTION[_J[_name]] = _d

# Typical adult bone lengths (metres, indexed by the child joint): used only when there is no pose at all.
DEFAULT_LENGTHS = np.zeros(NUM_JOINTS)
for _name, _l in {
    "r_hip": 0.13, "r_knee": 0.45, "r_ankle": 0.44, "l_hip": 0.13, "l_knee": 0.45, "l_ankle": 0.44,
    "spine": 0.23, "thorax": 0.25, "neck": 0.11, "head": 0.11,
    "l_shoulder": 0.15, "l_elbow": 0.28, "l_wrist": 0.25, "r_shoulder": 0.15, "r_elbow": 0.28, "r_wrist": 0.25,
}.items():
    DEFAULT_LENGTHS[_J[_name]] = _l

BRANCHES = tuple(j for j in range(NUM_JOINTS) if len(CHILDREN[j]) > 1)          # pelvis, thorax
LEAVES = tuple(j for j in range(NUM_JOINTS) if not CHILDREN[j])                   # ankles, head, wrists
# Limbs as (upper, middle, lower, branching joint whose frame keeps the reference normal, rest bend normal).
# Rest normals: knees bend backwards (-Z) -> +X; elbows bend forwards (+Z) from a T-pose -> -Y (left), +Y (right).
LIMBS = (
    (_J["r_hip"], _J["r_knee"], _J["r_ankle"], _J["pelvis"], _X),
    (_J["l_hip"], _J["l_knee"], _J["l_ankle"], _J["pelvis"], _X),
    (_J["l_shoulder"], _J["l_elbow"], _J["l_wrist"], _J["thorax"], -_Y),
    (_J["r_shoulder"], _J["r_elbow"], _J["r_wrist"], _J["thorax"], _Y),
)
STRAIGHT_SIN = np.sin(np.radians(20.0))      # below this bend the measured normal is faded out...
STRAIGHT_SIN_LOW = np.sin(np.radians(5.0))   # ...until here, where only the reference is left


@dataclass
class Rest:
    """The fixed part of the rig: bone lengths and rest directions (indexed by the bone's child joint)."""
    lengths: np.ndarray      # (17,) metres; entry 0 unused
    directions: np.ndarray   # (17, 3) unit; bones leaving a branching joint use the sequence's median direction

    @property
    def offsets(self) -> np.ndarray:
        return self.lengths[:, None] * self.directions


def _unit(v: np.ndarray, fallback: np.ndarray | None = None) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    out = v / np.where(n > 1e-12, n, 1.0)
    if fallback is not None:
        out = np.where(n > 1e-12, out, fallback)
    return out


def _orthogonal(v: np.ndarray, axis: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Unit part of v orthogonal to the unit vector axis; fallback (made orthogonal too) where v is parallel."""
    w = v - np.sum(v * axis, axis=-1, keepdims=True) * axis
    f = fallback - np.sum(fallback * axis, axis=-1, keepdims=True) * axis
    # A fallback parallel to the axis too: any perpendicular will do.
    any_perp = np.cross(axis, np.where(np.abs(axis[..., :1]) < 0.9, _X, _Y))
    f = np.where(np.linalg.norm(f, axis=-1, keepdims=True) > 1e-6, f, any_perp)
    return _unit(np.where(np.linalg.norm(w, axis=-1, keepdims=True) > 1e-9, w, f))


def frame_from(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations with columns [primary, secondary made orthogonal, their cross product]."""
    a = _unit(primary)
    b = _orthogonal(secondary, a, np.broadcast_to(_Y, a.shape))
    return np.stack([a, b, np.cross(a, b)], axis=-1)


def _align(rest_a: np.ndarray, rest_b: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation taking the orthonormal pair (rest_a, rest_b) onto the orthonormal pair (a, b)."""
    m_rest = np.stack([rest_a, rest_b, np.cross(rest_a, rest_b)], axis=-1)
    m = np.stack([a, b, np.cross(a, b)], axis=-1)
    return m @ np.swapaxes(m_rest, -1, -2)


def shortest_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(..., 3, 3) the smallest rotation taking unit vectors a onto unit vectors b (Rodrigues)."""
    v = np.cross(a, b)
    c = np.sum(a * b, axis=-1)
    # Opposite vectors: turn 180 deg about any axis perpendicular to a.
    perp = _orthogonal(np.broadcast_to(_X, a.shape), a, np.broadcast_to(_Y, a.shape))
    k = np.zeros(a.shape + (3,))
    k[..., 0, 1], k[..., 0, 2], k[..., 1, 2] = -v[..., 2], v[..., 1], -v[..., 0]
    k = k - np.swapaxes(k, -1, -2)
    eye = np.broadcast_to(np.eye(3), k.shape)
    opposite = c < -1.0 + 1e-9
    r = eye + k + (k @ k) / np.where(opposite, 1.0, 1.0 + c)[..., None, None]
    r180 = 2.0 * perp[..., :, None] * perp[..., None, :] - eye
    return np.where(opposite[..., None, None], r180, r)


def bone_vectors(positions: np.ndarray) -> np.ndarray:
    """(T, 17, 3) child minus parent for every bone (entry 0 is zero)."""
    out = np.zeros_like(positions)
    for c, p in enumerate(PARENTS):
        if p >= 0:
            out[:, c] = positions[:, c] - positions[:, p]
    return out


def bone_directions(positions: np.ndarray) -> np.ndarray:
    """(T, 17, 3) unit bone directions; a zero-length bone takes its rest direction."""
    return _unit(bone_vectors(positions), REST_DIRECTION)


def branch_frames(directions: np.ndarray) -> dict[int, np.ndarray]:
    """Global rotation (T, 3, 3) of each branching joint: x = right->left axis of its two side children, y = its
    middle child's bone (spine for the pelvis, neck for the thorax)."""
    out = {}
    for b in BRANCHES:
        kids = CHILDREN[b]
        left = next(c for c in kids if JOINT_NAMES[c].startswith("l_"))
        right = next(c for c in kids if JOINT_NAMES[c].startswith("r_"))
        middle = next(c for c in kids if c not in (left, right))
        out[b] = frame_from(directions[:, left] - directions[:, right], directions[:, middle])
    return out


def rest_from_positions(positions: np.ndarray | None) -> Rest:
    """Bone lengths = medians over the frames; bones leaving a branching joint point along their median direction
    in that joint's frame; all other bones along REST_DIRECTION. No frames -> default lengths and a T-pose."""
    directions = REST_DIRECTION.copy()
    if positions is None or len(positions) == 0:
        return Rest(DEFAULT_LENGTHS.copy(), directions)
    lengths = np.median(np.linalg.norm(bone_vectors(positions), axis=-1), axis=0)
    lengths[0] = 0.0
    d = bone_directions(positions)
    for b, g in branch_frames(d).items():
        for c in CHILDREN[b]:
            local = np.einsum("tba,tb->ta", g, d[:, c])   # g^T d
            directions[c] = _unit(np.median(local, axis=0), REST_DIRECTION[c])
    return Rest(lengths, directions)


def normalise_bones(positions: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Same root and bone directions, bone lengths replaced by `lengths` (parents come before children)."""
    d = bone_directions(positions)
    out = np.empty_like(positions)
    out[:, 0] = positions[:, 0]
    for c, p in enumerate(PARENTS):
        if p >= 0:
            out[:, c] = out[:, p] + lengths[c] * d[:, c]
    return out


def _bend_normals(d: np.ndarray, frames: dict[int, np.ndarray], limb) -> np.ndarray:
    """(T, 3) unit normal of the limb's bend plane, orthogonal to the upper bone, kept flip-free (module docstring)."""
    upper, middle, lower, branch, rest_normal = limb
    g = frames[branch]
    bone = d[:, middle]
    raw = np.cross(bone, d[:, lower])                    # |raw| = sin(bend angle)
    s = np.linalg.norm(raw, axis=-1)
    unit = _unit(raw)
    # Twist-free normal: the rest normal carried along by the shortest turn of the bone from its rest direction
    # (in the branching joint's frame, so it follows the body). Always orthogonal to the bone.
    local_bone = np.einsum("tba,tb->ta", g, bone)
    swing = shortest_rotation(np.broadcast_to(REST_DIRECTION[middle], local_bone.shape), local_bone)
    n0 = np.einsum("tab,tbc,c->ta", g, swing, rest_normal)
    side = np.cross(bone, n0)
    # Reference: the twist (angle of the measured normal about the bone, from n0) of the last reliable frame.
    twist = np.arctan2(np.sum(side * unit, axis=-1), np.sum(n0 * unit, axis=-1))
    reliable = s >= STRAIGHT_SIN
    last = np.maximum.accumulate(np.where(reliable, np.arange(len(s)), -1))
    ref_twist = np.where(last >= 0, twist[np.maximum(last, 0)], 0.0)[:, None]
    ref = np.cos(ref_twist) * n0 + np.sin(ref_twist) * side
    # Below STRAIGHT_SIN the measured normal takes its sign from the reference and fades into it.
    flip = (~reliable) & (np.sum(unit * ref, axis=-1) < 0.0)
    unit = np.where(flip[:, None], -unit, unit)
    w = np.clip((s - STRAIGHT_SIN_LOW) / (STRAIGHT_SIN - STRAIGHT_SIN_LOW), 0.0, 1.0)[:, None]
    return _orthogonal(w * unit + (1.0 - w) * ref, bone, ref)


def global_rotations(positions: np.ndarray, rest: Rest) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Global rotations (T, 17, 3, 3) of our joints and (T, 3, 3) of each helper (keyed by its child joint) such
    that p_child = p_parent + G_parent @ offset_child reproduces positions normalised to rest.lengths."""
    d = bone_directions(positions)
    t = len(positions)
    g = np.empty((t, NUM_JOINTS, 3, 3))
    frames = branch_frames(d)
    for b, f in frames.items():
        g[:, b] = f
    helpers = {}
    for b in BRANCHES:
        for c in CHILDREN[b]:
            helpers[c] = shortest_rotation(np.einsum("tab,b->ta", frames[b], rest.directions[c]), d[:, c]) @ frames[b]
    for upper, middle, lower, branch, rest_normal in LIMBS:
        n = _bend_normals(d, frames, (upper, middle, lower, branch, rest_normal))
        rest_n = np.broadcast_to(rest_normal, (t, 3))
        g[:, upper] = _align(np.broadcast_to(REST_DIRECTION[middle], (t, 3)), rest_n, d[:, middle], n)
        n_lower = _orthogonal(n, d[:, lower], n)
        g[:, middle] = _align(np.broadcast_to(REST_DIRECTION[lower], (t, 3)), rest_n, d[:, lower], n_lower)
    lateral = {"spine": frames[_J["pelvis"]][:, :, 0] + frames[_J["thorax"]][:, :, 0],
               "neck": frames[_J["thorax"]][:, :, 0]}
    for name, side in lateral.items():
        j = _J[name]
        (child,) = CHILDREN[j]
        rest_side = np.broadcast_to(_X, (t, 3))
        g[:, j] = _align(np.broadcast_to(REST_DIRECTION[child], (t, 3)), rest_side,
                         d[:, child], _orthogonal(side, d[:, child], _unit(np.cross(_Y, d[:, child]), _X)))
    for leaf in LEAVES:
        g[:, leaf] = g[:, PARENTS[leaf]]
    return g, helpers


def rest_pose(rest: Rest) -> np.ndarray:
    """(17, 3) joint positions of the rest pose (T-pose facing +Z), pelvis at the origin."""
    out = np.zeros((NUM_JOINTS, 3))
    for c, p in enumerate(PARENTS):
        if p >= 0:
            out[c] = out[p] + rest.offsets[c]
    return out
