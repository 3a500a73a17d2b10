"""Fast paths for the lifter's S-step sampling: reduced precision, one CUDA graph per shape, or torch.compile.

    fast = FastLifter.from_lifter(Lifter.load(device="cuda"), mode="graph", dtype="bf16")
    hyps = fast.sample(xy, lik, n=64, steps=5)       # same API and noise as Lifter.sample

FastLifter is a lifter.api.Lifter (so estimate() and everything else work) whose sample() runs, for the common
case (eta = 0, no warm start, one candidate set per frame), one function per frame batch:
    condition (once per frame) -> repeat over N -> lifter.sampler.ddim over S steps -> metres,
with the network under autocast when dtype is bf16/fp16 (the DDIM update itself stays float32). The DDIM code is
the project's own (lifter.sampler.ddim); with alpha_bar already on the device and the timesteps on the host it
launches only device kernels: no host sync inside the loop, so the whole loop can be captured.

Warm starts (init = the previous frame's mean, noised to init_t, then S steps from there: what pipeline.stages does)
take the same fast path; the start sample comes from lifter.api.start_sample, as in Lifter.sample.

Modes:
- "eager": that function as is (CPU or GPU);
- "graph" (CUDA only): captured in one torch.cuda.CUDAGraph per (frames, K, N, S) shape; a call copies its inputs
  into the graph's static buffers and replays it (one launch for condition + S steps);
- "compile": torch.compile of the same function (mode "reduce-overhead" on CUDA, which also uses CUDA graphs;
  the default inductor mode on the CPU).
Anything else (eta > 0, per-hypothesis candidate draws, init_t <= 0) falls back to Lifter.sample under the same
autocast.

`load_lifter(name)`: shipped weights, a training checkpoint folder, or "random" (timing only) -> (Lifter, source).

    python -m lifter.fast --poses .cache/mocap/test.npz --max-poses 300 --modes fp32 bf16 onnx   # accuracy check
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

from core.skeleton import NUM_JOINTS
from lifter.api import DEFAULT_WARM_T, Lifter, resolve_weights, start_sample
from lifter.model import LifterModel, ModelConfig
from lifter.sampler import ddim

DTYPES = {"fp32": torch.float32, "float32": torch.float32, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16,
          "fp16": torch.float16, "float16": torch.float16}
MODES = ("eager", "graph", "compile")


# ----------------------------------------------------------------------------------------------- loading


def random_model(seed: int = 0, config: str | Path | None = None) -> LifterModel:
    """An untrained model with the configured architecture (configs/lifter.yaml); zero-initialised output layers get
    small random weights so its samples depend on the input (timing and agreement tests, not accuracy)."""
    from lifter.train import load_config

    torch.manual_seed(seed)
    model = LifterModel(ModelConfig.from_dict(load_config(config)["model"]))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 1 and not p.any():
                p.copy_(torch.randn(p.shape, generator=g) * 0.02)
    return model.eval()


def from_checkpoint(folder: Path) -> Lifter:
    """A training run's folder (.cache/lifter/<name>): config from last.pt, EMA weights from best.pt (else last.pt)."""
    last = torch.load(folder / "last.pt", map_location="cpu", weights_only=True)
    best = folder / "best.pt"
    ema = torch.load(best, map_location="cpu", weights_only=True)["ema"] if best.is_file() else last["ema"]
    model = LifterModel(ModelConfig.from_dict(last["config"]["model"]))
    model.load_state_dict({k: v.float() for k, v in ema.items()})
    return Lifter(model, 1.0, {"name": folder.name, "checkpoint": True})


def load_lifter(name: str = "default", device: str = "cpu") -> tuple[Lifter, str]:
    """(Lifter, where its weights came from). name: weights name/path, a checkpoint folder, or 'random'."""
    if name == "random":
        return Lifter(random_model(), 1.0, {"name": "random"}, device), "random-init (configs/lifter.yaml)"
    p = Path(name)
    if p.is_dir() and (p / "last.pt").is_file():
        lifter = from_checkpoint(p)
        return Lifter(lifter.model, 1.0, lifter.meta, device), f"checkpoint {p}"
    path = resolve_weights(name)
    if path.is_file():
        return Lifter.load(path, device=device), str(path)
    if name != "default":
        raise FileNotFoundError(f"lifter weights not found: {path}")
    return Lifter(random_model(), 1.0, {"name": "random"}, device), \
        f"random-init (configs/lifter.yaml; {path} not found)"


def fast_lifter(lifter: Lifter, device: str = "cpu", num_threads: int = 1) -> Lifter:
    """The measured-fastest variant of this lifter for a device (same API, same results within 1e-4 m for fp32):
    CPU -> onnxruntime (one session call per frame, lifter.onnx_lifter.OnnxLifter); CUDA -> FastLifter with one
    CUDA graph per shape and bf16 autocast (not measured here: no GPU was available)."""
    if str(device).startswith("cuda"):
        return FastLifter.from_lifter(lifter, dtype="bf16", mode="graph", device=device)
    from lifter.onnx_export import onnx_lifter

    return onnx_lifter(lifter, device="cpu", num_threads=num_threads)


