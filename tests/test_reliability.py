"""Reliability round 2 (issue 15): a user's files are never destroyed, no broken output is claimed, every catchable
signal ends a run the same way, time comes from the source, and every value is checked before any model loads.

app.py runs as a subprocess (no display), several at a time (tests/test_robustness.py's helpers); every run's inputs
are checksummed before and after, and every `wrote PATH (N frames)` line of a summary is checked against the file.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import http.server
import os
import re
import signal
import struct
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.outputs import NO_FRAMES, atomic_write, check_no_overlap, partial_path, summary_lines
from core.errors import ConfigError
from export.convert import main as convert_main
from export.jsonl import read_jsonl
from tests.test_robustness import (
    QUICK, SIZE_LIMITED, app_cmd, assert_no_traceback, assert_one_error, bvh_frames, messi, models_available,
    not_processed, run_all, signal_when, write_clip,
)

needs_models = pytest.mark.skipif(not models_available(), reason="BlazePose weights not fetched (make weights)")


# ---------------------------------------------------------------------------------------------------------------
# Helpers: crafted files, checksums, and the summary checked against the disk.

def png_header_only(path: Path, w: int, h: int) -> Path:
    """A PNG whose header says w x h (a few hundred bytes: the size check must come before any pixel is decoded)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))
    return path


def jpeg_with_orientation(path: Path, image: np.ndarray, orientation: int) -> Path:
    """A JPEG with an EXIF APP1 segment holding only the orientation tag (as a phone writes a photo taken sideways)."""
    jpg = cv2.imencode(".jpg", image)[1].tobytes()
    tiff = (b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1)
            + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0))
    app1 = b"Exif\x00\x00" + tiff
    path.write_bytes(jpg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpg[2:])
    return path


def vfr_video(path: Path, gaps_ms: list[int], image: np.ndarray) -> list[float]:
    """A variable-frame-rate video (MKV or MP4): MJPEG packets written with their own timestamps (ms time base);
    returns the frame times in seconds."""
    h, w = image.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"MJPG"), 1000.0, (w, h),
                             [cv2.VIDEOWRITER_PROP_RAW_VIDEO, 1])
    assert writer.isOpened()
    t, times = 0, []
    packet = cv2.imencode(".jpg", image)[1].reshape(1, -1)
    for gap in [0] + gaps_ms:
        t += gap
        writer.set(cv2.VIDEOWRITER_PROP_PTS, t)
        writer.set(cv2.VIDEOWRITER_PROP_KEY_FLAG, 1)
        writer.write(packet)
        times.append(t / 1000.0)
    writer.release()
    return times


def checksums(*paths: Path) -> dict[str, str]:
    """sha256 of every file under the given paths (folders walked)."""
    out = {}
    for p in paths:
        files = sorted(q for q in Path(p).rglob("*") if q.is_file()) if Path(p).is_dir() else [Path(p)]
        for f in files:
            out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


WROTE = re.compile(r"wrote (.+?) \((\d+) (frames|PNGs)")


def check_summary(r: subprocess.CompletedProcess) -> dict[str, int]:
    """Every output the summary claims exists and holds the frames it says; returns path -> frames."""
    claimed = {}
    for line in r.stderr.splitlines():
        m = WROTE.search(line)
        if not m:
            continue
        path, n = Path(m.group(1)), int(m.group(2))
        claimed[str(path)] = n
        assert path.exists(), line
        if path.suffix == ".jsonl":
            assert len(read_jsonl(path)[1]) == n, line
        elif path.suffix == ".bvh":
            assert bvh_frames(path) == n, line
        elif path.suffix == ".mp4":
            cap = cv2.VideoCapture(str(path))
            assert cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == n, line
            cap.release()
        elif m.group(3) == "PNGs":
            pngs = sorted(path.glob("*.png"))
            assert len(pngs) == n and all(cv2.imread(str(p)) is not None for p in pngs), line
    return claimed


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial" in p.name or ".tmp" in p.name)


# ---------------------------------------------------------------------------------------------------------------
# Refused before any processing (no model is loaded): overlaps, values, formats, odd sources.

