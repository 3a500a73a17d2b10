"""The 17-joint Human3.6M layout used everywhere in diffmocap (metres, this order).

One place for joint names, parents, bones and the left/right swap.
"""
from __future__ import annotations

JOINT_NAMES = (
    "pelvis", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle",
    "spine", "thorax", "neck", "head",
    "l_shoulder", "l_elbow", "l_wrist", "r_shoulder", "r_elbow", "r_wrist",
)
NUM_JOINTS = len(JOINT_NAMES)
JOINT_INDEX = {name: i for i, name in enumerate(JOINT_NAMES)}

# Parent of each joint in the kinematic tree; the pelvis is the root.
PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
BONES = tuple((p, c) for c, p in enumerate(PARENTS) if p >= 0)
CHILDREN = tuple(tuple(c for c, p in enumerate(PARENTS) if p == j) for j in range(NUM_JOINTS))

LEFT = (4, 5, 6, 11, 12, 13)
RIGHT = (1, 2, 3, 14, 15, 16)
# Index permutation that swaps left and right (apply together with negating the lateral axis to mirror a pose).
FLIP_PERM = tuple(
    RIGHT[LEFT.index(j)] if j in LEFT else LEFT[RIGHT.index(j)] if j in RIGHT else j
    for j in range(NUM_JOINTS)
)

# The 12 limb joints used for 2D accuracy checks.
LIMB_JOINTS = (1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16)
ROOT = 0
ANKLES = (3, 6)                # right, left
SOLE_BELOW_ANKLE = 0.08        # metres from the ankle joint down to the sole (a foot on the floor)
