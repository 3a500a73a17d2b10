"""Soak test: the app's pipeline over a long run (a real clip looped), with JSONL and BVH export, watching resident
memory and throughput.

    python -m tools.soak --frames 10000 [--json] [--model full] [--hypotheses 16] [--steps 5] [--lifter default]

The clip (vtest.avi from pipeline.samples, or --source FILE) is re-opened at each end, so frame indices and
timestamps keep rising as from one long video. Frames go through the app's own pieces: pipeline.runner.run_offline
(capture thread + bounded queue), pipeline.stages.Pipeline built by pipeline.factory.build_pipeline, and export.sinks.JsonlSink /
BvhSink writing into a temporary folder (--keep DIR keeps the files).

Measured: resident set size (RSS, /proc/self/statm) after warm-up and at the end, and the growth in between; the
RSS slope over the post-warm-up frames (least squares, KiB per 1000 frames); throughput (frames per wall second,
and per CPU second of this process, which is less sensitive to other load on a shared machine) in the first window
after warm-up and in the last window. Warm-up and windows default to one pass of the clip (frames >= 3 passes), so
the first and last windows hold the same frames; with fewer frames, a third of the run each.
Exit 0 when RSS grew by less than --max-rss-growth-mb and the last window's wall throughput is at least
--min-throughput-ratio of the first's; 1 otherwise; 2 for a bad command line or missing inputs.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import SourceError, UserError
from core.records import FrameResult
from export.sinks import BvhSink, JsonlSink
from pipeline.config import apply_options, load_config
from pipeline.factory import build_pipeline
from pipeline.runner import run_offline
from pipeline.samples import sample_path
from pipeline.sources import Source, VideoSource

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int:
    """Resident set size of this process now (Linux /proc; elsewhere the peak from getrusage)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except OSError:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


class LoopedVideo(Source):
    """A video file played `frames` frames long, re-opened at each end (also exercises open/close on long runs);
    every pass starts at frame `start` of the file."""

    kind = "video"

    def __init__(self, path: str | Path, frames: int, start: int = 0):
        self.path = Path(path)
        self.start = start
        self._video = self._open()
        super().__init__(f"{self.path} (looped)", self._video.fps, frames)
        self.size = self._video.size
        self.clip_frames = None if self._video.frame_count is None else self._video.frame_count - start
        self.passes = 1

    def _open(self) -> VideoSource:
        video = VideoSource(self.path)
        for _ in range(self.start):
            if video.read() is None:
                video.close()
                raise SourceError(f"--start {self.start}: {self.path} has only {video.delivered} frames")
        return video

    def _read(self):
        if self.delivered >= self.frame_count:
            return None
        frame = self._video.read()
        if frame is None:
            self.clip_frames = self._video.delivered - self.start
            self._video.close()
            self._video = self._open()
            self.passes += 1
            frame = self._video.read()
        return frame.image

    def close(self) -> None:
        self._video.close()


@dataclass
class Probe:
    """A consumer that records, per frame: wall time, process CPU time, RSS, whether a person was found, timings."""

    wall: list = field(default_factory=list)
    cpu: list = field(default_factory=list)
    rss: list = field(default_factory=list)
    person: list = field(default_factory=list)
    total_ms: list = field(default_factory=list)

    def write(self, result: FrameResult) -> None:
        self.wall.append(time.perf_counter())
        self.cpu.append(time.process_time())
        self.rss.append(rss_bytes())
        self.person.append(bool(result.persons))
        self.total_ms.append(float(result.timings_ms.get("total", 0.0)))

    def close(self) -> None:
        pass


def window_stats(probe: Probe, start: int, stop: int) -> dict:
    """Throughput over frames start..stop-1 (needs the time of frame start-1, so start >= 1)."""
    n = stop - start
    wall = probe.wall[stop - 1] - probe.wall[start - 1]
    cpu = probe.cpu[stop - 1] - probe.cpu[start - 1]
    return {"frames": [start, stop], "fps": n / wall if wall > 0 else float("nan"),
            "frames_per_cpu_s": n / cpu if cpu > 0 else float("nan"),
            "pipeline_ms_median": float(np.median(probe.total_ms[start:stop])),
            "with_person": float(np.mean(probe.person[start:stop]))}


