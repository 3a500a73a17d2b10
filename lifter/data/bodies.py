"""Bodies: the same anatomical joints in every source, and each training sample's own proportions.

1. fix_definitions: the sources place some joints differently (Bandai's hips and shoulders sit close to the midline,
   HDM05's shoulders far out, CMU's knees low on the leg; docs/data.md has the per-set lengths). For those bones the
   set's MEDIAN length is brought to one anatomical definition (DEFINITION_TARGETS) by one factor per set, so the
   actors' own differences inside a set are kept. Thigh and shin keep their sum and get the 1 : 1 ratio of the
   anthropometric tables (thigh 0.245 H, shank 0.246 H; Winter, Biomechanics and Motor Control of Human Movement,
   4th ed. 2009, table 4.1).
2. body_lengths: per training sample, its own lengths times a stature factor and one factor per bone group (left and
   right alike), widths of the normal laws in PAIR_SIGMA (docs/data.md cites the ranges).
"""
from __future__ import annotations

import numpy as np

from lifter.data.retarget import BONE_PAIR, PAIR_NAMES, bone_lengths, random_bone_lengths, retarget

# Half-widths (m): pelvis -> hip joint as the 2D keypoints of BlazePose / OpenPose place it (between the hip joint
# centres, ~0.09, and the greater trochanters), thorax -> shoulder joint centre (half the biacromial breadth less
# the deltoid, ~0.17 for a 1.70 m adult).
DEFINITION_TARGETS = {"hip": 0.11, "clavicle": 0.17}
LEG_RATIO = 1.0       # thigh : shin

# Stature CV ~6 % for men and women pooled (NHANES 2015-2018 adults: about 175 and 162 cm, SD ~7 cm); segment / stature
# ratios vary by ~3-5 % (Drillis & Contini 1966), shoulder and hip breadths by ~5-8 % (ANSUR II, Gordon et al. 2014),
# neck and head-top placement more (they are estimated points in every source).
GLOBAL_SIGMA = 0.06
PAIR_SIGMA = {"hip": 0.08, "thigh": 0.045, "shin": 0.045, "lower_spine": 0.06, "upper_spine": 0.06, "neck": 0.12,
              "head": 0.06, "clavicle": 0.07, "upper_arm": 0.045, "forearm": 0.045}


def pair_median(poses: np.ndarray) -> dict[str, float]:
    """Median length (m) of each bone pair over a set of poses (M, 17, 3)."""
    lengths = bone_lengths(poses)
    return {name: float(np.median(lengths[:, BONE_PAIR == k])) for k, name in enumerate(PAIR_NAMES)}


def definition_factors(poses: np.ndarray) -> dict[str, float]:
    """Per bone pair, the factor that brings one set's definitional bones to DEFINITION_TARGETS (1 for the others)."""
    med = pair_median(poses)
    pair = dict.fromkeys(PAIR_NAMES, 1.0)
    for name, target in DEFINITION_TARGETS.items():
        pair[name] = target / med[name]
    leg = med["thigh"] + med["shin"]
    pair["thigh"] = leg * LEG_RATIO / (1 + LEG_RATIO) / med["thigh"]
    pair["shin"] = leg / (1 + LEG_RATIO) / med["shin"]
    return pair


def fix_definitions(poses: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    """One set's poses with its definitional bones rescaled (directions kept) and the per-pair factors used."""
    if len(poses) == 0:
        return poses, dict.fromkeys(PAIR_NAMES, 1.0)
    pair = definition_factors(poses)
    factors = np.array([pair[PAIR_NAMES[k]] for k in BONE_PAIR])
    return retarget(poses, bone_lengths(poses) * factors).astype(np.float32), pair


def body_lengths(poses: np.ndarray, rng: np.random.Generator, global_sigma: float = GLOBAL_SIGMA,
                 pair_sigma: dict[str, float] | None = None) -> np.ndarray:
    """(M, 16) lengths: each pose's own lengths x a stature factor x one factor per bone group."""
    sigma = pair_sigma or PAIR_SIGMA
    return random_bone_lengths(len(poses), rng, base=bone_lengths(poses), global_sigma=global_sigma,
                               bone_sigma=np.array([sigma[n] for n in PAIR_NAMES]))