# ----------------------------------------------------------------------------------------------- fast sampling


def autocast_for(device: torch.device, dtype: torch.dtype, cache: bool = True):
    """Autocast for bf16/fp16 (no-op for fp32); cache=False when the region is captured or compiled, as the CUDA
    graph notes require (cached weight casts would be made once, inside the capture, and not replayed)."""
    if dtype == torch.float32:
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype, cache_enabled=cache)


class FastLifter(Lifter):
    def __init__(self, model: LifterModel, calibration: float = 1.0, meta: dict | None = None, device: str = "cpu",
                 dtype: str | torch.dtype = torch.float32, mode: str = "eager"):
        super().__init__(model, calibration, meta, device)
        self.dtype = DTYPES[dtype] if isinstance(dtype, str) else dtype
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        if mode == "graph" and self.device.type != "cuda":
            raise ValueError("mode 'graph' needs a CUDA device; use 'eager' or 'compile' on the CPU")
        self.mode = mode
        self.alpha_bar_dev = self.alpha_bar.to(self.device)   # on the device once: no copies inside the loop
        self._runners: dict[tuple, object] = {}
        self._compiled = None

    @classmethod
    def from_lifter(cls, lifter: Lifter, dtype: str | torch.dtype = torch.float32, mode: str = "eager",
                    device: str | None = None) -> "FastLifter":
        """Shares the model with `lifter` on the same device; a copy on another (Module.to moves in place)."""
        device = torch.device(device or lifter.device)
        model = lifter.model if device == lifter.device else copy.deepcopy(lifter.model)
        return cls(model, lifter.calibration, lifter.meta, str(device), dtype, mode)

    # The whole per-batch computation; pure device work for fixed shapes (capturable, compilable).
    def _run(self, xy: torch.Tensor, lik: torch.Tensor, noise: torch.Tensor, n: int, ts: tuple[int, ...]) -> torch.Tensor:
        b, j = xy.shape[0], xy.shape[1]
        with autocast_for(self.device, self.dtype, cache=self.mode == "eager"):
            cond = self.model.condition(xy, lik).repeat(n)
            x = ddim(lambda z, t: self.model.denoise(z, t, cond).float(), noise, ts, self.alpha_bar_dev,
                     self.cfg.target, 0.0, None, clip_x0=3.0 * self.cfg.pose_scale)
        return self.model.from_internal(x.float()).view(b, n, j, 3)

    def _runner(self, b: int, k: int, n: int, steps: int, start: int):
        key = (b, k, n, steps, start)
        if key in self._runners:
            return self._runners[key]
        # plain ints: int(ts[i]) reads no device memory, and torch.compile specialises on them without a graph break
        ts = tuple(int(t) for t in self.schedule.timesteps(steps, start))
        if self.mode == "eager":
            runner = lambda xy, lik, noise: self._run(xy, lik, noise, n, ts)  # noqa: E731
        elif self.mode == "compile":
            if self._compiled is None:
                kw = {"mode": "reduce-overhead"} if self.device.type == "cuda" else {}
                self._compiled = torch.compile(self._run, dynamic=False, **kw)
            runner = lambda xy, lik, noise: self._compiled(xy, lik, noise, n, ts)  # noqa: E731
        else:
            runner = GraphRunner(self, b, k, n, ts)
        self._runners[key] = runner
        return runner

    def sample(self, cand_xy, cand_lik, n: int = 16, steps: int = 5, eta: float = 0.0,
               generator: torch.Generator | None = None, init=None, init_t: int | None = None,
               per_hypothesis_draw: bool = False) -> torch.Tensor:
        warm_from = None if init is None else (DEFAULT_WARM_T if init_t is None else int(init_t))
        if eta != 0.0 or per_hypothesis_draw or (warm_from is not None and warm_from <= 0):
            with autocast_for(self.device, self.dtype):
                return super().sample(cand_xy, cand_lik, n, steps, eta, generator, init, init_t,
                                      per_hypothesis_draw).float()
        xy, lik = self._inputs(cand_xy, cand_lik)
        b, j, k = lik.shape
        with torch.inference_mode():
            x, start = start_sample(self, b, n, generator, init, warm_from)
            return self._runner(b, k, n, steps, start)(xy, lik, x)


