"""Everyday poses the mocap sets barely contain, built from their poses: seated, kneeling, crouching and floor-sitting
lower bodies (hip and knee flexion within joint limits), lying bodies, and hands reaching the face or head (eating,
drinking, phoning, photographing, touching the head). Vectorised numpy over a batch (M, 17, 3), world +Y up; rng in.

Open seated mocap is scarce (cmu_01_14 has a few stool clips), so the lifter learns these postures from this generator
combined with real upper bodies of every set. Angle ranges (degrees) follow the usual ranges of motion: hip flexion
up to ~125-140, knee flexion up to ~140-150 (e.g. AAOS / Soucie et al. 2011, Haemophilia 17:500); the leg is a hinge
at the knee, thighs may abduct, the upper body may lean. Each lower-body kind is one row of LOWER_KINDS.
"""
from __future__ import annotations

import numpy as np

from core.skeleton import BONES, JOINT_INDEX as J
from lifter.data.retarget import UPPER_BONES, bone_lengths, bone_vectors, from_bone_vectors

# kind: (hip flexion, knee flexion, abduction, upper-body lean forward, shin twist towards the midline), each a
# (low, high) range in degrees; a per-leg jitter of JITTER_DEG is added to flexions and abduction.
LOWER_KINDS = {
    "chair":      ((65, 110), (50, 120), (-5, 25), (-15, 25), (-10, 10)),
    "stool":      ((35, 80), (15, 100), (-5, 20), (-10, 20), (-10, 10)),
    "crouch":     ((95, 140), (100, 150), (5, 35), (10, 50), (-10, 15)),
    "kneel":      ((-10, 30), (80, 150), (0, 15), (-15, 35), (-10, 10)),
    "floor_sit":  ((70, 105), (0, 45), (0, 30), (-30, 15), (-10, 10)),
    "cross_legs": ((55, 95), (115, 150), (30, 55), (-20, 20), (50, 85)),
}
KIND_NAMES = tuple(LOWER_KINDS)
JITTER_DEG = 10.0
_BONE = {c: b for b, (_, c) in enumerate(BONES)}
LEG_BONES = {"r": (_BONE[J["r_knee"]], _BONE[J["r_ankle"]]), "l": (_BONE[J["l_knee"]], _BONE[J["l_ankle"]])}
ARM_BONES = {"r": (_BONE[J["r_elbow"]], _BONE[J["r_wrist"]]), "l": (_BONE[J["l_elbow"]], _BONE[J["l_wrist"]])}


def _unit(v: np.ndarray) -> np.ndarray:
    return v / (np.linalg.norm(v, axis=-1, keepdims=True) + 1e-9)


