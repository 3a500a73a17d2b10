"""app.py as a user runs it (subprocess): one-line errors with exit code != 0 for bad sources, a headless run
that writes render + JSON + BVH, and Ctrl-C during export finalising the outputs (exit 130)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from core.outputs import partial_path
import pytest

ROOT = Path(__file__).resolve().parents[1]


def app(*args, timeout=120, env=None):
    e = dict(os.environ, **(env or {}))
    e.pop("DISPLAY", None)
    e.pop("WAYLAND_DISPLAY", None)
    return subprocess.run([sys.executable, str(ROOT / "app.py"), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=e, cwd=ROOT)


def models_available() -> bool:
    from weights.fetch import WeightsMissing, model_path

    try:
        model_path("pose_detection")
        model_path("pose_landmark_full")
        return True
    except WeightsMissing:
        return False


needs_models = pytest.mark.skipif(not models_available(), reason="BlazePose weights not fetched (make weights)")


def person_video(path: Path, n: int, fps: float = 10.0) -> Path:
    """A clip of the messi sample drifting sideways (a real person, so the detector finds one)."""
    from pipeline.samples import SampleMissing, sample_path

    try:
        img = cv2.imread(str(sample_path("messi5.jpg")))
    except SampleMissing:
        pytest.skip("sample media not available (python -m pipeline.samples --fetch)")
    h, w = img.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    for i in range(n):
        m = np.float32([[1, 0, 3 * np.sin(i / 4)], [0, 1, 0]])
        writer.write(cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE))
    writer.release()
    return path


def test_help_explains_options():
    r = app("--help")
    assert r.returncode == 0
    for opt in ("--source", "--model", "--hypotheses", "--steps", "--device", "--runtime", "--no-window", "--render",
                "--export-json", "--export-bvh", "--fov", "--config", "--verbose", "--live", "--offline", "--reconnect"):
        assert opt in r.stdout


@pytest.mark.parametrize("make, expect", [
    (lambda d: d / "missing.mp4", "no such file"),
    (lambda d: (d / "notes.txt").write_text("hello") and d / "notes.txt", "neither an image nor a video"),
    (lambda d: (d / "bad.avi").write_bytes(np.random.default_rng(0).bytes(5000)) and d / "bad.avi", "not a video"),
    (lambda d: (d / "zero.mp4").write_bytes(b"") or d / "zero.mp4", "zero length"),
    (lambda d: (d / "empty").mkdir() or d / "empty", "no images"),
    (lambda d: "7", "webcam 7"),
])
def test_bad_sources_one_line_no_traceback(tmp_path, make, expect):
    r = app("--source", make(tmp_path), "--no-window", "--export-json", tmp_path / "o.jsonl")
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    errors = [line for line in r.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and expect in errors[0]


def test_bad_config_and_arguments(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("hypotheses: 0\n")
    r = app("--config", cfg)
    assert r.returncode == 2 and "hypotheses" in r.stderr and "Traceback" not in r.stderr
    r = app("--source", tmp_path, "--steps", "0")
    assert r.returncode == 2 and "--steps" in r.stderr


@needs_models
@pytest.mark.slow
def test_headless_run_writes_render_json_bvh(tmp_path):
    clip = person_video(tmp_path / "clip.avi", n=8)
    r = app("--source", clip, "--no-window", "--render", tmp_path / "r.mp4", "--export-json", tmp_path / "o.jsonl",
            "--export-bvh", tmp_path / "o.bvh", "--hypotheses", 4, "--steps", 2, "--stats-json", tmp_path / "s.json")
    assert r.returncode == 0, r.stderr[-2000:]
    cap = cv2.VideoCapture(str(tmp_path / "r.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 8
    cap.release()
    lines = (tmp_path / "o.jsonl").read_text().splitlines()
    assert len(lines) == 9 and json.loads(lines[3])["persons"]
    # The joint-definition term is recorded and inside every exported covariance (its diagonal >= sd^2).
    meta = json.loads(lines[0])["meta"]
    assert meta["joint_definition_mm"] == 20.0
    assert (meta["lifter"], meta["lifter_mode"]) == ("temporal", "temporal")   # the app's weights (configs/app.yaml)
    cov = np.array(json.loads(lines[3])["persons"][0]["covariance"])
    assert cov.shape == (17, 3, 3) and (np.diagonal(cov, axis1=1, axis2=2) >= 0.02**2 - 1e-9).all()
    bvhs = list(tmp_path.glob("o.bvh")) or list(tmp_path.glob("o_id*.bvh"))   # one per person (track id)
    assert bvhs and all(p.read_text().startswith("HIERARCHY") for p in bvhs)
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["frames"] == 8 and stats["mode"] == "offline"


@needs_models
@pytest.mark.slow
def test_sigint_during_export_finalises_outputs(tmp_path):
    clip = person_video(tmp_path / "clip.avi", n=300)
    out = tmp_path / "o.jsonl"
    bvh = tmp_path / "o.bvh"
    e = dict(os.environ)
    e.pop("DISPLAY", None)
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--source", str(clip), "--no-window",
                             "--export-json", str(out), "--export-bvh", str(bvh), "--hypotheses", "4", "--steps", "2",
                             "--max-people", "1"],   # one BVH that follows one person: a frame per frame processed
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e, cwd=ROOT)
    growing = partial_path(out)   # where the JSONL grows until the run ends
    deadline = time.time() + 60
    while time.time() < deadline and (not growing.exists() or len(growing.read_text().splitlines()) < 4):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    lines = out.read_text().splitlines()
    assert 4 <= len(lines) < 301 and all(json.loads(x) for x in lines)
    text = bvh.read_text()
    frames = int(text.split("Frames:")[1].split()[0])
    assert frames == len(lines) - 1   # the BVH was rewritten with every frame processed before Ctrl-C


def samples_available() -> bool:
    from pipeline.samples import SampleMissing, sample_path

    try:
        sample_path("messi5.jpg")
        sample_path("vtest.avi")
        return True
    except SampleMissing:
        return False


@needs_models
@pytest.mark.slow
@pytest.mark.skipif(not samples_available(), reason="sample media not fetched (python -m pipeline.samples --fetch)")
def test_default_run_without_display_processes_the_samples(tmp_path):
    r = app("--max-frames", 2, "--outputs", tmp_path / "outs", "--hypotheses", 4, "--steps", 2)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "sample media" in r.stderr and "Traceback" not in r.stderr
    outs = tmp_path / "outs"
    for name in ("messi5_render.png", "messi5.jsonl", "vtest_render.mp4", "vtest.jsonl"):
        assert (outs / name).stat().st_size > 0, name
    for stem in ("messi5", "vtest"):   # one BVH per person: stem.bvh for one, stem_id<ID>.bvh for several
        bvhs = list(outs.glob(f"{stem}.bvh")) or list(outs.glob(f"{stem}_id*.bvh"))
        assert bvhs and all(p.stat().st_size > 0 for p in bvhs), stem
    assert cv2.imread(str(outs / "messi5_render.png")).shape[0] > 0
    assert len((outs / "vtest.jsonl").read_text().splitlines()) == 3


@needs_models
@pytest.mark.slow
@pytest.mark.skipif(not __import__("shutil").which("xvfb-run"), reason="needs xvfb-run (a virtual display)")
def test_live_windows_on_a_virtual_display(tmp_path):
    """The real windows (Open3D 3D view + 2D window) in live mode on a virtual display: the run ends cleanly, every
    processed frame is exported, and the summary says how many late frames the windows did not draw."""
    from pipeline.samples import sample_path

    stats = tmp_path / "stats.json"
    cmd = ["xvfb-run", "-a", "-s", "-screen 0 1600x900x24", sys.executable, str(ROOT / "app.py"), "--source",
           sample_path("vtest.avi", fetch=True), "--live", "--replay-speed", "3", "--max-frames", "240",
           "--export-json", tmp_path / "out.jsonl", "--stats-json", stats]
    run = subprocess.run(list(map(str, cmd)), capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    data = json.loads(stats.read_text())
    assert data["mode"] == "live" and data["frames"] == 240
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert len(lines) == 1 + 240                       # header + every processed frame, drawn or not
    assert "keys: q quit" in run.stderr                 # the windows were opened (the key help is said then)
    assert "traceback" not in run.stderr.lower()
    assert (data["views_skipped"] > 0) == ("skipped drawing" in run.stderr)


@needs_models
@pytest.mark.slow
@pytest.mark.skipif(not __import__("shutil").which("Xvfb"), reason="needs Xvfb (a virtual display)")
def test_an_image_stays_on_screen_until_closed(tmp_path):
    """With windows, a single picture is held on screen after processing (not flashed and closed); its outputs are
    already complete then, and stopping the app (here SIGTERM, as Ctrl-C or closing a window) exits cleanly."""
    import queue
    import threading

    from pipeline.samples import sample_path

    xvfb = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1600x900x24", "-nolisten", "tcp"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        env = dict(os.environ, DISPLAY=":" + xvfb.stdout.readline().strip())
        out_json, out_png = tmp_path / "m.jsonl", tmp_path / "m.png"
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--source", str(sample_path("messi5.jpg")),
                                 "--export-json", str(out_json), "--render", str(out_png)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in proc.stderr] and None, daemon=True).start()
        seen = []
        while not any("showing the result" in x for x in seen):
            seen.append(lines.get(timeout=120))
        assert out_json.is_file() and len(out_json.read_text().splitlines()) == 2 and out_png.is_file()
        time.sleep(1.0)
        assert proc.poll() is None, "".join(seen)          # still showing the picture
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        time.sleep(0.2)
        rest = []
        while not lines.empty():
            rest.append(lines.get())
        assert any("wrote" in x for x in rest) and not any("Traceback" in x for x in seen + rest)
    finally:
        if "proc" in locals() and proc.poll() is None:
            proc.kill()
        xvfb.kill()
