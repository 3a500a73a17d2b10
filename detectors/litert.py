"""BlazePose's .tflite files in the ai-edge-litert interpreter (CPU): the reference runtime every other one
(detectors.tflite_torch, detectors.onnx_runtime) is checked against, and the app's default (--runtime litert)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter


class LiteRTModel:
    """ai-edge-litert interpreter (CPU). Runs a batch one image at a time (the models have batch 1)."""

    def __init__(self, path: str | Path, num_threads: int = 2):
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
