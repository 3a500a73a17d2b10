"""tools.realfootage: the metric functions on hand-computed cases, and a short real run on a shared clip."""
import json

import numpy as np
import pytest

from detectors.joint_map import world_joints
from core.paths import shared_dir
from core.skeleton import FLIP_PERM, JOINT_INDEX, LIMB_JOINTS
from tools.realfootage_metrics import (GROSS, LIMB_ENDS, SYNC_MIN_FRAMES, nearest_candidate, persistent_share,
                                      pose_metrics, stats_2d, sync_lag, truth_at)

RNG = np.random.default_rng(0)


def truth_poses(m=4):
    return RNG.normal(0, 0.3, (m, 17, 3)) + np.array([0.0, 0.0, 3.0])


def test_mpjpe_is_root_aligned_and_averaged_over_17_joints():
    truth = truth_poses()
    pred = truth + np.array([1.0, -2.0, 0.5])          # a translation only: root alignment removes it
    pred[:, JOINT_INDEX["l_wrist"]] += [0.17, 0.0, 0.0]  # one joint 170 mm off -> 10 mm over 17 joints
    m = pose_metrics(pred, truth)
    assert m["mpjpe_mm"] == pytest.approx(10.0, abs=0.05)
    assert m["per_joint_mpjpe_mm"]["l_wrist"] == pytest.approx(170.0, abs=0.05)
    assert m["per_joint_mpjpe_mm"]["pelvis"] == 0.0


def test_acceleration_error_counts_jitter_and_skips_frame_gaps():
    truth = truth_poses(6)
    assert pose_metrics(truth + 0.5, truth, frames=np.arange(6))["accel_error_mm"] == 0.0     # offsets do not move
    pred = truth.copy()
    pred[3, JOINT_INDEX["l_wrist"]] += [0.01, 0.0, 0.0]     # a 10 mm jolt in one frame: accelerations 10, -20, 10 mm
    assert pose_metrics(pred, truth, frames=np.arange(6))["accel_error_mm"] == pytest.approx(40 / 17 / 4, abs=0.01)
    # every other video frame: no triple of consecutive frames, nothing to measure
    assert np.isnan(pose_metrics(pred, truth, frames=np.array([0, 2, 4, 6, 8, 10]))["accel_error_mm"])
    assert "accel_error_mm" not in pose_metrics(pred, truth)


def test_procrustes_removes_a_similarity_but_plain_mpjpe_does_not():
    truth = truth_poses()
    c, s = np.cos(0.4), np.sin(0.4)
    rot = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    pred = 1.3 * truth @ rot.T
    m = pose_metrics(pred, truth)
    assert m["mpjpe_mm"] > 50
    assert m["pa_mpjpe_mm"] == pytest.approx(0.0, abs=0.1)
    assert m["pa_mpjpe_limbs_mm"] == pytest.approx(0.0, abs=0.1)


def test_limb_procrustes_ignores_the_torso_joints():
    truth = truth_poses()
    pred = truth.copy()
    pred[:, JOINT_INDEX["head"]] += [0.0, -0.3, 0.0]   # not a limb joint
    m = pose_metrics(pred, truth)
    assert m["pa_mpjpe_limbs_mm"] == pytest.approx(0.0, abs=0.1)
    assert m["pa_mpjpe_mm"] > 5


