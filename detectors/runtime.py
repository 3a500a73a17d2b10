"""One interface over the runtimes that execute BlazePose's .tflite models.

The one place a runtime is chosen: `load_model(path, runtime)` returns a callable: batch (B, H, W, 3) float32 -> {output name: array (B, ...)}.
Output names are the .tflite tensor names ("Identity", "Identity_1", ...), identical for every runtime.
"""
from __future__ import annotations

from pathlib import Path

from detectors.litert import LiteRTModel
from detectors.onnx_export import ensure_onnx
from detectors.onnx_runtime import OnnxModel
from detectors.tflite_torch import TorchTfliteModel

RUNTIMES = ("litert", "torch", "onnx")


def load_model(path: str | Path, runtime: str = "litert", device: str = "cpu", num_threads: int = 2):
    if runtime == "litert":
        if device != "cpu":
            raise ValueError("the litert runtime runs on the CPU only; use --runtime torch for --device cuda")
        return LiteRTModel(path, num_threads=num_threads)
    if runtime == "torch":
        return TorchTfliteModel(path, device=device)
    if runtime == "onnx":  # exported once from the .tflite through the torch converter (detectors.onnx_export)
        path = ensure_onnx(path) if Path(path).suffix == ".tflite" else path
        return OnnxModel(path, device=device, num_threads=num_threads)
    raise ValueError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
