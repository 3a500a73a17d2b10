"""The diffusion lifter in ONNX: the one-call sampler graph the onnxruntime runtime runs, and the condition /
denoiser graphs (dynamic batch) for other runtimes and inspection.

    lifter = with_runtime(Lifter.load(), "onnx")   # lifter.runtimes: a Lifter whose sampling runs OnnxRunner
    hyps = lifter.sample(xy, lik, n=16, steps=5)   # same API, same DDIM code (lifter.sampler), same noise

- sampler graph (SampleGraph): condition + S DDIM steps (eta 0) + metres for fixed timesteps, one per (S, start);
- condition graph: xy (R,17,K,2), lik (R,17,K) -> inp, mod_0 .. mod_{B-1}: everything the denoiser needs from the
  frame (computed once per frame, then repeated over the N hypotheses as lifter.model.Condition.repeat does);
- denoise graph: x (R,16,3), t (R,) int64, inp, mod_0 .. -> prediction (R,16,3).
R (rows) and K are dynamic.

Files: .cache/onnx/lifter-<key>-{condition,denoise,sample-s<S>-t<start>}.onnx, key = sha256 of the weights, config
and lifter/model.py.

    python -m lifter.onnx_export [--weights default] [--check]
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
from pathlib import Path

from contextlib import nullcontext

import numpy as np
import torch
from torch import nn

from core.skeleton import NUM_JOINTS
from detectors.onnx_export import export_module, onnx_dir, prune_cache, used
from detectors.onnx_runtime import make_session
from lifter import model as model_module
from lifter.api import Lifter
from lifter.loading import load_lifter
from lifter.model import Condition, LifterModel
from lifter.sampler import ddim
from lifter.schedule import CosineSchedule


class ConditionGraph(nn.Module):
    def __init__(self, model: LifterModel):
        super().__init__()
        self.model = model

    def forward(self, xy: torch.Tensor, lik: torch.Tensor):
        c = self.model.condition(xy, lik)
        return (c.inp, *c.mods)


class DenoiseGraph(nn.Module):
    def __init__(self, model: LifterModel):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, t: torch.Tensor, inp: torch.Tensor, *mods: torch.Tensor):
        # the denoisers read only cond.inp and cond.mods; tokens/vec are placeholders here
        return self.model.denoise(x, t, Condition(inp, inp, inp, list(mods)))


def model_key(model: LifterModel) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(model.cfg.to_dict(), sort_keys=True).encode())
    h.update(Path(model_module.__file__).read_bytes())
    h.update(Path(__file__).read_bytes())          # the graphs' own code: a change here exports them again
    for name, value in model.state_dict().items():
        h.update(name.encode())
        h.update(value.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()[:12]


def cpu_float(model: LifterModel) -> LifterModel:
    """The model itself when it is already float32 on the CPU, else a copy there (Module.to/float act in place)."""
    p = next(model.parameters())
    if p.device.type == "cpu" and p.dtype == torch.float32:
        return model.eval()
    return copy.deepcopy(model).float().cpu().eval()


def num_mods(model: LifterModel) -> int:
    with torch.no_grad():
        return len(model.condition(torch.zeros(1, NUM_JOINTS, 2, 2), torch.zeros(1, NUM_JOINTS, 2)).mods)


def export_lifter(model: LifterModel, out_dir: Path | None = None) -> tuple[Path, Path]:
    """Export (or reuse) the condition and denoise graphs of this model; returns their paths."""
    model = cpu_float(model)
    out_dir = Path(out_dir) if out_dir else onnx_dir()
    key = model_key(model)
    cond_path, den_path = out_dir / f"lifter-{key}-condition.onnx", out_dir / f"lifter-{key}-denoise.onnx"
    m = num_mods(model)
    mod_names = [f"mod_{i}" for i in range(m)]
    rows = {0: "rows"}
    if not cond_path.is_file():
        xy = torch.rand(3, NUM_JOINTS, 8, 2) * 1.6 - 0.8
        lik = torch.rand(3, NUM_JOINTS, 8)
        export_module(ConditionGraph(model), (xy, lik), cond_path, ["xy", "lik"], ["inp"] + mod_names,
                      {"xy": {0: "rows", 2: "k"}, "lik": {0: "rows", 2: "k"}, "inp": rows,
                       **{n: rows for n in mod_names}})
    if not den_path.is_file():
        with torch.no_grad():
            c = model.condition(torch.rand(3, NUM_JOINTS, 8, 2) - 0.5, torch.rand(3, NUM_JOINTS, 8))
        x = torch.randn(3, NUM_JOINTS - 1, 3)
        t = torch.tensor([999, 500, 1], dtype=torch.long)
        export_module(DenoiseGraph(model), (x, t, c.inp, *c.mods), den_path, ["x", "t", "inp"] + mod_names, ["pred"],
                      {"x": rows, "t": rows, "inp": rows, "pred": rows, **{n: rows for n in mod_names}})
    return cond_path, den_path


class SampleGraph(nn.Module):
    """Condition + S DDIM steps (eta = 0) + metres, unrolled into one graph for fixed timesteps (start -> 0).

    x (F, N, 16, 3), the sample at the start timestep (pure noise at T, or a noised warm start), sets N; each frame's condition is repeated over its N rows in the order of
    Condition.repeat (frame f -> rows f*N .. f*N+N-1), so the result equals Lifter.sample's for the same noise."""

    def __init__(self, model: LifterModel, timesteps: torch.Tensor, alpha_bar: torch.Tensor):
        super().__init__()
        self.model = model
        self.timesteps = timesteps
        self.register_buffer("alpha_bar", alpha_bar.double())

    def forward(self, xy: torch.Tensor, lik: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        c = self.model.condition(xy, lik)
        f, n = noise.shape[0], noise.shape[1]  # noise: the start sample x
        rep = lambda v: v.unsqueeze(1).expand(f, n, *v.shape[1:]).reshape(-1, *v.shape[1:])  # noqa: E731
        cond = Condition(rep(c.inp), rep(c.inp), rep(c.inp), [rep(m) for m in c.mods])
        x = noise.reshape(-1, *noise.shape[2:])
        cfg = self.model.cfg
        x = ddim(lambda z, t: self.model.denoise(z, t, cond), x, self.timesteps, self.alpha_bar, cfg.target, 0.0,
                 None, clip_x0=3.0 * cfg.pose_scale)
        return self.model.from_internal(x).reshape(f, n, NUM_JOINTS, 3)


# Above this many DDIM steps the sampler graph is not exported: the export grows with the steps (unrolled; measured
# ~2.5 s + 0.5 s per step on a 2-core CPU, so 1000 steps would stall start-up for minutes), and at that many steps
# the network's own cost dominates, so the eager PyTorch runner gives nearly the same speed without an export.
MAX_EXPORT_STEPS = 50


def export_seconds(steps: int) -> float:
    """About how long exporting a sampler graph takes (measured on a busy 2-core CPU: 1 step 2.9 s, 5 steps 5.0 s,
    20 steps 12.5 s, 50 steps 27.8 s)."""
    return 2.5 + 0.5 * int(steps)


def sampler_path(model: LifterModel, steps: int, start: int | None = None, out_dir: Path | None = None) -> Path:
    """Where the sampler graph for these settings is cached (it may not exist yet)."""
    model = cpu_float(model)
    start = model.cfg.T if start is None else int(start)
    out_dir = Path(out_dir) if out_dir else onnx_dir()
    return out_dir / f"lifter-{model_key(model)}-sample-s{int(steps)}-t{start}.onnx"


def export_sampler(model: LifterModel, steps: int, start: int | None = None, out_dir: Path | None = None) -> Path:
    """Export (or reuse) the one-call sampler for `steps` DDIM steps from timestep `start` (default T) to 0; the
    cache is then pruned to its size cap (least recently used first)."""
    model = cpu_float(model)
    start = model.cfg.T if start is None else int(start)
    path = sampler_path(model, steps, start, out_dir)
    if path.is_file():
        return used(path)
    schedule = CosineSchedule(T=model.cfg.T)
    graph = SampleGraph(model, schedule.timesteps(steps, start), schedule.alpha_bar())
    xy, lik = torch.rand(2, NUM_JOINTS, 8, 2) * 1.6 - 0.8, torch.rand(2, NUM_JOINTS, 8)
    noise = torch.randn(2, 3, NUM_JOINTS - 1, 3)
    export_module(graph, (xy, lik, noise), path, ["xy", "lik", "noise"], ["hyps"],
                  {"xy": {0: "frames", 2: "k"}, "lik": {0: "frames", 2: "k"}, "noise": {0: "frames", 1: "n"},
                   "hyps": {0: "frames", 1: "n"}})
    prune_cache(keep=path, folder=path.parent)
    return path


class OnnxRunner:
    """The onnxruntime lifter runtime (lifter.api.SampleRunner): one session call per frame batch runs the exported
    SampleGraph (condition + S DDIM steps), exported once per (S, start timestep). Tensors cross as float32 numpy on
    the host (with the CUDA execution provider each call copies its inputs; the GPU fast path is the CUDA graph)."""

    def __init__(self, model: LifterModel, schedule, ort_device: str = "cpu", num_threads: int = 2):
        self.model, self.schedule = cpu_float(model), schedule
        self.ort_device, self.num_threads = ort_device, num_threads
        self.sessions: dict[tuple[int, int], object] = {}

    def precision(self):
        return nullcontext()

    def session(self, steps: int, start: int):
        if (steps, start) not in self.sessions:
            path = export_sampler(self.model, steps, start)
            self.sessions[steps, start] = make_session(path, self.ort_device, self.num_threads)
        return self.sessions[steps, start]

    def __call__(self, xy: torch.Tensor, lik: torch.Tensor, x: torch.Tensor, n: int, steps: int,
                 start: int) -> torch.Tensor:
        b, j = xy.shape[0], xy.shape[1]
        steps = max(1, min(int(steps), start))  # as CosineSchedule.timesteps clamps it
        feed = {"xy": _np(xy), "lik": _np(lik), "noise": _np(x).reshape(b, n, j - 1, 3)}
        return torch.from_numpy(self.session(steps, start).run(["hyps"], feed)[0])


class TokensGraph(nn.Module):
    """A temporal model's per-frame part: xy (R,17,K,2), lik (R,17,K) -> the encoder's joint tokens (R,17,width)."""

    def __init__(self, model: LifterModel):
        super().__init__()
        self.model = model

    def forward(self, xy: torch.Tensor, lik: torch.Tensor) -> torch.Tensor:
        return self.model.encoder(xy, lik)[0]


class WindowSampleGraph(nn.Module):
    """A temporal model's window: tokens (F,17,width) oldest first, tau (F,) seconds relative to the last slot, pad
    (F,) 1 for padding slots, noise (N,16,3) -> the output slot's N hypotheses (N,17,3) in metres: the temporal
    layers, the slot's condition, S DDIM steps (eta 0) for fixed timesteps, as lifter.temporal.TemporalStream."""

    def __init__(self, model: LifterModel, timesteps: torch.Tensor, alpha_bar: torch.Tensor, slot: int):
        super().__init__()
        self.model, self.timesteps, self.slot = model, timesteps, slot
        self.register_buffer("alpha_bar", alpha_bar.double())

    def forward(self, tokens: torch.Tensor, tau: torch.Tensor, pad: torch.Tensor, noise: torch.Tensor):
        c = self.model.window_condition(tokens, tau, pad > 0.5, self.model.cfg.window, self.slot)
        n = noise.shape[0]
        rep = lambda v: v.expand(n, *v.shape[1:])  # noqa: E731  (one row: the slot's)
        cond = Condition(rep(c.inp), rep(c.inp), rep(c.inp), [rep(m) for m in c.mods])
        cfg = self.model.cfg
        x = ddim(lambda z, t: self.model.denoise(z, t, cond), noise, self.timesteps, self.alpha_bar, cfg.target,
                 0.0, None, clip_x0=3.0 * cfg.pose_scale)
        return self.model.from_internal(x)


def export_tokens(model: LifterModel, out_dir: Path | None = None) -> Path:
    """Export (or reuse) a temporal model's per-frame tokens graph."""
    model = cpu_float(model)
    path = (Path(out_dir) if out_dir else onnx_dir()) / f"lifter-{model_key(model)}-tokens.onnx"
    if not path.is_file():
        xy, lik = torch.rand(3, NUM_JOINTS, 8, 2) * 1.6 - 0.8, torch.rand(3, NUM_JOINTS, 8)
        export_module(TokensGraph(model), (xy, lik), path, ["xy", "lik"], ["tokens"],
                      {"xy": {0: "rows", 2: "k"}, "lik": {0: "rows", 2: "k"}, "tokens": {0: "rows"}})
        prune_cache(keep=path, folder=path.parent)
    return used(path)


def export_window(model: LifterModel, steps: int, slot: int | None = None, out_dir: Path | None = None) -> Path:
    """Export (or reuse) a temporal model's window sampler for `steps` DDIM steps with the output at `slot`
    (default the last: causal)."""
    model = cpu_float(model)
    f = model.cfg.window
    slot = f - 1 if slot is None else int(slot)
    path = (Path(out_dir) if out_dir else onnx_dir()) / f"lifter-{model_key(model)}-window-s{steps}-o{slot}.onnx"
    if not path.is_file():
        schedule = CosineSchedule(T=model.cfg.T)
        graph = WindowSampleGraph(model, schedule.timesteps(steps), schedule.alpha_bar(), slot)
        tokens = torch.randn(f, NUM_JOINTS, model.cfg.width)
        tau = -torch.arange(f - 1, -1, -1, dtype=torch.float32) / 30
        pad = (torch.arange(f) < 2).float()
        export_module(graph, (tokens, tau, pad, torch.randn(3, NUM_JOINTS - 1, 3)), path,
                      ["tokens", "tau", "pad", "noise"], ["hyps"], {"noise": {0: "n"}, "hyps": {0: "n"}})
        prune_cache(keep=path, folder=path.parent)
    return used(path)


class OnnxWindowRunner:
    """onnxruntime for a temporal model's live window (lifter.temporal.TemporalStream uses a lifter's
    `window_runner`): `encode` one frame's candidates to tokens, `sample` a window's tokens to N hypotheses; one
    session per graph, the window graph exported once per DDIM step count and output slot (causal: the last)."""

    def __init__(self, model: LifterModel, num_threads: int = 1):
        self.model, self.num_threads = cpu_float(model), num_threads
        self.sessions: dict = {}

    def _session(self, key):
        if key not in self.sessions:
            path = export_tokens(self.model) if key == "tokens" else export_window(self.model, *key)
            self.sessions[key] = make_session(path, "cpu", self.num_threads)
        return self.sessions[key]

    def encode(self, xy: torch.Tensor, lik: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self._session("tokens").run(["tokens"], {"xy": _np(xy), "lik": _np(lik)})[0])

    def sample(self, tokens: torch.Tensor, tau: torch.Tensor, pad: torch.Tensor, noise: torch.Tensor,
               steps: int, slot: int | None = None) -> torch.Tensor:
        """slot: the output frame's slot (default the last: causal)."""
        feed = {"tokens": _np(tokens), "tau": _np(tau), "pad": _np(pad.float()), "noise": _np(noise)}
        slot = self.model.cfg.window - 1 if slot is None else int(slot)
        return torch.from_numpy(self._session((int(steps), slot)).run(["hyps"], feed)[0])


def _np(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().cpu().numpy(), dtype=np.float32)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Export the lifter to ONNX (.cache/onnx) and compare with PyTorch")
    ap.add_argument("--weights", default="default", help="weights name/path; 'random' for an untrained model")
    ap.add_argument("--check", action="store_true", help="sample N=16, S=5 with both and print the max difference")
    args = ap.parse_args(argv)
    ref, source = load_lifter(args.weights)
    cond_path, den_path = export_lifter(ref.model)
    print(f"lifter ({source}): {cond_path} {den_path}")
    if args.check:
        fast = Lifter(ref.model, ref.calibration, ref.meta, runner=OnnxRunner(ref.model, ref.schedule))
        g = torch.Generator().manual_seed(0)
        xy, lik = torch.rand(4, NUM_JOINTS, 32, 2, generator=g) * 1.6 - 0.8, torch.rand(4, NUM_JOINTS, 32, generator=g)
        a = ref.sample(xy, lik, n=16, steps=5, generator=torch.Generator().manual_seed(1))
        b = fast.sample(xy, lik, n=16, steps=5, generator=torch.Generator().manual_seed(1))
        print(f"max |onnx - torch| over 4 frames x 16 hypotheses: {float((a - b).abs().max()):.2e} m")
    return 0


if __name__ == "__main__":
    sys.exit(main())
