"""lifter.api.Lifter running in onnxruntime: one session call per frame batch for the common case.

sample() with eta = 0 and one candidate set per frame (from noise, or warm-started from init as pipeline.stages
does) runs the exported SampleGraph (condition + S DDIM steps in one graph, lifter.onnx_export.export_sampler),
exported once per (S, start timestep); everything else goes through Lifter.sample with the condition and denoiser
graphs (OnnxLifterModel). The start sample is drawn exactly as Lifter.sample draws it (lifter.api.start_sample),
so both paths agree with PyTorch for the same generator.
"""
from __future__ import annotations

import numpy as np
import torch

from lifter.api import DEFAULT_WARM_T, Lifter, start_sample


class OnnxLifter(Lifter):
    def __init__(self, model, calibration: float = 1.0, meta: dict | None = None, ort_device: str = "cpu",
                 num_threads: int = 2):
        super().__init__(model, calibration, meta, device="cpu")  # tensors cross on the host
        self.ort_device, self.num_threads = ort_device, num_threads
        self._samplers: dict[int, object] = {}

    def _sampler(self, steps: int, start: int):
        if (steps, start) not in self._samplers:
            from detectors.onnx_runtime import make_session
            from lifter.onnx_export import export_sampler

            path = export_sampler(self.model._torch, steps, start)
            self._samplers[steps, start] = make_session(path, self.ort_device, self.num_threads)
        return self._samplers[steps, start]

    def sample(self, cand_xy, cand_lik, n: int = 16, steps: int = 5, eta: float = 0.0,
               generator: torch.Generator | None = None, init=None, init_t: int | None = None,
               per_hypothesis_draw: bool = False) -> torch.Tensor:
        warm_from = None if init is None else (DEFAULT_WARM_T if init_t is None else int(init_t))
        if eta != 0.0 or per_hypothesis_draw or (warm_from is not None and warm_from <= 0):
            return super().sample(cand_xy, cand_lik, n, steps, eta, generator, init, init_t, per_hypothesis_draw)
        xy, lik = self._inputs(cand_xy, cand_lik)
        b, j = xy.shape[0], xy.shape[1]
        with torch.inference_mode():
            x, start = start_sample(self, b, n, generator, init, warm_from)
        steps = max(1, min(int(steps), start))  # as CosineSchedule.timesteps clamps it
        feed = {"xy": _np(xy), "lik": _np(lik), "noise": _np(x).reshape(b, n, j - 1, 3)}
        return torch.from_numpy(self._sampler(steps, start).run(["hyps"], feed)[0])


def _np(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().cpu().numpy(), dtype=np.float32)