def test_best_of_n_and_coverage():
    truth = truth_poses(2)
    rel = truth - truth[:, :1]
    off = np.zeros((17, 3))
    off[1:] = 0.05                                                   # 86.6 mm on every joint but the pelvis
    hyps = np.stack([rel + 2 * off, rel, rel - 2 * off], axis=1)     # the middle hypothesis is exact
    mean = rel + off
    tight = np.broadcast_to(np.eye(3) * 0.01**2, (2, 17, 3, 3))      # sd 10 mm: truth far outside
    wide = np.broadcast_to(np.eye(3) * 0.1**2, (2, 17, 3, 3))        # sd 100 mm: truth inside
    assert pose_metrics(mean, truth, hyps, tight)["mpjpe_best_mm"] == 0.0
    assert pose_metrics(mean, truth, hyps[:, [0, 2]], tight)["mpjpe_best_mm"] == pytest.approx(173.2 * 16 / 17, abs=0.1)
    assert pose_metrics(mean, truth, hyps, tight)["coverage90"] == 0.0
    assert pose_metrics(mean, truth, hyps, wide)["coverage90"] == 1.0
    # The app's covariance = the lifter's (sd 10 mm) + the definition term (sd 99.5 mm): the tool reports both.
    app = np.broadcast_to(np.eye(3) * (0.01**2 + 0.0995**2), (2, 17, 3, 3))
    both = pose_metrics(mean, truth, hyps, app, definition_sd=0.0995)
    assert both["coverage90"] == 1.0 and both["coverage90_without_definition"] == 0.0


def test_stats_2d_box_fraction_gross_and_swaps():
    uv = np.zeros((2, 17, 2))
    uv[:, :, 0] = np.arange(17) * 10.0     # box 160 px wide, 0 high -> box size 160
    det = uv.copy()
    det[0, 3] += [0.0, 8.0]                # 8 px = 0.05 box: not gross
    l, r = JOINT_INDEX["l_wrist"], JOINT_INDEX["r_wrist"]
    det[1, l] = uv[1, r]                   # the left wrist is found on the right wrist: gross and swapped
    s = stats_2d(det, uv, visibility=np.ones((2, 17)))
    assert s["box_px_median"] == 160.0
    assert s["per_joint"]["r_ankle"]["median_px"] == 4.0
    assert s["per_joint"]["r_ankle"]["p90_box"] == pytest.approx(0.045, abs=1e-3)
    assert s["per_joint"]["l_wrist"]["gross_rate"] == 0.5 and s["per_joint"]["l_wrist"]["swap_rate"] == 0.5
    assert s["per_joint"]["r_wrist"]["swap_rate"] == 0.0
    assert s["swap_rate_limbs"] == pytest.approx(1 / 24, abs=1e-3)
    assert s["gross_rate"] == pytest.approx(1 / 34, abs=1e-3)
    cand = np.stack([det, uv], axis=2)     # candidate 1 is exact
    assert nearest_candidate(cand, uv)["gross_rate"] == 0.0
    assert GROSS == 0.1


def test_flip_perm_pairs_limbs():
    assert all(FLIP_PERM[FLIP_PERM[j]] == j for j in LIMB_JOINTS)


def test_world_joints_root_relative_and_head_extrapolated():
    world = RNG.normal(0, 0.3, (33, 3))
    j = world_joints(world)
    assert np.allclose(j[0], 0.0)
    pelvis = (world[23] + world[24]) / 2
    assert np.allclose(j[JOINT_INDEX["l_wrist"]], world[15] - pelvis)
    ears, thorax = (world[7] + world[8]) / 2, (world[11] + world[12]) / 2
    assert np.allclose(j[JOINT_INDEX["head"]], ears + 0.5 * (ears - thorax) - pelvis)


