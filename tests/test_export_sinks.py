"""Sinks: BVH person choice and hold rule, periodic rewrites, check_writable, and SIGINT / SIGKILL mid-run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from export import sinks
from export.bvh import solve
from export.jsonl import read_jsonl
from export.sinks import (
    BvhSink, ExportError, JsonlSink, PersonFollower, PoseLog, check_writable, frame_rate, fill_missing,
)
from core.outputs import NO_FRAMES, partial_path, summary_lines
from core.paths import repo_root
from export.convert import main as convert_main
from tests.test_export_bvh import read_bvhio, read_ours
from tests.test_export_fixtures import make_result, synthetic_motion


def test_bvh_follows_first_person_and_fills_missing_frames(tmp_path):
    poses = synthetic_motion(frames=12)
    other = synthetic_motion(frames=12, seed=5)
    path = tmp_path / "a.bvh"
    with BvhSink(path, fps=30.0) as sink:
        sink.write(make_result(0, None))                                           # nobody yet
        for i in range(1, 5):
            sink.write(make_result(i, poses[i], person_id=3, extra_people=1))      # ours (3) and someone else (4)
        assert sink.person_id == 3
        for i in (5, 6):
            sink.write(make_result(i, other[i], person_id=4))                      # ours lost; 4 is not ours
        assert sink.person_id == 3
        for i in range(7, 12):
            sink.write(make_result(i, poses[i], person_id=7))                      # re-detected under a new id
        assert sink.person_id == 7
    got, frame_time = read_ours(path)
    assert len(got) == 12 and frame_time == pytest.approx(1 / 30)
    gap = [poses[4] + (poses[7] - poses[4]) * w for w in (1 / 3, 2 / 3)]   # frames 5, 6: between 4 and 7 in time
    filled = np.stack([poses[1]] + [poses[i] for i in range(1, 5)] + gap + [poses[i] for i in range(7, 12)])
    expected = solve(filled).positions
    assert np.linalg.norm(got - expected, axis=-1).mean() < 1e-5


def test_follower_prefers_the_new_track_nearest_the_last_pose():
    pose = np.zeros((17, 3))
    f = PersonFollower()
    assert f.choose([(0, pose)]) is pose and f.person_id == 0
    assert f.choose([]) is None and f.person_id == 0
    far, near = pose + 5.0, pose + 0.1
    assert f.choose([(5, far), (6, near)]) is near and f.person_id == 6
    fixed = PersonFollower(2)
    assert fixed.choose([(1, pose)]) is None and fixed.person_id == 2


def test_fill_missing():
    a, b = np.zeros((17, 3)), np.ones((17, 3))
    assert fill_missing([None, None]) is None
    out = fill_missing([None, a, None, b, None])   # before the first: the first; a gap: interpolated; after: held
    assert [float(x[0, 0]) for x in out] == [0, 0, 0.5, 1, 1]
    out = fill_missing([a, None, None, b], times=[0.0, 0.1, 0.4, 0.5])   # by time, not by frame count
    assert np.allclose([x[0, 0] for x in out], [0, 0.2, 0.8, 1])
    assert [float(x[0, 0]) for x in fill_missing([a, None, b], times=[1.0, 1.0, 1.0])] == [0, 0, 1]   # no time: hold


def test_pose_log_grows_fills_and_stays_small():
    log = PoseLog(capacity=4)
    rng = np.random.default_rng(0)
    poses = [None if i % 3 == 0 else rng.normal(size=(17, 3)) for i in range(1000)]
    for i, p in enumerate(poses):
        log.append(p, i / 30)
    filled = log.filled()
    assert len(log) == 1000 and filled.shape == (1000, 17, 3)
    assert np.allclose(filled[0], poses[1], atol=1e-6)           # frame 0 has none: it takes the first pose
    for i in range(1, 999):
        want = poses[i] if poses[i] is not None else (poses[i - 1] + poses[i + 1]) / 2   # gaps of one frame
        assert np.allclose(filled[i], want, atol=1e-5)
    assert np.allclose(filled[999], poses[998], atol=1e-6)     # after the last pose: held
    # The timestamps set the rate (the file lasts as long as the frames did); a given fps only for a single frame.
    assert frame_rate(None, log.times) == pytest.approx(30.0) and frame_rate(25, log.times) == pytest.approx(30.0)
    assert frame_rate(25, log.times[:1]) == 25.0 and frame_rate(None, []) == 30.0
    assert frame_rate(None, [None, 1.0]) == 30.0   # no step to measure
    per_frame = sum(a.nbytes for a in (log._poses, log._have, log._times)) / len(log)
    assert per_frame < 2 * (17 * 3 * 4 + 1 + 8) + 1   # float32 poses, at most doubled capacity


def test_bvh_nobody_gives_a_still_default_skeleton(tmp_path):
    path = tmp_path / "empty.bvh"
    with BvhSink(path, fps=10.0) as sink:
        for i in range(4):
            sink.write(make_result(i, None))
    got, _ = read_ours(path)
    assert len(got) == 4 and np.ptp(got, axis=0).max() < 1e-9


def test_no_frames_no_file(tmp_path):
    with BvhSink(tmp_path / "none.bvh", fps=30.0) as bvh, JsonlSink(tmp_path / "none.jsonl") as js:
        pass
    assert not list(tmp_path.iterdir())          # neither the files nor their partial names
    for sink in (bvh, js):
        assert not sink.written and sink.failure == NO_FRAMES
        assert summary_lines([sink]) == [f"NOT written: {sink.path} (no frame was processed)"]


def test_rewrite_schedule(tmp_path):
    poses = synthetic_motion(frames=5)
    every = tmp_path / "every.bvh"
    late = tmp_path / "late.bvh"
    with BvhSink(every, fps=30.0, rewrite_every=0.0) as a, BvhSink(late, fps=30.0, rewrite_every=3600.0) as b:
        for i in range(5):
            a.write(make_result(i, poses[i]))
            b.write(make_result(i, poses[i]))
            assert len(read_ours(partial_path(every))[0]) == i + 1   # on disk (partial name) after every frame
        assert not every.exists()                      # the final name only once complete
        assert not partial_path(late).exists()         # nothing before the first interval...
    assert len(read_ours(late)[0]) == 5                # ...and everything on close
    assert a.written and b.written and sorted(p.name for p in tmp_path.iterdir()) == ["every.bvh", "late.bvh"]


def test_fps_from_timestamps(tmp_path):
    poses = synthetic_motion(frames=6)
    with BvhSink(tmp_path / "cam.bvh", fps=None) as sink:
        for i in range(6):
            sink.write(make_result(i, poses[i], fps=12.5))
    assert read_ours(tmp_path / "cam.bvh")[1] == pytest.approx(0.08)


def test_check_writable(tmp_path, monkeypatch):
    assert check_writable(tmp_path / "new" / "dir" / "out.bvh") == tmp_path / "new" / "dir" / "out.bvh"
    assert (tmp_path / "new" / "dir").is_dir() and not list((tmp_path / "new" / "dir").iterdir())
    (tmp_path / "afile").write_text("x")
    cases = [tmp_path / "afile" / "out.jsonl", tmp_path, Path("/proc/diffmocap-test/out.bvh")]
    for bad in cases:
        with pytest.raises(ExportError) as e:
            check_writable(bad)
        assert "\n" not in str(e.value) and str(bad) in str(e.value)
    monkeypatch.setattr(sinks.shutil, "disk_usage", lambda p: SimpleNamespace(total=10**9, used=10**9, free=4096))
    with pytest.raises(ExportError, match="disk full"):
        check_writable(tmp_path / "out.bvh")


def test_check_writable_real_write_failure(tmp_path):
    # A file-size limit makes the probe write itself fail (EFBIG), as a full disk (ENOSPC) would.
    code = textwrap.dedent(f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
        from export.sinks import ExportError, check_writable
        try:
            check_writable({str(tmp_path / 'out.jsonl')!r})
        except ExportError as e:
            print(e); sys.exit(3)
    """)
    run = subprocess.run([sys.executable, "-c", code], cwd=repo_root(), capture_output=True, text=True, timeout=60)
    assert run.returncode == 3, run.stderr
    assert run.stdout.strip().startswith("cannot write") and len(run.stdout.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())   # the probe is gone