@pytest.fixture(scope="module")
def refusals(tmp_path_factory):
    d = tmp_path_factory.mktemp("refusals")
    frame = np.full((120, 160, 3), 90, np.uint8)
    frames = d / "frames"
    frames.mkdir()
    for i in range(12):
        cv2.imwrite(str(frames / f"{i:06d}.png"), frame)
    clip = write_clip(d / "clip.avi", [frame] * 5)
    partial_clip = write_clip(d / "r.partial.avi", [frame] * 5)
    (d / "link.bvh").symlink_to(clip)
    os.link(clip, d / "hard.jsonl")
    cfg = d / "cfg.yaml"
    cfg.write_text("model: lite\n")
    (d / "fov_nan.yaml").write_text("fov: .nan\n")
    (d / "smooth_nan.yaml").write_text("smoothing:\n  min_cutoff: .nan\n")
    (d / "latin1.yaml").write_bytes("# r\xe9glages\nmodel: lite\n".encode("latin-1"))
    (d / "huge_view.yaml").write_text("view:\n  width: 20000\n  height: 20000\n")
    os.mkfifo(d / "pipe.mp4")
    videos = d / "videos"
    videos.mkdir()
    write_clip(videos / "a.avi", [frame] * 3)
    huge = png_header_only(d / "huge.png", 40000, 40000)
    inputs = (frames, clip, partial_clip, cfg, videos, huge)
    before = checksums(*inputs)
    out = ("--no-window", "--export-json", d / "o.jsonl")
    cmds = {
        "render_into_source_folder": app_cmd("--source", frames, "--no-window", "--render", frames),
        "render_into_source_folder_slash": app_cmd("--source", frames, "--no-window", "--render", f"{frames}/"),
        "json_onto_a_source_picture": app_cmd("--source", frames, "--no-window", "--export-json",
                                              frames / "000009.png"),
        "bvh_symlink_to_source": app_cmd("--source", clip, "--no-window", "--export-bvh", d / "link.bvh"),
        "json_hardlink_to_source": app_cmd("--source", clip, "--no-window", "--export-json", d / "hard.jsonl"),
        "json_onto_config": app_cmd("--config", cfg, "--source", clip, "--no-window", "--export-json", cfg),
        # the render's partial name (r.partial.avi while it is written) is the source
        "partial_name_is_source": app_cmd("--source", partial_clip, "--no-window", "--render", d / "r.avi"),
        "fov_nan": app_cmd("--source", clip, *out, "--fov", "nan"),
        "fov_inf": app_cmd("--source", clip, *out, "--fov", "inf"),
        "config_fov_nan": app_cmd("--config", d / "fov_nan.yaml", "--source", clip, *out),
        "config_smoothing_nan": app_cmd("--config", d / "smooth_nan.yaml", "--source", clip, *out),
        "config_not_utf8": app_cmd("--config", d / "latin1.yaml", "--source", clip, *out),
        "config_huge_view": app_cmd("--config", d / "huge_view.yaml", "--source", clip, *out),
        "device_cuda": app_cmd("--source", clip, *out, "--device", "cuda:63", "--runtime", "torch"),
        "device_cuda_litert": app_cmd("--source", clip, *out, "--device", "cuda", "--runtime", "litert"),
        "render_gif": app_cmd("--source", clip, "--no-window", "--render", d / "out.gif"),
        "replay_speed_huge": app_cmd("--source", clip, *out, "--live", "--replay-speed", "1e9"),
        "fifo": app_cmd("--source", d / "pipe.mp4", *out),
        "dev_zero": app_cmd("--source", "/dev/zero", *out),
        "folder_of_videos": app_cmd("--source", videos, *out),
        "rtsp_refused": app_cmd("--source", "rtsp://127.0.0.1:1/x", *out),
        "huge_image": app_cmd("--source", huge, *out),
    }
    # In this process (app.main, ~50 ms each: nothing here may load a model); one case as a real subprocess too.
    results = {name: call_main(cmd[2:]) for name, cmd in cmds.items()}
    results["render_into_source_folder_cli"] = run_all({"cli": cmds["render_into_source_folder"]})["cli"]
    return d, results, before == checksums(*inputs)


def call_main(argv) -> subprocess.CompletedProcess:
    """app.main(argv) in this process, its stderr captured; the signal handlers it installs are put back."""
    import app

    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)}
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            code = app.main([str(a) for a in argv])
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
    return subprocess.CompletedProcess(argv, code, "", err.getvalue())


