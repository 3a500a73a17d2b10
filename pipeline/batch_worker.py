"""The batch command's worker (pipeline/batch.py): the models loaded once, then one input at a time through the
app's own sinks and loop (pipeline.outputs) into a partial folder. A plain class (tests run it without Ray); the
batch runs it as a Ray actor."""
from __future__ import annotations

import contextlib
import os
import time
import traceback
from pathlib import Path

import cv2

from pipeline.config import AppConfig
from pipeline.factory import build_frontend, build_lifter, build_pipeline
from pipeline.manifest import Input, describe_files, one_line, output_names
from pipeline.outputs import Outputs, open_consumers, run_source, source_warnings
from pipeline.sources import open_source

PROGRESS_EVERY_S = 0.5


class FrameCounter:
    """A sink that counts frames and the people with a 3D pose, and reports progress every half second."""

    def __init__(self, key: str, progress=None):
        self.key, self.progress = key, progress
        self.frames, self.people, self._sent = 0, set(), 0
        self._next = time.monotonic() + PROGRESS_EVERY_S

    def write(self, result) -> None:
        self.frames += 1
        self.people.update(int(p.id) for p in result.persons if p.estimate is not None)
        if self.progress is not None and time.monotonic() >= self._next:
            self._report()

    def _report(self) -> None:
        if self.frames > self._sent:
            self.progress.add.remote(self.key, self.frames - self._sent)
            self._sent = self.frames
        self._next = time.monotonic() + PROGRESS_EVERY_S

    def close(self) -> None:
        if self.progress is not None:
            self._report()


class BatchWorker:
    """One worker: the models, loaded once; process() runs one input into a partial folder and returns its manifest
    record. Plain Python (tests run it without Ray); a Ray actor in a batch."""

    def __init__(self, cfg: AppConfig, threads: int = 1):
        cfg.torch_threads = cfg.litert_threads = max(1, int(threads))
        cv2.setNumThreads(max(1, int(threads)))
        self.cfg = cfg
        self.frontend, self.lifter = build_frontend(cfg), build_lifter(cfg, say=lambda msg: None)

    def ready(self) -> dict:
        return {"host": os.uname().nodename, "pid": os.getpid(), "threads": self.cfg.torch_threads}

    def process(self, job: dict, progress=None) -> dict:
        item = Input(Path(job["input"]), job["key"])
        partial = Path(job["partial"])
        record = {"input": job["input"], "key": item.key, "status": "failed", "frames": 0, "people": 0,
                  "seconds": 0.0, "outputs": {}, "error": None, "warnings": [], "worker": self.ready()}
        t0 = time.perf_counter()
        try:
            partial.mkdir(parents=True, exist_ok=True)
            source = open_source(item.path)
            names = output_names(item.name, tuple(job["exports"]), source.kind == "image")
            outputs = Outputs(**{kind: partial / name for kind, name in names.items()})
            counter = FrameCounter(item.key, progress)
            # A fresh pipeline on the loaded models: track ids, temporal state and the seed start as in one app run.
            pipeline = build_pipeline(self.cfg, say=lambda msg: None, frontend=self.frontend, lifter=self.lifter)
            with contextlib.ExitStack() as stack:
                stack.callback(source.close)
                opened = open_consumers(stack, self.cfg, source, outputs, live=False, say=lambda msg: None)
                stats = run_source(self.cfg, source, pipeline, [*opened.consumers, counter], live=False,
                                   max_frames=job.get("max_frames"), progress=False, say=lambda msg: None)
            if stats.interrupted:
                raise KeyboardInterrupt
            record.update(frames=counter.frames, people=len(counter.people), warnings=source_warnings(source))
            if stats.error:
                record["error"] = f"source failed after {counter.frames} frames: {stats.error}"
            elif counter.frames == 0:
                record["error"] = f"{item.path}: no frame could be decoded"
            else:
                record.update(status="ok", outputs=describe_files(partial, names))
        except KeyboardInterrupt:
            raise
        except Exception as e:  # noqa: BLE001 - one input failing must not stop the others: it is recorded
            record["error"] = one_line(e)
            record["traceback"] = traceback.format_exc(limit=8)
        record["seconds"] = round(time.perf_counter() - t0, 3)
        return record


class Progress:
    """Frames done per input, reported by the workers (a Ray actor; the driver reads the totals)."""

    def __init__(self):
        self.frames: dict[str, int] = {}

    def add(self, key: str, n: int) -> None:
        self.frames[key] = self.frames.get(key, 0) + int(n)

    def total(self) -> int:
        return sum(self.frames.values())
