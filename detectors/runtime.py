"""One interface over the runtimes that execute BlazePose's .tflite models.

`load_model(path, runtime)` returns a callable: batch (B, H, W, 3) float32 -> {output name: array (B, ...)}.
Output names are the .tflite tensor names ("Identity", "Identity_1", ...), identical for every runtime.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

RUNTIMES = ("litert", "torch", "onnx")


class LiteRTModel:
    """ai-edge-litert interpreter (CPU). Runs a batch one image at a time (the models have batch 1)."""

    def __init__(self, path: str | Path, num_threads: int = 2):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        self.interpreter.allocate_tensors()
        inp = self.interpreter.get_input_details()[0]
        self._input_index = inp["index"]
        self.input_shape = tuple(int(v) for v in inp["shape"])
        self._outputs = [(d["name"], d["index"]) for d in self.interpreter.get_output_details()]
        self.output_names = [name for name, _ in self._outputs]

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        batch = np.asarray(batch, dtype=np.float32)
        results: dict[str, list[np.ndarray]] = {name: [] for name in self.output_names}
        for image in batch:
            self.interpreter.set_tensor(self._input_index, image[None])
            self.interpreter.invoke()
            for name, index in self._outputs:
                results[name].append(self.interpreter.get_tensor(index)[0].copy())
        return {name: np.stack(arrs) for name, arrs in results.items()}


def load_model(path: str | Path, runtime: str = "litert", device: str = "cpu", num_threads: int = 2):
    if runtime == "litert":
        if device != "cpu":
            raise ValueError("the litert runtime runs on the CPU only; use --runtime torch for --device cuda")
        return LiteRTModel(path, num_threads=num_threads)
    if runtime == "torch":
        from detectors.tflite_torch import TorchTfliteModel

        return TorchTfliteModel(path, device=device)
    if runtime == "onnx":  # exported once from the .tflite through the torch converter (detectors.onnx_export)
        from detectors.onnx_runtime import OnnxModel

        return OnnxModel(path, device=device, num_threads=num_threads)
    raise ValueError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
