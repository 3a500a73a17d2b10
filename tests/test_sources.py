"""Frame sources: every kind opens, converts to 8-bit BGR, and bad inputs fail with one clear line."""
from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from pipeline import sources
from pipeline.sources import (
    FolderSource, ReplaySource, SourceError, SourceLost, VideoSource, open_source, to_bgr8,
)


def write_video(path, n=12, fps=20.0, size=(64, 48)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for i in range(n):
        img = np.full((size[1], size[0], 3), (10 * i) % 256, np.uint8)
        writer.write(img)
    writer.release()
    return path


def test_to_bgr8_gray_16bit_alpha_float():
    gray16 = np.full((4, 5), 65535, np.uint16)
    out = to_bgr8(gray16)
    assert out.shape == (4, 5, 3) and out.dtype == np.uint8 and out.max() == 255
    half = to_bgr8(np.full((2, 2), 32768, np.uint16))
    assert abs(int(half[0, 0, 0]) - 128) <= 1
    bgra = np.zeros((3, 3, 4), np.uint8)
    bgra[..., 2] = 200
    assert to_bgr8(bgra).shape == (3, 3, 3) and to_bgr8(bgra)[0, 0, 2] == 200
    assert to_bgr8(np.ones((2, 2, 1), np.float32))[0, 0, 1] == 255


def test_image_sources_convert_to_bgr8(tmp_path):
    cv2.imwrite(str(tmp_path / "gray.png"), np.full((20, 30), 77, np.uint8))
    cv2.imwrite(str(tmp_path / "deep.png"), np.full((20, 30, 3), 65535, np.uint16))
    for name, value in (("gray.png", 77), ("deep.png", 255)):
        src = open_source(tmp_path / name)
        frame = src.read()
        assert src.kind == "image" and frame.image.shape == (20, 30, 3) and frame.image.dtype == np.uint8
        assert int(frame.image[0, 0, 0]) == value
        assert src.read() is None


def test_folder_sorted_naturally_and_skips_junk(tmp_path):
    for i in (10, 2, 1):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), np.full((8, 8, 3), i, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "broken.jpg").write_bytes(b"garbage")
    src = open_source(tmp_path)
    assert isinstance(src, FolderSource)
    values = [int(f.image[0, 0, 0]) for f in src]
    assert values == [1, 2, 10]
    assert src.bad_files == 1


def test_video_reads_every_frame_with_timestamps(tmp_path):
    src = open_source(write_video(tmp_path / "clip.avi", n=12, fps=20.0))
    assert isinstance(src, VideoSource) and src.frame_count == 12 and src.fps == pytest.approx(20.0)
    frames = list(src)
    src.close()
    assert [f.index for f in frames] == list(range(12))
    assert frames[5].timestamp == pytest.approx(0.25)


@pytest.mark.parametrize("make, expect", [
    (lambda d: d / "missing.mp4", "no such file"),
    (lambda d: (d / "a.txt").write_text("hello") and d / "a.txt", "neither an image nor a video"),
    (lambda d: (d / "z.avi").write_bytes(b"") or d / "z.avi", "zero length"),
    (lambda d: (d / "c.avi").write_bytes(np.random.default_rng(0).bytes(4000)) and d / "c.avi", "not a video"),
    (lambda d: (d / "c.png").write_bytes(b"\x89PNG\r\n garbage") and d / "c.png", "not a readable image"),
    (lambda d: (d / "empty").mkdir() or d / "empty", "no images"),
    (lambda d: "9", "webcam 9"),
])
def test_bad_sources_one_line(tmp_path, make, expect):
    with pytest.raises(SourceError) as info:
        open_source(make(tmp_path))
    msg = str(info.value)
    assert expect in msg and "\n" not in msg


class FakeCapture:
    """Stands in for cv2.VideoCapture: delivers `frames` frames, then reads fail (camera unplugged)."""

    frames = 3
    opened = True
    delay = 0.0

    def __init__(self, index):
        time.sleep(self.delay)
        self.left = self.frames

    def isOpened(self):
        return self.opened

    def set(self, *a):
        return True

    def get(self, prop):
        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def read(self):
        if self.left <= 0:
            return False, None
        self.left -= 1
        return True, np.zeros((6, 8), np.uint8)

    def release(self):
        pass


def test_webcam_lost_mid_stream_and_reconnect(monkeypatch):
    monkeypatch.setattr(sources.cv2, "VideoCapture", FakeCapture)
    src = open_source(0)
    assert src.live and src.read().image.shape == (6, 8, 3)
    src.read(), src.read()
    with pytest.raises(SourceLost) as info:
        src.read()
    assert "after 3 frames" in str(info.value)
    src.reconnect()
    assert src.read().index == 3


def test_webcam_probe_times_out(monkeypatch):
    class Hanging(FakeCapture):
        delay = 2.0
    monkeypatch.setattr(sources.cv2, "VideoCapture", Hanging)
    t = time.perf_counter()
    with pytest.raises(SourceError, match="no frame within"):
        sources.WebcamSource(0, timeout=0.3)
    assert time.perf_counter() - t < 1.5


def test_replay_paces_and_skips_late_frames(tmp_path):
    src = open_source(write_video(tmp_path / "clip.avi", n=40, fps=50.0), replay=True)
    assert isinstance(src, ReplaySource) and src.live
    t = time.perf_counter()
    first = [src.read() for _ in range(5)]
    assert time.perf_counter() - t >= 4 * 0.02 * 0.9          # paced at 50 fps
    time.sleep(0.2)                                           # a slow consumer: ~10 frame periods
    late = src.read()
    assert src.late_frames >= 5                                   # stale frames were dropped, not queued
    assert late.timestamp >= first[-1].timestamp + 0.15
    assert [f.index for f in first] == list(range(5))


@pytest.mark.parametrize("kind", ["image", "folder", "video", "replay", "webcam"])
def test_the_frame_probed_at_open_comes_first_and_once(tmp_path, monkeypatch, kind):
    """Opening decodes the first image to fail early on bad input; that image is the first frame, never repeated."""
    if kind == "image":
        cv2.imwrite(str(tmp_path / "a.png"), np.full((8, 8, 3), 7, np.uint8))
        src, expect = open_source(tmp_path / "a.png"), [7]
    elif kind == "folder":
        for i in (3, 1, 2):
            cv2.imwrite(str(tmp_path / f"f{i}.png"), np.full((8, 8, 3), 10 * i, np.uint8))
        src, expect = open_source(tmp_path), [10, 20, 30]
    elif kind == "webcam":
        monkeypatch.setattr(sources.cv2, "VideoCapture", FakeCapture)
        src, expect = open_source(0), None   # FakeCapture delivers 3 frames, then the camera is lost
    else:
        src = open_source(write_video(tmp_path / "clip.avi", n=6, fps=50.0), replay=kind == "replay")
        expect = [0, 10, 20, 30, 40, 50]
    if kind == "webcam":
        frames = [src.read() for _ in range(3)]
        with pytest.raises(SourceLost):
            src.read()
    else:
        frames = list(src)
    src.close()
    assert [f.index for f in frames] == list(range(len(frames)))
    if expect is not None:
        assert [int(f.image[0, 0, 0]) for f in frames] == pytest.approx(expect, abs=2)
    if kind == "replay":
        assert src.late_frames == 0 and src._pos == 6
