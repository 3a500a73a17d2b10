"""MMPose backend: tables always; a real MMPose model (random weights, MMPose's own configs) when mmpose is installed."""
from pathlib import Path

import numpy as np
import pytest

from core.records import Detection, Roi
from core.skeleton import JOINT_INDEX, LIMB_JOINTS
from detectors.mmpose_backend import COCO17, MPII16, cell_to_image, coco_table, mpii_table, table_for


def test_tables_map_limbs_directly_and_derive_the_trunk():
    for table, names in ((coco_table(), COCO17), (mpii_table(), MPII16)):
        assert table.shape == (17, len(names)) and np.allclose(table.sum(1), 1.0)
        for j in LIMB_JOINTS:
            src = int(np.flatnonzero(table[j])[0])
            assert np.count_nonzero(table[j]) == 1 and names[src] == ("pelvis", "r_hip", "r_knee", "r_ankle",
                "l_hip", "l_knee", "l_ankle", "spine", "thorax", "neck", "head", "l_shoulder", "l_elbow",
                "l_wrist", "r_shoulder", "r_elbow", "r_wrist")[j]
    pts = np.random.default_rng(0).normal(size=(17, 2))
    ours = coco_table() @ pts
    assert np.allclose(ours[JOINT_INDEX["pelvis"]], pts[[11, 12]].mean(0))
    assert np.allclose(ours[JOINT_INDEX["neck"]], pts[0])
    mp = np.random.default_rng(1).normal(size=(16, 2))
    ours = mpii_table() @ mp
    assert np.allclose(ours[JOINT_INDEX["head"]], mp[9]) and np.allclose(ours[JOINT_INDEX["spine"]], mp[[6, 7]].mean(0))
    with pytest.raises(ValueError):
        table_for(133)


def test_cell_to_image_follows_topdown_conventions():
    a = cell_to_image((100.0, 200.0), (96.0, 128.0), (192, 256), (48, 64))
    # cell (24, 32) is the input centre -> the box centre; cell 0 is the box's left/top edge
    assert np.allclose(a @ [24, 32, 1], [100, 200]) and np.allclose(a @ [0, 0, 1], [52, 136])


def mmpose_config(rel: str) -> Path:
    mmpose = pytest.importorskip("mmpose")
    root = Path(mmpose.__file__).resolve().parent
    for base in (root / ".mim" / "configs", root.parent / "configs"):
        if (base / rel).is_file():
            return base / rel
    pytest.skip(f"MMPose config {rel} not found in the installed package")


@pytest.mark.parametrize("rel, names", [
    ("body_2d_keypoint/topdown_heatmap/coco/td-hm_mobilenetv2_8xb64-210e_coco-256x192.py", COCO17),
    ("body_2d_keypoint/topdown_heatmap/mpii/td-hm_mobilenetv2_8xb64-210e_mpii-256x256.py", MPII16),
])
def test_random_weight_model_gives_candidates_on_its_heatmaps(rel, names):
    import torch

    from detectors.mmpose_backend import MMPoseBackend

    cfg = mmpose_config(rel)
    torch.manual_seed(0)
    backend = MMPoseBackend(cfg, checkpoint=None, device="cpu", k=8, seed=0,
                            cfg_options={"model.test_cfg.flip_test": False})
    img = np.random.default_rng(0).integers(0, 255, size=(240, 320, 3), dtype=np.uint8)
    bbox = np.array([100.0, 40.0, 180.0, 200.0])
    heat, affine, keypoints = backend.heatmaps(img, bbox)
    assert heat.shape[0] == len(names) and heat.min() >= 0 and heat.max() <= 1
    # MMPose's own decoded keypoints sit within one heatmap cell of their argmax cell mapped by our affine
    cells = np.array([np.unravel_index(h.argmax(), h.shape)[::-1] for h in heat], float)
    cell_px = abs(affine[0, 0])
    mapped = cells @ affine[:, :2].T + affine[:, 2]
    assert np.abs(mapped - keypoints).max() <= cell_px * 1.01
    det = Detection(score=1.0, bbox=bbox, roi=Roi(140.0, 120.0, 200.0))
    cand = backend.candidates(img, det)
    assert cand.xy.shape == (17, 8, 2) and cand.likelihood.shape == (17, 8)
    expected = backend.table @ mapped                  # peaks (candidate 0) refine the argmax within a cell
    assert np.abs(cand.xy[:, 0] - expected).max() <= 2 * cell_px
