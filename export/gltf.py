"""glTF 2.0 (.glb) export: a skinned, animated skeleton for engines and DCC tools (pygltflib writes the file).

One node per joint of our 17-joint skeleton (names from a preset, export/names.py), parented as in core/skeleton.py,
and one mesh node: a thin four-sided "bone" per parent -> child segment, skinned rigidly to the parent joint, so
viewers show the skeleton moving. The animation (LINEAR) has, per frame, every joint's local rotation and local
translation (the root's is its position in the world); the key times are the source frames' timestamps (from 0).

Rotations come from the same inverse kinematics as the BVH (export/ik.py: global_rotations). Unlike the BVH, bone
lengths are NOT normalised to their medians: every joint's local translation is animated as well, so the joints'
world positions reproduce the recorded poses (the JSON Lines `pose_3d_world`) exactly, up to float32 rounding. As in
the BVH, one vertical shift puts the floor at y = 0 (export.bvh.ground_height; kept in the scene's extras as
`ground_height_m`: add it back to y to get the JSON Lines coordinates). glTF axes: +Y up, metres, the subject's
rest pose a T-pose facing +Z (the same world frame as the JSON Lines).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pygltflib as gl
from scipy.spatial.transform import Rotation

from core.outputs import atomic_write
from core.skeleton import CHILDREN, NUM_JOINTS, PARENTS
from export.bvh import ground_height
from export.ik import global_rotations, rest_from_positions, rest_pose
from export.names import joint_names

MESH_NODE = NUM_JOINTS           # the skinned mesh's node comes after the joints
BONE_RADIUS = 0.08               # bone mesh half-width as a fraction of the bone's length


@dataclass
class GltfMotion:
    """What the file encodes (float64 here; float32 in the file)."""
    times: np.ndarray          # (T,) seconds from the first frame
    rotations: np.ndarray      # (T, 17, 4) local rotations, quaternions x y z w
    translations: np.ndarray   # (T, 17, 3) local translations (the root's: its world position), metres
    positions: np.ndarray      # (T, 17, 3) the joints' world positions these give (grounded poses)
    ground: float              # the height subtracted from y


def key_times(timestamps, fps: float) -> np.ndarray:
    """Seconds from the first frame: the timestamps when they increase strictly, else frame index / fps."""
    t = np.asarray(timestamps, dtype=np.float64)
    if len(t) > 1 and np.all(np.diff(t) > 0) and np.isfinite(t).all():
        return t - t[0]
    return np.arange(len(t), dtype=np.float64) / fps


def solve(positions: np.ndarray, ground: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(T, 17, 3) +Y-up poses -> local rotations (T, 17, 4), local translations (T, 17, 3), the grounded poses and
    the ground height. Exact: forward kinematics of these gives the grounded poses back."""
    p = np.array(positions, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (NUM_JOINTS, 3) or not len(p):
        raise ValueError(f"positions must be (T>0, {NUM_JOINTS}, 3), got {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("positions contain NaN or inf")
    height = ground_height(p) if ground else 0.0
    p[..., 1] -= height
    g, _ = global_rotations(p, rest_from_positions(p))
    local_r = np.empty_like(g)
    local_t = np.empty_like(p)
    local_r[:, 0], local_t[:, 0] = g[:, 0], p[:, 0]
    for c, parent in enumerate(PARENTS):
        if parent >= 0:
            inv = np.swapaxes(g[:, parent], -1, -2)
            local_r[:, c] = inv @ g[:, c]
            local_t[:, c] = np.einsum("tab,tb->ta", inv, p[:, c] - p[:, parent])
    quats = Rotation.from_matrix(local_r.reshape(-1, 3, 3)).as_quat().reshape(len(p), NUM_JOINTS, 4)
    # Same hemisphere as the previous key, so interpolation between keys takes the short way round.
    for t in range(1, len(quats)):
        flip = np.sum(quats[t] * quats[t - 1], axis=-1) < 0
        quats[t, flip] *= -1.0
    return quats, local_t, p, height


def forward_kinematics(rotations: np.ndarray, translations: np.ndarray) -> np.ndarray:
    """(T, 17, 3) world positions of the joints from local quaternions (x y z w) and translations: for checks."""
    t = len(rotations)
    rot = Rotation.from_quat(rotations.reshape(-1, 4)).as_matrix().reshape(t, NUM_JOINTS, 3, 3)
    g = np.empty_like(rot)
    out = np.empty((t, NUM_JOINTS, 3))
    for c, parent in enumerate(PARENTS):   # parents come before children
        if parent < 0:
            g[:, c], out[:, c] = rot[:, c], translations[:, c]
        else:
            g[:, c] = g[:, parent] @ rot[:, c]
            out[:, c] = out[:, parent] + np.einsum("tab,tb->ta", g[:, parent], translations[:, c])
    return out


class _Blob:
    """The binary chunk: bufferViews appended 4-byte aligned, with one accessor each."""

    def __init__(self, doc: gl.GLTF2):
        self.doc, self.data = doc, bytearray()

    def add(self, array: np.ndarray, kind: str, component: int, target: int | None = None,
            minmax: bool = False) -> int:
        raw = np.ascontiguousarray(array).tobytes()
        self.data += b"\0" * (-len(self.data) % 4)
        self.doc.bufferViews.append(gl.BufferView(buffer=0, byteOffset=len(self.data), byteLength=len(raw),
                                                  target=target))
        self.data += raw
        flat = np.asarray(array).reshape(len(array), -1)
        acc = gl.Accessor(bufferView=len(self.doc.bufferViews) - 1, componentType=component, count=len(array),
                          type=kind)
        if minmax:
            acc.min, acc.max = flat.min(axis=0).tolist(), flat.max(axis=0).tolist()
        self.doc.accessors.append(acc)
        return len(self.doc.accessors) - 1


def _bone_mesh(bind: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices (V, 3) in the bind pose, the joint each follows (V,), triangle indices (F*3,): a pointed four-sided
    shape from every joint to each of its children."""
    verts, joints, tris = [], [], []
    for c, parent in enumerate(PARENTS):
        if parent < 0:
            continue
        a, b = bind[parent], bind[c]
        axis = b - a
        length = float(np.linalg.norm(axis))
        d = axis / length
        u = np.cross(d, [0.0, 0.0, 1.0] if abs(d[2]) < 0.9 else [1.0, 0.0, 0.0])
        u /= np.linalg.norm(u)
        v = np.cross(d, u)
        r = BONE_RADIUS * length
        ring = [a + 0.2 * axis + r * w for w in (u, v, -u, -v)]
        base = len(verts)
        verts += [a, *ring, b]
        joints += [parent] * 6
        for k in range(4):
            k2 = (k + 1) % 4
            tris += [base, base + 1 + k2, base + 1 + k, base + 5, base + 1 + k, base + 1 + k2]
    return np.array(verts, np.float32), np.array(joints), np.array(tris, np.uint16)


def gltf_document(motion: GltfMotion, names: str | None = None, extras: dict | None = None) -> gl.GLTF2:
    """The glTF document of a motion (binary chunk set; save with .save_binary)."""
    labels = joint_names(names)
    rest = rest_from_positions(motion.positions)
    bind = rest_pose(rest)
    bind[:, 1] -= bind[:, 1].min()                         # the T-pose stands on the floor
    doc = gl.GLTF2(asset=gl.Asset(version="2.0", generator="diffmocap export/gltf.py"))
    blob = _Blob(doc)
    for c in range(NUM_JOINTS):
        offset = bind[c] - (bind[PARENTS[c]] if PARENTS[c] >= 0 else 0.0)
        doc.nodes.append(gl.Node(name=labels[c], translation=offset.tolist(), rotation=[0.0, 0.0, 0.0, 1.0],
                                 children=list(CHILDREN[c])))
    # Skin: bind matrices are the inverse of each joint's rest transform (a pure translation), column-major.
    ibm = np.tile(np.eye(4, dtype=np.float32), (NUM_JOINTS, 1, 1))
    ibm[:, :3, 3] = -bind
    doc.skins.append(gl.Skin(name="skeleton", joints=list(range(NUM_JOINTS)), skeleton=0,
                             inverseBindMatrices=blob.add(np.swapaxes(ibm, 1, 2), gl.MAT4, gl.FLOAT)))
    verts, vjoints, tris = _bone_mesh(bind)
    jv = np.zeros((len(verts), 4), np.uint8)
    jv[:, 0] = vjoints
    wv = np.zeros((len(verts), 4), np.float32)
    wv[:, 0] = 1.0
    attributes = gl.Attributes(POSITION=blob.add(verts, gl.VEC3, gl.FLOAT, gl.ARRAY_BUFFER, minmax=True),
                               JOINTS_0=blob.add(jv, gl.VEC4, gl.UNSIGNED_BYTE, gl.ARRAY_BUFFER),
                               WEIGHTS_0=blob.add(wv, gl.VEC4, gl.FLOAT, gl.ARRAY_BUFFER))
    indices = blob.add(tris, gl.SCALAR, gl.UNSIGNED_SHORT, gl.ELEMENT_ARRAY_BUFFER)
    doc.meshes.append(gl.Mesh(name="bones", primitives=[gl.Primitive(attributes=attributes, indices=indices)]))
    doc.nodes.append(gl.Node(name="skeleton_mesh", mesh=0, skin=0))
    # Animation: one shared time input; per joint a rotation and a translation sampler.
    times = blob.add(motion.times.astype(np.float32), gl.SCALAR, gl.FLOAT, minmax=True)
    anim = gl.Animation(name="motion")
    for c in range(NUM_JOINTS):
        for path, values, kind in (("rotation", motion.rotations[:, c], gl.VEC4),
                                   ("translation", motion.translations[:, c], gl.VEC3)):
            out = blob.add(values.astype(np.float32), kind, gl.FLOAT)
            anim.samplers.append(gl.AnimationSampler(input=times, output=out, interpolation="LINEAR"))
            anim.channels.append(gl.AnimationChannel(sampler=len(anim.samplers) - 1,
                                                     target=gl.AnimationChannelTarget(node=c, path=path)))
    doc.animations.append(anim)
    doc.scenes.append(gl.Scene(name="diffmocap", nodes=[0, MESH_NODE],
                               extras={"units": "m", "up": "+Y", "ground_height_m": motion.ground,
                                       "skeleton_names": names or "h36m", **(extras or {})}))
    doc.scene = 0
    doc.buffers.append(gl.Buffer(byteLength=len(blob.data)))
    doc.set_binary_blob(bytes(blob.data))
    return doc


def write_gltf(path: str | os.PathLike, positions: np.ndarray, times, fps: float = 30.0, ground: bool = True,
               names: str | None = None, extras: dict | None = None) -> GltfMotion:
    """Poses (T, 17, 3) metres, +Y-up world (as BvhSink / the JSON Lines' pose_3d_world) and their timestamps
    (seconds) -> a binary glTF at `path`, written atomically (temporary file + rename). fps: key spacing when the
    timestamps do not increase. Returns what it wrote."""
    data, motion = gltf_bytes(positions, times, fps, ground, names, extras)
    atomic_write(path, data)
    return motion


def gltf_bytes(positions: np.ndarray, times, fps: float = 30.0, ground: bool = True, names: str | None = None,
               extras: dict | None = None) -> tuple[bytes, GltfMotion]:
    """The binary glTF write_gltf writes, and what it encodes (for sinks that write it under their own names)."""
    rotations, translations, grounded, height = solve(positions, ground)
    motion = GltfMotion(key_times(times, fps), rotations, translations, grounded, height)
    return b"".join(gltf_document(motion, names, extras).save_to_bytes()), motion