@pytest.mark.parametrize("case, code, words", [
    ("render_into_source_folder", 2, ("--render", "the source folder", "would be overwritten")),
    ("render_into_source_folder_cli", 2, ("--render", "the source folder", "would be overwritten")),
    ("render_into_source_folder_slash", 2, ("--render", "the source folder")),
    ("json_onto_a_source_picture", 2, ("--export-json", "would overwrite a source picture", "000009.png")),
    ("bvh_symlink_to_source", 2, ("--export-bvh", "would overwrite the source", "clip.avi")),
    ("json_hardlink_to_source", 2, ("--export-json", "would overwrite the source")),
    ("json_onto_config", 2, ("--export-json", "would overwrite the config file")),
    ("partial_name_is_source", 2, ("--render", "would overwrite the source", "r.partial.avi")),
    ("fov_nan", 2, ("--fov nan", "not a finite number")),
    ("fov_inf", 2, ("--fov inf", "not a finite number")),
    ("config_fov_nan", 2, ("fov_nan.yaml", "fov", "not a finite number")),
    ("config_smoothing_nan", 2, ("smooth_nan.yaml", "smoothing.min_cutoff", "not a finite number")),
    ("config_not_utf8", 2, ("latin1.yaml", "not UTF-8")),
    ("config_huge_view", 2, ("huge_view.yaml", "view.width", "7680")),
    ("device_cuda", 2, ("--device cuda:63",)),
    ("device_cuda_litert", 2, ("--device cuda", "--runtime torch")),
    ("render_gif", 2, ("--render", ".gif is not a format", ".mp4")),
    ("replay_speed_huge", 2, ("--replay-speed", "1000")),
    ("fifo", 1, ("pipe.mp4", "named pipe (FIFO)")),
    ("dev_zero", 1, ("/dev/zero", "character device")),
    ("folder_of_videos", 1, ("videos", "1 videos and no images", "a.avi", "pass one video", "pipeline.batch")),
    ("rtsp_refused", 1, ("rtsp://127.0.0.1:1/x", "cannot open the stream")),
    ("huge_image", 1, ("huge.png", "too large")),
])
def test_refused_before_processing_with_one_line(refusals, case, code, words):
    d, results, inputs_kept = refusals
    r = results[case]
    assert_one_error(r, code, *words)
    not_processed(r)
    assert inputs_kept                              # sha256 of every input file unchanged
    assert not (d / "o.jsonl").exists() and leftovers(d) == ["r.partial.avi"]   # only the input named so


# ---------------------------------------------------------------------------------------------------------------
# Real runs (BlazePose lite, 2 hypotheses x 1 step): full disks, signals, time, streams.

class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    if not models_available():
        pytest.skip("BlazePose weights not fetched (make weights)")
    d = tmp_path_factory.mktemp("runs")
    img = messi()
    clip = write_clip(d / "clip.avi", [img] * 40)
    short = write_clip(d / "short.avi", [img] * 12)
    mixed = d / "mixed"
    mixed.mkdir()
    cv2.imwrite(str(mixed / "1.png"), img)
    cv2.imwrite(str(mixed / "2.png"), img)
    write_clip(mixed / "3.avi", [img] * 3)
    gaps = [16, 250, 33, 100, 16, 16, 200, 40, 120, 33, 66]
    times = {ext: vfr_video(d / f"vfr.{ext}", gaps, img) for ext in ("mkv", "mp4")}
    inputs = (clip, short, mixed, d / "vfr.mkv", d / "vfr.mp4")
    before = checksums(*inputs)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(d)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/short.avi"

    def outs(stem, render=None):
        extra = ("--render", d / render) if render else ()
        return ("--no-window", "--export-json", d / f"{stem}.jsonl", "--export-bvh", d / f"{stem}.bvh", *extra,
                *QUICK)

    cmds = {
        "full_disk_all": [sys.executable, "-c", SIZE_LIMITED, "70000", "--source", clip,
                          *outs("full_disk_all", "full_disk_all.mp4")],
        "full_disk_png": [sys.executable, "-c", SIZE_LIMITED, "600000", "--source", short, "--no-window",
                          "--render", d / "pngs", *QUICK],
        "vfr_mkv": app_cmd("--source", d / "vfr.mkv", *outs("vfr_mkv")),
        "vfr_mp4": app_cmd("--source", d / "vfr.mp4", *outs("vfr_mp4")),
        "vfr_mkv_live": app_cmd("--source", d / "vfr.mkv", "--live", *outs("vfr_mkv_live")),
        "replay_too_fast": app_cmd("--source", short, "--live", "--replay-speed", "1000", *outs("replay_too_fast")),
        "stream_http": app_cmd("--source", url, "--offline", *outs("stream_http")),
        "folder_with_a_video": app_cmd("--source", mixed, *outs("folder_with_a_video")),
    }
    try:
        results = run_all({k: [str(a) for a in v] for k, v in cmds.items()}, timeout=400)
    finally:
        server.shutdown()
    return d, results, times, before == checksums(*inputs)


