"""Temporal lifter (issue 14): starts as the frame model, windows never cross sequences or look ahead in causal mode,
the live stream equals the offline causal pass, hypotheses are trajectories, sequence keys, evaluate's sequence mode,
the pipeline's per-person window and its configuration."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from core.errors import ConfigError
from core.records import Frame
from lifter import evaluate
from lifter.api import Lifter
from lifter.cameras import sample_cameras
from lifter.data.sequences import check_sequences, sequence_keys
from lifter.model import LifterModel, ModelConfig
from lifter.simulate import SimConfig
from lifter.runtimes import with_window_runtime
from lifter.temporal import TemporalStream, lift_sequence, window_index, window_stride
from lifter.train_temporal import (WindowSampler, Clips, balanced_segments, frame_tokens, jitter_loss,
                                   grown, simulate_windows, slot_weights, split_pair, temporal_from_frame,
                                   window_loss)
from pipeline.config import apply_options, load_config
from pipeline.factory import build_pipeline, build_temporal_lifter
from pipeline.stages import Pipeline
from tests.fakes_app import FakeFrontEnd
from tests.lifter_fixtures import synthetic_poses

TINY = dict(grid=16, width=16, enc_layers=1, heads=2, ffn=32, cond_dim=32, hidden=32, blocks=1, time_dim=16,
            target="x0")


def frame_lifter(seed: int = 0) -> Lifter:
    """A tiny frame model whose zero-initialised layers got small random weights (so outputs depend on inputs)."""
    torch.manual_seed(seed)
    model = LifterModel(ModelConfig(**TINY))
    with torch.no_grad():
        for p in model.parameters():
            if not p.any():
                p.normal_(0, 0.3)
    return Lifter(model.eval(), calibration=1.0)


def temporal_lifter(window: int = 4, trained: bool = True, spatial: bool = False) -> Lifter:
    model = temporal_from_frame(frame_lifter(), 1, window, spatial)
    if trained:  # stand-in for training: the zero output projections get weights
        with torch.no_grad():
            for p in model.temporal.parameters():
                p.add_(torch.randn(p.shape) * 0.3)
    return Lifter(model.eval(), calibration=1.0)


def candidates(m: int, k: int = 3, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(m, 17, k, 2, generator=g) * 1.6 - 0.8, torch.rand(m, 17, k, generator=g)


@pytest.mark.parametrize("spatial", [False, True])
def test_untrained_temporal_model_is_the_frame_model(spatial):
    frame, temporal = frame_lifter(), temporal_lifter(trained=False, spatial=spatial)
    xy, lik = candidates(7)
    times, seq = np.arange(7) / 30, np.zeros(7, int)
    a = lift_sequence(frame, xy, lik, times, seq, n=4, steps=2, lifter_mode="frame")
    b = lift_sequence(temporal, xy, lik, times, seq, n=4, steps=2, lifter_mode="temporal")
    assert a.abs().max() > 0.01
    torch.testing.assert_close(a, b)
    c = lift_sequence(temporal_lifter(spatial=spatial), xy, lik, times, seq, n=4, steps=2, lifter_mode="temporal")
    assert (c - a).abs().max() > 1e-3   # trained temporal layers do change the output


def test_joint_layers_grown_onto_a_trained_window_model_change_nothing_until_trained():
    """--spatial on --from-weights: the shipped window model with attention across the joints added computes what
    it did; once those layers have weights, one joint's track reaches the others' tokens."""
    plain = temporal_lifter().model
    spatial = grown(plain, ModelConfig.from_dict({**plain.cfg.to_dict(), "temporal_spatial": True}),
                    "temporal.spatial.").eval()
    torch.manual_seed(0)
    tokens = torch.randn(2 * 4, 17, plain.cfg.width)
    tau = (-torch.arange(3, -1, -1).float() / 30).repeat(2)
    pad = torch.zeros(8, dtype=torch.bool)
    with torch.inference_mode():
        torch.testing.assert_close(spatial.window_condition(tokens, tau, pad, 4).vec,
                                   plain.window_condition(tokens, tau, pad, 4).vec)
    moved = tokens.clone()
    moved[:4, 5] += torch.randn(4, plain.cfg.width)      # joint 5's track in the first window (not a constant shift,
                                                         # which the layer norms would remove)
    for model, reaches in ((plain, False), (spatial, True)):
        if reaches:
            with torch.no_grad():
                for p in model.temporal.spatial.parameters():
                    p.add_(torch.randn(p.shape) * 0.3)
        with torch.inference_mode():
            a = model.temporal(tokens, tau, pad, 4)
            b = model.temporal(moved, tau, pad, 4)
        other = (a - b)[:4].abs().amax(-1)               # (frames, joints) of the first window
        assert bool((other[:, [j for j in range(17) if j != 5]] > 1e-5).any()) == reaches
        torch.testing.assert_close(a[4:], b[4:])         # never across windows


def test_train_encoder_lets_the_loss_reach_the_per_frame_encoder():
    model = temporal_lifter().model.train()
    xy, lik = candidates(4)
    batch = type("B", (), {"xy": xy, "lik": lik})()
    for flag in (False, True):
        model.encoder.proj.weight.requires_grad_(flag)
        assert frame_tokens(model, batch, lik).requires_grad == flag


@pytest.mark.parametrize("spatial", [False, True])
def test_one_slots_condition_is_the_whole_windows_at_that_slot(spatial):
    """window_condition(..., slot): an output frame's condition without the other frames' flat / precompute and the
    last temporal layer's queries for them (live and offline lift that way) equals the whole window's at that slot."""
    model = temporal_lifter(window=5, spatial=spatial).model
    torch.manual_seed(0)
    tokens = torch.randn(3 * 5, 17, model.cfg.width)
    tau = (-torch.arange(4, -1, -1).float() / 30).repeat(3)
    pad = torch.zeros(15, dtype=torch.bool)
    pad[:2] = True                                   # the first window starts with padding
    with torch.inference_mode():
        for slot in (4, 3, 2):
            whole = model.window_condition(tokens, tau, pad, 5).select(torch.arange(3) * 5 + slot)
            one = model.window_condition(tokens, tau, pad, 5, slot)
            assert one.rows == 3
            for a, b in [(whole.tokens, one.tokens), (whole.vec, one.vec), (whole.inp, one.inp),
                         *zip(whole.mods, one.mods)]:
                torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
        frame = frame_lifter().model                 # no temporal layers: the slot's own frame
        assert torch.equal(frame.window_condition(tokens, tau, pad, 5, 3).tokens, tokens[3::5])


@pytest.mark.parametrize("spatial", [False, True])
def test_windows_stay_in_their_sequence_and_causal_never_looks_ahead(spatial):
    lifter = temporal_lifter(spatial=spatial)
    xy, lik = candidates(10)
    times, seq = np.arange(10) / 30.0, np.array([0] * 5 + [1] * 5)
    base = lift_sequence(lifter, xy, lik, times, seq, n=3, steps=2, mode="causal")
    xy2 = xy.clone()
    xy2[7] += 0.3                                   # change frame 7 (sequence 1)
    causal = lift_sequence(lifter, xy2, lik, times, seq, n=3, steps=2, mode="causal")
    changed = (causal - base).abs().amax((1, 2, 3)) > 1e-6
    assert not changed[:7].any() and changed[7:].all()        # the past and the other sequence are untouched
    centred = lift_sequence(lifter, xy2, lik, times, seq, n=3, steps=2, mode="centred")
    centred_base = lift_sequence(lifter, xy, lik, times, seq, n=3, steps=2, mode="centred")
    changed = (centred - centred_base).abs().amax((1, 2, 3)) > 1e-6
    assert not changed[:5].any() and changed[6].item()        # centred uses the future, still not across sequences


def test_live_stream_equals_the_offline_causal_pass_and_hypotheses_are_trajectories():
    lifter = temporal_lifter()
    # A smooth 2D motion: every candidate drifts slowly.
    xy0, lik = candidates(1)
    xy = torch.cat([xy0 + 0.004 * i for i in range(12)])
    lik = lik.expand(12, -1, -1).contiguous()
    times = np.arange(12) / 30.0
    offline = lift_sequence(lifter, xy, lik, times, np.zeros(12, int), n=8, steps=3, seed=0)
    stream = TemporalStream(lifter, n=8, steps=3, seed=1)   # lift_sequence seeds sequence s with seed + s + 1 ...
    stream.seed = 0 + 0                                        # ... hypothesis_noise(n, seed + s): sequence 0 -> 0
    live = torch.stack([stream.step(xy[i:i + 1], lik[i:i + 1], times[i]) for i in range(12)])
    torch.testing.assert_close(live, offline)
    # Each hypothesis moves little from frame to frame compared with the spread between hypotheses.
    step = (offline[1:] - offline[:-1]).norm(dim=-1).mean()
    spread = (offline - offline.mean(1, keepdim=True)).norm(dim=-1).mean()
    assert step < 0.5 * spread


@pytest.mark.parametrize("spatial", [False, True])
def test_window_rate_and_the_onnx_window_equal_the_offline_pass(tmp_path, monkeypatch, spatial):
    monkeypatch.setenv("DIFFMOCAP_CACHE", str(tmp_path))          # the ONNX export goes to a fresh cache
    assert window_stride(1 / 60, 10) == 6 and window_stride(1 / 30, 20) == 2
    assert window_stride(0.1, 30) == 1 and window_stride(1 / 60, None) == 1
    lifter = temporal_lifter(spatial=spatial)
    xy, lik = candidates(16)
    times = np.arange(16) / 60.0
    offline = lift_sequence(lifter, xy, lik, times, np.zeros(16, int), n=4, steps=2, seed=0, rate=20)  # stride 3
    every = lift_sequence(lifter, xy, lik, times, np.zeros(16, int), n=4, steps=2, seed=0)
    assert (every[6:] - offline[6:]).abs().max() > 1e-4       # the window holds other frames
    onnx = with_window_runtime(lifter)
    assert onnx.window_runner is not None and onnx.meta["runtime"] == "onnx"
    for lf in (lifter, onnx):
        stream = TemporalStream(lf, n=4, steps=2, seed=0, rate=20)
        live = torch.stack([stream.step(xy[i:i + 1], lik[i:i + 1], times[i]) for i in range(16)])
        torch.testing.assert_close(live, offline, atol=1e-4, rtol=1e-4)
        assert len(stream._times) == (lifter.cfg.window - 1) * 3 + 1   # the history the window needs, no more


def test_window_index_pads_at_sequence_edges():
    starts, ends = np.array([0, 0, 0, 3, 3]), np.array([3, 3, 3, 5, 5])
    idx, pad = window_index(starts, ends, 3, "causal")
    assert pad[0].tolist() == [True, True, False] and idx[2].tolist() == [0, 1, 2]
    assert pad[3].tolist() == [True, True, False] and pad[4].tolist() == [True, False, False]
    idx, pad = window_index(starts, ends, 3, "centred")
    assert idx[1].tolist() == [0, 1, 2] and pad[2].tolist() == [False, False, True]


def test_sequence_keys_and_checks():
    clip = np.array(["a"] * 6 + ["b"] * 4)
    src = np.array([0, 2, 5, 7, 10, 20, 0, 12, 24, 48])       # 25 fps -> 10 fps steps 2/3; a gap; 120 fps steps 12
    seq, frame = sequence_keys(clip, src)
    assert frame[:6].tolist() == [0, 1, 2, 3, 4, 8] and frame[6:].tolist() == [0, 1, 2, 4]
    assert check_sequences(seq, frame, 10) is None
    assert "increase" in check_sequences(seq, np.r_[frame[:3], frame[2], frame[4:]], 10)
    assert "contiguous" in check_sequences(np.array(list("aabba") + list("ccccc")), np.arange(10), 10)


def test_window_frames_share_one_camera_and_groups_differ():
    poses = torch.as_tensor(synthetic_poses(12))
    cams = sample_cameras(poses, SimConfig.load(), torch.Generator().manual_seed(0), group=4)
    k = cams.intrinsics.view(3, 4, 3, 3)
    assert (k - k[:, :1]).abs().max() == 0 and (k[0, 0] - k[1, 0]).abs().max() > 0
    with pytest.raises(ValueError):
        sample_cameras(poses[:10], SimConfig.load(), torch.Generator(), group=4)


def test_window_sampler_and_loss_on_a_tiny_clip_set():
    poses = synthetic_poses(30)
    start = np.r_[np.zeros(20, int), np.full(10, 20)]
    end = np.r_[np.full(20, 20), np.full(10, 30)]
    clips = Clips(poses, np.r_[np.arange(20), np.arange(10)] / 10.0, start, end, np.array(["x"] * 30))
    rng = np.random.default_rng(0)
    w, tau, pad = WindowSampler(clips, 4).sample(np.array([0, 5, 25, 29]), rng)
    assert w.shape == (4, 4, 17, 3) and (tau[:, -1] == 0).all() and (np.diff(tau, axis=1) > 0).all()
    assert not pad.all(1).any()
    lifter = temporal_lifter()
    batch = simulate_windows(w, tau, pad, SimConfig.load(), torch.Generator().manual_seed(0), k=3, none_share=0.5)
    loss = window_loss(lifter.model.train(), batch, lifter.alpha_bar, torch.Generator().manual_seed(0), 2, 0.1)
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    assert lifter.model.temporal.proj[0].weight.grad.abs().sum() > 0


def test_edge_weight_weighs_the_causal_and_lag1_slots():
    assert slot_weights(5, 1.0).tolist() == [1, 1, 1, 1, 1]
    assert slot_weights(5, 3.0).tolist() == [1, 1, 1, 2, 3]
    poses = synthetic_poses(30)
    clips = Clips(poses, np.arange(30) / 10.0, np.zeros(30, int), np.full(30, 30), np.array(["x"] * 30))
    w, tau, pad = WindowSampler(clips, 4).sample(np.array([10, 20]), np.random.default_rng(0))
    batch = simulate_windows(w, tau, pad, SimConfig.load(), torch.Generator().manual_seed(0), k=3, none_share=0.5)
    lifter = temporal_lifter()
    with torch.no_grad():
        plain, last_only = (float(window_loss(lifter.model.eval(), batch, lifter.alpha_bar,
                                              torch.Generator().manual_seed(1), 1, 0.0, edge)) for edge in (1.0, 1e6))
    # the same draws (generator): edge 1 is the mean over the real frames, a huge edge the last slot's error alone
    assert plain > 0 and last_only > 0 and abs(plain - last_only) > 1e-6 * plain


def test_split_pair_gives_two_windows_a_frame_apart():
    poses = synthetic_poses(30)
    clips = Clips(poses, np.arange(30) / 10.0, np.zeros(30, int), np.full(30, 30), np.array(["x"] * 30))
    w, tau, pad = WindowSampler(clips, 5).sample(np.array([3, 12, 29]), np.random.default_rng(0))
    batch = simulate_windows(w, tau, pad, SimConfig.load(), torch.Generator().manual_seed(0), k=3, none_share=0.0)
    tokens = torch.arange(15.0)[:, None, None].expand(15, 17, 2)
    (a, ta), (b, tb) = split_pair(batch, tokens)
    assert a.frames == b.frames == 4 and a.pose.shape == (12, 17, 3)
    whole = batch.pose.view(3, 5, 17, 3)
    assert torch.equal(a.pose.view(3, 4, 17, 3), whole[:, :4]) and torch.equal(b.pose.view(3, 4, 17, 3), whole[:, 1:])
    assert torch.equal(ta[:, 0, 0].view(3, 4), torch.arange(15.0).view(3, 5)[:, :4])
    assert torch.equal(tb[:, 0, 0].view(3, 4), torch.arange(15.0).view(3, 5)[:, 1:])
    # each window's times are relative to its own last slot; b's are the batch's own
    assert (a.tau.view(3, 4)[:, -1] == 0).all() and torch.allclose(b.tau, torch.as_tensor(tau)[:, 1:].reshape(-1))
    assert torch.allclose(a.tau.view(3, 4), torch.as_tensor(tau[:, :4] - tau[:, 3:4]))


def test_jitter_loss_scores_the_live_outputs_move_against_the_truths():
    lifter = temporal_lifter()
    model = lifter.model.train()
    poses = np.repeat(synthetic_poses(2)[:, None], 5, 1)              # two people standing still, 5 frames
    tau = np.repeat((np.arange(5.0) - 4)[None] / 30, 2, 0).astype(np.float32)
    batch = simulate_windows(poses, tau, np.zeros((2, 5), bool), SimConfig.load(), torch.Generator().manual_seed(0),
                             k=3, none_share=1.0)                     # exact 2D: every frame's candidates alike
    batch.xy[:] = batch.xy.view(2, 5, 17, 3, 2)[:, :1].expand(2, 5, 17, 3, 2).reshape(batch.xy.shape)
    batch.lik[:] = batch.lik.view(2, 5, 17, 3)[:, :1].expand(2, 5, 17, 3).reshape(batch.lik.shape)
    tokens = frame_tokens(model, batch, batch.lik)
    (a, ta), (b, tb) = split_pair(batch, tokens)
    loss = lambda seed: jitter_loss(model, a, ta, b, tb, lifter.alpha_bar, torch.Generator().manual_seed(seed), 3)  # noqa: E731
    assert float(loss(1).detach()) < 1e-10               # the same window a frame later: no move, none true
    b.pose[:] = b.pose + torch.linspace(0, 0.05, 17)[:, None]    # the truth moved, the candidates did not
    moved = loss(1)
    assert float(moved.detach()) > 1e-4
    moved.backward()                                     # differentiable back to the window layers
    assert model.temporal.proj[0].weight.grad.abs().sum() > 0
    b.pad.view(2, 4)[:, -1] = True                       # no live output in b: nothing to score
    assert float(loss(1)) == 0.0
    # a model that knows the truth (its x0 prediction is the clean pose) has no jitter to score
    b.pad.view(2, 4)[:, -1] = False
    model.denoise = lambda x, t, cond: oracle.pop(0)     # noqa: E731
    oracle = [model.to_internal(w.pose[3::4]).repeat_interleave(3, 0) for w in (b, a)]
    assert float(loss(1).detach()) < 1e-12


def test_balanced_segments_weigh_seated_segments_as_standing_ones():
    from tests.test_data_everyday import standing
    from lifter.data import everyday as ev
    from lifter.data.posture import posture

    stand = standing(30)
    seated = ev.everyday_lower(standing(10), np.random.default_rng(0),
                               kinds=np.full(10, ev.KIND_NAMES.index("chair")))
    assert (posture(seated) != "standing").all()
    poses = np.concatenate([stand, seated])
    seg = np.repeat(np.arange(4), 10)                # three standing segments, one seated
    frame = np.tile(np.arange(10), 4)
    out, new_seg, new_frame, everyday, segments = balanced_segments(poses, seg, frame, draws=2)
    assert (everyday, segments) == (1, 4)
    counts = np.bincount(new_seg)
    assert len(counts) == 2 * 3 + 2 * 3 and (counts == 10).all()     # each standing segment twice, the seated six times
    cats = posture(out)
    assert (cats != "standing").sum() == (cats == "standing").sum() == 60
    assert all((np.diff(new_frame[new_seg == k]) == 1).all() for k in range(len(counts)))


def test_evaluate_sequence_mode_frame_and_temporal(tmp_path, capsys):
    frame_lifter().save(tmp_path / "frame.pt")
    temporal_lifter().save(tmp_path / "temporal.pt")
    poses = synthetic_poses(24)
    np.savez(tmp_path / "seq.npz", poses=poses, sequence=np.array(["a"] * 14 + ["b"] * 10),
             frame=np.r_[np.arange(14), np.arange(10) * 2], fps=np.float32(30))
    out = {}
    for mode in ("frame", "temporal"):
        rc = evaluate.main(["--poses", str(tmp_path / "seq.npz"), "--weights", str(tmp_path / "frame.pt"),
                            "--temporal-weights", str(tmp_path / "temporal.pt"), "--baseline", "none",
                            "--sequences", "--lifter-mode", mode, "--hypotheses", "3", "--steps", "2",
                            "--segment", "8", "--json"])
        assert rc == 0
        out[mode] = json.loads(capsys.readouterr().out)
    for res in out.values():
        assert res["n_poses"] == 24 and res["segments"] == 4 and res["accel_error_mm"] > 0
    assert out["frame"]["mpjpe_mean_mm"] != out["temporal"]["mpjpe_mean_mm"]
    # Temporal without --sequences, or a frame model as temporal weights: one line, exit 2.
    assert evaluate.main(["--poses", str(tmp_path / "seq.npz"), "--lifter-mode", "temporal"]) == 2
    assert evaluate.main(["--poses", str(tmp_path / "seq.npz"), "--sequences", "--lifter-mode", "temporal",
                          "--temporal-weights", str(tmp_path / "frame.pt")]) == 2
    assert "frame model" in capsys.readouterr().err


def test_load_segments_keeps_only_the_named_sets(tmp_path):
    """The temporal calibration profile reads validation sequences of the frame model's sets alone (an `open`
    model's must not come from Bandai's): load_segments(datasets=) drops the other sets' sequences."""
    poses = synthetic_poses(30)
    names = np.array(["bandai2"] * 12 + ["hdm05"] * 10 + ["cmu_01_14"] * 8)
    seq = np.array([0] * 12 + [1] * 10 + [2] * 8)
    np.savez(tmp_path / "val.npz", poses=poses, sequence=seq, frame=np.r_[np.arange(12), np.arange(10), np.arange(8)],
             fps=np.float32(10), dataset=names)
    every, *_ = evaluate.load_segments(tmp_path / "val.npz", 0, 5)
    some, seg, frame, fps = evaluate.load_segments(tmp_path / "val.npz", 0, 5, ["hdm05", "cmu_01_14"])
    assert len(every) == 30 and len(some) == 18 and fps == 10
    np.testing.assert_array_equal(some, poses[12:])
    assert np.all(np.diff(frame)[np.diff(seg) == 0] == 1)       # segments stay runs of one sequence
    with pytest.raises(evaluate.InputError, match="none of the sets"):
        evaluate.load_segments(tmp_path / "val.npz", 0, 5, ["reactidle"])


