"""Soak tool (tools/soak.py): the looped source, the measurements, and a shortened real run (150 frames) that checks
the command works and resident memory stays flat after warm-up. The 10,000-frame run is not part of CI."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tools.soak import LoopedVideo, Probe, analyse

ROOT = Path(__file__).resolve().parents[1]


def test_looped_video_keeps_counting_across_passes(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20.0, (32, 24))
    for i in range(12):
        writer.write(np.full((24, 32, 3), 20 * i, np.uint8))
    writer.release()
    with LoopedVideo(path, frames=30, start=2) as src:
        frames = list(src)
    assert [f.index for f in frames] == list(range(30))
    assert np.allclose([f.timestamp for f in frames], np.arange(30) / 20.0)
    assert src.passes == 3 and src.clip_frames == 10
    levels = [int(np.median(f.image)) for f in frames]
    assert abs(levels[0] - 40) < 8 and abs(levels[10] - 40) < 8 and abs(levels[9] - 220) < 8   # passes start at 2


def test_analyse_growth_slope_and_windows():
    probe = Probe()
    for i in range(100):
        probe.wall.append(i * (0.1 if i < 50 else 0.2))       # 10 FPS, then 5 FPS
        probe.cpu.append(i * 0.05)
        probe.rss.append(400 * 2**20 + i * 2**20 // 10)       # +0.1 MiB per frame
        probe.person.append(i % 2 == 0)
        probe.total_ms.append(10.0)
    r = analyse(probe, warmup=20, window=20, rss_start=100 * 2**20)
    assert r["rss_growth_mib"] == pytest.approx(8.0, abs=0.01)            # frames 19 -> 99
    assert r["rss_slope_kib_per_1000_frames"] == pytest.approx(102.4 * 1000, rel=1e-3)
    assert r["first_window"]["fps"] == pytest.approx(10.0) and r["last_window"]["fps"] == pytest.approx(5.0)
    assert r["throughput_ratio"] == pytest.approx(0.5) and r["cpu_throughput_ratio"] == pytest.approx(1.0)
    assert r["first_window"]["with_person"] == pytest.approx(0.5)


def test_soak_short_run():
    from pipeline.samples import SampleMissing, sample_path
    from weights.fetch import WeightsMissing, model_path

    try:
        sample_path("vtest.avi")
        model_path("pose_detection")
        model_path("pose_landmark_lite")
    except (SampleMissing, WeightsMissing) as e:
        pytest.skip(str(e))
    # 150 frames from frame 160 (vtest.avi's pedestrians are mostly too small for BlazePose before it), so the
    # landmark model, the lifter and both exports all run during warm-up and after it.
    cmd = [sys.executable, "-m", "tools.soak", "--frames", "150", "--start", "160", "--warmup", "50", "--window", "50",
           "--model", "lite", "--hypotheses", "2", "--steps", "1", "--min-throughput-ratio", "0", "--json",
           "--no-progress"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    result = json.loads(r.stdout)
    assert result["frames"] == 150 and result["with_person"] > 0.5
    assert result["rss_growth_mib"] < 50 and result["ok_memory"]
    assert result["first_window"]["fps"] > 0 and result["last_window"]["fps"] > 0
    assert result["outputs_bytes"]["soak.jsonl"] > 150 * 500 and result["outputs_bytes"]["soak.bvh"] > 0


def test_bvh_rewrites_leave_nothing_for_the_cyclic_gc(tmp_path):
    # BvhSink rewrites the whole file every few seconds; anything a rewrite leaves in a reference cycle (a recursive
    # closure, np.savetxt's StringIO) stays until a full GC, which long runs rarely reach: RSS grew ~30 KiB per frame.
    import gc
    import tracemalloc

    from export.bvh import write_bvh
    from tests.test_export_fixtures import synthetic_motion

    poses = np.asarray(synthetic_motion(frames=1000))
    write_bvh(tmp_path / "warm.bvh", poses[:10], 25.0)
    gc.collect()
    gc.disable()
    try:
        tracemalloc.start()
        for _ in range(4):
            write_bvh(tmp_path / "a.bvh", poses, 25.0)
        left, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        gc.enable()
    assert peak > 1_000_000              # a rewrite of 1000 frames does allocate megabytes ...
    assert left < 200_000, left          # ... and frees them when it returns, without the GC
