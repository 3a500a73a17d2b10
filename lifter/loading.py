"""THE way to get a Lifter from a name: shipped weights (weights/lifter/<name>.pt), a .pt path, a training run's
checkpoint folder, or "random" (an untrained model of the configured architecture, for timing and agreement tests).

    lifter, source = load_lifter("default", device="cpu")   # source: where the weights came from, for reports
"""
from __future__ import annotations

import pickle
from pathlib import Path

import torch

from core.errors import UserError
from lifter.api import Lifter, resolve_weights
from lifter.model import LifterModel, ModelConfig
from lifter.train import load_config

DEFAULT = "default"
UNTRAINED = "random-init"   # `source` starts with this when no trained weights were loaded


class LifterWeightsError(UserError):
    """Weights that were asked for are missing or are not a lifter weights file (one line for the user)."""


def random_model(seed: int = 0, config: str | Path | None = None) -> LifterModel:
    """An untrained model with the configured architecture (configs/lifter.yaml); zero-initialised output layers get
    small random weights so its samples depend on the input (timing and agreement tests, not accuracy)."""
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


def load_lifter(name: str = DEFAULT, device: str = "cpu") -> tuple[Lifter, str]:
    """(Lifter, where its weights came from). name: weights name/path, a checkpoint folder, or 'random'.

    Only the default weights may be absent (an untrained model then, source starting with UNTRAINED); weights the
    caller named must exist and load, else LifterWeightsError. A CUDA failure is the device's, not the file's: it
    is raised as it is."""
    if name == "random":
        return Lifter(random_model(), 1.0, {"name": "random"}, device), f"{UNTRAINED} (configs/lifter.yaml)"
    p = Path(name)
    if p.is_dir() and (p / "last.pt").is_file():
        lifter = from_checkpoint(p)
        return Lifter(lifter.model, 1.0, lifter.meta, device), f"checkpoint {p}"
    path = resolve_weights(name)
    if not path.is_file():
        if name != DEFAULT:
            raise LifterWeightsError(f"weights file {path} not found")
        return Lifter(random_model(), 1.0, {"name": "random"}, device), \
            f"{UNTRAINED} (configs/lifter.yaml; {path} not found)"
    try:
        return Lifter.load(path, device=device), str(path)
    except (KeyError, TypeError, ValueError, EOFError, RuntimeError, AttributeError, OSError,
            pickle.UnpicklingError) as e:
        if str(device) != "cpu" and "cuda" in str(e).lower():
            raise  # the device, not the file
        raise LifterWeightsError(f"{path} is not a lifter weights file ({type(e).__name__})") from None