WRITER = textwrap.dedent("""
    import sys, time
    from export.sinks import BvhSink, JsonlSink
    from tests.test_export_fixtures import make_result, synthetic_motion
    poses = synthetic_motion(frames=2000)
    with JsonlSink(sys.argv[1], meta={"fps": 30.0}) as js, BvhSink(sys.argv[2], fps=30.0, rewrite_every=0.05) as bs:
        for i in range(2000):
            result = make_result(i, poses[i] if i % 7 else None)
            js.write(result)
            bs.write(result)
            time.sleep(0.01)
""")


def _run_until(tmp_path: Path, frames: int, sig: int) -> tuple[Path, Path, subprocess.CompletedProcess]:
    jsonl, bvh = tmp_path / "run.jsonl", tmp_path / "run.bvh"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(jsonl), str(bvh)], cwd=repo_root(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        growing, rewritten = partial_path(jsonl), partial_path(bvh)   # where the outputs are while the run goes on
        if growing.exists() and rewritten.exists() and growing.read_text().count("\n") > frames:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return jsonl, bvh, subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_sigint_finalises_both_files(tmp_path):
    jsonl, bvh, run = _run_until(tmp_path, 40, signal.SIGINT)
    assert "KeyboardInterrupt" in run.stderr   # interrupted mid-run, not finished
    header, frames = read_jsonl(jsonl)         # every line parses and validates
    assert jsonl.read_text().endswith("\n")
    n = len(frames)
    assert n >= 40 and [f["frame_index"] for f in frames] == list(range(n))
    ours, _ = read_ours(bvh)
    assert len(ours) == n                      # close() wrote every processed frame
    assert np.allclose(read_bvhio(bvh), ours, atol=1e-5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.bvh", "run.jsonl"]   # no partial or temporary file


def test_sigkill_leaves_valid_files(tmp_path):
    jsonl, bvh, run = _run_until(tmp_path, 40, signal.SIGKILL)
    assert run.returncode == -signal.SIGKILL
    assert not jsonl.exists() and not bvh.exists()      # final names only for finished outputs
    jsonl, bvh = partial_path(jsonl), partial_path(bvh)
    lines = jsonl.read_text().splitlines()
    header, frames = read_jsonl(jsonl)
    assert len(frames) == len(lines) - 1 >= 40
    ours, _ = read_ours(bvh)                   # the last periodic rewrite: complete and valid
    assert 0 < len(ours) <= len(frames)
    assert len(read_bvhio(bvh)) == len(ours)
    # The JSONL rebuilds a BVH with every frame, even with its last line cut off mid-write.
    cut = tmp_path / "cut.jsonl"
    text = jsonl.read_text()
    cut.write_text(text[: len(text) - len(lines[-1]) // 2 - 1])
    assert convert_main([str(cut), str(tmp_path / "rebuilt.bvh")]) == 0
    assert len(read_ours(tmp_path / "rebuilt.bvh")[0]) == len(frames) - 1


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_jsonl_sink_disk_full_is_one_line(tmp_path):
    sink = JsonlSink(tmp_path / "x.jsonl")
    sink._file.close()
    sink._file = open("/dev/full", "w")         # every write: ENOSPC, as on a full disk
    with pytest.raises(ExportError) as e:
        sink.write(make_result(0, None))
    assert str(e.value).startswith("cannot write") and "\n" not in str(e.value)
    with pytest.raises(ExportError):
        sink.close()                            # the unwritten buffer fails again, reported the same way
    assert not sink.written and sink.failure.startswith("cannot write")
    assert not list(tmp_path.iterdir())         # no frame: nothing published, the partial file removed
