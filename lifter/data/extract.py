"""Source clip -> our 17 joints in metres, +Y up, at chosen frames (FK only on the frames that are kept)."""
from __future__ import annotations

import numpy as np

from lifter.data.asf_amc import AsfSkeleton, amc_fk
from lifter.data.bvh import BvhClip, bvh_fk
from lifter.data.sources import Source, mixing_matrix, to_world


def bvh_joints(clip: BvhClip, source: Source, frames: np.ndarray | None = None,
               with_toes: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """(F, 17, 3) metres (+ (F, 2, 3) left/right toe points when with_toes)."""
    pos, rot = bvh_fk(clip, frames, position_mode=source.position_mode, return_rotations=True)
    names = list(clip.skeleton.names)
    extra = {}
    if source.head_top is not None:
        joint, factor = source.head_top
        j = clip.skeleton.index(joint)
        top = pos[:, j] + np.einsum("fab,b->fa", rot[:, j], factor * clip.skeleton.offsets[j])
        pos = np.concatenate([pos, top[:, None]], axis=1)
        extra["@head_top"] = pos.shape[1] - 1
    ours = np.einsum("kj,fja->fka", mixing_matrix(source, names, extra), pos)
    ours = to_world(source, ours)
    if not with_toes:
        return ours
    toes = pos[:, [names.index(source.toes[0]), names.index(source.toes[1])]]
    return ours, to_world(source, toes)


def amc_joints(skel: AsfSkeleton, motion: dict[str, np.ndarray], source: Source, frames: np.ndarray | None = None,
               with_toes: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    pos = amc_fk(skel, motion, frames)          # already metres
    names = skel.joint_names
    ours = to_world(source, np.einsum("kj,fja->fka", mixing_matrix(source, names), pos))
    if not with_toes:
        return ours
    toes = pos[:, [names.index(source.toes[0]), names.index(source.toes[1])]]
    return ours, to_world(source, toes)


def resample_indices(num_frames: int, src_fps: float, fps: float) -> np.ndarray:
    """Nearest source frame for each output time k / fps inside the clip (no interpolation: keeps bone lengths)."""
    if num_frames <= 0:
        return np.zeros(0, dtype=int)
    duration = (num_frames - 1) / src_fps
    times = np.arange(0.0, duration + 1e-9, 1.0 / fps)
    return np.unique(np.clip(np.rint(times * src_fps).astype(int), 0, num_frames - 1))


def drop_near_duplicates(poses: np.ndarray, min_move: float) -> np.ndarray:
    """Indices of poses kept when a pose is dropped if no joint moved >= min_move (metres) since the last KEPT pose.

    Poses are compared root-centred. Comparing with the last kept pose (not the previous frame) keeps slow drifts.
    """
    if len(poses) == 0:
        return np.zeros(0, dtype=int)
    centred = poses - poses[:, :1]
    keep = [0]
    last = centred[0]
    for i in range(1, len(centred)):
        if np.sqrt(((centred[i] - last) ** 2).sum(-1)).max() >= min_move:
            keep.append(i)
            last = centred[i]
    return np.array(keep)
