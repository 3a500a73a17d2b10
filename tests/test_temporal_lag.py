"""Temporal lifter's lag1 window (issue 14): the output is the frame before the newest (one frame ahead in its
window), offline and live alike; the pipeline holds each frame until the next one is in, returns it with its own
frame (exports stay aligned), and flushes the last one at the end of the stream."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from core.errors import ConfigError
from core.records import Frame
from core.smoothing import OneEuroConfig
from lifter.runtimes import with_window_runtime
from lifter.temporal import TemporalStream, lift_sequence, window_index, window_slots
from pipeline.runner import run_offline
from pipeline.config import BonesConfig, WorldConfig, apply_options, load_config
from pipeline.factory import build_pipeline
from pipeline.sources import open_source
from pipeline.stages import Pipeline
from tests.fakes_app import FakeFrontEnd
from tests.test_pipeline import Collect, write_video
from tests.test_temporal import candidates, temporal_lifter


def test_lag1_window_has_one_slot_after_the_output():
    assert window_slots(9, "lag1") == (7, 1) and window_slots(9, "causal") == (8, 0)
    starts, ends = np.zeros(4, int), np.full(4, 4)
    idx, pad = window_index(starts, ends, 3, "lag1")
    assert idx[1].tolist() == [0, 1, 2] and not pad[1].any()           # output 1: one frame before, one after
    assert pad[0].tolist() == [True, False, False]                       # the first frame: padding before it
    assert pad[3].tolist() == [False, False, True] and idx[3, :2].tolist() == [2, 3]   # the last: padding after


def test_lag1_sees_exactly_one_frame_ahead():
    lifter = temporal_lifter()
    xy, lik = candidates(8)
    times, seq = np.arange(8) / 30.0, np.zeros(8, int)
    base = lift_sequence(lifter, xy, lik, times, seq, n=3, steps=2, mode="lag1")
    xy2 = xy.clone()
    xy2[5] += 0.3
    changed = (lift_sequence(lifter, xy2, lik, times, seq, n=3, steps=2, mode="lag1") - base).abs().amax((1, 2, 3))
    assert changed[4] > 1e-6 and changed[5] > 1e-6 and not (changed[:4] > 1e-6).any()
    causal = lift_sequence(lifter, xy, lik, times, seq, n=3, steps=2, mode="causal")
    assert (causal[:-1] - base[:-1]).abs().max() > 1e-4                 # another window, other outputs


def test_stream_in_lag1_equals_the_offline_pass_one_frame_behind_and_flushes_the_last(tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFMOCAP_CACHE", str(tmp_path))                 # the ONNX export goes to a fresh cache
    lifter = temporal_lifter()
    xy, lik = candidates(7)
    times = np.arange(7) / 30.0
    offline = lift_sequence(lifter, xy, lik, times, np.zeros(7, int), n=4, steps=2, mode="lag1", seed=0)
    for lf in (lifter, with_window_runtime(lifter)):
        stream = TemporalStream(lf, n=4, steps=2, seed=0, mode="lag1")
        live = []
        for i in range(7):
            stream.add(xy[i:i + 1], lik[i:i + 1], times[i])
            if i:
                live.append(stream.sample(times[i - 1]))                 # frame i-1, once frame i is in
        live.append(stream.sample(times[6]))                             # the end: the last frame, flushed
        torch.testing.assert_close(torch.stack(live), offline, atol=1e-4, rtol=1e-4)


def test_pipeline_lag1_returns_each_frame_one_frame_later_with_its_own_frame_and_flushes():
    lifter = temporal_lifter()
    img = np.zeros((120, 160, 3), np.uint8)
    frames = [Frame(index=i, timestamp=i / 30, image=img) for i in range(5)]
    plain = dict(bones=BonesConfig(enabled=False), smoothing=OneEuroConfig(enabled=False),
                 world=WorldConfig(enabled=False))                        # the lifter's hypotheses as they come
    lag = Pipeline(frontend=FakeFrontEnd(), lifter=lifter, hypotheses=4, steps=2, lifter_mode="temporal",
                   temporal_window="lag1", **plain)
    results = [lag.process(f) for f in frames]
    assert results[0] is None
    assert [r.frame.index for r in results[1:]] == [0, 1, 2, 3]
    tail = lag.flush()
    assert [r.frame.index for r in tail] == [4] and lag.flush() == []
    got = results[1:] + tail
    # Each result is its frame's: the estimate equals the stream's for that frame, the 2D is that frame's.
    stream = TemporalStream(lifter, n=4, steps=2, seed=0, mode="lag1")
    fe = FakeFrontEnd()
    people = [fe.process(f)[0][0] for f in frames]
    expected = []
    for i, (p, f) in enumerate(zip(people, frames)):
        stream.add_candidates(p.candidates, f.timestamp)
        if i:
            expected.append(stream.estimate_at(frames[i - 1].timestamp).hypotheses)
    expected.append(stream.estimate_at(frames[-1].timestamp).hypotheses)
    for r, p, e in zip(got, people, expected):
        assert np.allclose(r.persons[0].candidates.xy, p.candidates.xy)
        assert np.allclose(r.persons[0].estimate.hypotheses, e)
    causal = Pipeline(frontend=FakeFrontEnd(), lifter=lifter, hypotheses=4, steps=2, lifter_mode="temporal")
    assert [causal.process(f).frame.index for f in frames] == [0, 1, 2, 3, 4] and causal.flush() == []


def test_offline_run_in_lag1_delivers_every_frame_in_order(tmp_path):
    src = open_source(write_video(tmp_path / "clip.avi", n=6))
    pipe = Pipeline(frontend=FakeFrontEnd(), lifter=temporal_lifter(), hypotheses=3, steps=2, lifter_mode="temporal",
                    temporal_window="lag1")
    collect = Collect()
    stats = run_offline(src, pipe, [collect], progress=False)
    src.close()
    assert stats.frames == 6 and len(stats.latencies_ms) == 6
    assert [r.frame.index for r in collect.results] == list(range(6))
    assert all(r.persons and r.persons[0].estimate is not None for r in collect.results)


def test_runner_delivers_both_results_of_the_switch_to_causal_at_once(tmp_path):
    """A live look-ahead giving way (max_wait) finishes the held frame and the new one in one call: the runner hands
    both to the sinks then, so from there each frame's result leaves with its own call."""
    src = open_source(write_video(tmp_path / "clip.avi", n=12))
    pipe = _lag1_pipeline(0.0)           # any wait is too long: causal once 9 arrivals are in (frame 8)
    calls = []
    lift = pipe.process
    pipe.process = lambda frame: (calls.append(frame.index), lift(frame))[1]

    class Seen(Collect):
        def write(self, result):
            super().write(result)
            self.at.append(calls[-1])

    seen = Seen()
    seen.at = []
    stats = run_offline(src, pipe, [seen], progress=False)
    src.close()
    assert stats.frames == 12 and [r.frame.index for r in seen.results] == list(range(12))
    assert seen.at == [1, 2, 3, 4, 5, 6, 7, 8, 8, 9, 10, 11] and pipe.window_in_use == "causal"


