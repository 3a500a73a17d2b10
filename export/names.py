"""Bone-name presets for the animation exports (BVH, glTF), so a file drops onto common rigs by name.

Each of our 17 joints (core/skeleton.py) is named after the rig bone whose pivot (head) sits closest to it:
our "thorax" (mid-shoulder) is where the rigs' neck bone starts, our "neck" (the nose at run time) is about where
the head bone turns, and our "head" (head top) is the head's end. The BVH's zero-offset helper joints take the name
of the joint they turn plus "_base". The table is in docs/export.md (tests/test_export_names.py checks that the
page and this module agree).
"""
from __future__ import annotations

from core.skeleton import JOINT_NAMES

PRESETS: dict[str, tuple[str, ...]] = {
    # pelvis, r_hip, r_knee, r_ankle, l_hip, l_knee, l_ankle, spine, thorax, neck, head,
    # l_shoulder, l_elbow, l_wrist, r_shoulder, r_elbow, r_wrist
    "h36m": JOINT_NAMES,
    "mixamo": tuple("mixamorig:" + n for n in (
        "Hips", "RightUpLeg", "RightLeg", "RightFoot", "LeftUpLeg", "LeftLeg", "LeftFoot",
        "Spine1", "Neck", "Head", "HeadTop_End",
        "LeftArm", "LeftForeArm", "LeftHand", "RightArm", "RightForeArm", "RightHand")),
    "unreal": (
        "pelvis", "thigh_r", "calf_r", "foot_r", "thigh_l", "calf_l", "foot_l",
        "spine_02", "neck_01", "head", "head_end",
        "upperarm_l", "lowerarm_l", "hand_l", "upperarm_r", "lowerarm_r", "hand_r"),
}
DEFAULT = "h36m"


def joint_names(preset: str | None = None) -> tuple[str, ...]:
    """The 17 names of a preset, in our joint order (None: our own Human3.6M names)."""
    preset = preset or DEFAULT
    if preset not in PRESETS:
        raise ValueError(f"unknown skeleton names {preset!r}; choose from {', '.join(PRESETS)}")
    return PRESETS[preset]


def rename(name: str, preset: str | None = None) -> str:
    """A rig joint's name (one of ours, or a BVH helper "<joint>_base") in the preset."""
    names = dict(zip(JOINT_NAMES, joint_names(preset)))
    if name.endswith("_base") and name[:-5] in names:
        return names[name[:-5]] + "_base"
    return names[name]
