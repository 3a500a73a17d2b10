"""Everyday postures (lifter/data/everyday.py), body proportions (bodies.py) and the posture classifier (posture.py)."""
import numpy as np
import pytest

from lifter.data import everyday as ev
from lifter.data.augment import augment_batch
from lifter.data.bodies import DEFINITION_TARGETS, body_lengths, fix_definitions, pair_median
from lifter.data.posture import posture
from lifter.data.retarget import BONE_PAIR, PAIR_NAMES, bone_lengths, canonical_bone_lengths, from_bone_vectors
from core.skeleton import BONES, JOINT_INDEX as J

# Unit bone directions of a standing pose facing +Z (the subject's left is +X), world +Y up.
_DIRS = {1: (-1, 0, 0), 2: (0, -1, 0), 3: (0, -1, 0), 4: (1, 0, 0), 5: (0, -1, 0), 6: (0, -1, 0), 7: (0, 1, 0),
         8: (0, 1, 0), 9: (0, 1, 0), 10: (0, 1, 0), 11: (1, 0, 0), 12: (0, -1, 0), 13: (0, -1, 0), 14: (-1, 0, 0),
         15: (0, -1, 0), 16: (0, -1, 0)}


def standing(n=1, lengths=None):
    lengths = canonical_bone_lengths() if lengths is None else lengths
    v = np.array([np.array(_DIRS[c], float) * lengths[b] for b, (_, c) in enumerate(BONES)])
    return np.repeat(from_bone_vectors(v[None], np.zeros((1, 3))), n, 0).astype(np.float32)


def test_standing_pose_is_standing():
    assert posture(standing())[0] == "standing"


@pytest.mark.parametrize("kind,expected", [("chair", {"seated"}), ("stool", {"seated", "standing"}),
                                           ("crouch", {"seated", "floor"}), ("kneel", {"floor"}),
                                           ("floor_sit", {"seated", "floor"}),
                                           ("cross_legs", {"seated", "floor"})])
def test_lower_kinds_keep_lengths_and_read_as_seated_or_floor(kind, expected):
    p = standing(200)
    out = ev.everyday_lower(p, np.random.default_rng(0), kinds=np.full(200, ev.KIND_NAMES.index(kind)))
    assert np.abs(bone_lengths(out) - bone_lengths(p)).max() < 1e-5
    cats = posture(out)
    assert np.isin(cats, list(expected)).mean() > 0.8, (kind, np.unique(cats, return_counts=True))
    # Hinge knee: the ankle never passes in front of the knee by more than the thigh allows (no hyperextension):
    # flexion is measured between thigh and shin, and lies in [0, 155] deg.
    for side in ("l", "r"):
        thigh = out[:, J[f"{side}_knee"]] - out[:, J[f"{side}_hip"]]
        shin = out[:, J[f"{side}_ankle"]] - out[:, J[f"{side}_knee"]]
        cos = (thigh * shin).sum(-1) / np.linalg.norm(thigh, axis=-1) / np.linalg.norm(shin, axis=-1)
        assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() <= 156


def test_chair_puts_thighs_forward_and_knees_at_seat_height():
    p = standing(300)
    out = ev.everyday_lower(p, np.random.default_rng(1), kinds=np.full(300, ev.KIND_NAMES.index("chair")))
    knee = out[:, J["l_knee"]]
    assert np.median(knee[:, 2]) > 0.25            # the knees come forward (+Z is the facing direction)
    assert np.median(np.abs(knee[:, 1])) < 0.2     # ... near the height of the pelvis
    assert np.median(out[:, J["l_ankle"], 1]) < -0.2   # the feet hang below


def test_reach_face_brings_the_wrist_to_the_head_and_keeps_lengths():
    p = standing(300)
    out = ev.reach_face(p, np.random.default_rng(2), arms=np.full(300, 1))
    assert np.abs(bone_lengths(out) - bone_lengths(p)).max() < 1e-5
    head_mid = (out[:, J["neck"]] + out[:, J["head"]]) / 2
    assert np.median(np.linalg.norm(out[:, J["l_wrist"]] - head_mid, axis=-1)) < 0.25
    assert np.allclose(out[:, J["r_wrist"]], p[:, J["r_wrist"]])   # the other arm is untouched


def test_lie_down_makes_the_trunk_horizontal():
    out = ev.lie_down(standing(100), np.random.default_rng(3))
    trunk = out[:, J["thorax"]] - out[:, J["pelvis"]]
    assert (np.abs(trunk[:, 1]) / np.linalg.norm(trunk, axis=-1) < np.sin(np.radians(25))).all()
    assert (posture(out) == "floor").all()


def test_fix_definitions_sets_the_median_and_keeps_individual_differences():
    rng = np.random.default_rng(4)
    base = canonical_bone_lengths().copy()
    base[BONE_PAIR == PAIR_NAMES.index("hip")] = 0.065       # a rig with hips near the midline
    lengths = base * (1 + 0.05 * rng.standard_normal((500, 1)))
    poses = np.concatenate([standing(1, l) for l in lengths])
    fixed, _ = fix_definitions(poses)
    med = pair_median(fixed)
    assert med["hip"] == pytest.approx(DEFINITION_TARGETS["hip"], abs=1e-3)
    assert med["thigh"] == pytest.approx(med["shin"], abs=1e-3)
    # Per-person differences survive: the spread of the stature-scaled bones is unchanged.
    ratio = bone_lengths(fixed) / bone_lengths(poses)
    assert np.ptp(ratio, axis=0).max() < 1e-4 and bone_lengths(fixed)[:, 1].std() > 0.01


def test_body_lengths_vary_around_each_pose_own_lengths():
    rng = np.random.default_rng(5)
    short, tall = canonical_bone_lengths() * 0.9, canonical_bone_lengths() * 1.1
    p = np.concatenate([standing(4000, short), standing(4000, tall)])
    out = body_lengths(p, rng)
    assert out[:4000].mean(0) == pytest.approx(short, rel=0.01)
    assert out[4000:].mean(0) == pytest.approx(tall, rel=0.01)
    # Left and right get one factor; independent groups (thigh vs upper arm) are not locked together.
    assert np.allclose(out[:, 1], out[:, 4])
    corr = np.corrcoef(out[:4000, 2] / short[2], out[:4000, 11] / short[11])[0, 1]
    assert 0.2 < corr < 0.9


def test_augment_batch_makes_a_share_of_everyday_postures():
    p = standing(2000)
    out = augment_batch(p, np.random.default_rng(6), p_mix=0.0, everyday={"lower": 0.3, "face": 0.0, "lie": 0.0})
    share = (posture(out) != "standing").mean()
    assert 0.2 < share < 0.35