def test_full_disk_names_every_output_and_keeps_jsonl_and_bvh_equal(runs):
    d, results, _, inputs_kept = runs
    r = results["full_disk_all"]
    assert_one_error(r, 1, "cannot write")
    claimed = check_summary(r)
    jsonl, bvh, mp4 = (str(d / f"full_disk_all.{ext}") for ext in ("jsonl", "bvh", "mp4"))
    # Every output is named: the JSONL and BVH written with the same frames, the video (larger than the limit, so cut)
    # reported as not written instead of left unreadable.
    assert claimed[jsonl] == claimed[bvh] >= 3
    assert f"NOT written: {mp4}" in r.stderr and not Path(mp4).exists()
    assert not leftovers(d) and inputs_kept


def test_full_disk_png_folder_leaves_no_cut_picture(runs):
    d, results, _, _ = runs
    r = results["full_disk_png"]
    assert_one_error(r, 1, "cannot write")
    assert str(d / "pngs") in r.stderr and "OSError" not in r.stderr
    check_summary(r)                                 # what it claims decodes
    pngs = sorted((d / "pngs").glob("*"))
    assert all(p.suffix == ".png" and cv2.imread(str(p)) is not None for p in pngs)   # no cut or temporary file
    assert len(pngs) < 12


@pytest.mark.parametrize("ext", ["mkv", "mp4"])
def test_variable_frame_rate_keeps_real_time(runs, ext):
    d, results, times, _ = runs
    r = results[f"vfr_{ext}"]
    assert_no_traceback(r)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "ended early" not in r.stderr and "truncated" not in r.stderr
    header, frames = read_jsonl(d / f"vfr_{ext}.jsonl")
    assert header["fps"] is not None and header["fps"] > 0
    assert [f["timestamp"] for f in frames] == pytest.approx(times[ext], abs=1e-3)   # the container's own times
    text = (d / f"vfr_{ext}.bvh").read_text()
    frame_time = float(text.split("Frame Time:")[1].split()[0])
    # The BVH has one frame per JSONL frame and plays as long as the video: (frames - 1) x frame time = duration.
    assert bvh_frames(d / f"vfr_{ext}.bvh") == len(frames)
    assert (len(frames) - 1) * frame_time == pytest.approx(times[ext][-1], rel=1e-3)


def test_variable_frame_rate_replays_in_real_time(runs):
    d, results, times, _ = runs
    r = results["vfr_mkv_live"]
    assert r.returncode == 0, r.stderr[-3000:]
    header, frames = read_jsonl(d / "vfr_mkv_live.jsonl")
    stamps = [f["timestamp"] for f in frames]
    assert stamps[-1] <= times["mkv"][-1] + 1e-3 and len(frames) >= 2
    assert all(min(abs(t - s) for s in times["mkv"]) < 1e-3 for t in stamps)   # each a frame's own time
    check_summary(r)


def test_replay_too_fast_claims_only_what_it_wrote(runs):
    d, results, _, _ = runs
    r = results["replay_too_fast"]
    assert r.returncode in (0, 1), r.stderr[-3000:]
    claimed = check_summary(r)
    for ext in ("jsonl", "bvh"):
        path = d / f"replay_too_fast.{ext}"
        assert (str(path) in claimed) == path.exists()
    if r.returncode == 1:
        assert f"NOT written: {d / 'replay_too_fast.bvh'}" in r.stderr


def test_http_stream_is_a_source(runs):
    d, results, _, inputs_kept = runs
    r = results["stream_http"]
    assert r.returncode == 0, r.stderr[-3000:]
    assert "stream http://127.0.0.1" in r.stderr
    assert check_summary(r)[str(d / "stream_http.jsonl")] == 12 and inputs_kept


def test_folder_with_videos_says_so(runs):
    d, results, _, _ = runs
    r = results["folder_with_a_video"]
    assert r.returncode == 0, r.stderr[-3000:]
    assert "skipped 1 video files in the folder" in r.stderr
    assert check_summary(r)[str(d / "folder_with_a_video.jsonl")] == 2