def test_config_window_mode_reaches_the_streams_and_is_checked():
    cfg = apply_options(load_config(), lifter_mode="temporal", temporal_window="lag1")
    pipe = build_pipeline(replace(cfg, temporal_rate=15.0), frontend=FakeFrontEnd(), lifter=temporal_lifter())
    img = np.zeros((120, 160, 3), np.uint8)
    assert pipe.process(Frame(index=0, timestamp=0.0, image=img)) is None
    window = pipe._tracks.get(0).window
    assert (window.mode, window.rate) == ("lag1", 15.0)
    with pytest.raises(ConfigError):
        apply_options(load_config(), temporal_window="ahead")


def test_pipeline_lag1_lifts_the_held_frames_of_a_stream_before_time_goes_back():
    lifter = temporal_lifter()
    img = np.zeros((120, 160, 3), np.uint8)
    stamps = [0.0, 1 / 30, 2 / 30, 0.0, 1 / 30]                        # a second video after three frames
    pipe = Pipeline(frontend=FakeFrontEnd(), lifter=lifter, hypotheses=3, steps=2, lifter_mode="temporal",
                    temporal_window="lag1", bones=BonesConfig(enabled=False), smoothing=OneEuroConfig(enabled=False),
                    world=WorldConfig(enabled=False))
    got = [pipe.process(Frame(index=i, timestamp=t, image=img)) for i, t in enumerate(stamps)]
    got = [r for r in got if r is not None] + pipe.flush()
    assert [r.frame.index for r in got] == [0, 1, 2, 3, 4]
    # Frame 2, the first video's last, from its own window (padding after it), not the second video's frames.
    stream = TemporalStream(lifter, n=3, steps=2, seed=0, mode="lag1")
    for i in range(3):
        stream.add_candidates(FakeFrontEnd().process(Frame(index=i, timestamp=stamps[i], image=img))[0][0].candidates,
                              stamps[i])
    assert np.allclose(got[2].persons[0].estimate.hypotheses, stream.estimate_at(stamps[2]).hypotheses)


def test_auto_window_is_causal_live_and_centred_offline(tmp_path):
    from pipeline.config import temporal_window_for
    from pipeline.outputs import run_source

    assert load_config().temporal_window == "auto"
    assert (temporal_window_for("auto", True), temporal_window_for("auto", False)) == ("causal", "centred")
    assert temporal_window_for("causal", False) == "causal" and temporal_window_for("centred", True) == "centred"
    cfg = apply_options(load_config(), lifter_mode="temporal")
    cfg.world.settle_s = 0.0
    pipe = build_pipeline(cfg, frontend=FakeFrontEnd(), lifter=temporal_lifter())
    # built for a stream (the Python API): causal, each frame's result at once
    assert pipe.temporal_window == "causal" and pipe.max_wait == cfg.temporal_max_wait_ms / 1000
    assert pipe.process(Frame(index=0, timestamp=0.0, image=np.zeros((120, 160, 3), np.uint8))) is not None
    pipe.reset()
    collect = Collect()
    with open_source(write_video(tmp_path / "clip.avi", n=6)) as src:
        stats = run_source(cfg, src, pipe, [collect], live=False, progress=False)
    # a file processed offline: centred, no bound on the wait
    assert pipe.temporal_window == "centred" and pipe.max_wait is None and stats.frames == 6
    assert [r.frame.index for r in collect.results] == list(range(6))