def analyse(probe: Probe, warmup: int, window: int, rss_start: int) -> dict:
    n = len(probe.wall)
    mib = 1 / 2**20
    rss = np.asarray(probe.rss, dtype=np.float64)
    after = np.arange(warmup, n)
    slope = float(np.polyfit(after, rss[warmup:], 1)[0]) if len(after) >= 2 else 0.0
    first = window_stats(probe, warmup, min(n, warmup + window))
    last = window_stats(probe, max(warmup, n - window), n)
    return {
        "frames": n,
        "warmup_frames": warmup,
        "window_frames": window,
        "rss_start_mib": rss_start * mib,
        "rss_warm_mib": float(rss[warmup - 1]) * mib,
        "rss_end_mib": float(rss[-1]) * mib,
        "rss_peak_mib": float(rss.max()) * mib,
        "rss_growth_mib": float(rss[-1] - rss[warmup - 1]) * mib,
        "rss_slope_kib_per_1000_frames": slope * 1000 / 1024,
        "first_window": first,
        "last_window": last,
        "throughput_ratio": last["fps"] / first["fps"],
        "cpu_throughput_ratio": last["frames_per_cpu_s"] / first["frames_per_cpu_s"],
        "wall_s": probe.wall[-1] - probe.wall[0],
    }


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="python -m tools.soak", description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=10000, help="frames to process (default 10000)")
    ap.add_argument("--source", default=None, help="video file to loop (default: the vtest.avi sample)")
    ap.add_argument("--start", type=int, default=0, help="every pass starts at this frame of the file (default 0)")
    ap.add_argument("--model", default=None, metavar="lite|full|heavy", help="BlazePose model (default: app config)")
    ap.add_argument("--hypotheses", type=int, default=None, help="3D hypotheses per frame (default: app config)")
    ap.add_argument("--steps", type=int, default=None, help="DDIM steps (default: app config)")
    ap.add_argument("--lifter", default=None, help="lifter weights name or path (default: app config)")
    ap.add_argument("--max-people", type=int, default=None,
                    help="people followed (default: app config; 1: the single-person front end)")
    ap.add_argument("--warmup", type=int, default=None, help="frames before the memory baseline (default: one pass)")
    ap.add_argument("--window", type=int, default=None, help="frames per throughput window (default: one pass)")
    ap.add_argument("--max-rss-growth-mb", type=float, default=50.0, help="allowed RSS growth after warm-up (MiB)")
    ap.add_argument("--min-throughput-ratio", type=float, default=0.9,
                    help="last window's FPS must be at least this fraction of the first's (0 turns the check off)")
    ap.add_argument("--keep", default=None, metavar="DIR", help="write soak.jsonl / soak.bvh here and keep them")
    ap.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    for name in ("frames", "hypotheses", "steps", "warmup", "window"):
        value = getattr(args, name)
        if value is not None and value < 1:
            ap.error(f"--{name} must be at least 1")
    if args.start < 0:
        ap.error("--start must be at least 0")
    if args.frames < 3:
        ap.error("--frames must be at least 3")
    return args


def build(args):
    """The app's config with the soak's overrides, and its pipeline."""
    cfg = apply_options(load_config(), model=args.model, hypotheses=args.hypotheses, steps=args.steps,
                        lifter=args.lifter, max_people=args.max_people)
    return cfg, build_pipeline(cfg)


