"""Frame sources: webcam, video file, image file, folder of images, and a video replayed in real time.

`open_source(spec)` picks and opens one, probing it so that every bad input fails early with ONE clear line
(SourceError). A source is read with `read() -> Frame | None` (None at the end) until `close()`; it is also an
iterator and a context manager. Frames are always H x W x 3 uint8 BGR (grayscale, alpha, 16-bit and float
images are converted). A live source that stops delivering after it has delivered frames (camera unplugged)
raises SourceLost; `reconnect()` tries to open it again.
"""
from __future__ import annotations

import os
import re
import stat
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from core.errors import SourceError, SourceLost
from core.records import Frame

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".pnm", ".jp2", ".exr", ".hdr"}
VIDEO_EXTS = {".avi", ".mp4", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ts", ".ogv", ".gif"}
FOLDER_FPS = 25.0           # timestamps for a folder of images (no clock of its own)
WEBCAM_PROBE_TIMEOUT = 5.0  # seconds to wait for a webcam to open and deliver its first frame
MAX_BAD_FRAMES = 50         # undecodable frames in a row skipped before a video counts as ended


def quiet_opencv() -> None:
    """Keep OpenCV's and FFmpeg's own warnings off the console: our errors say what went wrong in one line."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    except AttributeError:  # builds without the logging module
        pass


def to_bgr8(image: np.ndarray) -> np.ndarray:
    """Any decoded image -> H x W x 3 uint8 BGR (gray -> BGR, BGRA -> BGR, 16-bit and float scaled to 8-bit)."""
    img = np.asarray(image)
    if img.dtype == np.uint16:
        img = (img.astype(np.float32) * (255.0 / 65535.0) + 0.5).astype(np.uint8)
    elif img.dtype in (np.float16, np.float32, np.float64):
        peak = float(np.nanmax(img)) if img.size else 1.0
        scale = 255.0 if peak <= 1.0 else 255.0 / peak  # 0..1 floats, or HDR scaled to its maximum
        img = np.clip(np.nan_to_num(img.astype(np.float32)) * scale + 0.5, 0, 255).astype(np.uint8)
    elif img.dtype != np.uint8:
        info = np.iinfo(img.dtype) if np.issubdtype(img.dtype, np.integer) else None
        lo, hi = (info.min, info.max) if info else (0, 255)
        img = ((img.astype(np.float64) - lo) * (255.0 / (hi - lo)) + 0.5).astype(np.uint8)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.ndim == 3 and img.shape[2] == 1:
        img = cv2.cvtColor(img[:, :, 0], cv2.COLOR_GRAY2BGR)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    elif img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"unsupported image shape {img.shape}")
    return np.ascontiguousarray(img)


class ImageTooLarge(SourceError):
    """An image whose size is beyond what OpenCV decodes (CV_IO_MAX_IMAGE_PIXELS, 2^30 pixels by default)."""


def read_image(path: str | Path) -> np.ndarray | None:
    """Decode an image file (any depth, unicode paths) to 8-bit BGR, turned upright by its EXIF orientation (phone
    photos); None when it is not a decodable image. Raises ImageTooLarge for an image beyond OpenCV's size limit."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError:
        return None
    if data.size == 0:
        return None
    try:
        # Any flags but IMREAD_UNCHANGED make OpenCV apply the EXIF orientation; ANYDEPTH | ANYCOLOR keep 16-bit,
        # float and grayscale pixels as they are (to_bgr8 converts them).
        img = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    except cv2.error as e:
        if "MAX_IMAGE_PIXELS" in str(e) or "validateInputImageSize" in str(e):
            raise ImageTooLarge(f"{path}: the image is too large to decode (OpenCV's limit is 2^30 pixels)") from None
        return None
    if img is None or img.size == 0:
        return None
    return to_bgr8(img)


def _natural_key(path: Path):
    """frame2.png sorts before frame10.png."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


class Source:
    """Base: subclasses implement `_read() -> np.ndarray | None` and set kind, name, fps, frame_count, live.

    Opening probes a source by decoding its first image (so a bad input fails at open); that image is handed to
    the base as `first` and comes out of the first read(), before any _read()."""

    kind = "source"
    live = False
    # What a source could not deliver, one meaning each (zero where it cannot happen):
    bad_files = 0          # folder: image files that could not be decoded
    videos_skipped = 0     # folder: video files in it (a folder is read as pictures)
    bad_frames = 0         # video: frames that could not be decoded (corrupt data mid-file)
    late_frames = 0        # replay: frames the simulated camera skipped because the reader was late
    truncated = False      # video: the file ended before its header's frame count

    def __init__(self, name: str, fps: float, frame_count: int | None, first: np.ndarray | None = None):
        self.name = name
        self.fps = float(fps)
        self.frame_count = frame_count   # None when unknown (webcam)
        self.delivered = 0               # frames returned so far
        self._t0: float | None = None
        self._pending = first            # the image decoded while probing, not yet delivered

    def _take_pending(self) -> np.ndarray | None:
        image, self._pending = self._pending, None
        return image

    def read(self) -> Frame | None:
        image = self._take_pending()
        if image is None:
            image = self._read()
        if image is None:
            return None
        now = time.perf_counter()
        if self._t0 is None:
            self._t0 = now
        frame = Frame(
            index=self.delivered,
            timestamp=self._timestamp(now),
            image=image,
            source=self.name,
            captured_at=now,
        )
        self.delivered += 1
        return frame

    def _timestamp(self, now: float) -> float:
        return self.delivered / self.fps if self.fps > 0 else 0.0

    def _read(self) -> np.ndarray | None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def reconnect(self) -> None:
        raise SourceError(f"{self.name}: cannot reconnect a {self.kind} source")

    def __iter__(self):
        while True:
            frame = self.read()
            if frame is None:
                return
            yield frame

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def describe(self) -> str:
        n = "?" if self.frame_count is None else str(self.frame_count)
        return f"{self.kind} {self.name} ({n} frames, {self.fps:g} fps)"


class ImageSource(Source):
    kind = "image"

    def __init__(self, path: str | Path):
        path = Path(path)
        image = read_image(path)
        if image is None:
            raise SourceError(f"{path}: not a readable image")
        super().__init__(str(path), FOLDER_FPS, 1, first=image)
        self.size = (image.shape[1], image.shape[0])

    def _read(self):
        return None  # the one image was the probed one


class FolderSource(Source):
    """The images of one folder in natural sort order; files that are not images are ignored, unreadable
    images are skipped (and counted in `bad_files`)."""

    kind = "folder"

    def __init__(self, path: str | Path, fps: float = FOLDER_FPS):
        path = Path(path)
        try:
            listed = [p for p in path.iterdir() if p.is_file()]
        except OSError as e:
            raise SourceError(f"{path}: cannot list the folder ({e.strerror or e})") from None
        files = sorted((p for p in listed if p.suffix.lower() in IMAGE_EXTS), key=_natural_key)
        videos = sorted((p for p in listed if p.suffix.lower() in VIDEO_EXTS), key=_natural_key)
        self.videos_skipped = len(videos)   # a folder is read as pictures; its videos are left out (and said so)
        if not files:
            videos = sorted((p for p in path.rglob("*") if p.suffix.lower() in VIDEO_EXTS), key=_natural_key)
            if videos:   # a folder of clips is a batch, not one image sequence
                names = ", ".join(v.name for v in videos[:3]) + (", ..." if len(videos) > 3 else "")
                raise SourceError(f"{path}: the folder holds {len(videos)} videos and no images ({names}); a folder "
                                  "is read as pictures: pass one video as --source, or process them all with "
                                  f"`python -m pipeline.batch {path} --out-dir DIR`")
            raise SourceError(f"{path}: the folder holds no images ({', '.join(sorted(IMAGE_EXTS)[:6])}, ...)")
        self.files = files
        self._next = 0
        self.bad_files = 0
        first = self._decode_next()
        if first is None:
            raise SourceError(f"{path}: none of the {len(files)} image files could be decoded")
        super().__init__(str(path), fps, len(files) - self.bad_files, first=first)
        self.size = (first.shape[1], first.shape[0])

    def _decode_next(self) -> np.ndarray | None:
        while self._next < len(self.files):
            try:
                image = read_image(self.files[self._next])
            except ImageTooLarge:
                image = None
            self._next += 1
            if image is not None:
                return image
            self.bad_files += 1
        return None

    def _read(self):
        image = self._decode_next()
        if self.frame_count is not None:
            self.frame_count = len(self.files) - self.bad_files
        return image


class VideoSource(Source):
    """A video file read as fast as the consumer asks. Each frame's timestamp is the container's own for that frame
    (CAP_PROP_POS_MSEC), so variable-frame-rate files (phones record them) keep real time; one nominal period after
    the previous frame where the container gives none. An undecodable frame (corrupt data mid-file) is skipped and
    counted in `bad_frames` (the timestamps keep the gap); a file that ends well before its header's duration
    (truncated) simply ends, and `truncated` says so."""

    kind = "video"

    def __init__(self, path: str | Path):
        path = Path(path)
        quiet_opencv()
        cap = cv2.VideoCapture(str(path))
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"{path}: not a video OpenCV can open (unknown format or corrupt)")
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if np.isfinite(fps) and 0 < fps <= 1000 else 25.0
        self._cap = cap
        self.frame_count = count if count > 0 else None
        self.bad_frames = 0
        self._origin: float | None = None     # the first frame's time in the file
        self._time: float | None = None       # the last decoded frame's time, from the first frame (s)
        first = self._decode(0)
        if first is None:
            cap.release()
            raise SourceError(f"{path}: corrupt or zero-length video (no frame could be decoded)")
        self._first_time = self._time
        super().__init__(str(path), self.fps, self.frame_count, first=to_bgr8(first))
        self.size = (first.shape[1], first.shape[0])
        self.truncated = False

    def _note_time(self) -> float:
        """The time (s from the first frame) of the frame just grabbed: the container's timestamp when it moves on,
        else one nominal period after the previous frame."""
        ms = self._cap.get(cv2.CAP_PROP_POS_MSEC)
        t = ms / 1000.0 if np.isfinite(ms) and ms >= 0 else None
        if t is not None and self._origin is None:
            self._origin = t
        if t is not None:
            t -= self._origin
        prev = self._time
        if t is None or (prev is not None and t <= prev):
            t = 0.0 if prev is None else prev + 1.0 / self.fps
        self._time = t
        return t

    def _decode(self, position: int) -> np.ndarray | None:
        """The next decodable frame after `position` frames, skipping up to MAX_BAD_FRAMES undecodable ones (counted
        in bad_frames); None at the end of the file. Past the header's frame count the first failed read ends it
        (a variable-frame-rate file's count is only an estimate)."""
        for missed in range(MAX_BAD_FRAMES + 1):
            if missed and self.frame_count is not None and position + missed >= self.frame_count:
                return None
            ok, image = self._cap.read()
            if ok and image is not None and image.size:
                self.bad_frames += missed
                self._note_time()
                return image
        return None

    def _timestamp(self, now: float) -> float:
        return self._first_time if self.delivered == 0 else self._time

    def _read(self):
        if self._cap is None:
            return None
        image = self._decode(self.delivered + self.bad_frames)
        if image is None:
            if self.frame_count is not None and self.delivered + self.bad_frames < self.frame_count:
                # Short of the header's count: truncated only when the time is short too (a variable-frame-rate
                # file's count is its duration x its nominal rate, not its real number of frames).
                duration = self.frame_count / self.fps
                self.truncated = self._time is None or self._time < duration - 1.5 / self.fps
                self.frame_count = self.delivered
            return None
        return to_bgr8(image)

    def close(self):
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class ReplaySource(VideoSource):
    """A video replayed in real time, as a webcam would deliver it: `read()` waits until the next frame is due (its
    own timestamp in the file / speed, so variable frame rates replay as recorded), and when the reader is late the
    frames a newer one has replaced are skipped (a camera does not queue them), counted in `late_frames`. Timestamps
    and `captured_at` are the wall-clock times the frames became due."""

    kind = "replay"
    live = True

    def __init__(self, path: str | Path, speed: float = 1.0, loop: bool = False):
        super().__init__(path)
        self.speed = float(speed)
        self.loop = loop
        self.late_frames = 0
        self._pos = 0            # frames grabbed from the file so far
        self._start: float | None = None
        self._origin_t: float | None = None   # file time of the replay's first frame
        self._offset = 0.0       # added to file times after a loop
        self._held = False       # a frame is grabbed (or probed) and not yet retrieved
        self._pending_grabbed = False

    def _grab(self) -> float | None:
        """Grab the next frame without decoding it; its time in the file (s), None at the end."""
        if self._pending is not None and not self._pending_grabbed:
            self._pending_grabbed = True
            self._pos += 1
            return self._first_time
        self._pending = None     # grabbing past the probed frame drops it
        for attempt in range(2):
            if self._cap is not None and self._cap.grab():
                self._pos += 1
                return self._offset + self._note_time()
            if not self.loop or attempt or self._cap is None:
                return None
            self._offset += (self._time or 0.0) + 1.0 / self.fps   # loop: time runs on
            self._time = None
            self._origin = None
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        return None

    def _retrieve(self) -> np.ndarray | None:
        if self._pending is not None:
            return self._take_pending()
        ok, image = self._cap.retrieve() if self._cap is not None else (False, None)
        return to_bgr8(image) if ok and image is not None and image.size else None

    def _advance(self, decode: bool):
        """Move one frame on; the decoded image (decode=True) or True, None at the end."""
        if self._grab() is None:
            return None
        return self._retrieve() if decode else True

    def read(self) -> Frame | None:
        period = 1.0 / (self.fps * self.speed)
        if self._start is None:
            self._start = time.perf_counter()
        while True:
            t = self._grab()
            if t is None:
                return None
            if self._origin_t is None:
                self._origin_t = t
            offset = (t - self._origin_t) / self.speed
            # Late by a whole period: the camera would show a newer frame by now; skip this one undecoded.
            if self.delivered and time.perf_counter() - self._start >= offset + period:
                self.late_frames += 1
                continue
            break
        due = self._start + offset
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        image = self._retrieve()
        if image is None:
            return None
        frame = Frame(index=self.delivered, timestamp=offset, image=image, source=self.name, captured_at=due)
        self.delivered += 1
        return frame


class WebcamSource(Source):
    """A camera by index. Opening probes it (open + one read) in a helper thread with a timeout, because some
    drivers block forever on a missing device."""

    kind = "webcam"
    live = True

    def __init__(self, index: int, timeout: float = WEBCAM_PROBE_TIMEOUT, width: int | None = None,
                 height: int | None = None):
        self.index = int(index)
        self.timeout = timeout
        self._want = (width, height)
        self._cap, first = self._open()
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        super().__init__(self._label(), fps if 0 < fps < 1000 else 30.0, None, first=first)
        self.size = (first.shape[1], first.shape[0])

    def _label(self) -> str:
        return f"webcam {self.index}"

    def _capture(self):
        return cv2.VideoCapture(self.index)

    def _not_found(self) -> str:
        return "no such camera (or it is in use / not permitted)"

    def _open(self):
        quiet_opencv()
        result: dict = {}

        def probe():
            cap = self._capture()
            try:
                if cap.isOpened():
                    w, h = self._want
                    if w and h:
                        cap.set(cv2.CAP_PROP_FRAME_WIDTH, w)
                        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, h)
                    ok, image = cap.read()
                    if ok and image is not None and image.size:
                        result["cap"], result["image"] = cap, image
                        return
                    result["why"] = "opened but delivered no frame"
                else:
                    result["why"] = self._not_found()
            except cv2.error as e:
                result["why"] = str(e).strip().splitlines()[-1]
            cap.release()

        t = threading.Thread(target=probe, name=f"probe-{self._label()}", daemon=True)
        t.start()
        t.join(self.timeout)
        if t.is_alive():
            raise SourceError(f"{self._label()}: no frame within {self.timeout:g} s (not responding)")
        if "cap" not in result:
            raise SourceError(f"{self._label()}: {result.get('why', 'cannot be opened')}")
        return result["cap"], to_bgr8(result["image"])

    def _timestamp(self, now: float) -> float:
        return now - (self._t0 if self._t0 is not None else now)

    def _read(self):
        if self._cap is None:
            return None
        ok, image = self._cap.read()
        if not ok or image is None or image.size == 0:
            if self._ended():
                return None
            raise SourceLost(f"{self._label()}: stopped delivering frames after {self.delivered} frames")
        return to_bgr8(image)

    def _ended(self) -> bool:
        return False

    def reconnect(self) -> None:
        """Open the camera again (after SourceLost); raises SourceError when it is still gone."""
        self.close()
        self._cap, self._pending = self._open()

    def close(self):
        if self._cap is not None:
            self._cap.release()
            self._cap = None


STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")


def is_stream_url(text: str) -> bool:
    return re.match(rf"^({'|'.join(STREAM_SCHEMES)})://", str(text).strip(), re.I) is not None


def redact(url: str) -> str:
    """A URL for messages, its password left out (rtsp://user:secret@cam/ -> rtsp://user:***@cam/)."""
    return re.sub(r"^([a-z]+://[^:/@]+):[^@/]*@", r"\1:***@", url, flags=re.I)


class StreamSource(WebcamSource):
    """A network stream (IP camera: rtsp://, a live or recorded http(s):// video, rtmp://, udp://) opened with
    OpenCV's FFmpeg backend. A live source like a webcam: newest frame wins, timestamps from the wall clock, and a
    stream that stops delivering raises SourceLost, so --reconnect reopens it with backoff. A recorded video served
    over http ends normally at its last frame."""

    kind = "stream"

    def __init__(self, url: str, timeout: float = WEBCAM_PROBE_TIMEOUT):
        self.url = url
        super().__init__(0, timeout=timeout)
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = count if count > 0 else None

    def _label(self) -> str:
        return redact(self.url)

    def _capture(self):
        return cv2.VideoCapture(self.url, cv2.CAP_FFMPEG)

    def _not_found(self) -> str:
        return "cannot open the stream (unreachable, refused, or not a video stream)"

    def _ended(self) -> bool:
        return self.frame_count is not None and self.delivered >= self.frame_count - 1


def parse_spec(spec) -> int | str | Path:
    """'0' / 0 -> webcam index; an rtsp/http(s)/... URL -> the URL (str); anything else -> a path."""
    if isinstance(spec, int):
        return spec
    text = str(spec).strip()
    if re.fullmatch(r"\d{1,3}", text) and not Path(text).exists():
        return int(text)
    if is_stream_url(text):
        return text
    return Path(text).expanduser()


def special_file(path: Path) -> str | None:
    """What a path that is neither a regular file nor a folder is, for the error message (None: a regular file)."""
    mode = path.stat().st_mode
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), not a file: diffmocap reads video and image files, folders, webcams and streams"
    if stat.S_ISCHR(mode):
        return "a character device (like /dev/zero), not a video or image file"
    if stat.S_ISBLK(mode):
        return "a block device (a disk), not a video or image file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a video or image file"
    return "not a regular file"


