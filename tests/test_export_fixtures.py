"""Shared helpers for the export tests (no tests here): a synthetic motion and FrameResults built around it."""
from __future__ import annotations

import numpy as np

from core.camera import intrinsics_from_fov, world_to_camera
from core.records import Candidates, Detection, Estimate3D, Frame, FrameResult, Person, Roi
from core.skeleton import JOINT_INDEX
from export.bvh import RIG, forward_kinematics
from export.ik import rest_from_positions


def synthetic_motion(frames: int = 240, fps: float = 30.0, seed: int = 0, noise: float = 0.01) -> np.ndarray:
    """(T, 17, 3) world poses (+Y up, metres): a figure that walks a circle (turning a full 360 deg), with smooth
    random joint angles on every rig joint including the branch helpers (so the pelvis / shoulder-girdle shapes
    change), knees and elbows that pass through fully straight, plus independent per-joint noise (so bone lengths
    vary from frame to frame as in lifter output)."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / fps
    motion = np.zeros((frames, 3 + 3 * len(RIG)))
    angle = 2 * np.pi * t / t[-1] if frames > 1 else t
    motion[:, 0], motion[:, 1], motion[:, 2] = 1.5 * np.cos(angle), 0.95, 3.0 + 1.5 * np.sin(angle)
    for k, r in enumerate(RIG):
        amp = 8.0 if r.joint < 0 else 30.0
        f = rng.uniform(0.2, 1.0, size=3)
        phase = rng.uniform(0, 2 * np.pi, size=3)
        motion[:, 3 + 3 * k:6 + 3 * k] = amp * np.sin(2 * np.pi * f * t[:, None] + phase)
        hinge = {"r_knee": "X", "l_knee": "X", "l_elbow": "Y", "r_elbow": "Y"}.get(r.name)
        if hinge:  # a hinge that goes from straight (and slightly past it) to 100 deg
            col = 3 + 3 * k + r.order.index(hinge)
            sign = -1.0 if r.name == "l_elbow" else 1.0   # flexion: knees backwards, elbows forwards
            motion[:, 3 + 3 * k:6 + 3 * k] *= 0.1
            motion[:, col] = sign * (45.0 + 55.0 * np.sin(2 * np.pi * f[0] * t + phase[0]))
    motion[:, 3] += np.degrees(angle)  # heading (the root's first channel is Y)
    rest = rest_from_positions(None)
    poses = forward_kinematics(rest, motion)
    return poses + noise * rng.normal(size=poses.shape)


def make_result(index: int, pose_world: np.ndarray | None = None, person_id: int = 0, fps: float = 30.0,
                hypotheses: int = 4, extra_people: int = 0, seed: int = 0) -> FrameResult:
    """A FrameResult with one person at pose_world (+ extra_people random others), or nobody when None."""
    rng = np.random.default_rng(seed + index)
    w, h = 640, 480
    k = intrinsics_from_fov(w, h)
    frame = Frame(index=index, timestamp=index / fps, image=np.zeros((h, w, 3), np.uint8), source="synthetic")
    persons = []
    poses = [] if pose_world is None else [(person_id, pose_world)]
    poses += [(person_id + 1 + i, pose_world if pose_world is not None else np.zeros((17, 3)))
              for i in range(extra_people)]
    for pid, pose in poses:
        cam = world_to_camera(pose)
        if pid != person_id:
            cam = cam + np.array([1.0, 0.0, 0.5])
        root = cam[JOINT_INDEX["pelvis"]]
        rel = cam - root
        hyp = rel[None] + 0.02 * rng.normal(size=(hypotheses, 17, 3))
        cov = np.repeat(np.eye(3)[None] * 4e-4, 17, axis=0)
        uv = cam[:, :2] / cam[:, 2:] * k[0, 0] + k[:2, 2]
        xy = np.repeat(uv[:, None], 5, axis=1) + rng.normal(size=(17, 5, 2))
        box = np.array([uv[:, 0].min(), uv[:, 1].min(), uv[:, 0].max(), uv[:, 1].max()])
        det = Detection(score=0.9, bbox=box, roi=Roi(float(box[[0, 2]].mean()), float(box[[1, 3]].mean()), 200.0))
        persons.append(Person(
            id=pid, detection=det,
            candidates=Candidates(xy=xy, likelihood=rng.uniform(0.2, 1.0, size=(17, 5))),
            estimate=Estimate3D(hypotheses=hyp, mean=rel, covariance=cov, root_translation=root)))
    return FrameResult(frame=frame, persons=persons, intrinsics=k, timings_ms={"lifter": 3.5})
