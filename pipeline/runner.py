"""Runs a source through the pipeline into consumers (sinks, windows, renderers), in one of two modes.

LIVE: a capture thread reads the source as fast as it delivers into a 1-slot buffer; the newest frame wins and a
frame replaced before it was processed is dropped and counted, so latency stays bounded whatever the processing
speed. OFFLINE: every frame in order through a small bounded queue (the capture thread decodes ahead while the
main thread processes), with a tqdm progress bar and ETA on stderr.

A consumer has write(FrameResult) and close(); one may also have poll() -> bool (a window: False means quit).
KeyboardInterrupt is caught: the run stops, and the caller's finally blocks close the consumers.
"""
from __future__ import annotations

import queue
import sys
import threading
import time
from array import array
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from core.records import FrameResult
from pipeline.sources import Source, SourceError, SourceLost
from pipeline.stages import Detected

_END = object()


@dataclass
class StageFailed:
    """The 2D thread's message when its stage raised: the main thread re-raises `error`."""
    error: BaseException


@dataclass
class RunStats:
    mode: str
    frames: int = 0                  # frames processed
    dropped: int = 0                 # live: frames replaced in the 1-slot buffer before they were processed
    source_skipped: int = 0          # replay: frames the simulated camera skipped (reader late)
    # Per processed frame, as C doubles (8 bytes each, not a Python float's 32): long webcam sessions stay small.
    latencies_ms: array = field(default_factory=lambda: array("d"))   # capture -> estimate
    stage_ms: dict = field(default_factory=dict)                        # stage name -> array of ms
    wall_s: float = 0.0
    error: str | None = None         # the source failed mid-stream (exports were kept)
    interrupted: bool = False        # Ctrl-C
    quit: bool = False               # the user closed the window / pressed q
    reconnects: int = 0

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    def latency(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")

    def summary(self) -> str:
        parts = [f"{self.frames} frames in {self.wall_s:.1f} s ({self.fps:.1f} FPS)"]
        if self.latencies_ms:
            parts.append(f"latency median {self.latency(50):.0f} ms, p95 {self.latency(95):.0f} ms")
        if self.mode == "live":
            parts.append(f"dropped {self.dropped}")
            if self.source_skipped:
                parts.append(f"camera skipped {self.source_skipped}")
        return ", ".join(parts)


class LatestSlot:
    """A 1-slot buffer: put() replaces what is there (counting it as dropped), get() takes the newest. The end marker
    is kept apart: it never displaces a frame still waiting (the last frame before a camera loss is processed), and
    every get() after the last frame returns it."""

    def __init__(self):
        self._cond = threading.Condition()
        self._item = None
        self._full = False
        self._ended = False
        self.dropped = 0

    def put(self, item) -> None:
        with self._cond:
            if item is _END:
                self._ended = True
            elif not self._ended:
                if self._full:
                    self.dropped += 1
                self._item, self._full = item, True
            self._cond.notify()

    def get(self, timeout: float | None = None):
        """The newest item, the end marker once the last item was taken, or None after `timeout` s with nothing new."""
        with self._cond:
            if not self._full and not self._ended:
                self._cond.wait(timeout)
            if self._full:
                item, self._item, self._full = self._item, None, False
                return item
            return _END if self._ended else None


class CaptureThread(threading.Thread):
    """Reads a source into a buffer (LatestSlot for live, bounded Queue for offline) until the end, an error or stop.

    A SourceLost (camera unplugged) either ends the run with `error` set or, with reconnect=True, retries
    source.reconnect() with exponential backoff for up to reconnect_max_s.
    """

    def __init__(self, source: Source, buffer, reconnect: bool = False, reconnect_max_s: float = 30.0,
                 say=None):
        super().__init__(name="capture", daemon=True)
        self.source, self.buffer = source, buffer
        self.reconnect, self.reconnect_max_s = reconnect, reconnect_max_s
        self.say = say or (lambda msg: print(msg, file=sys.stderr))
        self.stop = threading.Event()
        self.error: str | None = None
        self.reconnects = 0
        self.reconnected = threading.Event()   # set after a reconnect: the pipeline should reset its tracking

    def _put(self, item) -> bool:
        if isinstance(self.buffer, LatestSlot):
            self.buffer.put(item)
            return True
        while not self.stop.is_set():
            try:
                self.buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    frame = self.source.read()
                except SourceLost as e:
                    if not self.reconnect or not self._reconnect(str(e)):
                        self.error = self.error or str(e)
                        break
                    continue
                except SourceError as e:
                    self.error = str(e)
                    break
                except Exception as e:  # noqa: BLE001 - a decoder error must end the run, not hang it
                    self.error = f"{self.source.name}: read failed ({type(e).__name__}: {e})"
                    break
                if frame is None or not self._put(frame):
                    break
        finally:
            self._put_end()

    def _put_end(self) -> None:
        if isinstance(self.buffer, LatestSlot):
            self.buffer.put(_END)
            return
        while True:  # the consumer may have stopped reading; never block forever on the end marker
            try:
                self.buffer.put(_END, timeout=0.1)
                return
            except queue.Full:
                if self.stop.is_set():
                    try:
                        self.buffer.get_nowait()
                    except queue.Empty:
                        pass

    def _reconnect(self, why: str) -> bool:
        self.say(f"{why}; reconnecting (up to {self.reconnect_max_s:g} s)")
        deadline = time.monotonic() + self.reconnect_max_s
        wait, last = 0.5, "stopped"
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                self.source.reconnect()
                self.reconnects += 1
                self.reconnected.set()
                self.say(f"{self.source.name}: reconnected")
                return True
            except SourceError as e:
                last = str(e)
            self.stop.wait(min(wait, max(0.0, deadline - time.monotonic())))
            wait = min(wait * 2, 8.0)
        self.error = f"{why}; reconnecting failed for {self.reconnect_max_s:g} s ({last})"
        return False


def _deliver(result, consumers, stats: RunStats) -> None:
    for c in consumers:
        c.write(result)
    for name, ms in result.timings_ms.items():
        stats.stage_ms.setdefault(name, array("d")).append(float(ms))


def _poll(consumers) -> bool:
    alive = True
    for c in consumers:
        poll = getattr(c, "poll", None)
        if poll is not None and not poll():
            alive = False
    return alive


@contextmanager
def _capturing(cap: CaptureThread, stats: RunStats):
    """The capture thread runs for the block. Ctrl-C ends the run (stats.interrupted); on the way out the thread is
    stopped and the run's wall time, the source's error and its reconnects are recorded."""
    t0 = time.perf_counter()
    cap.start()
    try:
        yield
    except KeyboardInterrupt:
        stats.interrupted = True
    finally:
        cap.stop.set()
        cap.join(timeout=2.0)
        stats.wall_s = time.perf_counter() - t0
        stats.error = cap.error
        stats.reconnects = cap.reconnects


def hold(consumers, controls=None, interval: float = 0.03) -> None:
    """Keep the windows up, polling them, until the user closes one or presses q (or Ctrl-C): a single picture
    stays on screen instead of flashing by."""
    try:
        while _poll(consumers) and not (controls is not None and controls.quit):
            time.sleep(interval)
    except KeyboardInterrupt:
        pass


def _estimate(pipeline, item) -> list[FrameResult]:
    """A captured frame (sequential modes) or the 2D thread's message (pipelined modes) -> the results it finishes:
    this frame's, or with a temporal window that looks ahead an earlier frame's (none while the pipeline holds the
    first frames; two when a live look-ahead gives way to causal, Pipeline.ready)."""
    if isinstance(item, StageFailed):
        raise item.error
    result = pipeline.lift(item) if isinstance(item, Detected) else pipeline.process(item)
    return [] if result is None else [result, *getattr(pipeline, "ready", list)()]


def _step(pipeline, item, consumers, stats: RunStats, controls, max_frames) -> list[FrameResult]:
    """_estimate; when a stage fails (or Ctrl-C), the frames the pipeline already lifted and holds for a look-ahead
    (centred smoothing, a temporal window) still reach the sinks before the error goes on. A failure among them is
    left to the first error."""
    try:
        return _estimate(pipeline, item)
    except BaseException:
        with suppress(Exception):
            _flush(pipeline, consumers, stats, controls, max_frames)
        raise


def _flush(pipeline, consumers, stats: RunStats, controls, max_frames) -> bool:
    """The frames the pipeline still holds (a temporal window that looks ahead), at the end of a stream."""
    for result in getattr(pipeline, "flush", list)():
        if _finish(result, consumers, stats, controls, max_frames):
            return True
    return False


@contextmanager
def _detecting(worker: "DetectThread | None"):
    """The pipelined modes' 2D thread runs for the block (nothing without one)."""
    if worker is None:
        yield
        return
    worker.start()
    try:
        yield
    finally:
        worker.stop.set()
        # no timeout: the thread checks `stop` between frames, so this waits for at most one detect call; a thread
        # left running inside a native model call at interpreter exit aborts the process ("terminate called ...")
        worker.join()


def _finish(result: FrameResult, consumers, stats: RunStats, controls, max_frames) -> bool:
    """Count the frame, record its latency (its capture to now) and stage times, hand it to the sinks; True when the
    run should stop."""
    stats.latencies_ms.append((time.perf_counter() - result.frame.captured_at) * 1e3)
    stats.frames += 1
    _deliver(result, consumers, stats)
    if not _poll(consumers) or (controls is not None and controls.quit):
        stats.quit = True
        return True
    return max_frames is not None and stats.frames >= max_frames


def run_offline(source: Source, pipeline, consumers=(), controls=None, progress: bool = True,
                queue_size: int = 4, max_frames: int | None = None, say=None, pipelined: bool = False) -> RunStats:
    """Every frame in order. Returns RunStats (error set when the source failed mid-stream).

    pipelined=True runs the 2D stage on its own thread (every frame, in order), overlapping it with the lifting of
    the previous frame: the same results, faster where there is a spare core."""
    stats = RunStats(mode="offline")
    buf: queue.Queue = queue.Queue(maxsize=queue_size)
    cap = CaptureThread(source, buf, say=say)
    worker = DetectThread(pipeline, buf, controls, outbox=queue.Queue(maxsize=queue_size)) if pipelined else None
    inbox = worker.outbox if worker is not None else buf
    bar = None
    if progress:
        bar = tqdm(total=source.frame_count, unit="frame", file=sys.stderr, desc=source.kind, dynamic_ncols=True,
                   leave=True)
    with _capturing(cap, stats), _detecting(worker):
        try:
            while True:
                if controls is not None and controls.paused and not controls.quit:
                    _poll(consumers)
                    time.sleep(0.03)
                    continue
                item = inbox.get()
                if item is _END:
                    _flush(pipeline, consumers, stats, controls, max_frames)
                    break
                results = _step(pipeline, item, consumers, stats, controls, max_frames)
                if bar is not None:
                    bar.update(1)
                if any(_finish(r, consumers, stats, controls, max_frames) for r in results):
                    break
        finally:
            if bar is not None:
                bar.close()
    return stats


class DetectThread(threading.Thread):
    """Pipelined modes: runs the 2D stage (pipeline.detect) on the frames from `inbox` while the main thread lifts
    the previous one. Live: inbox and outbox are 1-slot buffers (newest wins there too). Offline: bounded queues, so
    every frame goes through, in order."""

    def __init__(self, pipeline, inbox, controls=None, outbox=None):
        super().__init__(name="detect2d", daemon=True)
        self.pipeline, self.inbox, self.controls = pipeline, inbox, controls
        self.outbox = LatestSlot() if outbox is None else outbox
        self.stop = threading.Event()

    def _get(self):
        if isinstance(self.inbox, LatestSlot):
            return self.inbox.get(timeout=0.05)
        try:
            return self.inbox.get(timeout=0.05)
        except queue.Empty:
            return None

    def _put(self, item) -> None:
        if isinstance(self.outbox, LatestSlot):
            self.outbox.put(item)
            return
        while not self.stop.is_set():
            try:
                self.outbox.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                item = self._get()
                if item is _END:
                    break
                if item is None:
                    continue
                if self.controls is not None and self.controls.paused:
                    if isinstance(self.inbox, LatestSlot):
                        continue          # live: a frame that arrives while paused is dropped
                    while self.controls.paused and not self.stop.is_set():
                        time.sleep(0.03)  # offline: every frame goes through, after the pause
                    if self.stop.is_set():
                        break
                self._put(self.pipeline.detect(item))
        except BaseException as e:  # noqa: BLE001 - handed to the main thread, which re-raises it
            self._put(StageFailed(e))   # and no end marker: it would replace the error in the 1-slot buffer
            return
        self._put(_END)


def run_live(source: Source, pipeline, consumers=(), controls=None, reconnect: bool = False,
             reconnect_max_s: float = 30.0, max_frames: int | None = None, say=None,
             pipelined: bool = False) -> RunStats:
    """Newest frame wins. Returns RunStats with latency, FPS and dropped frames.

    pipelined=True (needs pipeline.detect / pipeline.lift) runs the 2D stage on its own thread, overlapping it with
    the lifting of the previous frame: more frames per second where there are cores for it, same latency bound.
    """
    stats = RunStats(mode="live")
    slot = LatestSlot()
    cap = CaptureThread(source, slot, reconnect=reconnect, reconnect_max_s=reconnect_max_s, say=say)
    worker = DetectThread(pipeline, slot, controls) if pipelined else None
    inbox = worker.outbox if worker is not None else slot
    with _capturing(cap, stats), _detecting(worker):
        while True:
            item = inbox.get(timeout=0.05)
            if item is _END:
                _flush(pipeline, consumers, stats, controls, max_frames)
                break
            if item is None or (controls is not None and controls.paused and not controls.quit):
                if not _poll(consumers) or (controls is not None and controls.quit):
                    stats.quit = True
                    break
                continue
            if cap.reconnected.is_set():
                cap.reconnected.clear()
                if _flush(pipeline, consumers, stats, controls, max_frames):
                    break
                pipeline.reset()
            results = _step(pipeline, item, consumers, stats, controls, max_frames)
            if any(_finish(r, consumers, stats, controls, max_frames) for r in results):
                break
    stats.dropped = slot.dropped + (worker.outbox.dropped if worker is not None else 0)
    stats.source_skipped = source.late_frames
    return stats