def test_many_steps_say_what_runs_and_export_nothing(tmp_path, monkeypatch):
    from detectors import onnx_export
    from lifter.loading import load_lifter
    from lifter.onnx_export import OnnxRunner
    from pipeline.config import AppConfig
    from pipeline.factory import fast_lifter

    monkeypatch.setattr(onnx_export, "cache_dir", lambda: tmp_path)   # where an export would go
    lifter, _ = load_lifter("default")
    said = []
    fast = fast_lifter(lifter, AppConfig(steps=60), said.append)
    assert "60 DDIM steps: the lifter runs on PyTorch" in said[0] and "min here" in said[0]
    assert not isinstance(getattr(fast, "runner", None), OnnxRunner) and not list(tmp_path.rglob("*.onnx"))
    assert isinstance(fast_lifter(lifter, AppConfig(steps=5), said.append).runner, OnnxRunner)   # no export yet


# ---------------------------------------------------------------------------------------------------------------
# Signals: HUP (closed terminal) and QUIT end a run as INT and TERM do; after SIGKILL the partial JSONL is usable.

@needs_models
@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGQUIT], ids=["SIGHUP", "SIGQUIT"])
def test_hangup_and_quit_finalise_every_output(tmp_path, sig):
    clip = write_clip(tmp_path / "clip.avi", [messi()] * 300, fps=25.0)
    before = checksums(clip)
    out, bvh, mp4 = tmp_path / "o.jsonl", tmp_path / "o.bvh", tmp_path / "r.mp4"
    cmd = app_cmd("--source", clip, "--no-window", "--export-json", out, "--export-bvh", bvh, "--render", mp4, *QUICK)
    r = signal_when(cmd, lambda err: partial_path(out).exists()
                    and partial_path(out).read_text().count("\n") >= 4, sig)
    assert r.returncode == 130, r.stderr[-3000:]
    assert_no_traceback(r)
    assert f"interrupted ({signal.Signals(sig).name}); outputs were finalised" in r.stderr
    claimed = check_summary(r)
    # The render is drawn after the frame sinks wrote a frame: a signal there leaves it one frame behind them.
    assert claimed[str(out)] == claimed[str(bvh)] >= 3 and claimed[str(out)] - 1 <= claimed[str(mp4)] <= claimed[str(out)]
    assert not leftovers(tmp_path) and checksums(clip) == before


@needs_models
def test_sigkill_leaves_a_usable_partial_jsonl(tmp_path):
    clip = write_clip(tmp_path / "clip.avi", [messi()] * 300, fps=25.0)
    out, bvh = tmp_path / "o.jsonl", tmp_path / "o.bvh"
    cmd = app_cmd("--source", clip, "--no-window", "--export-json", out, "--export-bvh", bvh, *QUICK)
    growing = partial_path(out)
    r = signal_when(cmd, lambda err: growing.exists() and growing.read_text().count("\n") >= 5, signal.SIGKILL)
    assert r.returncode == -signal.SIGKILL
    assert not out.exists() and not bvh.exists()          # no final name for an unfinished output
    header, frames = read_jsonl(growing, cut_end=True)
    assert len(frames) >= 4
    assert convert_main([str(growing), str(tmp_path / "rebuilt.bvh")]) == 0
    assert bvh_frames(tmp_path / "rebuilt.bvh") == len(frames)


# ---------------------------------------------------------------------------------------------------------------
# Unit level: the helpers every sink uses.

def test_atomic_write_leaves_the_old_file_or_the_new_one(tmp_path):
    path = tmp_path / "a.txt"
    atomic_write(path, "old")
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000)); "
            "from core.outputs import atomic_write; from core.errors import ExportError\n"
            f"try: atomic_write({str(path)!r}, 'x' * 5000)\n"
            "except ExportError as e: print(e); sys.exit(3)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert r.returncode == 3 and r.stdout.startswith("cannot write") and "\n" not in r.stdout.strip()
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_overlap_checks(tmp_path):
    src = tmp_path / "in.mp4"
    src.write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    check_no_overlap([("--export-json", tmp_path / "o.jsonl", False)], [("the source", src)])
    with pytest.raises(ConfigError, match="would overwrite the source"):
        check_no_overlap([("--export-json", tmp_path / "sub" / ".." / "in.mp4", False)], [("the source", src)])
    with pytest.raises(ConfigError, match="would overwrite the source"):   # a symlink to the source
        (tmp_path / "link.mp4").symlink_to(src)
        check_no_overlap([("--render", tmp_path / "link.mp4", False)], [("the source", src)])
    with pytest.raises(ConfigError, match="would overwrite the source"):   # the output's partial name
        check_no_overlap([("--render", tmp_path / "in.mp4", False)], [("the source", partial_path(src))])
    with pytest.raises(ConfigError, match="the source folder"):
        check_no_overlap([("--render", tmp_path / "sub", True)], [("the source folder", tmp_path / "sub")])
    with pytest.raises(ConfigError, match="also the output of --export-json"):
        check_no_overlap([("--export-json", tmp_path / "a", False), ("--export-bvh", tmp_path / "a", False)], [])