@pytest.mark.skipif(shared_dir() is None, reason="no ../shared")
def test_short_real_run(capsys):
    from tools.realfootage import main

    assert main(["--clips", "cam03", "--frames", "40", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    if "skipped" in out:
        pytest.skip(out["skipped"])
    clip = out["clips"]["cam03"]
    # cam03's video runs about 2 frames behind its truth (docs/realfootage.md): the truth is re-timed, so the first
    # frames, which show a time before the truth's first frame, are not scored
    lag = clip["sync"]["lag_frames"]
    assert 1.5 < lag < 2.6 and clip["frames_evaluated"] == 40 - int(np.ceil(lag))
    assert set(clip["methods"]["diffmocap"]["unsynced"]) == {"mpjpe_mm", "pa_mpjpe_limbs_mm", "coverage90"}
    dm = clip["methods"]["diffmocap"]
    assert {"mpjpe_mm", "pa_mpjpe_mm", "pa_mpjpe_limbs_mm", "mpjpe_best_mm", "coverage90",
            "per_joint_mpjpe_mm"} <= set(dm)
    assert 20 < dm["mpjpe_mm"] < 400 and 0 <= dm["coverage90"] <= 1
    assert dm["mpjpe_best_mm"] <= dm["mpjpe_mm"] and dm["pa_mpjpe_mm"] <= dm["mpjpe_mm"]
    assert 20 < clip["methods"]["blazepose_world"]["mpjpe_mm"] < 400
    if out["mediapipe"]:
        assert 20 < clip["methods"]["mediapipe"]["mpjpe_mm"] < 400
    s = clip["stats_2d"]["candidate0"]
    assert 0 < s["median_box"] < 0.2 and 0 <= s["gross_rate"] <= 1
    g = clip["gravity"]   # 40 frames at 60 fps: nothing after the first second yet, but every frame scored
    assert len(g["per_frame_deg"]) == 40 and g["max_deg"] is None
    assert abs(g["truth_pitch_deg"] - 25) < 1.5 and all(0 <= e < 30 for e in g["per_frame_deg"])


def test_skips_without_shared(monkeypatch, capsys):
    from tools.realfootage import main

    monkeypatch.setenv("DIFFMOCAP_SHARED", "none")
    assert main(["--json"]) == 0
    assert "skipped" in json.loads(capsys.readouterr().out)


@pytest.mark.skipif(shared_dir() is None, reason="no ../shared")
def test_short_real_run_with_a_window_that_looks_ahead(capsys):
    """lag1 returns each frame a frame later (kept by its frame index) and flushes the last: every frame is scored."""
    from tools.realfootage import main

    assert main(["--clips", "cam03", "--frames", "6", "--lifter-mode", "temporal", "--temporal-window", "lag1",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    if "skipped" in out:
        pytest.skip(out["skipped"])
    clip = out["clips"]["cam03"]
    assert out["temporal_window"] == "lag1" and clip["frames_evaluated"] == 6
    assert len(clip["gravity"]["per_frame_deg"]) == 6
    lag, frame = clip["methods"]["diffmocap"], clip["methods"]["diffmocap_frame"]
    assert 20 < lag["mpjpe_mm"] < 400 and abs(lag["mpjpe_mm"] - frame["mpjpe_mm"]) < 60


def test_persistent_share_tells_a_fixed_offset_from_noise():
    """persistent_share: the share of the limb ends' 2D error that the clip's mean holds, the whole person's shift
    and gross errors taken off: ~1 for a fixed offset, ~1/M for noise new in every frame of M."""
    rng = np.random.default_rng(0)
    uv = np.zeros((200, 17, 2))
    uv[:, :, 0] = np.arange(17) * 10.0                                 # box 160 px
    noise = rng.normal(0, 3.0, uv.shape)
    fixed = np.broadcast_to(rng.normal(0, 3.0, (1, 17, 2)), uv.shape)
    shift = rng.normal(0, 20.0, (200, 1, 2))                           # the whole person moves: not an error shape
    assert persistent_share(uv + noise + shift, uv)["persistent_share_limb_ends"] < 0.02
    assert persistent_share(uv + fixed + shift, uv)["persistent_share_limb_ends"] > 0.99
    both = persistent_share(uv + (noise + fixed) / np.sqrt(2), uv)["persistent_share_limb_ends"]
    assert 0.35 < both < 0.65
    gross = uv + noise
    gross[::2, JOINT_INDEX["l_wrist"]] += 80.0                         # half the frames with a 0.5-box miss
    assert persistent_share(gross, uv)["persistent_share_limb_ends"] < 0.05
    assert set(persistent_share(uv + noise, uv)["persistent_share"]) == set(LIMB_ENDS)


def test_truth_at_retimes_by_interpolation_and_drops_what_it_cannot_reach():
    """Video frame f shows the truth's time f - lag: between two truth frames it is their linear mix; before the
    first or after the last, or next to an invalid joint, it is missing; a whole-frame lag needs only that frame."""
    index = np.arange(2, 8)                                 # truth for video frames 2..7
    values = np.arange(6, dtype=float)[:, None, None] * np.ones((1, 17, 3))
    valid = np.ones((6, 17), bool)
    valid[3, 5] = False                                     # video frame 5, joint 5
    same, ok = truth_at(values, index, valid, 10, 0.0)
    assert np.array_equal(ok[:, 0], [False, False] + [True] * 6 + [False, False])
    assert np.allclose(same[2:8, 0, 0], np.arange(6)) and not ok[5, 5] and ok[4, 5]
    late, ok = truth_at(values, index, valid, 10, 1.5)       # frame f: truth at f - 1.5
    assert np.allclose(late[4:8, 0, 0], [0.5, 1.5, 2.5, 3.5]) and not ok[3].any() and not ok[9].any()
    assert not ok[6, 5] and not ok[7, 5] and ok[8, 5]       # 4.5 and 5.5 touch frame 5; 6.5 does not
    whole, ok = truth_at(values, index, valid, 10, -2.0)
    assert np.allclose(whole[0:6, 0, 0], np.arange(6)) and ok[0:6, 0].all() and not ok[6:, 0].any()


def test_sync_lag_finds_the_offset_of_a_video_from_its_truth():
    """Detections of a moving person whose video runs 1.6 frames behind its truth (with 2D noise and a missing
    frame): the lag comes out within a fifth of a frame; in sync, near 0; too few frames: 0 (taken as in sync)."""
    rng = np.random.default_rng(1)
    m = 120
    t = np.arange(m)[:, None, None]
    phase = rng.uniform(0, 2 * np.pi, (1, 17, 2))
    motion = lambda time: 400 + 60 * np.sin(2 * np.pi * time / 45.0 + phase)   # noqa: E731
    uv = motion(t)
    valid = np.ones((m, 17), bool)
    for offset in (1.6, 0.0, -0.7):
        det = motion(t - offset) + rng.normal(0, 2.0, (m, 17, 2))
        det[10] = np.nan
        got = sync_lag(det, uv, np.arange(m), valid)
        assert abs(got["lag_frames"] - offset) < 0.2, (offset, got["lag_frames"])
        assert got["frames"] > 100 and min(got["limb_end_median_px"].values()) < 4
    few = sync_lag(motion(t - 2.0)[:SYNC_MIN_FRAMES - 1], uv, np.arange(m), valid)
    assert few["lag_frames"] == 0.0


@pytest.mark.skipif(shared_dir() is None, reason="no ../shared")
def test_short_real_run_as_a_live_source(capsys):
    """--live: the app's live settings (temporal window auto -> causal, One-Euro), every frame still scored."""
    from tools.realfootage import main

    assert main(["--clips", "cam03", "--frames", "6", "--live", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    if "skipped" in out:
        pytest.skip(out["skipped"])
    assert out["live"] is True and out["temporal_window"] == "causal"
    assert out["clips"]["cam03"]["frames_evaluated"] == 6


@pytest.mark.skipif(shared_dir() is None, reason="no ../shared")
def test_cam03_runs_behind_its_truth_and_the_front_end_does_not_lag(capsys):
    """tools.realfootage_sync: played forwards and backwards, cam03's video is about 2 frames behind its truth and
    the front end's own lag (which would flip sign backwards) is a small part of a frame (docs/realfootage.md)."""
    from tools.realfootage_sync import main

    assert main(["--clips", "cam03", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    if "skipped" in out:
        pytest.skip(out["skipped"])
    r = out["cam03"]
    assert 1.5 < r["video_offset_frames"] < 2.5 and abs(r["front_end_lag_frames"]) < 0.3
