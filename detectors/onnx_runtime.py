"""onnxruntime sessions with the same interface as detectors.litert.LiteRTModel (and a helper for any ONNX file).

`OnnxModel(path)` runs an .onnx file (a .tflite is exported first by detectors.onnx_export.ensure_onnx, as
detectors.runtime.load_model does).
device "cpu" -> CPUExecutionProvider; "cuda" -> CUDAExecutionProvider (needs the onnxruntime-gpu wheel instead of
onnxruntime; without it the error says so rather than silently running on the CPU).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort


def providers_for(device: str) -> list:
    device = str(device)
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device.startswith("cuda"):
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise RuntimeError("onnxruntime has no CUDAExecutionProvider here; install onnxruntime-gpu (same version) "
                               "for --runtime onnx --device cuda, or use --runtime torch")
        index = int(device.split(":")[1]) if ":" in device else 0
        return [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"]
    raise ValueError(f"unknown device {device!r}; expected cpu or cuda[:N]")


def make_session(path: str | Path, device: str = "cpu", num_threads: int = 2):
    """An InferenceSession with full graph optimisation; intra-op threads = num_threads, one inter-op thread."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = max(1, int(num_threads))
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=providers_for(device))


class OnnxModel:
    """Same interface as LiteRTModel: input_shape (1, H, W, 3), output_names, __call__(batch) -> {name: array}."""

    def __init__(self, path: str | Path, device: str = "cpu", num_threads: int = 2):
        path = Path(path)
        self.path = path
        self.session = make_session(path, device, num_threads)
        inp = self.session.get_inputs()[0]
        self._input_name = inp.name
        self.input_shape = (1,) + tuple(int(v) for v in inp.shape[1:])
        self.output_names = [o.name for o in self.session.get_outputs()]

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        outs = self.session.run(self.output_names, {self._input_name: batch})
        return dict(zip(self.output_names, outs))
