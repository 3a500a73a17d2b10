"""BlazePose .tflite -> ONNX through our converter's nn.Module (detectors.tflite_torch), with a dynamic batch axis.

    path = ensure_onnx(model_path("pose_landmark_full"))    # .cache/onnx/pose_landmark_full-<key>.onnx
    python -m detectors.onnx_export [pose_detection pose_landmark_full ...] [--check]

The file name carries a key made of the .tflite's sha256 and the converter source's sha256, so a changed model or a
changed converter exports again instead of reusing a stale file. Input/output names are the .tflite names
("input_1" -> "Identity", "Identity_1", ...), so every runtime returns the same dict. The legacy TorchScript
exporter is used because the dynamo exporter needs onnxscript, which the project does not install.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch

from core.paths import cache_dir
from detectors import tflite_torch
from detectors.onnx_runtime import OnnxModel
from detectors.tflite_torch import TorchTfliteModel
from weights.fetch import MODELS, model_path

OPSET = 17
# The ONNX cache (.cache/onnx) is bounded: after each export the least recently used files go until it holds at most
# this much (a lifter sampler graph is ~16 MB; one per weights x steps x start timestep). DIFFMOCAP_ONNX_CACHE_MB
# overrides it.
CACHE_CAP_MB = 256


def onnx_dir() -> Path:
    path = cache_dir() / "onnx"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_cap_bytes() -> int:
    try:
        mb = float(os.environ.get("DIFFMOCAP_ONNX_CACHE_MB", CACHE_CAP_MB))
    except ValueError:
        mb = CACHE_CAP_MB
    return int(max(mb, 0) * 2**20)


def used(path: Path) -> Path:
    """Mark a cached file as just used (its mtime orders the least-recently-used eviction)."""
    try:
        os.utime(path)
    except OSError:
        pass
    return path


def prune_cache(keep: Path | None = None, cap_bytes: int | None = None, folder: Path | None = None) -> list[Path]:
    """Delete the least recently used .onnx files of the cache until it holds at most `cap_bytes` (never `keep`,
    the file just made or used); returns what was deleted. A file another process has open stays readable there
    (POSIX), and a deleted one is exported again when next needed."""
    folder = Path(folder) if folder else onnx_dir()
    cap = cache_cap_bytes() if cap_bytes is None else cap_bytes
    files = []
    for p in folder.glob("*.onnx"):
        try:
            st = p.stat()
        except OSError:
            continue
        files.append((st.st_mtime, st.st_size, p))
    total = sum(size for _, size, _ in files)
    deleted = []
    for _, size, p in sorted(files, key=lambda f: f[0]):
        if total <= cap:
            break
        if keep is not None and p.resolve() == Path(keep).resolve():
            continue
        try:
            p.unlink()
        except OSError:
            continue
        total -= size
        deleted.append(p)
    return deleted


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()[:12]


def onnx_path(tflite_path: str | Path) -> Path:
    """Where the ONNX export of this .tflite lives (keyed by model and converter contents)."""
    tflite_path = Path(tflite_path)
    return onnx_dir() / f"{tflite_path.stem}-{_digest(tflite_path, Path(tflite_torch.__file__))}.onnx"


def export_module(module: torch.nn.Module, example: tuple[torch.Tensor, ...], out: Path, input_names: list[str],
                  output_names: list[str], dynamic: dict[str, dict[int, str]]) -> Path:
    """torch.onnx.export to a temporary file, check it, then rename into place (no half-written cache file)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=out.parent)
    os.close(fd)
    try:
        # grad mode on: nn.TransformerEncoderLayer then takes its exportable path, not the fused inference kernel
        with warnings.catch_warnings(), torch.inference_mode(False), torch.enable_grad():
            warnings.simplefilter("ignore")  # the legacy exporter's deprecation and constant-folding notes
            torch.onnx.export(module.eval(), example, tmp, dynamo=False, input_names=input_names,
                              output_names=output_names, dynamic_axes=dynamic, opset_version=OPSET,
                              do_constant_folding=True)
        onnx.checker.check_model(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def export_tflite(tflite_path: str | Path, out: str | Path | None = None) -> Path:
    """Convert one .tflite with detectors.tflite_torch and export it (batch axis dynamic)."""
    tflite_path = Path(tflite_path)
    model = TorchTfliteModel(tflite_path, device="cpu")
    example = torch.zeros((2,) + tuple(model.input_shape[1:]), dtype=torch.float32)
    names = list(model.output_names)
    dynamic = {"input_1": {0: "batch"}, **{n: {0: "batch"} for n in names}}
    return export_module(model.module, (example,), Path(out) if out else onnx_path(tflite_path), ["input_1"], names,
                         dynamic)


def ensure_onnx(tflite_path: str | Path) -> Path:
    """The cached ONNX file for this .tflite, exported on first use."""
    path = onnx_path(tflite_path)
    if path.is_file():
        return used(path)
    export_tflite(tflite_path, path)
    prune_cache(keep=path)
    return path


def max_difference(tflite_path: str | Path, batch: np.ndarray) -> dict[str, float]:
    """Largest absolute difference per output between the ONNX model (onnxruntime CPU) and the torch converter."""
    ref = TorchTfliteModel(tflite_path)(batch)
    got = OnnxModel(ensure_onnx(tflite_path))(batch)
    return {name: float(np.abs(got[name] - ref[name]).max()) for name in ref}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Export BlazePose .tflite models to ONNX (.cache/onnx)")
    ap.add_argument("models", nargs="*", default=list(MODELS))
    ap.add_argument("--check", action="store_true", help="compare with the torch converter on a random batch of 2")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    for name in args.models:
        tfl = model_path(name)
        path = ensure_onnx(tfl)
        line = f"{name}: {path} ({path.stat().st_size / 1e6:.1f} MB)"
        if args.check:
            shape = TorchTfliteModel(tfl).input_shape
            diff = max_difference(tfl, rng.uniform(0, 1, (2,) + tuple(shape[1:])).astype(np.float32))
            line += " max |onnx - torch|: " + ", ".join(f"{k} {v:.2e}" for k, v in diff.items())
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
