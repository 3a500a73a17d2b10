"""Many videos and images in parallel on Ray (this machine, or a cluster), each into its own folder of outputs.

    python -m pipeline.batch clips/ more/*.mp4 photo.jpg --out-dir runs/ [--workers N] [--address auto|ray://HOST:PORT]
                             [--resume] [--export json,bvh,gltf,render] [--gpus-per-task F] [app settings options]

One Ray actor per worker loads the models once (pipeline.factory.build_pipeline) and runs one input at a time
through the app's own sinks and loop (pipeline.outputs); the actors split the CPUs between them and set their
thread counts to their share, so workers never oversubscribe the cores. Each input's outputs are written into
DIR/.partial/ and renamed into DIR/<key>/ when complete; DIR/manifest.jsonl gets one line per finished input
(status, frames, people, seconds, output paths with sizes and sha256, error). --resume skips inputs whose outputs
are complete and verified; a failing input never stops the others; Ctrl-C stops the workers, drops unfinished
outputs and leaves the manifest as it was, so the next --resume continues. Layout: pipeline/manifest.py.

Exit codes: 0 every input done (or already done); 4 some inputs failed (the others' outputs are written);
1 error; 2 bad arguments/config; 130 interrupted.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import time
import traceback
import uuid
from collections import deque
from datetime import datetime, timezone
from pathlib import Path

import cv2
from tqdm import tqdm

from core.errors import ConfigError, UserError
from core.paths import repo_root
from pipeline.cli import add_settings_options, apply_settings, config_from_argv
from pipeline.config import AppConfig, config_dict
from pipeline.manifest import (EXPORTS, PARTIAL, Input, Manifest, collect_inputs, failed_same, input_identity,
                               install, is_image, one_line, settings_key, verified)
from pipeline.sources import quiet_opencv

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_SOME_FAILED, EXIT_INTERRUPTED = 0, 1, 2, 4, 130
POLL_S = 0.5   # how often the driver updates the progress bars


def say(msg: str) -> None:
    print(f"diffmocap: {msg}", file=sys.stderr, flush=True)


def frame_count(path: Path, max_frames: int | None) -> int:
    """Frames the input should give (for the progress bar): 1 for an image, the container's count for a video."""
    if is_image(path):
        return 1
    cap = cv2.VideoCapture(str(path))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if cap.isOpened() else 0
    cap.release()
    return min(n, max_frames) if max_frames else n


def build_parser(defaults: AppConfig) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pipeline.batch",
        description="Process many videos and images in parallel on Ray (local, or a cluster with --address), each "
                    "into DIR/<name>/, with a manifest for --resume.",
        epilog="Exit codes: 0 all done, 4 some inputs failed (the rest are written), 1 error, 2 bad arguments/"
               "config, 130 interrupted (finished inputs are kept; rerun with --resume).")
    a = p.add_argument
    a("inputs", nargs="+", metavar="INPUT", help="video or image files, folders (searched recursively) or glob patterns")
    a("--out-dir", required=True, metavar="DIR", help="output folder (one sub-folder per input, manifest.jsonl)")
    a("--workers", type=int, default=None, metavar="N",
      help="parallel workers, each with its own models (default: one per CPU Ray sees)")
    a("--address", default=None, metavar="auto|ray://HOST:PORT",
      help="join a running Ray cluster (auto: the one started on this machine with `ray start`); default: start a "
           "local Ray for this run")
    a("--resume", action="store_true",
      help="skip inputs whose outputs are complete and verified (manifest), and unchanged inputs that failed with the "
           "same settings (see --retry-failed)")
    a("--retry-failed", action="store_true", help="with --resume: process the inputs that failed before again")
    a("--export", default="json,bvh,gltf", metavar="LIST",
      help=f"outputs per input, comma-separated from {','.join(EXPORTS)} (default: json,bvh,gltf)")
    a("--gpus-per-task", type=float, default=0.0, metavar="F",
      help="GPU share each worker requests from Ray (e.g. 0.5: two workers per GPU); use with --device cuda")
    add_settings_options(p, defaults)
    return p


