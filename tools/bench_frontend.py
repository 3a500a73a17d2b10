"""Time the 2D front end on a video: frames with a person and per-stage ms (detection, landmarks, candidates).

    python -m tools.bench_frontend [--source vtest.avi] [--runtime litert|torch] [--model full] [--threads 2]

Prints one JSON line. Per-frame stage times are summed over the calls in that frame (a frame that loses its track
runs the landmark model twice); "mean" averages over all frames, "mean_when_run" over frames where the stage ran.
The load average is printed before and after because the machine may be shared.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from core import defaults
from detectors.frontend import FrontEnd
from pipeline.samples import sample_path
from pipeline.sources import open_source


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", default="vtest.avi", help="a path, or a sample name for pipeline.samples")
    ap.add_argument("--runtime", default="litert")
    ap.add_argument("--model", default="full")
    ap.add_argument("--threads", type=int, default=2, help="LiteRT threads and torch intra-op threads")
    ap.add_argument("--torch-threads", type=int, default=0, help="torch intra-op threads if not --threads")
    ap.add_argument("--max-frames", type=int, default=0)
    ap.add_argument("--k", type=int, default=defaults.CANDIDATES)
    args = ap.parse_args()

    torch.set_num_threads(args.torch_threads or args.threads)
    src = args.source
    if not Path(src).exists():
        src = sample_path(src)
    fe = FrontEnd(model=args.model, runtime=args.runtime, k=args.k, seed=0, num_threads=args.threads)
    load_before = os.getloadavg()
    stages = {"detect": [], "landmarks": [], "candidates": []}
    with_person, state, n = 0, None, 0
    t0 = time.perf_counter()
    with open_source(src) as source:
        for frame in source:
            persons, state = fe.process(frame, state)
            with_person += bool(persons)
            for key in stages:
                stages[key].append(state.timings_ms[key])
            n += 1
            if args.max_frames and n >= args.max_frames:
                break
    wall = time.perf_counter() - t0
    out = {"source": str(src), "runtime": args.runtime, "model": args.model, "threads": args.threads, "torch_threads": torch.get_num_threads(),
           "frames": n, "with_person": with_person, "wall_s": round(wall, 1),
           "loadavg_before": [round(v, 2) for v in load_before],
           "loadavg_after": [round(v, 2) for v in os.getloadavg()]}
    for key, values in stages.items():
        v = np.array(values)
        ran = v[v > 0]
        out[key] = {"runs": int(len(ran)), "mean": round(float(v.mean()), 2),
                    "mean_when_run": round(float(ran.mean()), 2) if len(ran) else 0.0,
                    "median_when_run": round(float(np.median(ran)), 2) if len(ran) else 0.0}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
