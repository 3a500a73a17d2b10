"""Robustness: app.py run as a user runs it (a subprocess, no display) on bad input, odd frames, faults mid-run and
bad options. Every case ends with one clear line and a non-zero exit code for errors, never a traceback, and keeps
the exports it promised. (tests/test_app.py covers missing/non-media/corrupt/zero-length sources, an empty folder, a
missing webcam, `hypotheses: 0`, `--steps 0` and Ctrl-C during an offline export; this file covers the rest.)

The app runs are started together (a thread pool), so the cases share the two cores instead of queueing.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.outputs import partial_path
from export.jsonl import read_jsonl

ROOT = Path(__file__).resolve().parents[1]
QUICK = ("--model", "lite", "--hypotheses", "2", "--steps", "1", "--max-people", "1")   # the cheapest real pipeline
# (one person: these runs check single-person behaviour; several people: tests/test_multiperson.py)

# Runs app.main with an RLIMIT_FSIZE (bytes, first argument): writes past it fail with EFBIG, as on a full disk.
SIZE_LIMITED = ("import resource, runpy, sys; n = int(sys.argv.pop(1)); "
                "resource.setrlimit(resource.RLIMIT_FSIZE, (n, n)); sys.argv[0] = 'app.py'; "
                "runpy.run_path('app.py', run_name='__main__')")

# Runs app.main with cv2.VideoCapture replaced by a camera that serves an image PER frames per session (10 fps),
# then fails reads (unplugged); it can be opened SESSIONS times, later opens find no camera.
FAKE_CAMERA = """
import sys, time
import cv2
from pipeline import sources
image, sessions, per = cv2.imread(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

class UnpluggedCamera:
    opened = 0

    def __init__(self, index):
        UnpluggedCamera.opened += 1
        self.ok, self.left = UnpluggedCamera.opened <= sessions, per

    def isOpened(self):
        return self.ok

    def set(self, *a):
        return True

    def get(self, prop):
        return 10.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def read(self):
        time.sleep(0.1)
        if self.left <= 0:
            return False, None
        self.left -= 1
        return True, image.copy()

    def release(self):
        pass

sources.cv2.VideoCapture = UnpluggedCamera
import app
sys.exit(app.main(sys.argv[4:]))
"""

# Runs app.main with the pipeline failing on its 4th frame (a bug in a stage on some rare input).
STAGE_FAILS = """
import sys
from pipeline import stages
process = stages.Pipeline.process

def failing(self, frame):
    if frame.index == 3:
        raise RuntimeError("simulated stage failure")
    return process(self, frame)

stages.Pipeline.process = failing
import app
sys.exit(app.main(sys.argv[1:]))
"""


def env() -> dict:
    e = dict(os.environ)
    e.pop("DISPLAY", None)
    e.pop("WAYLAND_DISPLAY", None)
    return e


def app_cmd(*args) -> list[str]:
    return [sys.executable, str(ROOT / "app.py"), *map(str, args)]


def run_all(cmds: dict[str, list[str]], timeout: float = 240) -> dict[str, subprocess.CompletedProcess]:
    """Run the commands at the same time; name -> finished process."""
    def one(cmd):
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env(), cwd=ROOT)

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(one, cmd) for name, cmd in cmds.items()}
        return {name: f.result() for name, f in futures.items()}


def models_available() -> bool:
    from weights.fetch import WeightsMissing, model_path

    try:
        for name in ("pose_detection", "pose_landmark_lite"):
            model_path(name)
        return True
    except WeightsMissing:
        return False


needs_models = pytest.mark.skipif(not models_available(), reason="BlazePose weights not fetched (make weights)")


def messi() -> np.ndarray:
    from pipeline.samples import SampleMissing, sample_path

    try:
        return cv2.imread(str(sample_path("messi5.jpg")))
    except SampleMissing:
        pytest.skip("sample media not available (python -m pipeline.samples --fetch)")


def write_clip(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened()
    for f in frames:
        writer.write(f)
    writer.release()
    return path


def damage_frames(data: bytes, frames: list[int]) -> bytes:
    """An MJPG AVI with garbage in place of the JPEG data of the given frames (the '00dc' chunks with data)."""
    out = bytearray(data)
    chunks, pos = [], out.find(b"00dc")
    while pos >= 0:
        size = int.from_bytes(out[pos + 4:pos + 8], "little")
        if size > 0 and pos + 8 + size <= len(out):
            chunks.append((pos + 8, size))
        pos = out.find(b"00dc", pos + 4)
    for k in frames:
        start, size = chunks[k]
        out[start:start + size] = bytes((i * 37 + 11) % 256 for i in range(size))
    return bytes(out)


def assert_no_traceback(r: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr[-3000:]


def assert_one_error(r: subprocess.CompletedProcess, code: int, *words: str) -> str:
    """Exit code `code`, no traceback, exactly one error line, naming `words`."""
    assert_no_traceback(r)
    assert r.returncode == code, r.stderr[-3000:]
    errors = [line for line in r.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, r.stderr[-3000:]
    for w in words:
        assert w in errors[0], errors[0]
    return errors[0]


def assert_source_failed(r: subprocess.CompletedProcess, *words: str) -> str:
    """Exit code 3 (the source failed mid-stream), no traceback, one line saying so and that outputs were kept."""
    assert_no_traceback(r)
    assert r.returncode == 3, r.stderr[-3000:]
    lines = [line for line in r.stderr.splitlines() if "source failed" in line or "error:" in line]
    assert len(lines) == 1 and "outputs so far were kept" in lines[0], r.stderr[-3000:]
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def assert_ok(r: subprocess.CompletedProcess) -> None:
    assert_no_traceback(r)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "error:" not in r.stderr


def bvh_frames(path: Path) -> int:
    return int(path.read_text().split("Frames:")[1].split()[0])


# ---------------------------------------------------------------------------------------------------------------
# Errors found before any processing: bad outputs, bad options, bad config files.

@pytest.fixture(scope="module")
def errors(tmp_path_factory) -> tuple[Path, dict]:
    d = tmp_path_factory.mktemp("errors")
    frame = np.zeros((120, 160, 3), np.uint8)
    image = d / "frame.png"
    cv2.imwrite(str(image), frame)
    clip = write_clip(d / "clip.avi", [frame] * 5)
    (d / "afile").write_text("a file, not a folder")
    (d / "outdir").mkdir()
    (d / "text.jpg").write_text("an image extension, but text")
    configs = {
        "unknown_key": "bogus: 1\n",
        "nested_value": "live:\n  reconnect_max_s: -1\n",
        "wrong_type": "model: 3\n",
        "bad_yaml": "model: [unclosed\n",
        "not_mapping": "- a\n- b\n",
    }
    for name, text in configs.items():
        (d / f"{name}.yaml").write_text(text)
    out = ("--no-window", "--export-json", d / "o.jsonl")
    cmds = {
        # outputs
        "unwritable": app_cmd("--source", image, "--no-window", "--export-json", d / "afile" / "o.jsonl"),
        "export_is_folder": app_cmd("--source", image, "--no-window", "--export-bvh", d / "outdir"),
        "export_is_source": app_cmd("--source", clip, "--no-window", "--export-json", clip),
        "outputs_collide": app_cmd("--source", image, "--no-window", "--export-json", d / "same.out",
                                   "--export-bvh", d / "." / "same.out"),
        "stats_unwritable": app_cmd("--source", image, *out, "--stats-json", d / "afile" / "s.json"),
        "full_disk": [sys.executable, "-c", SIZE_LIMITED, "20000", "--source", image, "--no-window",
                      "--export-json", d / "full" / "o.jsonl"],
        # option values
        "fov_range": app_cmd("--source", image, *out, "--fov", "500"),
        "fov_zero": app_cmd("--source", image, *out, "--fov", "0"),
        "fov_text": app_cmd("--source", image, *out, "--fov", "wide"),
        "device": app_cmd("--source", image, *out, "--device", "gpu"),
        "hypotheses_range": app_cmd("--source", image, *out, "--hypotheses", "5000"),
        "model_choice": app_cmd("--source", image, *out, "--model", "huge"),
        "max_frames": app_cmd("--source", image, *out, "--max-frames", "0"),
        "text_as_image": app_cmd("--source", d / "text.jpg", *out),
        "verbose": app_cmd("--source", d / "missing.avi", *out, "--verbose"),
        # config files
        **{f"config_{name}": app_cmd("--config", d / f"{name}.yaml", "--source", image, *out) for name in configs},
        "config_missing": app_cmd("--config", d / "nope.yaml", "--source", image, *out),
    }
    clip_sha = hashlib.sha256(clip.read_bytes()).hexdigest()
    results = run_all(cmds)
    results["clip_sha_after"] = hashlib.sha256(clip.read_bytes()).hexdigest() == clip_sha
    return d, results


def not_processed(r: subprocess.CompletedProcess) -> None:
    """The run stopped before loading models or reading frames."""
    assert "models ready" not in r.stderr and "frames in" not in r.stderr


@pytest.mark.parametrize("case, words", [
    ("unwritable", ("cannot write", "afile")),
    ("export_is_folder", ("cannot write", "directory")),
    ("stats_unwritable", ("cannot write", "s.json")),
    ("full_disk", ("cannot write", "o.jsonl", "File too large")),
])
def test_unwritable_or_full_export_fails_before_processing(errors, case, words):
    r = errors[1][case]
    assert_one_error(r, 1, *words)
    not_processed(r)


def test_export_onto_the_source_is_refused_and_the_source_kept(errors):
    results = errors[1]
    assert_one_error(results["export_is_source"], 2, "--export-json", "would overwrite the source")
    not_processed(results["export_is_source"])
    assert_one_error(results["outputs_collide"], 2, "--export-bvh", "also the output of --export-json")
    not_processed(results["outputs_collide"])
    assert results["clip_sha_after"]   # the video was not overwritten


@pytest.mark.parametrize("case, words", [
    ("fov_range", ("--fov", "179")),
    ("fov_zero", ("--fov",)),
    ("fov_text", ("--fov", "wide")),
    ("device", ("--device", "gpu", "expected cpu, cuda or cuda:N")),
    ("hypotheses_range", ("--hypotheses", "1024")),
    ("model_choice", ("--model", "huge")),
    ("max_frames", ("--max-frames",)),
])
def test_invalid_option_values_name_the_option(errors, case, words):
    r = errors[1][case]
    assert_one_error(r, 2, *words)
    not_processed(r)


@pytest.mark.parametrize("case, words", [
    ("config_unknown_key", ("unknown_key.yaml", "bogus")),
    ("config_nested_value", ("nested_value.yaml", "live.reconnect_max_s")),
    ("config_wrong_type", ("wrong_type.yaml", "model")),
    ("config_bad_yaml", ("bad_yaml.yaml", "YAML")),
    ("config_not_mapping", ("not_mapping.yaml", "mapping")),
    ("config_missing", ("nope.yaml", "not found")),
])
def test_invalid_config_files_name_the_file_and_key(errors, case, words):
    r = errors[1][case]
    assert_one_error(r, 2, *words)
    not_processed(r)


def test_text_with_an_image_extension_is_one_line(errors):
    assert_one_error(errors[1]["text_as_image"], 1, "text.jpg", "not a readable image")


def test_verbose_shows_the_traceback(errors):
    r = errors[1]["verbose"]
    assert r.returncode == 1 and "Traceback" in r.stderr and "SourceError" in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("diffmocap: error:")


# ---------------------------------------------------------------------------------------------------------------
# Real pipeline runs (BlazePose lite, untrained or shipped lifter): odd frames, person leaving, faults mid-run.

@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, dict]:
    if not models_available():
        pytest.skip("BlazePose weights not fetched (make weights)")
    d = tmp_path_factory.mktemp("runs")
    img = messi()
    h, w = img.shape[:2]
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    images = {
        "no_person.png": np.zeros((480, 640, 3), np.uint8),
        "gray.png": gray,
        "gray16.png": gray.astype(np.uint16) * 257,
        "color16.png": img.astype(np.uint16) * 257,
    }
    for name, pixels in images.items():
        assert cv2.imwrite(str(d / name), pixels)
    uhd = cv2.resize(img, (3840, 2160), interpolation=cv2.INTER_CUBIC)    # 4K and 64x64: in the folder run
    tiny = cv2.resize(img, (64, 64), interpolation=cv2.INTER_AREA)
    blank = np.zeros_like(img)
    write_clip(d / "leave.avi", [img] * 6 + [blank] * 6 + [img] * 6)
    whole = write_clip(d / "whole.avi", [img] * 20).read_bytes()
    damaged = damage_frames(whole, [4, 5])
    (d / "damaged.avi").write_bytes(damaged[: len(damaged) * 3 // 4])   # two corrupt frames, then cut short
    write_clip(d / "long.avi", [img] * 40)
    (d / "camera.yaml").write_text("live:\n  reconnect_max_s: 2.0\n")
    (d / "person.jpg").write_bytes(cv2.imencode(".jpg", img)[1].tobytes())
    (d / "mixed").mkdir()
    for name, pixels in {"1.png": img, "2.jpg": uhd, "3.png": tiny, "4.png": img,
                         "5.png": img, "6.png": img[:, : w * 2 // 3]}.items():
        assert cv2.imwrite(str(d / "mixed" / name), pixels)
    (d / "mixed" / "4b.jpg").write_bytes(b"not a jpeg")        # skipped, and said so
    (d / "mixed" / "notes.txt").write_text("not an image")      # not an image file: ignored

    def outs(stem):
        return ("--no-window", "--export-json", d / f"{stem}.jsonl", "--export-bvh", d / f"{stem}.bvh", *QUICK)

    cmds = {Path(name).stem: app_cmd("--source", d / name, *outs(Path(name).stem)) for name in images}
    cmds["leave"] = app_cmd("--source", d / "leave.avi", *outs("leave"))
    cmds["mixed"] = app_cmd("--source", d / "mixed", *outs("mixed"))
    cmds["damaged"] = app_cmd("--source", d / "damaged.avi", *outs("damaged"))
    cmds["disk_full"] = [sys.executable, "-c", SIZE_LIMITED, "70000", "--source", d / "long.avi", *outs("disk_full")]
    (d / "not_weights.pt").write_bytes(bytes(range(256)) * 8)
    no_out = ("--no-window", "--export-json", d / "never.jsonl", *QUICK)
    cmds["lifter_missing"] = app_cmd("--source", d / "person.jpg", *no_out, "--lifter", "nope")
    cmds["lifter_not_weights"] = app_cmd("--source", d / "person.jpg", *no_out, "--lifter", d / "not_weights.pt")
    cmds["stage_fails"] = [sys.executable, "-c", STAGE_FAILS, "--source", d / "long.avi", *outs("stage_fails")]
    cam = [sys.executable, "-c", FAKE_CAMERA, d / "person.jpg"]
    cmds["unplugged"] = [*cam, "1", "8", "--source", "0", *outs("unplugged")]
    cmds["reconnect"] = [*cam, "2", "20", "--source", "0", "--reconnect", "--config", d / "camera.yaml",
                         *outs("reconnect")]
    cmds = {k: [str(a) for a in v] for k, v in cmds.items()}
    return d, run_all(cmds)


def frames_of(d: Path, stem: str) -> list[dict]:
    header, frames = read_jsonl(d / f"{stem}.jsonl")   # every line parses and follows the schema
    return frames


def test_image_without_a_person_exports_an_empty_frame(runs):
    d, results = runs
    assert_ok(results["no_person"])
    frames = frames_of(d, "no_person")
    assert len(frames) == 1 and frames[0]["persons"] == []
    assert bvh_frames(d / "no_person.bvh") == 1      # a valid file: the rest skeleton standing still


@pytest.mark.parametrize("stem, person", [("gray", None), ("gray16", None), ("color16", True)])
def test_grayscale_and_16_bit_images(runs, stem, person):
    # BlazePose's detector does not find the player in the grayscale sample (score < 0.5): the frame is still
    # converted, processed and exported; the 16-bit colour one must give the same person as the 8-bit image.
    d, results = runs
    assert_ok(results[stem])
    frames = frames_of(d, stem)
    assert len(frames) == 1
    if person:
        assert len(frames[0]["persons"]) == 1


def test_4k_frame(runs):
    d, results = runs
    assert_ok(results["mixed"])
    frame = frames_of(d, "mixed")[1]   # the folder run: 548x342, 4K, 64x64, ...
    (p,) = frame["persons"]
    x0, y0, x1, y1 = p["bbox"]
    assert x1 > 1000 and y1 > 600 and x0 < 3840 and y0 < 2160   # in the 4K frame's pixels, not the model's
    assert frame["image_size"] == [3840, 2160]
    assert np.isfinite(np.asarray(p["pose_3d"], float)).all() and np.isfinite(np.asarray(p["covariance"])).all()


def test_tiny_frame(runs):
    d, results = runs
    assert_ok(results["mixed"])
    frame = frames_of(d, "mixed")[2]
    assert frame["image_size"] == [64, 64] and frame["frame_index"] == 2
    assert all(np.isfinite(np.asarray(p["pose_3d"], float)).all() for p in frame["persons"])


def test_folder_of_mixed_sizes(runs):
    # 548x342, 4K, 64x64, 548x342 twice (a broken JPEG between them), 365x342: every frame exported at its own size;
    # a frame of another size starts tracking over (the ROI of the last picture means nothing there), the same size
    # keeps the track.
    d, results = runs
    assert_ok(results["mixed"])
    assert "skipped 1 image files that could not be decoded" in results["mixed"].stderr
    frames = frames_of(d, "mixed")
    sizes = [f["image_size"] for f in frames]
    assert sizes == [[548, 342], [3840, 2160], [64, 64], [548, 342], [548, 342], [365, 342]]
    tracked = [[p["tracked"] for p in f["persons"]] for f in frames]
    assert tracked[0] == [False] and tracked[1] == [False] and tracked[3] == [False] and tracked[4] == [True]
    assert tracked[5] in ([False], []), tracked
    ids = [[p["id"] for p in f["persons"]] for f in frames]
    assert ids[3] == ids[4] and len({i for x in ids for i in x}) >= 3, ids
    assert bvh_frames(d / "mixed.bvh") == 6


def test_person_leaves_and_reenters(runs):
    d, results = runs
    assert_ok(results["leave"])
    frames = frames_of(d, "leave")
    assert [f["frame_index"] for f in frames] == list(range(18))
    ids = [[p["id"] for p in f["persons"]] for f in frames]
    assert all(i == [] for i in ids[6:12]), ids          # frames without a person are exported, empty
    assert all(len(x) == 1 for x in ids[:6] + ids[12:]), ids   # found before and again after the gap ...
    assert ids[0] != ids[12], ids                               # ... as a new track (tracking was reset)
    assert bvh_frames(d / "leave.bvh") == 18            # one BVH frame per video frame, gap held


def test_corrupt_and_truncated_video_processes_what_decodes_and_says_so(runs):
    d, results = runs
    r = results["damaged"]
    assert_ok(r)
    assert "skipped 2 frames that could not be decoded" in r.stderr     # corrupt frames 4 and 5 are skipped ...
    assert "ended early" in r.stderr and "truncated" in r.stderr       # ... and the cut end is reported
    frames = frames_of(d, "damaged")
    assert 8 <= len(frames) < 18 and bvh_frames(d / "damaged.bvh") == len(frames)
    assert [f["frame_index"] for f in frames] == list(range(len(frames)))
    steps = np.diff([f["timestamp"] for f in frames])
    assert np.allclose(sorted(steps)[-1], 0.3) and np.allclose(steps[steps < 0.25], 0.1)   # time skips the gap
    assert all(len(f["persons"]) == 1 for f in frames)


def test_disk_full_mid_run_keeps_a_valid_jsonl(runs):
    d, results = runs
    r = results["disk_full"]
    assert_one_error(r, 1, "cannot write", "disk_full.jsonl")
    frames = frames_of(d, "disk_full")                  # no half-written last line
    assert 5 <= len(frames) < 40
    assert (d / "disk_full.jsonl").read_text().endswith("\n")
    assert bvh_frames(d / "disk_full.bvh") == len(frames)   # the same frames in both
    assert f"wrote {d / 'disk_full.jsonl'} ({len(frames)} frames; cannot write" in r.stderr
    assert f"wrote {d / 'disk_full.bvh'} ({len(frames)} frames)" in r.stderr
    assert not [p.name for p in d.iterdir() if "disk_full" in p.name and ("partial" in p.name or ".tmp" in p.name)]


@pytest.mark.parametrize("case, words", [("lifter_missing", ("--lifter nope", "not found")),
                                         ("lifter_not_weights", ("--lifter", "not a lifter weights file"))])
def test_lifter_option_must_name_lifter_weights(runs, case, words):
    # Only the default name may be missing (then an untrained lifter runs, with a warning); a named one must exist.
    d, results = runs
    assert_one_error(results[case], 2, *words)
    assert "frames in" not in results[case].stderr


def test_stage_failure_mid_run_is_one_line_and_keeps_exports(runs):
    d, results = runs
    assert_one_error(results["stage_fails"], 1, "RuntimeError", "simulated stage failure", "--verbose")
    frames = frames_of(d, "stage_fails")
    assert [f["frame_index"] for f in frames] == [0, 1, 2]
    assert bvh_frames(d / "stage_fails.bvh") == 3


def test_camera_unplugged_reports_and_keeps_exports(runs):
    d, results = runs
    r = results["unplugged"]
    assert_source_failed(r, "webcam 0", "stopped delivering")
    frames = frames_of(d, "unplugged")
    assert len(frames) >= 1 and all(f["frame_index"] < 8 for f in frames)
    assert bvh_frames(d / "unplugged.bvh") == len(frames)    # finalised


def test_camera_reconnects_with_backoff(runs):
    d, results = runs
    r = results["reconnect"]
    # Two sessions of 20 frames, then the camera is gone for good: reconnected once, then gave up after 2 s.
    assert_source_failed(r, "reconnecting failed")
    assert "reconnected" in r.stderr
    frames = frames_of(d, "reconnect")
    first = [f for f in frames if f["frame_index"] < 20]
    second = [f for f in frames if f["frame_index"] >= 20]
    assert first and second, [f["frame_index"] for f in frames]
    ids_first = {p["id"] for f in first for p in f["persons"]}
    ids_second = {p["id"] for f in second for p in f["persons"]}
    assert ids_second and not ids_first & ids_second     # tracking was reset: a new track id after reconnecting
    assert bvh_frames(d / "reconnect.bvh") == len(frames)


# ---------------------------------------------------------------------------------------------------------------
# Signals: Ctrl-C in live mode (offline is in tests/test_app.py), SIGTERM during export, Ctrl-C while loading.

def signal_when(cmd: list, ready, sig: int, timeout: float = 90) -> subprocess.CompletedProcess:
    """Start cmd, send `sig` once ready(stderr so far) is true, and wait for it to end."""
    proc = subprocess.Popen([str(a) for a in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env(), cwd=ROOT)
    err = []
    reader = ThreadPoolExecutor(max_workers=1)
    done = reader.submit(lambda: err.extend(iter(proc.stderr.readline, "")))
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None and not ready("".join(err)):
            time.sleep(0.05)
        assert proc.poll() is None, "".join(err)[-3000:]
        proc.send_signal(sig)
        proc.wait(timeout=60)
        done.result(timeout=10)
        out = proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.shutdown(wait=False)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "".join(err))


def jsonl_lines_at_least(path: Path, n: int):
    return lambda err: path.exists() and path.read_text().count("\n") >= n


@needs_models
@pytest.mark.parametrize("mode, sig", [("--live", signal.SIGINT), ("--offline", signal.SIGTERM)])
def test_signal_during_export_finalises_outputs(tmp_path, mode, sig):
    clip = write_clip(tmp_path / "clip.avi", [messi()] * 300, fps=25.0)
    out, bvh = tmp_path / "o.jsonl", tmp_path / "o.bvh"
    cmd = app_cmd("--source", clip, mode, "--no-window", "--export-json", out, "--export-bvh", bvh, *QUICK)
    r = signal_when(cmd, jsonl_lines_at_least(partial_path(out), 4), sig)
    assert r.returncode == 130, r.stderr[-3000:]
    assert_no_traceback(r)
    assert f"interrupted ({signal.Signals(sig).name}); outputs were finalised" in r.stderr
    header, frames = read_jsonl(out)                    # every line parses: valid up to the last frame
    assert 3 <= len(frames) < 300 and out.read_text().endswith("\n")
    assert bvh_frames(bvh) == len(frames)               # the BVH was rewritten with every frame on the way out
    idx = [f["frame_index"] for f in frames]
    assert idx == sorted(idx) and len(set(idx)) == len(idx)


@needs_models
def test_ctrl_c_while_loading_models_is_one_line(tmp_path):
    clip = write_clip(tmp_path / "clip.avi", [np.zeros((120, 160, 3), np.uint8)] * 5)
    # Without --no-window and without a display the app says so first, then loads the models: interrupt there.
    cmd = app_cmd("--source", clip, "--export-json", tmp_path / "o.jsonl", *QUICK)
    r = signal_when(cmd, lambda err: "running headless" in err, signal.SIGINT)
    assert r.returncode == 130, r.stderr[-3000:]
    assert_no_traceback(r)
    assert r.stderr.strip().splitlines()[-1].startswith("diffmocap: interrupted")


# ---------------------------------------------------------------------------------------------------------------
# Runner level: the newest frame before a camera loss is still processed in live mode.

def test_live_processes_the_last_frame_before_the_camera_is_lost():
    from pipeline.runner import run_live
    from pipeline.sources import Source, SourceLost
    from pipeline.stages import Pipeline
    from tests.fakes_app import FakeFrontEnd, FakeLifter

    class Unplugged(Source):
        kind, live = "webcam", True

        def __init__(self):
            super().__init__("fake cam", 30.0, None)
            self.left = 3

        def _read(self):
            if self.left < 3:
                time.sleep(0.1)   # 10 fps after the first frame
            if self.left == 0:
                raise SourceLost("fake cam: stopped delivering frames")
            self.left -= 1
            return np.zeros((120, 160, 3), np.uint8)

    class Collect:
        def __init__(self):
            self.indices = []

        def write(self, result):
            self.indices.append(result.frame.index)

        def close(self):
            pass

    collect = Collect()
    # Frame 0 takes 0.6 s; frames 1 and 2 and the loss arrive meanwhile: 1 is replaced by 2 (dropped), 2 is processed.
    pipe = Pipeline(frontend=FakeFrontEnd(delay=0.6), lifter=FakeLifter(), hypotheses=2, steps=1)
    stats = run_live(Unplugged(), pipe, [collect], say=lambda m: None)
    assert "stopped delivering" in stats.error
    assert collect.indices == [0, 2] and stats.dropped == 1