def _lag1_pipeline(max_wait):
    return Pipeline(frontend=FakeFrontEnd(), lifter=temporal_lifter(), hypotheses=3, steps=2, lifter_mode="temporal",
                    temporal_window="lag1", max_wait=max_wait, bones=BonesConfig(enabled=False),
                    smoothing=OneEuroConfig(enabled=False), world=WorldConfig(enabled=False))


def test_live_lag1_gives_way_to_causal_for_good_once_the_next_frame_is_further_than_max_wait():
    img = np.zeros((120, 160, 3), np.uint8)
    # 30 fps (lag1: one frame late), then 10 fps (causal: each frame at once), then 30 fps again (still causal)
    stamps = np.cumsum([0] + [1 / 30] * 4 + [0.1] * 6 + [1 / 30] * 10)
    pipe = _lag1_pipeline(0.045)
    late, out = [], []
    for i, t in enumerate(stamps):
        frame = Frame(index=i, timestamp=float(t), image=img, captured_at=100.0 + t)   # a camera: both clocks alike
        got = [r for r in (pipe.process(frame),) if r is not None]
        got += pipe.ready()
        out += got
        late.append(i - got[-1].frame.index if got else None)
    assert late[:5] == [None, 1, 1, 1, 1]
    switch = late.index(0)
    assert 5 < switch < 11 and set(late[switch:]) == {0}   # the median interval moved over; it stays causal
    assert pipe.flush() == [] and [r.frame.index for r in out] == list(range(len(stamps)))   # each frame once
    # A frame lifted at once is the causal window's output: the newest frame, no slot after it.
    stream = TemporalStream(pipe.lifter, n=3, steps=2, seed=0, mode="lag1")
    for j in range(switch + 1):
        stream.add_candidates(FakeFrontEnd().process(Frame(index=j, timestamp=float(stamps[j]), image=img))[0][0]
                              .candidates, float(stamps[j]))
    want = stream.estimate_at(float(stamps[switch]), "causal")
    assert np.allclose(out[switch].persons[0].estimate.hypotheses, want.hypotheses)
    assert not np.allclose(want.hypotheses, stream.estimate_at(float(stamps[switch])).hypotheses)   # lag1's differs
    # A new stream starts with lag1 again.
    pipe.reset()
    assert pipe.process(Frame(index=0, timestamp=0.0, image=img)) is None and pipe.window_in_use == "lag1"
    # A stream whose first frames come slowly (models warming up, a camera starting), then at 30 fps, stays lag1.
    slow_start = _lag1_pipeline(0.045)
    arrival = 100.0 + np.cumsum([0, 0.3, 0.2] + [1 / 30] * 12)
    for i, a in enumerate(arrival):
        slow_start.process(Frame(index=i, timestamp=float(a - 100), image=img, captured_at=float(a)))
    assert slow_start.window_in_use == "lag1" and slow_start.ready() == []
    # Without a bound the same frames stay one frame late throughout; so does a bounded pipeline fed a sped-up
    # replay (the frame times are the video's own, 10 fps here; the frames arrive every 1/30 s of wall-clock time).
    unbounded, replay = _lag1_pipeline(None), _lag1_pipeline(0.045)
    for pipe, arrival in ((unbounded, 100.0 + stamps), (replay, 100.0 + np.arange(len(stamps)) / 30)):
        late = [i - r.frame.index for i, r in enumerate(
            pipe.process(Frame(index=i, timestamp=float(t) * 3, image=img, captured_at=float(a)))
            for i, (t, a) in enumerate(zip(stamps, arrival))) if r is not None]
        assert set(late) == {1} and pipe.ready() == [] and pipe.window_in_use == "lag1"


def test_the_fast_temporal_lifter_is_ready_for_every_window_a_source_may_use(tmp_path, monkeypatch):
    from pipeline.factory import build_temporal_lifter

    monkeypatch.setenv("DIFFMOCAP_CACHE", str(tmp_path / "cache"))   # the ONNX exports go to a fresh cache
    lifter = temporal_lifter()
    lifter.save(tmp_path / "temporal.pt")
    f = lifter.cfg.window
    # auto: causal live, centred offline; lag1: it and its causal fallback (max wait)
    for setting, slots in (("auto", {f - 1, (f - 1) // 2}), ("lag1", {f - 2, f - 1})):
        cfg = apply_options(load_config(), lifter_mode="temporal", temporal_lifter=str(tmp_path / "temporal.pt"),
                            temporal_window=setting, steps=2, hypotheses=3)
        fast = build_temporal_lifter(cfg, say=lambda *_: None)
        assert {key[1] for key in fast.window_runner.sessions if key != "tokens"} == slots