def run(args) -> dict:
    path = Path(args.source) if args.source else sample_path("vtest.avi")
    rss_start = rss_bytes()
    cfg, pipeline = build(args)
    source = LoopedVideo(path, args.frames, start=args.start)
    clip = source.clip_frames or args.frames
    one_pass = args.frames >= 3 * clip
    warmup = args.warmup or (clip if one_pass else max(1, args.frames // 3))
    window = args.window or (clip if one_pass else max(1, args.frames // 3))
    if warmup + window > args.frames:
        raise SourceError(f"--warmup {warmup} + --window {window} is more than --frames {args.frames}")
    with tempfile.TemporaryDirectory(prefix="diffmocap-soak-") as tmp:
        out = Path(args.keep) if args.keep else Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        probe = Probe()
        t0 = time.perf_counter()
        with source, JsonlSink(out / "soak.jsonl", meta={"source": source.name}) as js, \
                BvhSink(out / "soak.bvh", fps=source.fps) as bvh:
            stats = run_offline(source, pipeline, [js, bvh, probe], progress=not args.no_progress)
        wall = time.perf_counter() - t0
        sizes = {p.name: p.stat().st_size for p in out.glob("soak.*")}
    if stats.error or stats.interrupted or len(probe.wall) < warmup + window:
        raise SourceError(f"the run stopped after {len(probe.wall)} frames ({stats.error or 'interrupted'})")
    result = analyse(probe, warmup, window, rss_start)
    result.update({
        "source": str(path), "start": args.start, "clip_frames": clip, "passes": source.passes, "model": cfg.model,
        "hypotheses": cfg.hypotheses, "steps": cfg.steps, "lifter": cfg.lifter, "max_people": cfg.max_people,
        "run_wall_s": wall,
        "fps_overall": len(probe.wall) / wall, "outputs_bytes": sizes, "load_average": list(os.getloadavg()),
        "with_person": float(np.mean(probe.person)),
    })
    result["ok_memory"] = result["rss_growth_mib"] < args.max_rss_growth_mb
    result["ok_throughput"] = result["throughput_ratio"] >= args.min_throughput_ratio
    return result


def report(r: dict) -> str:
    f, last = r["first_window"], r["last_window"]
    return "\n".join([
        f"soak: {r['frames']} frames of {r['source']} ({r['passes']} passes of {r['clip_frames']}), BlazePose "
        f"{r['model']}, {r['hypotheses']} hypotheses x {r['steps']} steps, lifter {r['lifter']}; "
        f"{r['run_wall_s']:.0f} s, {r['fps_overall']:.1f} FPS overall",
        f"RSS: start {r['rss_start_mib']:.0f} MiB, after warm-up ({r['warmup_frames']} frames) "
        f"{r['rss_warm_mib']:.1f} MiB, end {r['rss_end_mib']:.1f} MiB, peak {r['rss_peak_mib']:.1f} MiB; growth "
        f"{r['rss_growth_mib']:+.1f} MiB, slope {r['rss_slope_kib_per_1000_frames']:+.0f} KiB / 1000 frames "
        f"[{'ok' if r['ok_memory'] else 'FAIL'}]",
        f"throughput: first window (frames {f['frames'][0]}-{f['frames'][1]}) {f['fps']:.2f} FPS "
        f"({f['frames_per_cpu_s']:.2f} per CPU s), last window (frames {last['frames'][0]}-{last['frames'][1]}) "
        f"{last['fps']:.2f} FPS ({last['frames_per_cpu_s']:.2f} per CPU s): ratio {r['throughput_ratio']:.3f} "
        f"(CPU {r['cpu_throughput_ratio']:.3f}) [{'ok' if r['ok_throughput'] else 'FAIL'}]",
        f"outputs: {', '.join(f'{k} {v / 2**20:.1f} MiB' for k, v in sorted(r['outputs_bytes'].items()))}; "
        f"load average {' '.join(f'{x:.1f}' for x in r['load_average'])}",
    ])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        r = run(args)
    except UserError as e:
        print(f"soak: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("soak: interrupted", file=sys.stderr)
        return 130
    print(json.dumps(r) if args.json else report(r), flush=True)
    return 0 if r["ok_memory"] and r["ok_throughput"] else 1


if __name__ == "__main__":
    sys.exit(main())
