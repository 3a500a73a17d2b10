"""App settings: configs/app.yaml (or --config FILE), validated, as typed dataclasses.

Unknown keys and out-of-range values fail with one line (ConfigError) naming the key, before anything runs.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path

import jsonschema
import yaml

from core.errors import ConfigError
from core.paths import repo_root
from core.smoothing import OneEuroConfig

DEFAULT_CONFIG = repo_root() / "configs" / "app.yaml"
# The built-in defaults of the settings every stage takes (configs/app.yaml may override them); signatures elsewhere
# take them from here.
DEFAULT_HYPOTHESES, DEFAULT_STEPS, DEFAULT_CANDIDATES = 16, 5, 32


@dataclass
class WarmStartConfig:
    enabled: bool = True
    init_t: int = 200


@dataclass
class LiveConfig:
    reconnect: bool = False
    reconnect_max_s: float = 30.0
    webcam_timeout_s: float = 5.0
    pipelined: bool = False      # run the 2D stage on its own thread (helps with spare cores; not on 2 busy ones)


@dataclass
class ViewConfig:
    width: int = 640
    height: int = 480
    hypotheses: bool = True
    ellipsoids: bool = True


@dataclass
class AppConfig:
    source: str = "0"
    model: str = "full"
    runtime: str = "litert"
    device: str = "cpu"
    candidates: int = DEFAULT_CANDIDATES
    hypotheses: int = DEFAULT_HYPOTHESES
    steps: int = DEFAULT_STEPS
    lifter: str = "default"
    fov: float = 60.0
    outputs: str = "outputs"
    torch_threads: int = 1       # threads for the lifter (torch); 1 is fastest on a small, busy CPU
    litert_threads: int = 2      # threads for the BlazePose LiteRT interpreter
    warm_start: WarmStartConfig = field(default_factory=WarmStartConfig)
    smoothing: OneEuroConfig = field(default_factory=OneEuroConfig)
    live: LiveConfig = field(default_factory=LiveConfig)
    view: ViewConfig = field(default_factory=ViewConfig)


_POS_INT = {"type": "integer", "minimum": 1}
_POS_NUM = {"type": "number", "exclusiveMinimum": 0}
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "source": {"type": ["string", "integer"]},
        "model": {"enum": ["lite", "full", "heavy"]},
        "runtime": {"enum": ["litert", "torch"]},
        "device": {"type": "string", "pattern": "^(cpu|cuda(:[0-9]+)?)$", "description": "cpu, cuda or cuda:N"},
        "candidates": {"type": "integer", "minimum": 1, "maximum": 256},
        "hypotheses": {"type": "integer", "minimum": 1, "maximum": 1024},
        "steps": {"type": "integer", "minimum": 1, "maximum": 1000},
        "lifter": {"type": "string"},
        "fov": {"type": "number", "exclusiveMinimum": 1, "exclusiveMaximum": 179},
        "outputs": {"type": "string"},
        "torch_threads": {"type": "integer", "minimum": 1, "maximum": 256},
        "litert_threads": {"type": "integer", "minimum": 1, "maximum": 256},
        "warm_start": {"type": "object", "additionalProperties": False, "properties": {
            "enabled": {"type": "boolean"}, "init_t": {"type": "integer", "minimum": 0, "maximum": 1000}}},
        "smoothing": {"type": "object", "additionalProperties": False, "properties": {
            "enabled": {"type": "boolean"}, "min_cutoff": _POS_NUM, "beta": {"type": "number", "minimum": 0},
            "d_cutoff": _POS_NUM, "max_gap": _POS_NUM}},
        "live": {"type": "object", "additionalProperties": False, "properties": {
            "reconnect": {"type": "boolean"}, "reconnect_max_s": _POS_NUM, "webcam_timeout_s": _POS_NUM,
            "pipelined": {"type": "boolean"}}},
        "view": {"type": "object", "additionalProperties": False, "properties": {
            "width": _POS_INT, "height": _POS_INT, "hypotheses": {"type": "boolean"},
            "ellipsoids": {"type": "boolean"}}},
    },
}


def _build(cls, data: dict):
    kwargs = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        default = cls.__dataclass_fields__[f.name].default_factory  # nested sections are dataclasses
        value = data[f.name]
        if isinstance(value, dict) and callable(default):
            value = _build(type(default()), value)
        elif f.type in ("float",) and isinstance(value, int):
            value = float(value)
        elif f.name == "source":
            value = str(value)
        kwargs[f.name] = value
    return cls(**kwargs)


def schema_message(e: jsonschema.ValidationError) -> str:
    """jsonschema's message, with the value's description in place of a regular expression."""
    if e.validator == "pattern" and "description" in e.schema:
        return f"{e.instance!r} is not valid: expected {e.schema['description']}"
    return e.message


def validate(data: dict, origin: str = "config") -> None:
    try:
        jsonschema.validate(data, SCHEMA)
    except jsonschema.ValidationError as e:
        where = ".".join(str(p) for p in e.absolute_path) or "(top level)"
        raise ConfigError(f"{origin}: {where}: {schema_message(e)}") from None


def load_config(path: str | Path | None = None) -> AppConfig:
    """Read and validate a YAML file (default configs/app.yaml); a missing default file gives the built-in defaults."""
    p = Path(path) if path is not None else DEFAULT_CONFIG
    if not p.is_file():
        if path is None:
            return AppConfig()
        raise ConfigError(f"{p}: config file not found")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"{p}: cannot read YAML ({first})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping of settings at the top level")
    validate(data, str(p))
    return _build(AppConfig, data)


def config_dict(cfg: AppConfig) -> dict:
    return asdict(cfg) if is_dataclass(cfg) else dict(cfg)
