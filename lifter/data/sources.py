"""One mapping table per source skeleton -> our 17 joints (core/skeleton.py order), plus the readers' quirks.

A joint spec is a source joint name or a weighted mix [(name, weight), ...] (weights sum to 1).
Uniform rules across sources (so bone directions mean the same thing everywhere):
- pelvis = midpoint of the two hip joints (as in Human3.6M), not the source root.
- spine  = the source's mid-back: a mix of the two spine joints that straddle the middle of pelvis->thorax.
- thorax = base of the neck (where the clavicles/shoulders branch off).
- neck   = head base / upper neck (about 6-10 cm above the thorax; the sources have no nose).
- head   = head top. HDM05 has the head bone's end. BVH sources extend the head-base joint along its own rest
  offset: head_top = p_head + R_head @ (factor * OFFSET_head), i.e. the neck->head direction continued and turned with
  the head joint; factors chosen so the base->top length is about 0.18 m (see HEAD_TOP below and docs/data.md).
"Left" is the subject's left; test_data_sources.py checks it per set against the feet's forward direction.
All four rigs are +Y up, right-handed; `up` is kept as a matrix so a Z-up rig would only need a table entry.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.skeleton import JOINT_NAMES, NUM_JOINTS

Spec = str | list[tuple[str, float]]


@dataclass(frozen=True)
class Source:
    name: str
    fmt: str                               # "bvh" | "asf_amc"
    unit: float                            # file length unit -> metres (ASF: taken from :units instead)
    joints: dict[str, Spec]                # our joint name -> spec
    toes: tuple[str, str]                  # (left, right) toe/foot-tip joints, only for the left/right check
    head_top: tuple[str, float] | None = None   # (bvh joint, factor): extend that joint along its own OFFSET
    position_mode: str = "add"             # BVH position channels: "add" to OFFSET or "replace" it
    up: np.ndarray = field(default_factory=lambda: np.eye(3))  # rotation taking source axes to +Y-up world


_BANDAI = Source(
    name="bandai", fmt="bvh", unit=0.01, position_mode="replace",
    joints={
        "pelvis": [("UpperLeg_L", 0.5), ("UpperLeg_R", 0.5)],
        "r_hip": "UpperLeg_R", "r_knee": "LowerLeg_R", "r_ankle": "Foot_R",
        "l_hip": "UpperLeg_L", "l_knee": "LowerLeg_L", "l_ankle": "Foot_L",
        "spine": [("Spine", 0.5), ("Chest", 0.5)],
        "thorax": "Neck", "neck": "Head", "head": "@head_top",
        "l_shoulder": "UpperArm_L", "l_elbow": "LowerArm_L", "l_wrist": "Hand_L",
        "r_shoulder": "UpperArm_R", "r_elbow": "LowerArm_R", "r_wrist": "Hand_R",
    },
    toes=("Toes_L", "Toes_R"),
    head_top=("Head", 2.8),     # OFFSET_Head = 6.46 cm -> 18 cm above the head base
)

_CMU = Source(  # cgspeed "DAZ-friendly" conversion of the CMU database
    name="cmu_dance", fmt="bvh", unit=0.01, position_mode="add",
    joints={
        "pelvis": [("lThigh", 0.5), ("rThigh", 0.5)],
        "r_hip": "rThigh", "r_knee": "rShin", "r_ankle": "rFoot",
        "l_hip": "lThigh", "l_knee": "lShin", "l_ankle": "lFoot",
        "spine": [("abdomen", 0.5), ("chest", 0.5)],
        "thorax": "neck", "neck": "head", "head": "@head_top",
        "l_shoulder": "lShldr", "l_elbow": "lForeArm", "l_wrist": "lHand",
        "r_shoulder": "rShldr", "r_elbow": "rForeArm", "r_wrist": "rHand",
    },
    toes=("lFoot_end", "rFoot_end"),
    head_top=("head", 2.5),     # |OFFSET_head| = 7.2 cm -> 18 cm
)

_REACTIDLE = Source(  # Blender-style rig; hands end at the forearm End Sites
    name="reactidle", fmt="bvh", unit=1.0, position_mode="replace",
    joints={
        "pelvis": [("thigh.L", 0.5), ("thigh.R", 0.5)],
        "r_hip": "thigh.R", "r_knee": "shin.R", "r_ankle": "foot.R",
        "l_hip": "thigh.L", "l_knee": "shin.L", "l_ankle": "foot.L",
        "spine": "spine.001",
        # "neck" bone runs neck base -> "face" (17.6 cm); 40 % of it puts the head base 7 cm up like the others.
        "thorax": "neck", "neck": [("neck", 0.6), ("face", 0.4)], "head": "@head_top",
        "l_shoulder": "upper_arm.L", "l_elbow": "forearm.L", "l_wrist": "forearm.L_end",
        "r_shoulder": "upper_arm.R", "r_elbow": "forearm.R", "r_wrist": "forearm.R_end",
    },
    toes=("foot.L_end", "foot.R_end"),
    head_top=("face", 0.45),    # face joint is 17.6 cm above the neck base; +8 cm -> head top ~25 cm above it
)

_HDM05 = Source(  # ASF/AMC; joint names are bone ENDS (see asf_amc.py)
    name="hdm05", fmt="asf_amc", unit=1.0,
    joints={
        "pelvis": [("lhipjoint", 0.5), ("rhipjoint", 0.5)],
        "r_hip": "rhipjoint", "r_knee": "rfemur", "r_ankle": "rtibia",
        "l_hip": "lhipjoint", "l_knee": "lfemur", "l_ankle": "ltibia",
        "spine": [("lowerback", 0.5), ("upperback", 0.5)],
        "thorax": "thorax", "neck": "lowerneck", "head": "head",
        "l_shoulder": "lclavicle", "l_elbow": "lhumerus", "l_wrist": "lwrist",
        "r_shoulder": "rclavicle", "r_elbow": "rhumerus", "r_wrist": "rwrist",
    },
    toes=("lfoot", "rfoot"),
)

SOURCES: dict[str, Source] = {"bandai1": _BANDAI, "bandai2": _BANDAI, "cmu_dance": _CMU, "cmu_01_14": _CMU,
                              "reactidle": _REACTIDLE, "hdm05": _HDM05}


def mixing_matrix(source: Source, names: list[str], extra: dict[str, int] | None = None) -> np.ndarray:
    """(17, J) weights so that ours = W @ source_positions. `extra` maps "@name" specs to extra columns appended
    after the source joints."""
    col = {n: i for i, n in enumerate(names)}
    col.update(extra or {})
    w = np.zeros((NUM_JOINTS, max(col.values()) + 1))
    for j, ours in enumerate(JOINT_NAMES):
        spec = source.joints[ours]
        pairs = [(spec, 1.0)] if isinstance(spec, str) else spec
        for name, weight in pairs:
            if name not in col:
                raise KeyError(f"{source.name}: joint {name!r} not in the source skeleton")
            w[j, col[name]] += weight
    return w


def to_world(source: Source, positions: np.ndarray) -> np.ndarray:
    """Source units/axes -> metres, +Y up."""
    return np.einsum("ab,...b->...a", source.up, positions * source.unit)