def test_pipeline_keeps_a_window_per_person_and_config_checks_the_mode(tmp_path):
    lifter = temporal_lifter()
    pipe = Pipeline(frontend=FakeFrontEnd(), lifter=lifter, hypotheses=5, steps=2, lifter_mode="temporal")
    img = np.zeros((120, 160, 3), np.uint8)
    for i in range(6):
        result = pipe.process(Frame(index=i, timestamp=i / 30, image=img))
    est = result.persons[0].estimate
    assert est.hypotheses.shape == (5, 17, 3) and np.isfinite(est.covariance).all()
    assert len(pipe._tracks.get(0).window._times) == lifter.cfg.window
    app = build_pipeline(replace(load_config(), lifter_mode="temporal", temporal_rate=15.0),
                         frontend=FakeFrontEnd(), lifter=lifter)
    app.process(Frame(index=0, timestamp=0.0, image=img))
    assert app._tracks.get(0).window.rate == 15.0                 # the config's window rate reaches the stream
    with pytest.raises(ConfigError):
        apply_options(load_config(), lifter_mode="video")
    frame_lifter().save(tmp_path / "frame.pt")
    cfg = apply_options(load_config(), lifter_mode="temporal", temporal_lifter=str(tmp_path / "frame.pt"))
    with pytest.raises(ConfigError, match="not a temporal lifter"):
        build_temporal_lifter(cfg)