def _rotate(v: np.ndarray, axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rodrigues: rotate vectors v (M, ..., 3) about unit axes (M, 3) by angles (M,) radians."""
    shape = (-1,) + (1,) * (v.ndim - 2) + (3,)
    k = axis.reshape(shape)
    c, s = np.cos(angle).reshape(shape[:-1] + (1,)), np.sin(angle).reshape(shape[:-1] + (1,))
    return v * c + np.cross(k, v) * s + k * (k * v).sum(-1, keepdims=True) * (1 - c)


def body_frame(poses: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(up, left, forward) unit vectors (M, 3) each: the trunk axis, the right->left hip line made orthogonal to it,
    and forward = left x up (the way the subject faces)."""
    up = _unit(poses[:, J["thorax"]] - poses[:, J["pelvis"]])
    lat = poses[:, J["l_hip"]] - poses[:, J["r_hip"]]
    lat = _unit(lat - (lat * up).sum(-1, keepdims=True) * up)
    return up, lat, np.cross(lat, up)


def _range(rng: np.random.Generator, lohi, n: int) -> np.ndarray:
    return np.radians(rng.uniform(lohi[0], lohi[1], n))


def everyday_lower(poses: np.ndarray, rng: np.random.Generator, kinds: np.ndarray | None = None) -> np.ndarray:
    """Replace the legs (and lean the upper body) with a generated seated / kneeling / crouching / floor posture.

    Bone lengths and the upper body's shape are kept. kinds: (M,) indices into KIND_NAMES (random when None)."""
    m = len(poses)
    if kinds is None:
        kinds = rng.integers(0, len(KIND_NAMES), m)
    up, lat, fwd = body_frame(poses)
    v = bone_vectors(poses).astype(np.float64)
    length = bone_lengths(poses)
    ranges = np.array([LOWER_KINDS[k] for k in KIND_NAMES], dtype=np.float64)[kinds]   # (M, 5, 2)
    base = np.radians(rng.uniform(ranges[..., 0], ranges[..., 1]))                       # (M, 5)
    for side, sign in (("r", -1.0), ("l", 1.0)):
        jit = np.radians(rng.normal(0.0, JITTER_DEG, (m, 3)))
        hip, knee, abd = base[:, 0] + jit[:, 0], np.clip(base[:, 1] + jit[:, 1], 0, np.radians(155)), base[:, 2] + jit[:, 2]
        outward = sign * lat
        thigh = _unit(np.cos(hip)[:, None] * -up + np.sin(hip)[:, None] * fwd)
        thigh = _unit(_rotate(thigh, _unit(np.cross(thigh, outward)), abd))     # swing the knee outwards
        hinge = _unit(lat - (lat * thigh).sum(-1, keepdims=True) * thigh)         # knee axis, across the leg
        shin = _rotate(thigh, hinge, knee)                                        # flexion: the ankle goes back
        shin = _rotate(shin, thigh, -sign * base[:, 4])                           # shin twisted towards the midline
        b_thigh, b_shin = LEG_BONES[side]
        v[:, b_thigh] = thigh * length[:, b_thigh, None]
        v[:, b_shin] = _unit(shin) * length[:, b_shin, None]
    # Lean the upper body forward (positive) about the hip line, through the pelvis.
    v[:, UPPER_BONES] = _rotate(v[:, UPPER_BONES], lat, base[:, 3])
    return from_bone_vectors(v, poses[:, 0].astype(np.float64)).astype(np.float32)


def lie_down(poses: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Turn whole bodies to lying: on the back, front or a side (the trunk within +-20 deg of horizontal)."""
    m = len(poses)
    up, lat, fwd = body_frame(poses)
    tilt = np.radians(rng.uniform(70, 110, m))
    around = rng.integers(0, 4, m)   # 0 back, 1 front, 2 left side, 3 right side
    axis = np.where((around < 2)[:, None], lat, fwd)
    angle = np.where(around % 2 == 0, tilt, -tilt)
    centred = poses - poses[:, :1]
    return (_rotate(centred, axis, angle) + poses[:, :1]).astype(np.float32)


FACE_KINDS = ("mouth", "ear", "camera", "head")


def _face_targets(poses: np.ndarray, rng: np.random.Generator, side_sign: np.ndarray, kind: np.ndarray,
                  lat: np.ndarray) -> np.ndarray:
    """Wrist targets (M, 3) near the face: mouth (eat, drink), ear (phone), in front of the face (camera), on the
    head (scratch, hold). side_sign: +1 left arm, -1 right arm; lat: the body frame's left axis."""
    up_h = _unit(poses[:, J["head"]] - poses[:, J["neck"]])
    fwd_h = _unit(np.cross(lat, up_h))
    neck, head = poses[:, J["neck"]], poses[:, J["head"]]
    mouth = neck + 0.25 * (head - neck) + 0.12 * fwd_h
    ear = neck + 0.45 * (head - neck) + 0.09 * side_sign[:, None] * lat
    camera = neck + 0.4 * (head - neck) + rng.uniform(0.18, 0.35, (len(poses), 1)) * fwd_h \
        + 0.06 * side_sign[:, None] * lat
    top = head + 0.04 * side_sign[:, None] * lat - 0.03 * fwd_h
    t = np.select([kind[:, None] == 0, kind[:, None] == 1, kind[:, None] == 2], [mouth, ear, camera], top)
    return t + rng.normal(0.0, 0.025, t.shape)


def reach_face(poses: np.ndarray, rng: np.random.Generator, arms: np.ndarray | None = None) -> np.ndarray:
    """Bend one or both arms so the wrist reaches a point at the face or head (two-bone IK, random elbow swivel).

    arms: (M,) 0 right, 1 left, 2 both (random when None). "camera" (both hands in front of the face) is chosen
    for both arms together."""
    m = len(poses)
    if arms is None:
        arms = rng.integers(0, 3, m)
    kind = rng.integers(0, len(FACE_KINDS), m)
    kind = np.where(arms == 2, np.where(rng.random(m) < 0.5, 2, kind), kind)
    up, lat, fwd = body_frame(poses)
    v = bone_vectors(poses).astype(np.float64)
    length = bone_lengths(poses)
    out = poses.astype(np.float64)
    for side, sign, active in (("r", -1.0, arms != 1), ("l", 1.0, arms >= 1)):
        if not active.any():
            continue
        shoulder = out[:, J[f"{side}_shoulder"]]
        b_up, b_fore = ARM_BONES[side]
        a, b = length[:, b_up].astype(np.float64), length[:, b_fore].astype(np.float64)
        target = _face_targets(out, rng, np.full(m, sign), kind, lat)
        d = target - shoulder
        dist = np.clip(np.linalg.norm(d, axis=-1), np.abs(a - b) + 1e-3, a + b - 1e-3)
        u = _unit(d)
        cos_a = np.clip((a * a + dist * dist - b * b) / (2 * a * dist), -1, 1)
        # Elbow direction: down and outwards, made orthogonal to the shoulder->wrist line, swivelled at random.
        w = -up + 0.6 * sign * lat
        w = _unit(w - (w * u).sum(-1, keepdims=True) * u)
        w = _rotate(w, u, np.radians(rng.uniform(-35, 35, m)))
        elbow = shoulder + a[:, None] * (cos_a[:, None] * u + np.sqrt(1 - cos_a**2)[:, None] * w)
        wrist = shoulder + dist[:, None] * u
        v[active, b_up] = (elbow - shoulder)[active]
        v[active, b_fore] = (wrist - elbow)[active]
    return from_bone_vectors(v, poses[:, 0].astype(np.float64)).astype(np.float32)