def parse_exports(text: str) -> tuple[str, ...]:
    kinds = tuple(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))
    bad = [k for k in kinds if k not in EXPORTS]
    if bad or not kinds:
        raise ConfigError(f"--export {text}: choose from {', '.join(EXPORTS)}")
    return kinds


def settings_of(cfg: AppConfig, exports, max_frames) -> dict:
    """What decides an input's outputs (thread counts and the app's own source/outputs options do not)."""
    data = config_dict(cfg)
    for k in ("source", "outputs", "torch_threads", "litert_threads", "live"):
        data.pop(k, None)
    return {"config": data, "exports": sorted(exports), "max_frames": max_frames}


def start_ray(args, workers_wanted: int | None) -> tuple[int, float, int]:
    """ray.init (local or --address); returns (workers, CPUs per worker, threads per worker)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")   # no usage reports sent anywhere from our runs
    import ray

    env = {"PYTHONPATH": str(repo_root())}
    kwargs = dict(include_dashboard=False, log_to_driver=args.verbose, logging_level="ERROR",
                  runtime_env={"env_vars": env})
    if args.address:
        ray.init(address=args.address, **kwargs)
    else:
        # "local": always a new instance for this run, even where `ray start` left a cluster address behind
        ray.init(address="local", num_cpus=os.cpu_count() or 1, object_store_memory=256 * 2**20, **kwargs)
    cpus = float(ray.cluster_resources().get("CPU", 1.0))
    workers = workers_wanted or max(1, int(cpus))
    share = cpus / workers    # more workers than CPUs: a fraction each (they then share cores: measured, docs)
    return workers, share if share < 1.0 else float(int(share)), max(1, int(share))


class Table:
    """The summary at the end: one row per input, then the totals."""

    def __init__(self):
        self.rows: list[dict] = []

    def add(self, record: dict) -> None:
        self.rows.append(record)

    def render(self) -> str:
        head = f"{'input':<32} {'status':<8} {'frames':>7} {'people':>6} {'seconds':>8}  note"
        lines = [head, "-" * len(head)]
        for r in self.rows:
            note = r.get("error") or "; ".join(r.get("warnings") or [])
            lines.append(f"{r['key'][:32]:<32} {r['status']:<8} {r.get('frames', 0):>7} {r.get('people', 0):>6} "
                         f"{r.get('seconds', 0.0):>8.1f}  {note}")
        return "\n".join(lines)


def run(args, cfg: AppConfig) -> int:
    quiet_opencv()   # the frame-count probe of a corrupt file: our one line says it, not FFmpeg's log
    exports = parse_exports(args.export)
    if args.workers is not None and args.workers < 1:
        raise ConfigError("--workers must be at least 1")
    if args.gpus_per_task < 0:
        raise ConfigError("--gpus-per-task must not be negative")
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    inputs, missing = collect_inputs(args.inputs)
    for spec in missing:
        say(f"warning: {spec}: no such file, folder or match")
    if not inputs:
        raise UserError("no inputs found")
    settings = settings_key(settings_of(cfg, exports, args.max_frames))
    manifest = Manifest(out_dir)
    t_start = time.perf_counter()
    table = Table()
    todo = []
    latest = manifest.latest() if args.resume else {}
    failed_before = []
    for item in inputs:
        record = latest.get(str(item.path.resolve()))
        if args.resume and verified(record, item, out_dir, settings):
            table.add({**record, "status": "done", "seconds": 0.0, "error": None, "warnings": ["already done"]})
        elif args.resume and not args.retry_failed and failed_same(record, item, settings):
            failed_before.append({**record, "seconds": 0.0})
            table.add(failed_before[-1])
        else:
            todo.append(item)
    shutil.rmtree(out_dir / PARTIAL, ignore_errors=True)   # leftovers of an interrupted or killed run
    say(f"{len(inputs)} inputs: {len(inputs) - len(todo) - len(failed_before)} already done, {len(failed_before)} "
        f"failed before (--retry-failed to try them again), {len(todo)} to process")
    code = EXIT_OK
    processed: list[dict] = []
    if todo:
        code = process_all(args, cfg, todo, exports, settings, out_dir, manifest, table, processed)
    wall = time.perf_counter() - t_start
    say("summary:\n" + table.render())
    shutil.rmtree(out_dir / PARTIAL, ignore_errors=True)
    ok = [r for r in processed if r["status"] == "ok"]
    failed = [r for r in processed if r["status"] == "failed"] + failed_before
    frames = sum(r["frames"] for r in ok)
    totals = {"finished": datetime.now(timezone.utc).isoformat(timespec="seconds"), "inputs": len(inputs),
              "processed_ok": len(ok), "failed": len(failed),
              "already_done": len(inputs) - len(todo) - len(failed_before),
              "interrupted": code == EXIT_INTERRUPTED, "frames": frames, "wall_s": round(wall, 3),
              "videos_per_min": round(60.0 * len(ok) / wall, 3) if wall > 0 else None,
              "frames_per_s": round(frames / wall, 3) if wall > 0 else None,
              "workers": getattr(args, "workers_used", None), **getattr(args, "timing", {}),
              "loadavg": [round(v, 2) for v in os.getloadavg()]}
    if totals.get("processing_s"):   # the throughput once the workers are up (startup is per run, not per input)
        totals["processing_videos_per_min"] = round(60.0 * len(ok) / totals["processing_s"], 3)
        totals["processing_frames_per_s"] = round(frames / totals["processing_s"], 3)
    (out_dir / "batch_summary.json").write_text(json.dumps(totals, indent=1))
    say(f"{len(ok)} done, {len(failed)} failed, {totals['already_done']} already done; {frames} frames in "
        f"{wall:.1f} s ({totals['frames_per_s'] or 0:.1f} frames/s, {totals['videos_per_min'] or 0:.2f} inputs/min)"
        f"; manifest {manifest.path}")
    if code == EXIT_OK and failed:
        code = EXIT_SOME_FAILED
    return code


def process_all(args, cfg, todo, exports, settings, out_dir, manifest, table, processed) -> int:
    # Ray, torch and the models are imported only when there is work: a --resume with nothing to do starts in
    # about a second instead of the ~17 s these imports took on a busy 2-core machine.
    import ray

    t0 = time.perf_counter()
    workers, cpus_each, threads = start_ray(args, args.workers)
    args.timing = {"ray_start_s": round(time.perf_counter() - t0, 3)}
    say(f"Ray ready in {time.perf_counter() - t0:.1f} s ({'cluster ' + args.address if args.address else 'local'}: "
        f"{ray.cluster_resources().get('CPU', 0):g} CPUs, {ray.cluster_resources().get('GPU', 0):g} GPUs)")
    args.workers_used = workers
    try:
        return _dispatch(args, cfg, todo, exports, settings, out_dir, manifest, table, processed,
                         workers, cpus_each, threads)
    finally:
        ray.shutdown()


def _dispatch(args, cfg, todo, exports, settings, out_dir, manifest, table, processed, workers, cpus_each,
              threads) -> int:
    import ray
    from ray.exceptions import RayActorError, RayTaskError

    from pipeline.batch_worker import BatchWorker, Progress

    remote = ray.remote(BatchWorker).options(
        num_cpus=cpus_each, num_gpus=args.gpus_per_task or 0,
        runtime_env={"env_vars": {"PYTHONPATH": str(repo_root()), "OMP_NUM_THREADS": str(threads),
                                  "MKL_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads)}})
    progress = ray.remote(Progress).options(num_cpus=0).remote()
    actors = [remote.remote(cfg, threads) for _ in range(workers)]
    pending: dict = {}
    queue = deque(todo)
    frames_total = sum(frame_count(i.path, args.max_frames) for i in todo)
    bars = [tqdm(total=len(todo), unit="input", desc="inputs", file=sys.stderr, position=0, dynamic_ncols=True),
            tqdm(total=frames_total, unit="frame", desc="frames", file=sys.stderr, position=1, dynamic_ncols=True)]
    say(f"{workers} workers, {cpus_each:.3g} CPU and {threads} thread(s) each"
        + (f", {args.gpus_per_task:g} GPU each" if args.gpus_per_task else "") + "; loading the models")
    try:
        t0 = time.perf_counter()
        try:
            info = ray.get([a.ready.remote() for a in actors])
        except RayActorError as e:
            raise UserError(f"a worker could not start: {one_line(e.__cause__ or e)}") from None
        args.timing["workers_ready_s"] = round(time.perf_counter() - t0, 3)
        t_work = time.perf_counter()
        say(f"workers ready in {time.perf_counter() - t0:.1f} s: " + ", ".join(f"{i['host']}:{i['pid']}" for i in info))
        idle = list(actors)
        while queue or pending:
            while idle and queue:
                item = queue.popleft()
                partial = out_dir / PARTIAL / f"{item.key.replace('/', '__')}.{uuid.uuid4().hex[:8]}"
                job = {"input": str(item.path.resolve()), "key": item.key, "partial": str(partial),
                       "exports": list(exports), "max_frames": args.max_frames}
                actor = idle.pop()
                pending[actor.process.remote(job, progress)] = (item, job, actor)
            done, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
            _update(bars[1], progress)
            for ref in done:
                item, job, actor = pending.pop(ref)
                try:
                    record = ray.get(ref)
                except (RayActorError, RayTaskError) as e:
                    record = {"input": job["input"], "key": item.key, "status": "failed", "frames": 0, "people": 0,
                              "seconds": 0.0, "outputs": {}, "warnings": [],
                              "error": f"worker failed: {one_line(getattr(e, 'cause', None) or e)}"}
                    if isinstance(e, RayActorError):    # the worker process died: start a new one
                        ray.kill(actor, no_restart=True)
                        actor = remote.remote(cfg, threads)
                        actors.append(actor)
                if args.verbose and record.get("traceback"):
                    say(f"{item.key}: {record['traceback']}")
                _finish(record, item, job, out_dir, manifest, settings)
                table.add(record)
                processed.append(record)
                bars[0].update(1)
                idle.append(actor)
        args.timing["processing_s"] = round(time.perf_counter() - t_work, 3)
        bars[1].n = sum(r["frames"] for r in processed)   # the last progress reports may still be on their way
        bars[1].refresh()
        return EXIT_OK
    except KeyboardInterrupt:
        for b in bars:
            b.close()
        say(f"interrupted: stopping {len(actors)} workers; {len(pending)} unfinished inputs are dropped "
            "(rerun with --resume to continue)")
        for a in actors:
            with contextlib.suppress(Exception):
                ray.kill(a, no_restart=True)
        for item, job, _ in pending.values():
            shutil.rmtree(job["partial"], ignore_errors=True)
            table.add({"key": item.key, "status": "stopped", "frames": 0, "people": 0, "seconds": 0.0,
                       "error": "interrupted"})
        return EXIT_INTERRUPTED
    finally:
        for b in bars:
            b.close()


def _update(bar, progress) -> None:
    import ray
    from ray.exceptions import GetTimeoutError

    try:
        bar.n = min(ray.get(progress.total.remote(), timeout=2.0), bar.total or 0)
        bar.refresh()
    except GetTimeoutError:
        pass


def _finish(record: dict, item: Input, job: dict, out_dir: Path, manifest: Manifest, settings: str) -> None:
    """Install a finished input's folder (one rename) and append its manifest line; a failed one leaves nothing."""
    partial = Path(job["partial"])
    record.update(settings=settings, finished=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    try:
        record["input_identity"] = input_identity(item.path)
    except OSError:
        record["input_identity"] = None
    if record["status"] == "ok":
        install(partial, out_dir / item.key)
        record["outputs"] = {k: {**v, "path": f"{item.key}/{v['path']}"} for k, v in record["outputs"].items()}
    else:
        shutil.rmtree(partial, ignore_errors=True)
    record.pop("traceback", None)
    manifest.append(record)


def stop_on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    with contextlib.suppress(ValueError):   # main() from another thread (a test): leave signals alone
        signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        cfg = config_from_argv(argv)
    except ConfigError as e:
        say(f"error: {e}")
        return EXIT_USAGE
    args = build_parser(cfg).parse_args(argv)
    try:
        apply_settings(cfg, args)
        return run(args, cfg)
    except ConfigError as e:
        say(f"error: {e}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        say("interrupted")
        return EXIT_INTERRUPTED
    except Exception as e:  # noqa: BLE001 - one line for the user; the traceback with --verbose
        if args.verbose:
            traceback.print_exc()
        say(f"error: {one_line(e)}")
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