def open_source(spec, *, replay: bool = False, loop: bool = False, speed: float = 1.0,
                webcam_timeout: float = WEBCAM_PROBE_TIMEOUT, folder_fps: float = FOLDER_FPS) -> Source:
    """Open a webcam index, network stream URL, video file, image file or folder of images.

    replay=True opens a video as a ReplaySource (native frame rate, late frames skipped, as a webcam).
    Raises SourceError with one line for a missing path, a file that is neither image nor video, a FIFO or device,
    a corrupt or zero-length video, a folder without images, or a webcam / stream that cannot be opened or read.
    """
    target = parse_spec(spec)
    if isinstance(target, int):
        if replay:
            raise SourceError(f"--replay needs a video file, not webcam {target}")
        return WebcamSource(target, timeout=webcam_timeout)
    if isinstance(target, str):
        if replay:
            raise SourceError(f"{redact(target)}: a stream is live already; --live replays video files only")
        return StreamSource(target, timeout=webcam_timeout)
    path = target
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    if path.is_dir():
        if replay:
            raise SourceError(f"{path}: replay needs a video file, not a folder")
        return FolderSource(path, fps=folder_fps)
    video_device = re.fullmatch(r"/dev/video(\d+)", str(path.resolve()))
    if video_device and not replay:   # a camera named by its device file: the same camera by index
        return WebcamSource(int(video_device.group(1)), timeout=webcam_timeout)
    what = special_file(path)
    if what:
        raise SourceError(f"{path}: {what}")
    if not os.access(path, os.R_OK):
        raise SourceError(f"{path}: permission denied")
    if path.stat().st_size == 0:
        raise SourceError(f"{path}: empty file (zero length)")
    ext = path.suffix.lower()
    if replay:
        return ReplaySource(path, speed=speed, loop=loop)
    if ext in IMAGE_EXTS:
        return ImageSource(path)
    if ext in VIDEO_EXTS:
        return VideoSource(path)
    # Unknown extension: an image decoder is cheap and strict, try it first; then a video.
    if read_image(path) is not None:
        return ImageSource(path)
    try:
        return VideoSource(path)
    except SourceError:
        raise SourceError(f"{path}: neither an image nor a video OpenCV can read") from None