def test_summary_lines_say_written_and_not_written():
    class O:
        written, failure, unit = True, None, "frames"
    a, b, c = O(), O(), O()
    a.path, a.frames = Path("a.jsonl"), 3
    b.path, b.frames, b.written, b.failure = Path("b.mp4"), 0, False, "cannot write b.mp4: No space left on device"
    c.path, c.frames, c.written, c.failure = Path("c.bvh"), 0, False, NO_FRAMES
    assert summary_lines([a, b, c]) == ["wrote a.jsonl (3 frames)",
                                        "NOT written: b.mp4 (cannot write b.mp4: No space left on device)",
                                        "NOT written: c.bvh (no frame was processed)"]


def test_exif_orientation_is_applied(tmp_path):
    from pipeline.sources import read_image
    image = np.zeros((40, 80, 3), np.uint8)
    image[:, :40] = 255                                   # left half white
    got = read_image(jpeg_with_orientation(tmp_path / "sideways.jpg", image, 6))   # 6: rotate 90 deg clockwise
    assert got.shape == (80, 40, 3)
    assert got[:30].mean() > 200 and got[-30:].mean() < 50   # the white half is on top now


def test_onnx_cache_is_bounded_least_recently_used_first(tmp_path):
    from detectors.onnx_export import prune_cache, used
    files = []
    for i in range(5):
        p = tmp_path / f"m{i}.onnx"
        p.write_bytes(b"\0" * 1000)
        os.utime(p, (1000 + i, 1000 + i))
        files.append(p)
    used(files[0])                                        # the oldest, used again just now
    deleted = prune_cache(keep=files[1], cap_bytes=2500, folder=tmp_path)
    assert sorted(p.name for p in deleted) == ["m2.onnx", "m3.onnx", "m4.onnx"]
    assert files[0].exists() and files[1].exists() and sum(p.stat().st_size for p in tmp_path.iterdir()) <= 2500


def test_export_convert_refuses_its_input_as_output(tmp_path, capsys):
    path = tmp_path / "run.jsonl"
    path.write_text('{"type":"header"}\n')
    assert convert_main([str(path), str(path)]) == 1
    assert "it is the input" in capsys.readouterr().err and path.read_text() == '{"type":"header"}\n'


def test_render_writer_reports_a_video_it_could_not_finish(tmp_path, monkeypatch):
    from visualize import render
    writer = render.RenderWriter(tmp_path / "r.mp4", fps=10.0)
    for _ in range(3):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.frames = 5                                     # as if two frames had been lost on the way to the disk
    writer.close()
    assert not writer.written and "holds 3 of 5 frames" in writer.failure
    assert not list(tmp_path.iterdir())                   # neither the video nor its partial file


def test_render_writer_keeps_a_frame_whose_count_an_interrupt_cut(tmp_path):
    """A signal (KeyboardInterrupt) right after OpenCV wrote a frame but before it was counted: the video holds that
    whole frame and is published with it (it used to fail as 'holds 3 of 2 frames')."""
    from visualize import render
    writer = render.RenderWriter(tmp_path / "r.mp4", fps=10.0)
    for _ in range(2):
        writer.write(np.zeros((48, 64, 3), np.uint8))

    class Interrupted:
        def __init__(self, real):
            self.real = real

        def write(self, image):
            self.real.write(image)
            raise KeyboardInterrupt

        def release(self):
            self.real.release()

    writer._writer = Interrupted(writer._writer)
    with pytest.raises(KeyboardInterrupt):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.close()
    assert writer.written and writer.failure is None and writer.frames == 3
    cap = cv2.VideoCapture(str(tmp_path / "r.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    cap.release()


def test_render_target_formats():
    from visualize.render import render_target_problem
    assert render_target_problem("out.mp4") is None and render_target_problem("out/") is None
    assert render_target_problem("x.PNG") is None
    assert ".gif" in render_target_problem("out.gif") and ".webm" in render_target_problem("out.webm")

