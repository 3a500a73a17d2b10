"""Runner: offline processes every frame in order; live keeps a 1-slot buffer and drops under load; failures and
Ctrl-C end the run cleanly with the sinks closed."""
from __future__ import annotations

import json
import threading
import time

import cv2
import numpy as np
import pytest

from core.smoothing import OneEuroConfig
from export.sinks import JsonlSink
from pipeline.runner import LatestSlot, run_live, run_offline
from pipeline.sources import Source, SourceLost, open_source
from pipeline.config import WarmStartConfig
from pipeline.stages import Pipeline
from tests.fakes_app import FakeFrontEnd, FakeLifter


def write_video(path, n=30, fps=25.0, size=(160, 120)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for i in range(n):
        img = np.full((size[1], size[0], 3), 40, np.uint8)
        cv2.putText(img, str(i), (10, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (255, 255, 255), 2)
        writer.write(img)
    writer.release()
    return path


class Collect:
    def __init__(self, fail_at=None, exc=KeyboardInterrupt):
        self.results, self.closed, self.fail_at, self.exc = [], False, fail_at, exc

    def write(self, result):
        if self.fail_at is not None and len(self.results) == self.fail_at:
            raise self.exc()
        self.results.append(result)

    def close(self):
        self.closed = True


def make_pipeline(frontend_delay=0.0, **kw):
    kw.setdefault("warm_start", WarmStartConfig(enabled=True, init_t=200))
    return Pipeline(frontend=FakeFrontEnd(delay=frontend_delay), lifter=FakeLifter(), hypotheses=6, steps=2, **kw)


def test_offline_end_to_end_every_frame_in_order(tmp_path):
    src = open_source(write_video(tmp_path / "clip.avi", n=30))
    sink_path = tmp_path / "out.jsonl"
    collect = Collect()
    pipe = make_pipeline()
    with JsonlSink(sink_path) as sink:
        stats = run_offline(src, pipe, [collect, sink], progress=False)
    src.close()
    assert stats.frames == 30 and stats.error is None and not stats.interrupted
    assert [r.frame.index for r in collect.results] == list(range(30))
    r = collect.results[10]
    est = r.persons[0].estimate
    assert est.hypotheses.shape == (6, 17, 3) and est.covariance.shape == (17, 3, 3)
    # Root translation recovered from the fake 2D projection (the fake lifter's mean is near the projected pose).
    assert abs(est.root_translation[2] - 3.5) < 0.5
    assert {"lift", "root", "smooth", "total"} <= set(r.timings_ms)
    # Warm start: every frame after the first starts from the previous mean.
    calls = pipe.lifter.calls
    assert calls[0]["init"] is None and all(c["init"] is not None for c in calls[1:])
    lines = sink_path.read_text().splitlines()
    assert len(lines) == 31 and json.loads(lines[-1])["frame_index"] == 29


def test_pipelined_offline_gives_the_same_results_in_order(tmp_path):
    """2D on its own thread (every frame, in order), lifting here: the same FrameResults as the sequential loop."""
    video = write_video(tmp_path / "clip.avi", n=20)
    runs = []
    for pipelined in (False, True):
        src = open_source(video)
        collect = Collect()
        stats = run_offline(src, make_pipeline(frontend_delay=0.002), [collect], progress=False, pipelined=pipelined)
        src.close()
        assert stats.frames == 20 and stats.error is None
        runs.append(collect.results)
    assert [r.frame.index for r in runs[1]] == list(range(20))
    for a, b in zip(*runs):
        np.testing.assert_allclose(a.persons[0].estimate.mean, b.persons[0].estimate.mean)
        np.testing.assert_allclose(a.persons[0].estimate.root_translation, b.persons[0].estimate.root_translation)
    src = open_source(video)   # a stop before the end (max_frames) leaves no thread behind
    stats = run_offline(src, make_pipeline(), [Collect()], progress=False, pipelined=True, max_frames=3)
    src.close()
    assert stats.frames == 3 and threading.active_count() < 10


def test_smoothing_and_warm_start_can_be_off(tmp_path):
    from pipeline.config import WarmStartConfig

    src = open_source(write_video(tmp_path / "clip.avi", n=5))
    pipe = make_pipeline(smoothing=OneEuroConfig(enabled=False), warm_start=WarmStartConfig(enabled=False))
    collect = Collect()
    run_offline(src, pipe, [collect], progress=False)
    assert all(c["init"] is None for c in pipe.lifter.calls)


def test_latest_slot_newest_wins():
    slot = LatestSlot()
    for i in range(5):
        slot.put(i)
    assert slot.get(timeout=0.01) == 4 and slot.dropped == 4
    assert slot.get(timeout=0.01) is None


@pytest.mark.parametrize("pipelined", [False, True])
def test_live_drops_frames_under_load_instead_of_queueing(tmp_path, pipelined):
    # 50 fps replay, ~60 ms per frame of processing: a queue would grow by ~2 frames per frame processed.
    src = open_source(write_video(tmp_path / "clip.avi", n=60, fps=50.0), replay=True)
    collect = Collect()
    stats = run_live(src, make_pipeline(frontend_delay=0.06), [collect], pipelined=pipelined)
    src.close()
    assert stats.dropped + src.late_frames > 20
    assert stats.frames + stats.dropped + src.late_frames <= 60
    assert stats.frames < 30
    # Latency stays bounded by about one processing time plus one frame wait, not growing with the backlog.
    lat = np.array(stats.latencies_ms)
    assert np.median(lat) < 200 and lat[-5:].max() < 250
    idx = [r.frame.index for r in collect.results]
    assert idx == sorted(idx) and len(set(idx)) == len(idx)


class LosingSource(Source):
    """Delivers `n` frames, then the camera is 'unplugged'."""

    kind = "webcam"
    live = True

    def __init__(self, n=5, recover=False):
        super().__init__("fake cam", 100.0, None)
        self.n, self.recover, self.reconnect_calls = n, recover, 0
        self.size = (160, 120)

    def _read(self):
        if self.n <= 0:
            raise SourceLost("fake cam: stopped delivering frames")
        self.n -= 1
        time.sleep(0.01)
        return np.zeros((120, 160, 3), np.uint8)

    def reconnect(self):
        self.reconnect_calls += 1
        if self.recover:
            self.n, self.recover = 3, False
        else:
            from pipeline.sources import SourceError
            raise SourceError("fake cam: still gone")


@pytest.mark.parametrize("pipelined", [False, True])
def test_camera_lost_mid_stream_ends_cleanly(pipelined):
    collect = Collect()
    stats = run_live(LosingSource(5), make_pipeline(), [collect], pipelined=pipelined)
    assert "stopped delivering" in stats.error and stats.frames >= 1
    assert not collect.closed  # the runner leaves closing to the caller's finally


def test_reconnect_with_backoff():
    src = LosingSource(4, recover=True)
    stats = run_live(src, make_pipeline(), [Collect()], reconnect=True, reconnect_max_s=1.2, say=lambda m: None)
    assert stats.reconnects == 1 and src.reconnect_calls >= 2   # recovered once, then gave up after the next loss
    assert "reconnecting failed" in stats.error


@pytest.mark.parametrize("mode", ["offline", "live"])
def test_keyboard_interrupt_stops_and_sinks_close(tmp_path, mode):
    src = open_source(write_video(tmp_path / "clip.avi", n=30), replay=mode == "live")
    collect = Collect(fail_at=3)
    sink_path = tmp_path / "out.jsonl"
    sink = JsonlSink(sink_path)
    try:
        run = run_offline if mode == "offline" else run_live
        kwargs = {"progress": False} if mode == "offline" else {}
        stats = run(src, make_pipeline(), [sink, collect], **kwargs)
    finally:
        sink.close()
        src.close()
    assert stats.interrupted
    assert len(sink_path.read_text().splitlines()) == 1 + 4   # header + the frames written before Ctrl-C
    assert threading.active_count() < 10                      # the capture thread was joined


@pytest.mark.parametrize("mode", ["live", "offline"])
def test_pipelined_stage_error_reaches_the_caller(tmp_path, mode):
    class Broken(FakeFrontEnd):
        def process(self, frame, state=None):
            raise RuntimeError("landmark model exploded")

    src = open_source(write_video(tmp_path / "clip.avi", n=10, fps=50.0), replay=mode == "live")
    pipe = Pipeline(frontend=Broken(), lifter=FakeLifter())
    run = run_live if mode == "live" else run_offline
    kwargs = {} if mode == "live" else {"progress": False}
    with pytest.raises(RuntimeError, match="exploded"):
        run(src, pipe, [Collect()], pipelined=True, **kwargs)
    src.close()


def test_hold_polls_until_a_window_is_closed():
    from pipeline.runner import hold

    class Window:
        polls = 0

        def poll(self):
            self.polls += 1
            return self.polls < 3     # closed on the third poll

    w = Window()
    hold([object(), w], interval=0.001)  # consumers without poll() are fine
    assert w.polls == 3


def test_warm_start_from_the_world_landmarks_of_each_frame(tmp_path):
    """source "world": every frame (the first too) starts from its own landmark model's world landmarks, mapped to
    our 17 root-relative joints, noised to init_t; never from the previous frame."""
    from detectors.joint_map import world_joints
    from pipeline.config import WarmStartConfig
    from core.records import Landmarks

    class WorldFrontEnd(FakeFrontEnd):
        def process(self, frame, state=None):
            persons, state = super().process(frame, state)
            world = np.random.default_rng(frame.index).normal(0, 0.3, (33, 3))
            persons[0].landmarks = Landmarks(roi=persons[0].detection.roi, presence=1.0, landmarks=np.zeros((33, 5)),
                                             world=world, heatmaps=np.zeros((39, 64, 64)))
            return persons, state

    src = open_source(write_video(tmp_path / "clip.avi", n=4))
    pipe = Pipeline(frontend=WorldFrontEnd(), lifter=FakeLifter(), hypotheses=6, steps=2,
                    warm_start=WarmStartConfig(enabled=True, init_t=400, source="world"))
    run_offline(src, pipe, [Collect()], progress=False)
    calls = pipe.lifter.calls
    assert len(calls) == 4 and all(c["init_t"] == 400 for c in calls)
    for i, c in enumerate(calls):
        expected = world_joints(np.random.default_rng(i).normal(0, 0.3, (33, 3)))
        assert np.allclose(c["init"], expected) and np.allclose(c["init"][0], 0)


@pytest.mark.parametrize("settle_s", [1.0, 0.0])
def test_offline_video_starts_in_a_settled_world(tmp_path, settle_s):
    """The world's look-ahead (pipeline.outputs.settle_world): an offline video starts with the up vector and floor of
    its first second. Here someone walks away from a camera looking 20 deg down, lifted upright in the camera frame
    (as the lifter leans people seen from steep views): the body cue says level, the feet over the floor say 20 deg;
    without the look-ahead the world turns when the first floor fit lands, moving everyone in it."""
    from pipeline.config import AppConfig
    from pipeline.outputs import run_source
    pitch, height = np.radians(20.0), 3.0

    def path(i):   # camera-frame root: feet (0.88 m below the pelvis) on the pitched floor, 1.25 m/s away
        z = 3.0 + 0.05 * i
        return np.array([0.0, (height - z * np.sin(pitch)) / np.cos(pitch) - 0.96, z])
    cfg = AppConfig()
    cfg.world.settle_s = settle_s
    src = open_source(write_video(tmp_path / "clip.avi", n=40, fps=25.0))
    pipe = Pipeline(frontend=FakeFrontEnd(path=path), lifter=FakeLifter(), hypotheses=6, steps=2,
                    warm_start=WarmStartConfig(enabled=False))
    collect = Collect()
    run_source(cfg, src, pipe, [collect], live=False, progress=False)
    src.close()
    assert [r.frame.index for r in collect.results] == list(range(40))
    pitches = np.array([r.world.pitch_deg for r in collect.results])
    assert pitches[24] > 3, pitches                  # the feet tilt the world away from the level body cue
    gap = abs(pitches[0] - pitches[24])              # the first frame against the world after one second
    assert gap < 1.5 if settle_s else gap > 3, pitches
