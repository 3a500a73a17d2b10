"""BlazePose's .tflite files in the ai-edge-litert interpreter (CPU): the reference runtime every other one
(detectors.tflite_torch, detectors.onnx_runtime) is checked against, and the app's default (--runtime litert).

The models have batch 1. One image runs on an interpreter with `num_threads` XNNPACK threads; a batch of several
(the people of a crowded frame, the tiles of a scan) runs its images side by side on `num_threads` one-thread
interpreters, one Python thread each (Invoke releases the GIL): the images need no synchronisation, while a
multi-threaded call meets its threads at every layer and waits whenever one of them lost its core (a 2-core machine
with another stage, or another process, running). Same outputs either way (one image is one interpreter call)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter


class _One:
    """One interpreter: set the input, invoke, copy the outputs."""

    def __init__(self, path: str | Path, num_threads: int):
        self.interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        self.interpreter.allocate_tensors()
        inp = self.interpreter.get_input_details()[0]
        self.input_index = inp["index"]
        self.input_shape = tuple(int(v) for v in inp["shape"])
        self.outputs = [(d["name"], d["index"]) for d in self.interpreter.get_output_details()]

    def run(self, images: np.ndarray) -> list[dict[str, np.ndarray]]:
        out = []
        for image in images:
            self.interpreter.set_tensor(self.input_index, image[None])
            self.interpreter.invoke()
            out.append({name: self.interpreter.get_tensor(index)[0].copy() for name, index in self.outputs})
        return out


class LiteRTModel:
    """ai-edge-litert interpreter (CPU): batch (B, H, W, 3) -> {output name: (B, ...)}."""

    def __init__(self, path: str | Path, num_threads: int = 2):
        self.path, self.num_threads = path, max(1, int(num_threads))
        self.main = _One(path, self.num_threads)
        self.interpreter = self.main.interpreter
        self.input_shape = self.main.input_shape
        self.output_names = [name for name, _ in self.main.outputs]
        self._workers: list[_One] = []          # one-thread interpreters for batches, made on the first batch
        self._pool: ThreadPoolExecutor | None = None

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        batch = np.asarray(batch, dtype=np.float32)
        if len(batch) < 2 or self.num_threads < 2:
            items = self.main.run(batch)
        else:
            if not self._workers:
                self._workers = [_One(self.path, 1) for _ in range(self.num_threads)]
                self._pool = ThreadPoolExecutor(self.num_threads, thread_name_prefix="litert")
            n = min(len(batch), len(self._workers))
            parts = list(self._pool.map(lambda i: self._workers[i].run(batch[i::n]), range(n)))
            items = [parts[i % n][i // n] for i in range(len(batch))]
        return {name: np.stack([item[name] for item in items]) for name in self.output_names}
