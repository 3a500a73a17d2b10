import copy

import numpy as np
import torch

from core.records import Candidates
from core.skeleton import JOINT_INDEX
from detectors import candidates as cand
from detectors import joint_map
from lifter import heatmap_sim
from lifter.cameras import project
from lifter.inputs import candidates_to_inputs, normalise_candidates
from lifter.simulate import SimConfig, simulate_batch

# A standing pose (metres, +Y up, pelvis at the origin) with random limb offsets.
STAND = torch.tensor([
    [0, 0, 0], [-0.13, 0, 0], [-0.13, -0.45, 0], [-0.13, -0.88, 0], [0.13, 0, 0], [0.13, -0.45, 0], [0.13, -0.88, 0],
    [0, 0.23, 0], [0, 0.48, 0], [0, 0.58, 0.05], [0, 0.70, 0], [0.17, 0.45, 0], [0.20, 0.18, 0], [0.22, -0.07, 0],
    [-0.17, 0.45, 0], [-0.20, 0.18, 0], [-0.22, -0.07, 0]])


def poses(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    p = STAND[None].repeat(n, 1, 1)
    p[:, [2, 3, 5, 6, 12, 13, 15, 16]] += torch.randn(n, 8, 3, generator=g) * 0.12
    return p


def test_shapes_ranges_and_geometry():
    cfg = SimConfig.load()
    p = poses(64)
    sb = simulate_batch(p, cfg, torch.Generator().manual_seed(0), k=8)
    assert sb.cand_xy.shape == (64, 17, 8, 2) and sb.cand_lik.shape == (64, 17, 8)
    assert sb.pose_cam.shape == (64, 17, 3) and sb.root_cam.shape == (64, 3) and sb.box.shape == (64, 3)
    assert sb.intrinsics.shape == (64, 3, 3) and sb.image_size.shape == (64, 2) and sb.visible.dtype == torch.bool
    assert torch.isfinite(sb.cand_xy).all() and ((sb.cand_lik >= 0) & (sb.cand_lik <= 1)).all()
    # Peaks sit inside the normalisation box (|x| <= 1/1.2), samples roughly so.
    assert sb.cand_xy[:, :, 0].abs().max() <= 1 / 1.2 + 1e-4
    assert (sb.cand_xy.abs() < 1.5).float().mean() > 0.95
    assert sb.pose_cam[:, 0].abs().max() == 0
    # Rigid: bone lengths kept; the target reprojects to the true 2D; the person is upright and in front.
    bone = lambda q: (q[:, 3] - q[:, 2]).norm(dim=-1)
    assert torch.allclose(bone(p), bone(sb.pose_cam), atol=1e-5)
    # Joint 9 is the nose in 2D and 3D alike, so every joint of the target reprojects onto the 2D truth.
    assert torch.allclose(project(sb.pose_cam + sb.root_cam[:, None], sb.intrinsics), sb.xy_true, atol=0.05)
    assert (sb.xy_true[:, 10, 1] < sb.xy_true[:, 3, 1]).float().mean() > 0.95
    assert (sb.root_cam[:, 2] > 0.3).all() and (sb.root_cam[:, 2] < 14.0).all()
    # Mostly inside the image, but not always (webcams cut people off).
    assert 0.75 < sb.visible.float().mean() < 1.0


def test_camera_modes_distances_views_and_framing():
    """Webcams are close and cut people off; phones and room cameras show the whole body; room cameras look down."""
    from lifter.cameras import sample_cameras

    cfg = SimConfig.load()
    p = poses(3000)
    c = sample_cameras(p, cfg, torch.Generator().manual_seed(3))
    names = list(cfg.modes)
    w, h = c.image_size[:, None, 0], c.image_size[:, None, 1]
    inside = ((c.xy[..., 0] >= 0) & (c.xy[..., 0] < w) & (c.xy[..., 1] >= 0) & (c.xy[..., 1] < h)).all(1)
    depth = c.points_cam[:, 0, 2]
    # Pitch of the optical axis: the world's up in camera coordinates is -y rotated by the tilt.
    up_cam = c.points_cam[:, 8] - c.points_cam[:, 0]
    tilt = torch.rad2deg(torch.atan2(-up_cam[:, 2], -up_cam[:, 1]))   # > 0: looking down at an upright body
    for name in names:
        sel = c.mode == names.index(name)
        share = sel.float().mean().item()
        assert abs(share - cfg.modes[name]["share"]) < 0.05, name
        lo, hi = cfg.modes[name]["distance_m"]
        assert depth[sel].median() >= lo - 0.5, name
        if cfg.modes[name]["full_body"]:
            assert inside[sel].float().mean() > 0.97, name
    webcam, room = c.mode == names.index("webcam"), c.mode == names.index("room")
    assert inside[webcam].float().mean() < 0.5
    assert depth[webcam].median() < depth[c.mode == names.index("phone")].median() < depth[room].median()
    assert 10 < tilt[room].median() < 40 and tilt[room].quantile(0.9) > 25


def test_noise_none_is_exact_and_detector_is_close():
    cfg = SimConfig.load()
    p = poses(48)
    exact = simulate_batch(p, cfg, torch.Generator().manual_seed(1), noise="none", k=4)
    assert (exact.cand_lik == 1).all()
    true_norm = (exact.xy_true - exact.box[:, None, :2]) / (exact.box[:, None, 2:] / 2)
    assert torch.allclose(exact.cand_xy[:, :, 0], true_norm, atol=1e-5)
    assert torch.equal(exact.cand_xy[:, :, 0], exact.cand_xy[:, :, 3])
    det = simulate_batch(p, cfg, torch.Generator().manual_seed(1), noise="detector", k=4)
    assert torch.equal(det.pose_cam, exact.pose_cam)  # same cameras for the same seed
    px_err = (det.cand_xy[:, :, 0] * det.box[:, None, 2:] / 2 + det.box[:, None, :2] - det.xy_true).norm(dim=-1)
    limbs = [1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16]
    rel = px_err[:, limbs] / exact.box[:, None, 2]
    assert rel.median() < 0.05  # peaks near the truth relative to the person size


def test_deterministic_under_seed():
    cfg = SimConfig.load()
    p = poses(24)
    a = simulate_batch(p, cfg, torch.Generator().manual_seed(7))
    b = simulate_batch(p, cfg, torch.Generator().manual_seed(7))
    c = simulate_batch(p, cfg, torch.Generator().manual_seed(8))
    assert torch.equal(a.cand_xy, b.cand_xy) and torch.equal(a.cand_lik, b.cand_lik) and torch.equal(a.pose_cam, b.pose_cam)
    assert not torch.equal(a.cand_xy, c.cand_xy)


def test_uses_the_shared_sampler_and_combiner(monkeypatch):
    calls = {}

    def spy(name, fn):
        def wrapped(*args, **kwargs):
            calls[name] = calls.get(name, 0) + 1
            return fn(*args, **kwargs)
        monkeypatch.setattr(cand, name, wrapped)

    spy("sample_candidates", cand.sample_candidates)
    spy("combine_candidates", cand.combine_candidates)
    simulate_batch(poses(4), SimConfig.load(), torch.Generator().manual_seed(0), k=3)
    assert calls == {"sample_candidates": 1, "combine_candidates": 1}  # 4 poses: one map chunk


def _quiet_cfg():
    cfg = copy.deepcopy(SimConfig.load())
    for key in ("occluded_prob", "second_mode_prob", "swap_prob"):
        cfg.heatmap[key] = {name: 0.0 for name in heatmap_sim.SOURCE_NAMES}
    cfg.heatmap["background"] = {name: 1e-4 for name in heatmap_sim.SOURCE_NAMES}
    cfg.heatmap["background_log_std"] = 0.0
    return cfg


def test_out_of_frame_joints_get_flat_maps():
    cfg = _quiet_cfg()
    cfg.heatmap["flat_prob_outside"] = 1.0
    n_src = len(heatmap_sim.SOURCES)
    cells = torch.full((60, n_src, 2), 32.0) + torch.randn(60, n_src, 2)
    outside = torch.zeros(60, n_src, dtype=torch.bool)
    wrist = heatmap_sim.SOURCE_NAMES.index("left_wrist")
    ankle = heatmap_sim.SOURCE_NAMES.index("right_ankle")
    cells[:, ankle] = torch.tensor([32.0, 90.0])  # below the crop
    outside[:, wrist] = True  # outside the image though inside the crop
    maps = heatmap_sim.render_maps(cells, outside, cfg, torch.Generator().manual_seed(0))
    assert maps.shape == (60, n_src, 64, 64)
    top = maps.amax((-1, -2))
    limit = cfg.heatmap["flat_level"][1] + 1e-4 + 1e-6
    assert (top[:, wrist] <= limit).all() and (top[:, ankle] <= limit).all()
    others = [i for i in range(n_src) if i not in (wrist, ankle)]
    assert top[:, others].median() > 0.3
    # Flat maps spread their samples widely; peaked maps do not.
    xy, _ = cand.sample_candidates(maps, 64, generator=torch.Generator().manual_seed(0))
    spread = (xy[:, :, 1:] - xy[:, :, :1]).norm(dim=-1).median(-1).values  # (60, sources)
    assert spread[:, ankle].median() > 3 * spread[:, others[0]].median()


def test_swap_puts_the_mode_on_the_mirrored_landmark():
    cfg = _quiet_cfg()
    cfg.heatmap["swap_prob"]["left_wrist"] = 1.0
    cfg.heatmap["offset_cells"] = {name: 0.0 for name in heatmap_sim.SOURCE_NAMES}
    n_src = len(heatmap_sim.SOURCES)
    w = heatmap_sim.SOURCE_NAMES.index("left_wrist")
    cells = torch.full((8, n_src, 2), 32.0)
    cells[:, w] = torch.tensor([10.0, 40.0])
    cells[:, heatmap_sim.SOURCE_NAMES.index("right_wrist")] = torch.tensor([50.0, 40.0])
    maps = heatmap_sim.render_maps(cells, torch.zeros(8, n_src, dtype=torch.bool), cfg, torch.Generator().manual_seed(0))
    xy, _ = cand.sample_candidates(maps, 1)
    assert torch.allclose(xy[:, w, 0], torch.tensor([50.0, 40.0]), atol=0.5)


def test_runtime_joint_table_and_virtual_ears():
    t = heatmap_sim.source_table()
    assert np.allclose(t, joint_map.TABLE[:, list(heatmap_sim.SOURCES)])
    assert np.abs(joint_map.TABLE).sum(0)[[i for i in range(33) if i not in heatmap_sim.SOURCES]].max() == 0
    # Exact landmark positions map back to the true 17 joints except the spine (mid pelvis-thorax by definition).
    xy17 = poses(5)[..., :2]
    back = torch.einsum("os,bsc->boc", torch.as_tensor(t, dtype=xy17.dtype), heatmap_sim.source_positions(xy17))
    keep = [j for j in range(17) if j not in (JOINT_INDEX["pelvis"], JOINT_INDEX["spine"], JOINT_INDEX["thorax"])]
    assert torch.allclose(back[:, keep], xy17[:, keep], atol=1e-5)
    assert all(heatmap_sim.SOURCE_NAMES[heatmap_sim.MIRROR[i]] != n or "_" not in n
               for i, n in enumerate(heatmap_sim.SOURCE_NAMES))


def test_normalise_candidates_and_runtime_inputs():
    xy = torch.rand(3, 17, 5, 2) * 400 + 100
    lik = torch.rand(3, 17, 5)
    n, l2, box = normalise_candidates(xy, lik)
    assert n.shape == xy.shape and torch.equal(l2, lik) and box.shape == (3, 3)
    assert torch.allclose(box, cand.crop_box(xy[..., 0, :], scale=1.2))
    assert n[:, :, 0].abs().max() <= 1 / 1.2 + 1e-5
    c = Candidates(xy=xy[0].numpy().astype(np.float64), likelihood=lik[0].numpy())
    rn, rl, rb = candidates_to_inputs(c)
    assert rn.shape == (1, 17, 5, 2) and rn.dtype == torch.float32
    assert torch.allclose(rn[0], n[0], atol=1e-5) and torch.allclose(rb[0], box[0])


def test_heatmap_stats_measures_width_second_mode_and_swap():
    from tools.heatmap_stats import measure_map

    yy, xx = np.mgrid[0:64, 0:64]
    s = 0.8 * np.exp(-((xx - 20) ** 2 + (yy - 30) ** 2) / (2 * 1.8**2)) + 0.5 * np.exp(
        -((xx - 44) ** 2 + (yy - 30) ** 2) / (2 * 1.8**2)) + 1e-4
    logits = np.log(s / (1 - s))
    st = measure_map(logits, np.array([20.0, 30.0]), np.array([44.0, 30.0]), np.array([[5.0, 5.0]]))
    assert abs(st["sigma"] - 1.8) < 0.15 and abs(st["peak"] - 0.8) < 0.01
    assert abs(st["second_rel"] - 0.5 / 0.8) < 0.02 and st["second_at_mirror"] and not st["swap"]
    assert np.abs(st["offset"]).max() < 0.05
    swapped = measure_map(logits, np.array([44.0, 30.0]), np.array([20.0, 30.0]), np.array([[5.0, 5.0]]))
    assert swapped["swap"]


def test_joint9_is_the_nose_in_front_of_the_head_base():
    # A subject facing +Z (left = +X, up = +Y): the nose is forward of and above mocap's head-base joint 9.
    from lifter.simulate import nose_points
    from core.skeleton import JOINT_INDEX

    pose = torch.zeros(1, 17, 3, dtype=torch.float64)
    pose[0, JOINT_INDEX["l_shoulder"]] = torch.tensor([0.2, 1.4, 0.0])
    pose[0, JOINT_INDEX["r_shoulder"]] = torch.tensor([-0.2, 1.4, 0.0])
    pose[0, JOINT_INDEX["neck"]] = torch.tensor([0.0, 1.55, 0.0])
    pose[0, JOINT_INDEX["head"]] = torch.tensor([0.0, 1.75, 0.0])
    cfg = SimConfig.load()
    nose = nose_points(pose, cfg)[0]
    assert torch.allclose(nose, torch.tensor([0.0, 1.55 + 0.2 * cfg.nose_up_fraction, cfg.nose_forward_m], dtype=torch.float64))


def test_video_windows_get_2d_errors_correlated_in_time():
    """error_rho at 60 fps (0.08 s: 0.81 between frames): the peaks' errors of a window's consecutive frames are
    correlated, as BlazePose's are on real video; without rho every frame's are independent (and the same draws as
    before rho existed)."""
    from lifter.simulate import error_rho
    cfg = SimConfig.load()
    windows, frames = 48, 9
    p = STAND[None].repeat(windows * frames, 1, 1)       # one still pose: the truth is the same in every frame
    times = torch.arange(frames, dtype=torch.float64).repeat(windows) / 60.0
    rho = error_rho(times, frames, cfg)
    assert rho.shape == (windows * frames,) and float(rho[0]) == 0.0 and abs(float(rho[1]) - np.exp(-1 / 60 / 0.08)) < 1e-6

    def lag1(sb):
        """Lag-1 correlation of the peaks' errors (box units, each window's mean out) of joints in view in the whole
        window, gross misses and out-of-frame guesses left out; the 64-cell maps' rounding lowers it."""
        px = sb.cand_xy[:, :, 0] * sb.box[:, None, 2:3] / 2 + sb.box[:, None, :2]
        err = (px - sb.xy_true.float()).reshape(windows, frames, 17, 2)
        err = (err - err.mean(1, keepdim=True)) / sb.box[:, 2].reshape(windows, frames)[:, :1, None, None]
        ok = sb.visible.reshape(windows, frames, 17).all(1)[:, None, :, None].expand_as(err) & (err.abs() < 0.05)
        pair = ok[:, :-1] & ok[:, 1:]
        return float(np.corrcoef(err[:, :-1][pair].numpy(), err[:, 1:][pair].numpy())[0, 1])

    with_rho = simulate_batch(p, cfg, torch.Generator().manual_seed(3), group=frames, rho=rho)
    without = simulate_batch(p, cfg, torch.Generator().manual_seed(3), group=frames)
    assert lag1(with_rho) > 0.2 and lag1(without) < 0.05     # measured 0.32 and -0.03
    plain = simulate_batch(p, cfg, torch.Generator().manual_seed(3), group=frames, rho=None)
    assert torch.equal(plain.cand_xy, without.cand_xy)


def test_a_share_of_the_2d_offset_persists_through_a_video():
    """real_2d.persistent_share: part of each landmark's peak offset is the same in every frame of a group (one
    person under one camera), so the clip's mean error keeps it (tools.realfootage_metrics.persistent_share, the
    measure on the real clips) while each frame's error keeps its size; single frames draw exactly as before."""
    from tools.realfootage_metrics import persistent_share
    groups, frames = 24, 20
    p = STAND[None].repeat(groups * frames, 1, 1)        # one still pose: the truth is the same in every frame

    def run(share):
        cfg = copy.deepcopy(SimConfig.load())
        cfg.heatmap["real_2d"]["persistent_share"] = share
        sb = simulate_batch(p, cfg, torch.Generator().manual_seed(5), group=frames)
        px = cand.box_to_image(sb.cand_xy[:, :, 0], sb.box).double().numpy()
        truth = sb.xy_true.double().numpy()
        shares = [persistent_share(px[i:i + frames], truth[i:i + frames])["persistent_share_limb_ends"]
                  for i in range(0, len(p), frames)]
        size = np.median(np.linalg.norm(px - truth, axis=-1) / sb.box[:, None, 2].double().numpy())
        return float(np.mean([v for v in shares if v is not None])), float(size)

    none, size_none = run(0.0)
    half, size_half = run(0.5)
    assert none < 0.15 < 0.3 < half     # measured 0.09 and 0.38 (20 frames of a still pose: ~0.05 from noise alone)
    assert abs(size_half / size_none - 1) < 0.15         # the offsets' size is unchanged
    cfg = copy.deepcopy(SimConfig.load())
    cfg.heatmap["real_2d"]["persistent_share"] = 0.5
    single = simulate_batch(p[:32], cfg, torch.Generator().manual_seed(5))
    cfg.heatmap["real_2d"]["persistent_share"] = 0.0
    assert torch.equal(single.cand_xy, simulate_batch(p[:32], cfg, torch.Generator().manual_seed(5)).cand_xy)
