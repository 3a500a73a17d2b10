"""Lifter runtimes: where a Lifter's common-case sampling runs, chosen in one place (`with_runtime`).

    fast = with_runtime(Lifter.load(device="cuda"), "graph", dtype="bf16")
    hyps = fast.sample(xy, lik, n=64, steps=5)       # same Lifter API and noise as the eager one

A runtime is a *sample runner* handed to lifter.api.Lifter (no subclass overrides `sample`): for the common case
(eta = 0, one candidate set per frame, from noise or a warm start; Lifter.sample decides, once) the Lifter draws the
start sample (lifter.api.start_sample) and calls runner(xy, lik, x, n, steps, start) for
    condition (once per frame) -> repeat over N -> lifter.sampler.ddim over S steps -> metres.
Anything else runs Lifter's own loop under runner.precision() (autocast for bf16/fp16).

Runners:
- TorchRunner, mode "eager": that function as is (CPU or GPU), the network under autocast when dtype is bf16/fp16
  (the DDIM update itself stays float32). With alpha_bar already on the device and the timesteps on the host it
  launches only device kernels: no host sync inside the loop, so the whole loop can be captured;
- TorchRunner, mode "graph" (CUDA only): captured in one torch.cuda.CUDAGraph per (frames, K, N, S) shape; a call
  copies its inputs into the graph's static buffers and replays it (one launch for condition + S steps);
- TorchRunner, mode "compile": torch.compile of the same function ("reduce-overhead" on CUDA, which also uses CUDA
  graphs; the default inductor mode on the CPU);
- lifter.onnx_export.OnnxRunner: one onnxruntime call per frame batch (the exported sampler graph).
"""
from __future__ import annotations

import copy
from contextlib import nullcontext

import torch

from core.skeleton import NUM_JOINTS
from lifter.api import Lifter
from lifter.onnx_export import OnnxRunner, OnnxWindowRunner
from lifter.sampler import ddim

DTYPES = {"fp32": torch.float32, "float32": torch.float32, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16,
          "fp16": torch.float16, "float16": torch.float16}
MODES = ("eager", "graph", "compile")
RUNTIMES = MODES + ("onnx",)
# lifter.evaluate --variant / bench --variants: name -> (runtime, dtype); "fp32" is the plain Lifter.
VARIANTS = {"fp32": (None, "fp32"), "fp32-fast": ("eager", "fp32"), "bf16": ("eager", "bf16"),
            "fp16": ("eager", "fp16"), "onnx": ("onnx", "fp32"), "compile": ("compile", "fp32"),
            "graph": ("graph", "fp32"), "graph-bf16": ("graph", "bf16"), "graph-fp16": ("graph", "fp16")}


def autocast_for(device: torch.device, dtype: torch.dtype, cache: bool = True):
    """Autocast for bf16/fp16 (no-op for fp32); cache=False when the region is captured or compiled, as the CUDA
    graph notes require (cached weight casts would be made once, inside the capture, and not replayed)."""
    if dtype == torch.float32:
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype, cache_enabled=cache)


class TorchRunner:
    """Condition + S DDIM steps + metres as one PyTorch function per shape: eager, CUDA graph or torch.compile."""

    def __init__(self, lifter: Lifter, dtype: str | torch.dtype = torch.float32, mode: str = "eager"):
        self.model, self.schedule, self.cfg, self.device = lifter.model, lifter.schedule, lifter.cfg, lifter.device
        self.dtype = DTYPES[dtype] if isinstance(dtype, str) else dtype
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        if mode == "graph" and self.device.type != "cuda":
            raise ValueError("mode 'graph' needs a CUDA device; use 'eager' or 'compile' on the CPU")
        self.mode = mode
        self.alpha_bar = lifter.alpha_bar.to(self.device)   # on the device once: no copies inside the loop
        self.fns: dict[tuple, object] = {}
        self._compiled = None

    def precision(self):
        return autocast_for(self.device, self.dtype)

    # The whole per-batch computation; pure device work for fixed shapes (capturable, compilable).
    def run(self, xy: torch.Tensor, lik: torch.Tensor, noise: torch.Tensor, n: int, ts: tuple[int, ...]) -> torch.Tensor:
        b, j = xy.shape[0], xy.shape[1]
        with autocast_for(self.device, self.dtype, cache=self.mode == "eager"):
            cond = self.model.condition(xy, lik).repeat(n)
            x = ddim(lambda z, t: self.model.denoise(z, t, cond).float(), noise, ts, self.alpha_bar,
                     self.cfg.target, 0.0, None, clip_x0=3.0 * self.cfg.pose_scale)
        return self.model.from_internal(x.float()).view(b, n, j, 3)

    def fn(self, b: int, k: int, n: int, steps: int, start: int):
        key = (b, k, n, steps, start)
        if key in self.fns:
            return self.fns[key]
        # plain ints: int(ts[i]) reads no device memory, and torch.compile specialises on them without a graph break
        ts = tuple(int(t) for t in self.schedule.timesteps(steps, start))
        if self.mode == "eager":
            fn = lambda xy, lik, noise: self.run(xy, lik, noise, n, ts)  # noqa: E731
        elif self.mode == "compile":
            if self._compiled is None:
                kw = {"mode": "reduce-overhead"} if self.device.type == "cuda" else {}
                self._compiled = torch.compile(self.run, dynamic=False, **kw)
            fn = lambda xy, lik, noise: self._compiled(xy, lik, noise, n, ts)  # noqa: E731
        else:
            fn = GraphRunner(self, b, k, n, ts)
        self.fns[key] = fn
        return fn

    def __call__(self, xy: torch.Tensor, lik: torch.Tensor, x: torch.Tensor, n: int, steps: int,
                 start: int) -> torch.Tensor:
        b, _, k = lik.shape
        with torch.inference_mode():
            return self.fn(b, k, n, steps, start)(xy, lik, x)


