"""Real-data checks on the first clip of every set (skipped without the shared mocap folder):
constant bone lengths, +Y up, and "left" joints on the subject's left."""
import tarfile
from pathlib import PurePosixPath

import numpy as np
import pytest

from core.skeleton import JOINT_INDEX as J
from lifter.data.asf_amc import parse_amc, parse_asf
from lifter.data.bvh import parse_bvh
from lifter.data.extract import amc_joints, bvh_joints
from lifter.data.prepare import ARCHIVES, EXCLUDE, clip_id, mocap_dir
from lifter.data.sources import SOURCES

ROOT = mocap_dir()
pytestmark = pytest.mark.skipif(ROOT is None or not ROOT.is_dir(), reason="shared mocap data not present")
# Bones between two plain source joints (no mixed/virtual joint at either end): their length must not change.
RIGID = [("r_hip", "r_knee"), ("r_knee", "r_ankle"), ("l_hip", "l_knee"), ("l_knee", "l_ankle"),
         ("l_shoulder", "l_elbow"), ("l_elbow", "l_wrist"), ("r_shoulder", "r_elbow"), ("r_elbow", "r_wrist")]


def first_clip(set_name, max_frames=900):
    """(F, 17, 3) metres and (F, 2, 3) left/right toe points of the first motion file in the archive."""
    source = SOURCES[set_name]
    with tarfile.open(ROOT / set_name / ARCHIVES[set_name], "r:xz") as tar:
        if source.fmt == "bvh":
            for m in tar:
                if m.isfile() and m.name.endswith(".bvh") and clip_id(set_name, m.name) not in EXCLUDE:
                    clip = parse_bvh(tar.extractfile(m).read().decode("latin-1"),
                                     select=lambda n, ft: np.arange(min(n, max_frames)))
                    return bvh_joints(clip, source, with_toes=True)
        amc = asf = None
        for m in tar:  # the first AMC and its actor's ASF from the same folder
            if amc is None and m.name.endswith(".amc"):
                amc, folder = tar.extractfile(m).read().decode(), PurePosixPath(m.name).parent
                actor = PurePosixPath(m.name).stem.split("_")[1]
            elif amc is not None and PurePosixPath(m.name) == folder / f"HDM_{actor}.asf":
                asf = tar.extractfile(m).read().decode()
                break
        skel = parse_asf(asf)
        motion = {k: v[:max_frames] for k, v in parse_amc(amc, skel).items()}
        return amc_joints(skel, motion, source, with_toes=True)


@pytest.fixture(scope="module", params=sorted(SOURCES))
def clip(request):
    return request.param, *first_clip(request.param)


def test_rigid_bone_lengths_constant(clip):
    name, joints, _ = clip
    assert np.isfinite(joints).all() and len(joints) > 10
    for a, b in RIGID:
        length = np.linalg.norm(joints[:, J[a]] - joints[:, J[b]], axis=-1)
        assert length.std() < 2e-3, (name, a, b, length.std())
        assert 0.15 < length.mean() < 0.6, (name, a, b, length.mean())


def test_plus_y_is_up(clip):
    name, joints, _ = clip
    up = joints[:, J["head"], 1] - joints[:, [J["l_ankle"], J["r_ankle"]], 1].mean(1)
    assert np.median(up) > 1.0, name


def test_left_joints_are_on_the_subjects_left(clip):
    """Forward = horizontal ankle->toe direction; the subject's left = up x forward (right-handed, +Y up)."""
    name, joints, toes = clip
    forward = (toes - joints[:, [J["l_ankle"], J["r_ankle"]]]).mean(1)
    forward[:, 1] = 0.0
    left = np.cross([0.0, 1.0, 0.0], forward)
    for l, r in (("l_hip", "r_hip"), ("l_shoulder", "r_shoulder")):  # knees cross while running
        side = np.einsum("fa,fa->f", joints[:, J[l]] - joints[:, J[r]], left)
        assert (side > 0).mean() > 0.9, (name, l, (side > 0).mean())
