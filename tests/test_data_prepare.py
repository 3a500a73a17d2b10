"""Preparation helpers: resampling, de-duplication, labels, split assignment, the missing-data exit code."""
import numpy as np

from lifter.data.extract import drop_near_duplicates, resample_indices
from lifter.data.prepare import clip_id, labels, main
from lifter.data.splits import assign_split, load_config


def test_resample_indices_picks_nearest_frames():
    np.testing.assert_array_equal(resample_indices(121, 120.0, 10.0), np.arange(0, 121, 12))
    np.testing.assert_array_equal(resample_indices(10, 24.0, 10.0), [0, 2, 5, 7])   # 0, .1, .2, .3 s
    assert resample_indices(0, 30.0, 10.0).size == 0
    assert resample_indices(1, 30.0, 10.0).tolist() == [0]


def test_drop_near_duplicates_compares_with_last_kept_pose():
    poses = np.zeros((6, 17, 3))
    poses[:, 5, 0] = [0.0, 0.004, 0.008, 0.012, 0.012, 0.5]   # slow drift of one joint, then a jump
    poses[:, :, 1] += np.arange(6)[:, None]                   # root translation alone is ignored
    np.testing.assert_array_equal(drop_near_duplicates(poses, 0.01), [0, 3, 5])
    np.testing.assert_array_equal(drop_near_duplicates(poses, 0.0), np.arange(6))


def test_clip_ids_and_labels():
    assert clip_id("bandai1", "./dataset-1_bye_feminine_001.bvh") == "bandai1/dataset-1_bye_feminine_001"
    assert labels("bandai2/dataset-2_walk-turn-left_active_041") == {
        "action": "walk-turn-left", "style": "active", "subject": ""}
    assert labels("hdm05/test/3/HDM_mm_grabHighR_018_120") == {"action": "grabHighR", "style": "", "subject": "mm"}
    assert labels("reactidle/acted/001_acted")["subject"] == "001"
    assert labels("cmu_dance/salsa/01")["action"] == "salsa"


def test_split_assignment_holds_out_whole_groups():
    splits = load_config()["splits"]
    assert assign_split("hdm05/test/3/HDM_mm_grabHighR_018_120", splits) == ("test", "hdm05")
    assert assign_split("hdm05/train/3/HDM_dg_grabHighR_014_120", splits) == ("val", "hdm05")
    assert assign_split("hdm05/train/3/HDM_bd_grabHighR_001_120", splits) == ("train", "hdm05")
    assert assign_split("bandai1/dataset-1_walk_angry_001", splits) == ("test", "bandai")
    assert assign_split("bandai2/dataset-2_walk_exhausted_001", splits) == ("test", "bandai")
    assert assign_split("bandai2/dataset-2_walk_normal_001", splits) == ("train", "bandai2")
    assert assign_split("cmu_dance/indian/08", splits) == ("test", "cmu")
    assert assign_split("cmu_dance/salsa/02", splits) == ("val", "cmu")
    assert assign_split("cmu_dance/salsa/22", splits) == ("train", "cmu_dance")
    assert assign_split("reactidle/genuine/003_genuine", splits) == ("test", "reactidle")


def test_prepare_without_shared_data_exits_2(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DIFFMOCAP_SHARED", "none")
    assert main(["--out", str(tmp_path)]) == 2
    assert "shared mocap folder not found" in capsys.readouterr().err