class GraphRunner:
    """One CUDA graph for condition + repeat + S DDIM steps at fixed (frames, K, N, S, start); replay per call."""

    def __init__(self, runner: TorchRunner, b: int, k: int, n: int, ts: tuple[int, ...]):
        dev = runner.device
        self.xy = torch.zeros(b, NUM_JOINTS, k, 2, device=dev)
        self.lik = torch.zeros(b, NUM_JOINTS, k, device=dev)
        self.noise = torch.zeros(b * n, NUM_JOINTS - 1, 3, device=dev)
        run = lambda: runner.run(self.xy, self.lik, self.noise, n, ts)  # noqa: E731
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


def with_runtime(base: Lifter, runtime: str | None = "eager", dtype: str | torch.dtype = "fp32",
                 device: str | None = None, threads: int = 1) -> Lifter:
    """A Lifter with base's weights, calibration and meta whose common-case sampling runs on `runtime` (None: the
    plain eager loop) on `device` (default base's). It shares base's model on the same device, else uses a copy
    (Module.to moves in place). "onnx" runs onnxruntime on `device` with tensors crossing on the host."""
    device = torch.device(device or base.device)
    if runtime == "onnx":
        lifter = Lifter(base.model if base.device.type == "cpu" else copy.deepcopy(base.model), base.calibration,
                        dict(base.meta, runtime="onnx"), "cpu")
        lifter.runner = OnnxRunner(lifter.model, lifter.schedule, str(device), threads)
        return lifter
    model = base.model if device == base.device else copy.deepcopy(base.model)
    lifter = Lifter(model, base.calibration, base.meta, str(device))
    if runtime is not None:
        if runtime not in MODES:
            raise ValueError(f"unknown lifter runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
        lifter.runner = TorchRunner(lifter, dtype, runtime)
    return lifter


def with_window_runtime(base: Lifter, threads: int = 1) -> Lifter:
    """A temporal Lifter (lifter.temporal) whose live window runs on onnxruntime on the CPU (`window_runner`, used
    by TemporalStream: the tokens graph per frame, the window sampler per output; same results within 1e-4 m)."""
    lifter = Lifter(base.model if base.device.type == "cpu" else copy.deepcopy(base.model).cpu(), base.calibration,
                    dict(base.meta, runtime="onnx"), "cpu")
    lifter.window_runner = OnnxWindowRunner(lifter.model, threads)
    return lifter


def fastest(base: Lifter, device: str = "cpu", threads: int = 1) -> Lifter:
    """The measured-fastest runtime for a device (same results within 1e-4 m for fp32): CPU -> onnxruntime (one
    session call per frame); CUDA -> one CUDA graph per shape with bf16 autocast (docs/speed.md)."""
    if str(device).startswith("cuda"):
        return with_runtime(base, "graph", "bf16", device)
    return with_runtime(base, "onnx", device="cpu", threads=threads)


def make_variant(base: Lifter, variant: str, device: str = "cpu", threads: int = 1) -> Lifter:
    """A named variant (VARIANTS): 'fp32' (the plain Lifter), 'fp32-fast' / 'bf16' / 'fp16' (eager runner), 'onnx'
    (onnxruntime), 'compile' (torch.compile), 'graph' / 'graph-bf16' / 'graph-fp16' (CUDA graph; CUDA only)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}")
    runtime, dtype = VARIANTS[variant]
    if runtime is None and torch.device(device) == base.device:
        return base
    return with_runtime(base, runtime, dtype, device, threads)