def test_sequences_resample_and_correlated_2d(tmp_path, capsys):
    """--rate resamples a segment between its frames (not across a gap); --error-correlation runs the protocol with
    time-correlated 2D errors and says so."""
    from lifter.data.sequences import resample
    poses = synthetic_poses(6)
    seq, frame = np.array([0, 0, 0, 1, 1, 1]), np.array([0, 1, 2, 0, 1, 5])
    p, s, f = resample(poses, seq, frame, 10.0, 30.0)
    assert list(s) == [0] * 7 + [1] * 4 + [1]           # 0.2 s at 30 fps: 7 frames; run 0-1: 4; frame 5 alone
    assert list(f) == list(range(7)) + [0, 1, 2, 3, 15]
    assert np.allclose(p[1], poses[0] + (poses[1] - poses[0]) / 3, atol=1e-6) and np.allclose(p[3], poses[1])
    frame_lifter().save(tmp_path / "frame.pt")
    np.savez(tmp_path / "seq.npz", poses=synthetic_poses(16), sequence=np.zeros(16, int), frame=np.arange(16),
             fps=np.float32(10))
    args = ["--poses", str(tmp_path / "seq.npz"), "--weights", str(tmp_path / "frame.pt"), "--baseline", "none",
            "--sequences", "--hypotheses", "2", "--steps", "1", "--json"]
    assert evaluate.main([*args, "--rate", "30", "--error-correlation"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["n_poses"] == 46 and res["fps"] == 30.0 and res["error_correlation"] is True
    assert evaluate.main(["--poses", str(tmp_path / "seq.npz"), "--rate", "30"]) == 2   # needs --sequences
    # The persistent share of the 2D offsets: the config's by default, said in the result; 0 draws them afresh.
    assert evaluate.main(args) == 0
    default = json.loads(capsys.readouterr().out)
    assert default["persistent_share"] == SimConfig.load().heatmap["real_2d"]["persistent_share"] > 0
    assert evaluate.main([*args, "--persistent-share", "0"]) == 0
    none = json.loads(capsys.readouterr().out)
    assert none["persistent_share"] == 0.0 and none["mpjpe_mean_mm"] != default["mpjpe_mean_mm"]
    assert evaluate.main([*args, "--persistent-share", "1.5"]) == 2
    assert evaluate.main(["--poses", str(tmp_path / "seq.npz"), "--persistent-share", "0.2"]) == 2


def test_naming_a_frame_lifter_lifts_frames_unless_temporal_is_asked_for():
    """The app's default mode is temporal; `--lifter default` names a frame lifter, so it lifts each frame alone with
    it (it used to be ignored silently by the temporal mode); with --lifter-mode temporal too, the temporal lifter."""
    assert load_config().lifter_mode == "temporal"
    cfg = apply_options(load_config(), lifter="default")
    assert (cfg.lifter, cfg.lifter_mode, cfg.lifter_weights) == ("default", "frame", "default")
    cfg = apply_options(load_config(), lifter="default", lifter_mode="temporal")
    assert (cfg.lifter_mode, cfg.lifter_weights) == ("temporal", "temporal")
