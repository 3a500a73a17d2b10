"""pipeline.batch: inputs and manifest bookkeeping (fast, no Ray), and one run on a local Ray instance with 2 workers
on tiny clips: Ctrl-C mid-run, --resume completes it, a corrupt file is recorded as failed, outputs equal the app's,
and a second --resume does no work."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from core.paths import repo_root
from pipeline.manifest import Manifest, collect_inputs, describe_files, failed_same, input_identity, verified
from pipeline.samples import SampleMissing, sample_path

SETTINGS = ["--model", "lite", "--hypotheses", "4", "--steps", "2", "--seed", "0"]


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_collect_inputs(tmp_path):
    a = touch(tmp_path / "shoot" / "day1" / "take.mp4")
    b = touch(tmp_path / "shoot" / "day2" / "take.mp4")
    c = touch(tmp_path / "shoot" / "still.JPG")
    touch(tmp_path / "shoot" / "notes.txt")                   # not media: not taken from a folder
    touch(tmp_path / "shoot" / ".hidden" / "x.mp4")            # hidden folders are skipped
    d = touch(tmp_path / "loose" / "take.avi")
    e = touch(tmp_path / "odd.bin")                            # named on its own: taken, the worker decides
    inputs, missing = collect_inputs([str(tmp_path / "shoot"), str(tmp_path / "loose" / "*.avi"), str(e),
                                      str(a), str(tmp_path / "nothing*.mp4")])
    assert [(i.path, i.key) for i in inputs] == [(a, "day1/take"), (b, "day2/take"), (c, "still"), (d, "take"),
                                                 (e, "odd")]
    assert missing == [str(tmp_path / "nothing*.mp4")]
    twice, _ = collect_inputs([str(d), str(tmp_path / "shoot" / "day1" / "take.mp4"), str(b)])
    assert [i.key for i in twice] == ["take", "take_2", "take_3"]      # same stems: unique output folders


def test_manifest_verification(tmp_path):
    src = touch(tmp_path / "in" / "clip.mp4", b"video")
    (item,), _ = collect_inputs([str(src)])
    out = tmp_path / "out"
    touch(out / "clip" / "clip.jsonl", b"{}\n")
    files = describe_files(out / "clip", {"json": "clip.jsonl"})
    record = {"input": str(src.resolve()), "key": "clip", "status": "ok", "settings": "s1",
              "input_identity": input_identity(src),
              "outputs": {k: {**v, "path": f"clip/{v['path']}"} for k, v in files.items()}}
    m = Manifest(out)
    m.append(record)
    with open(m.path, "a") as f:
        f.write('{"input": "torn')                            # a hard kill mid-line: ignored
    latest = m.latest()[str(src.resolve())]
    assert verified(latest, item, out, "s1")
    assert not verified(latest, item, out, "s2")               # other settings
    (out / "clip" / "clip.jsonl").write_bytes(b"[]\n")         # same size, other content
    assert not verified(latest, item, out, "s1")
    assert verified(latest, item, out, "s1", check_hash=False)
    (out / "clip" / "clip.jsonl").unlink()
    assert not verified(latest, item, out, "s1", check_hash=False)
    failed = {**record, "status": "failed"}
    assert failed_same(failed, item, "s1") and not failed_same(failed, item, "s2")
    os.utime(src, ns=(1, 1))                                   # the input changed: try again
    assert not failed_same(failed, item, "s1")


def make_clips(folder: Path, n: int = 5, frames: int = 8) -> list[Path]:
    """n short half-size clips from vtest.avi where a pedestrian is found in every frame, and a corrupt file."""
    try:
        video = sample_path("vtest.avi")
    except SampleMissing as e:
        pytest.skip(str(e))
    cap = cv2.VideoCapture(str(video))
    folder.mkdir(parents=True)
    paths = []
    for k in range(n):
        cap.set(cv2.CAP_PROP_POS_FRAMES, 500 + 6 * k)
        path = folder / f"clip{k}.avi"
        out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (384, 288))
        for _ in range(frames):
            ok, image = cap.read()
            out.write(cv2.resize(image, (384, 288)))
        out.release()
        paths.append(path)
    touch(folder / "broken.mp4", b"\0\0\0\x18ftypmp42" + bytes(range(256)) * 8)
    return paths


def batch_cmd(clips: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pipeline.batch", str(clips), "--out-dir", str(out), "--workers", "2",
            "--export", "json,bvh,gltf", *SETTINGS, *extra]


def poses(path: Path) -> list[dict]:
    frames = [json.loads(line) for line in path.read_text().splitlines()[1:]]
    return [{p["id"]: p["pose_3d_world"] for p in f["persons"]} for f in frames]


def test_batch_on_local_ray(tmp_path):
    clips = make_clips(tmp_path / "clips")
    out = tmp_path / "out"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    # 1. Ctrl-C as a terminal sends it (the whole process group) once the first input is finished.
    t0 = time.perf_counter()
    run = subprocess.Popen(batch_cmd(tmp_path / "clips", out), cwd=repo_root(), env=env, start_new_session=True,
                           stderr=subprocess.PIPE, text=True)
    manifest = out / "manifest.jsonl"
    deadline = time.monotonic() + 300
    while not (manifest.is_file() and manifest.read_text().count("\n")) and run.poll() is None:
        assert time.monotonic() < deadline, "no input finished in 300 s"
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGINT)
    _, err = run.communicate(timeout=120)
    first_s = time.perf_counter() - t0
    assert run.returncode == 130, err[-3000:]
    records = Manifest(out).records()
    assert not (out / ".partial").exists() or not any((out / ".partial").iterdir())
    for r in records:    # what was recorded is installed and complete; nothing else is
        assert r["status"] in ("ok", "failed")
        assert all((out / o["path"]).is_file() for o in r["outputs"].values())
    installed = {p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert installed == {r["key"] for r in records if r["status"] == "ok"}
    assert len(records) < 6, "every input finished before Ctrl-C: the test did not interrupt anything"
    # 2. --resume finishes the rest; the broken file fails with a one-line reason; exit code 4: some failed.
    t0 = time.perf_counter()
    done = subprocess.run(batch_cmd(tmp_path / "clips", out, "--resume"), cwd=repo_root(), env=env,
                          capture_output=True, text=True, timeout=600)
    second_s = time.perf_counter() - t0
    assert done.returncode == 4, done.stderr[-3000:]
    latest = Manifest(out).latest()
    assert sorted(r["key"] for r in latest.values() if r["status"] == "ok") == [f"clip{k}" for k in range(5)]
    broken = latest[str((tmp_path / "clips" / "broken.mp4").resolve())]
    assert broken["status"] == "failed" and "\n" not in broken["error"] and "broken.mp4" in broken["error"]
    for r in latest.values():
        if r["status"] == "ok":
            assert r["frames"] == 8 and set(r["outputs"]) == {"json", "bvh", "gltf"}
    assert "broken" in done.stderr and "failed" in done.stderr     # the summary table
    # 3. The same clip through the app: the same poses (same seed).
    app_json = tmp_path / "app.jsonl"
    app = subprocess.run([sys.executable, "app.py", "--source", str(clips[3]), "--no-window", "--export-json",
                          str(app_json), *SETTINGS], cwd=repo_root(), env=env, capture_output=True, text=True,
                         timeout=300)
    assert app.returncode == 0, app.stderr[-2000:]
    ours, theirs = poses(out / "clip3" / "clip3.jsonl"), poses(app_json)
    assert len(ours) == len(theirs) == 8 and all(ours)
    assert ours == theirs
    # 4. --resume again: nothing to do, no Ray, a fraction of the first run's time.
    t0 = time.perf_counter()
    again = subprocess.run(batch_cmd(tmp_path / "clips", out, "--resume"), cwd=repo_root(), env=env,
                           capture_output=True, text=True, timeout=120)
    again_s = time.perf_counter() - t0
    print(f"interrupted run {first_s:.1f} s, resume {second_s:.1f} s, second resume {again_s:.1f} s")
    assert again.returncode == 4 and "0 to process" in again.stderr and "Ray ready" not in again.stderr
    assert again_s < 0.25 * second_s


def test_app_points_a_folder_of_videos_to_the_batch(tmp_path):
    from core.errors import SourceError
    from pipeline.sources import open_source

    touch(tmp_path / "clips" / "a.mp4")
    with pytest.raises(SourceError, match="1 videos and no images.*pipeline.batch"):
        open_source(tmp_path / "clips")