class GraphRunner:
    """One CUDA graph for condition + repeat + S DDIM steps at fixed (frames, K, N, S, start); replay per call."""

    def __init__(self, fast: FastLifter, b: int, k: int, n: int, ts: tuple[int, ...]):
        dev = fast.device
        self.xy = torch.zeros(b, NUM_JOINTS, k, 2, device=dev)
        self.lik = torch.zeros(b, NUM_JOINTS, k, device=dev)
        self.noise = torch.zeros(b * n, NUM_JOINTS - 1, 3, device=dev)
        run = lambda: fast._run(self.xy, self.lik, self.noise, n, ts)  # noqa: E731
        side = torch.cuda.Stream(device=dev)
        side.wait_stream(torch.cuda.current_stream(dev))
        with torch.cuda.stream(side), torch.inference_mode():
            for _ in range(2):  # warm up (cuBLAS handles, autocast caches) outside the capture
                run()
        torch.cuda.current_stream(dev).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.inference_mode(), torch.cuda.graph(self.graph):
            self.out = run()

    def __call__(self, xy: torch.Tensor, lik: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """noise: the sample at the start timestep (pure noise, or the noised warm start)."""
        self.xy.copy_(xy, non_blocking=True)
        self.lik.copy_(lik, non_blocking=True)
        self.noise.copy_(noise, non_blocking=True)
        self.graph.replay()
        return self.out.clone()  # the static output is overwritten by the next replay


# ----------------------------------------------------------------------------------------------- accuracy check


VARIANTS = ("fp32", "fp32-fast", "bf16", "fp16", "onnx", "compile", "graph", "graph-bf16", "graph-fp16")


def make_variant(base: Lifter, variant: str, device: str = "cpu", threads: int = 1) -> Lifter:
    """'fp32' (Lifter itself), 'fp32-fast' / 'bf16' / 'fp16' (FastLifter eager), 'onnx' (onnxruntime),
    'compile' (FastLifter, torch.compile), 'graph' / 'graph-bf16' / 'graph-fp16' (FastLifter CUDA graph; CUDA only)."""
    if variant == "fp32":
        return base if torch.device(device) == base.device else \
            Lifter(copy.deepcopy(base.model), base.calibration, base.meta, device)
    if variant in ("bf16", "fp16"):
        return FastLifter.from_lifter(base, dtype=variant, mode="eager", device=device)
    if variant == "fp32-fast":
        return FastLifter.from_lifter(base, dtype="fp32", mode="eager", device=device)
    if variant == "compile":
        return FastLifter.from_lifter(base, dtype="fp32", mode="compile", device=device)
    if variant in ("graph", "graph-bf16", "graph-fp16"):
        dtype = variant.split("-")[1] if "-" in variant else "fp32"
        return FastLifter.from_lifter(base, dtype=dtype, mode="graph", device=device)
    if variant == "onnx":
        from lifter.onnx_export import onnx_lifter

        return onnx_lifter(base, device=device, num_threads=threads)
    raise ValueError(f"unknown variant {variant!r}")


def compare(poses: Path, weights: str = "default", variants=("fp32", "bf16", "onnx"), n: int = 16, steps: int = 5,
            max_poses: int = 300, seed: int = 0, threads: int = 1) -> dict:
    """lifter.evaluate's protocol (same simulated candidates, same sampling noise) for each variant."""
    from lifter.evaluate import load_poses, metrics, run_lifter, simulate

    base, source = load_lifter(weights)
    pose_arr, _ = load_poses(Path(poses), max_poses)
    xy, lik, truth, _ = simulate(pose_arr, "detector", seed)
    out = {"weights": source, "poses": str(poses), "n_poses": len(pose_arr), "hypotheses": n, "steps": steps,
           "threads": threads, "variants": {}}
    ref = None
    for v in variants:
        lifter = make_variant(base, v, threads=threads)
        hyps, ms = run_lifter(lifter, xy, lik, n, steps, seed)
        row = {"ms_per_frame": round(ms, 3), **{k: round(float(x), 3) for k, x in
                                                metrics(hyps, truth, base.calibration).items()}}
        if ref is None:
            ref = hyps
        else:
            row["max_abs_diff_vs_first_mm"] = round(float((hyps - ref).abs().max()) * 1000, 4)
            row["mean_diff_vs_first_mm"] = round(float((hyps.mean(1) - ref.mean(1)).norm(dim=-1).mean()) * 1000, 4)
        out["variants"][v] = row
    first = out["variants"][variants[0]]["mpjpe_mean_mm"]
    for v in variants[1:]:
        out["variants"][v]["mpjpe_delta_mm"] = round(out["variants"][v]["mpjpe_mean_mm"] - first, 3)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Accuracy of the lifter's fast paths against fp32 (lifter.evaluate protocol)")
    ap.add_argument("--poses", type=Path, default=Path(".cache/mocap/test.npz"))
    ap.add_argument("--weights", default="default")
    ap.add_argument("--modes", nargs="+", default=["fp32", "bf16", "onnx"],
                    help="fp32 bf16 fp16 onnx compile fp32-fast (the first is the reference)")
    ap.add_argument("--hypotheses", type=int, default=16)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--max-poses", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    result = compare(args.poses, args.weights, args.modes, args.hypotheses, args.steps, args.max_poses, args.seed,
                     args.threads)
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
