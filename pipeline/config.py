"""App settings: configs/app.yaml (or --config FILE), validated, as typed dataclasses. THE one place options are
checked: the config file (`load_config`), command-line or API overrides (`apply_options`) and the options of one run
(`check_run_options`) all go through the same schema; argparse only parses.

Unknown keys and out-of-range values fail with one line (ConfigError) naming the key or option, before anything runs.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path

import jsonschema
import torch
import yaml

from core import defaults
from core.errors import ConfigError
from core.paths import repo_root
from core.smoothing import OFFLINE_MODES, OneEuroConfig
from export.names import PRESETS as SKELETON_NAMES
from lifter.temporal import MODES as TEMPORAL_WINDOWS
from visualize.controls import ELLIPSOID_MODES
from visualize.render import render_target_problem

TEMPORAL_WINDOW_SETTINGS = ("auto", *TEMPORAL_WINDOWS)


def temporal_window_for(setting: str, live: bool) -> str:
    """The temporal lifter's window mode for a source: `auto` is causal live (the newest frame is the output: no
    added latency; lag1, one frame behind, is 0.4-2.7 mm more accurate on the real clips for one frame period more,
    docs/realfootage.md, session 17) and centred on a file processed offline (half a window ahead: the most accurate
    of the three); any other setting is kept (a live lag1 lifts causally while its wait would be longer than
    temporal_max_wait_ms: Pipeline.max_wait)."""
    if setting != "auto":
        return setting
    return "causal" if live else "centred"


def max_wait_for(cfg, live: bool) -> float | None:
    """Seconds a live result may wait for the frames after it (Pipeline.max_wait); None: no bound (files)."""
    return cfg.temporal_max_wait_ms / 1000 if live and cfg.temporal_max_wait_ms is not None else None

DEFAULT_CONFIG = repo_root() / "configs" / "app.yaml"
DEFAULT_HYPOTHESES, DEFAULT_STEPS, DEFAULT_CANDIDATES = defaults.HYPOTHESES, defaults.STEPS, defaults.CANDIDATES


@dataclass
class WarmStartConfig:
    enabled: bool = False    # off: from noise every frame (measured better on real footage, docs/realfootage.md)
    init_t: int = 400
    # What the diffusion starts from: "previous" = the previous frame's mean of this person, "world" = this frame's
    # world landmarks of the BlazePose landmark model (3D learned from real images; seed A's refinement of an initial
    # estimate). Both are noised to init_t; with enabled false every frame starts from noise.
    source: str = "previous"


@dataclass
class BonesConfig:
    """One person's bone lengths held to their median over the video (pipeline/bones.py)."""
    enabled: bool = True
    window: int = 300        # frames of history per track
    min_frames: int = 1      # frames before the median is used
    scale: str = "lifter"    # lifter: the lifter's own size | world: the BlazePose world landmarks' size


@dataclass
class ReprojectionConfig:
    """The mean from the hypotheses that best reproject onto the 2D peaks (pipeline/reprojection.py)."""
    keep: float = 0.25       # share of hypotheses kept for the mean (1: all, the plain mean)


@dataclass
class LiveConfig:
    reconnect: bool = False
    reconnect_max_s: float = 30.0
    webcam_timeout_s: float = 5.0
    pipelined: bool = False      # run the 2D stage on its own thread (helps with spare cores; not on 2 busy ones)


@dataclass
class OfflineConfig:
    pipelined: bool = False      # files: the 2D stage on its own thread, every frame in order (same results)


@dataclass
class WorldConfig:
    """The gravity-aligned world (pipeline/grounding.py): up vector, floor, root trajectory, foot contacts."""
    enabled: bool = True
    camera: str = "static"       # static: one up vector and floor for the whole source | moving: the last window_s
    window_s: float = 2.0        # moving camera: seconds of evidence for the up vector and the floor
    max_speed: float = 3.0       # m/s: fastest root motion (walking is 1-2 m/s)
    max_accel: float = 10.0      # m/s^2: largest change of the root velocity
    foot_lock: bool = True       # hold feet in contact still and solve the legs by IK
    upright: bool = True         # turn each standing person's pose about the pelvis so its balance axis is up
    settle_s: float = 1.0        # offline video: the world stage first looks at this many seconds (0: off)


@dataclass
class ViewConfig:
    width: int = 640
    height: int = 480
    hypotheses: bool = True
    ellipsoids: str = "50"       # off | 50 | 90 (true/false in older files mean 90 / off)


@dataclass
class PeopleConfig:
    """Finding and following several people (detectors/multi.py, detectors/people.py)."""
    scan_period_s: float = 1.0   # the detector sweeps its tiles for people not tracked yet once in this time
    max_lost_s: float = 3.0      # a track lost longer than this ends; the person found again gets a new id
    extra_model: str | None = None     # landmark model for the people beyond the first full_people (null: `model`)
    full_people: int = 1         # people (the longest followed first) whose landmarks use `model`


@dataclass
class MMPoseConfig:
    config: str = ""             # MMPose model config (.py), for backend: mmpose (docs/mmpose.md)
    checkpoint: str = ""         # its weights (.pth); empty: random weights (tests only)


@dataclass
class AppConfig:
    source: str = "0"
    backend: str = "blazepose"   # 2D front end: blazepose | mmpose (BlazePose's detector + an MMPose heatmap model)
    model: str = "full"
    runtime: str = "litert"
    device: str = "cpu"
    candidates: int = DEFAULT_CANDIDATES
    hypotheses: int = DEFAULT_HYPOTHESES
    steps: int = DEFAULT_STEPS
    lifter: str = "open"         # weights/lifter/open.pt: measured best on real footage (docs/realfootage.md)
    lifter_mode: str = "temporal"  # temporal: a window of each person's frames (measured better, temporal.md) | frame
    temporal_lifter: str = "temporal"  # the temporal lifter's weights (lifter.temporal), for lifter_mode temporal
    temporal_rate: float | None = None  # frames per second of the temporal lifter's window (None: every frame)
    temporal_window: str = "auto"  # its window: auto | causal | lag1 (one frame behind) | centred (temporal_window_for)
    temporal_max_wait_ms: float | None = 45.0  # live: the longest wait for a look-ahead frame; longer: causal
    fov: float = 60.0
    camera_pitch: float | None = None   # degrees the camera looks down; None: estimated from the people
    camera_roll: float | None = None    # degrees the camera is turned counter-clockwise; None: estimated
    outputs: str = "outputs"
    torch_threads: int = 1       # threads for the lifter (torch); 1 is fastest on a small, busy CPU
    litert_threads: int = 2      # threads for the BlazePose LiteRT interpreter
    max_people: int = 8          # people followed at once (1: the single-person tracker, no search while tracking)
    person: int | None = None    # keep only this track id in the outputs (None: everyone)
    keep_sides: bool = True      # undo BlazePose's left/right flips along a track (detectors.sides)
    skeleton_names: str = "h36m"  # bone names in the BVH / glTF exports: h36m | mixamo | unreal (export/names.py)
    seed: int | None = None      # candidate sampling seed, each stream from the start (None: random; set: repeatable)
    joint_definition_mm: float = defaults.DEFINITION_SD_M * 1000   # sd per axis added to every joint's covariance
    warm_start: WarmStartConfig = field(default_factory=WarmStartConfig)
    smoothing: OneEuroConfig = field(default_factory=OneEuroConfig)
    bones: BonesConfig = field(default_factory=BonesConfig)
    reprojection: ReprojectionConfig = field(default_factory=ReprojectionConfig)
    live: LiveConfig = field(default_factory=LiveConfig)
    offline: OfflineConfig = field(default_factory=OfflineConfig)
    view: ViewConfig = field(default_factory=ViewConfig)
    world: WorldConfig = field(default_factory=WorldConfig)
    mmpose: MMPoseConfig = field(default_factory=MMPoseConfig)
    people: PeopleConfig = field(default_factory=PeopleConfig)

    @property
    def lifter_weights(self) -> str:
        """The weights the lifter mode runs: `temporal_lifter` in temporal mode, else `lifter`."""
        return self.temporal_lifter if self.lifter_mode == "temporal" else self.lifter


_POS_INT = {"type": "integer", "minimum": 1}
_POS_NUM = {"type": "number", "exclusiveMinimum": 0}
_HZ = {"type": "number", "exclusiveMinimum": 0, "maximum": 1000}          # filter cutoffs
_SECONDS = {"type": "number", "exclusiveMinimum": 0, "maximum": 86400}    # at most a day
# The 3D view is drawn into an image of this size (Open3D's offscreen renderer crashed the process at 20000 x 20000):
# up to 8K UHD.
MAX_VIEW = {"width": 7680, "height": 4320}
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "source": {"type": ["string", "integer"]},
        "backend": {"enum": ["blazepose", "mmpose"]},
        "model": {"enum": ["lite", "full", "heavy"]},
        "runtime": {"enum": ["litert", "torch", "onnx"]},
        "device": {"type": "string", "pattern": "^(cpu|cuda(:[0-9]+)?)$", "description": "cpu, cuda or cuda:N"},
        "candidates": {"type": "integer", "minimum": 1, "maximum": 256},
        "hypotheses": {"type": "integer", "minimum": 1, "maximum": 1024},
        "steps": {"type": "integer", "minimum": 1, "maximum": 1000},
        "lifter": {"type": "string"},
        "lifter_mode": {"enum": ["frame", "temporal"]},
        "temporal_lifter": {"type": "string"},
        "temporal_rate": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 1000},
        "temporal_window": {"enum": list(TEMPORAL_WINDOW_SETTINGS)},
        "temporal_max_wait_ms": {"type": ["number", "null"], "minimum": 0},
        "fov": {"type": "number", "exclusiveMinimum": 1, "exclusiveMaximum": 179},
        "camera_pitch": {"type": ["number", "null"], "minimum": -90, "maximum": 90},
        "camera_roll": {"type": ["number", "null"], "minimum": -180, "maximum": 180},
        "outputs": {"type": "string"},
        "torch_threads": {"type": "integer", "minimum": 1, "maximum": 256},
        "litert_threads": {"type": "integer", "minimum": 1, "maximum": 256},
        "max_people": {"type": "integer", "minimum": 1, "maximum": 64},
        "person": {"type": ["integer", "null"], "minimum": 0},
        "keep_sides": {"type": "boolean"},
        "people": {"type": "object", "additionalProperties": False, "properties": {
            "scan_period_s": _POS_NUM, "max_lost_s": _POS_NUM,
            "extra_model": {"enum": ["lite", "full", "heavy", None]},
            "full_people": {"type": "integer", "minimum": 0, "maximum": 64}}},
        "skeleton_names": {"enum": list(SKELETON_NAMES)},
        "seed": {"type": ["integer", "null"], "minimum": 0},
        "joint_definition_mm": {"type": "number", "minimum": 0, "maximum": 1000},
        "warm_start": {"type": "object", "additionalProperties": False, "properties": {
            "enabled": {"type": "boolean"}, "init_t": {"type": "integer", "minimum": 0, "maximum": 1000},
            "source": {"enum": ["previous", "world"]}}},
        "reprojection": {"type": "object", "additionalProperties": False, "properties": {
            "keep": {"type": "number", "exclusiveMinimum": 0, "maximum": 1}}},
        "bones": {"type": "object", "additionalProperties": False, "properties": {
            "enabled": {"type": "boolean"}, "window": _POS_INT, "min_frames": _POS_INT,
            "scale": {"enum": ["lifter", "world"]}}},
        "smoothing": {"type": "object", "additionalProperties": False, "properties": {
            "enabled": {"type": "boolean"}, "min_cutoff": _HZ, "beta": {"type": "number", "minimum": 0, "maximum": 1e6},
            "d_cutoff": _HZ, "max_gap": _SECONDS, "offline": {"enum": list(OFFLINE_MODES)}, "offline_cutoff_hz": _HZ,
            "temporal_beta": {"type": ["number", "null"], "minimum": 0, "maximum": 1e6}}},
        "live": {"type": "object", "additionalProperties": False, "properties": {
            "reconnect": {"type": "boolean"}, "reconnect_max_s": _SECONDS,
            "webcam_timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 600},
            "pipelined": {"type": "boolean"}}},
        "offline": {"type": "object", "additionalProperties": False, "properties": {
            "pipelined": {"type": "boolean"}}},
        "view": {"type": "object", "additionalProperties": False, "properties": {
            "width": {"type": "integer", "minimum": 16, "maximum": MAX_VIEW["width"]},
            "height": {"type": "integer", "minimum": 16, "maximum": MAX_VIEW["height"]}, "hypotheses": {"type": "boolean"},
            "ellipsoids": {"enum": [*ELLIPSOID_MODES, 50, 90, True, False]}}},
        "world": {"type": "object", "additionalProperties": False, "properties": {
            "enabled": {"type": "boolean"}, "camera": {"enum": ["static", "moving"]}, "window_s": _POS_NUM,
            "max_speed": _POS_NUM, "max_accel": _POS_NUM, "foot_lock": {"type": "boolean"},
            "upright": {"type": "boolean"}, "settle_s": {"type": "number", "minimum": 0, "maximum": 60}}},
        "mmpose": {"type": "object", "additionalProperties": False, "properties": {
            "config": {"type": "string"}, "checkpoint": {"type": "string"}}},
    },
}
# Options of one run that are not settings (command line only).
RUN_SCHEMA = {"replay_speed": {"type": "number", "exclusiveMinimum": 0, "maximum": 1000}, "max_frames": _POS_INT}
# Settings the command line / the Python API may override directly.
OPTIONS = ("source", "backend", "model", "hypotheses", "steps", "device", "runtime", "fov", "lifter", "outputs",
           "skeleton_names", "seed", "camera_pitch", "camera_roll", "ellipsoids", "lifter_mode", "temporal_lifter",
           "temporal_window", "max_people", "person")
# Options that set a key inside a section: option -> (section, key).
NESTED = {"ellipsoids": ("view", "ellipsoids")}


def ellipsoid_mode(value) -> str:
    """A view.ellipsoids value (already schema-checked) as one of ELLIPSOID_MODES."""
    if value is True:
        return "90"
    if value is False:
        return "off"
    return str(value)


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


def option_message(name: str, value, e: jsonschema.ValidationError) -> str:
    """One line naming the command-line option."""
    option = "--" + name.replace("_", "-")
    if e.validator == "minimum":
        return f"{option} must be at least {e.validator_value}"
    if e.validator == "exclusiveMinimum" and e.validator_value == 0:
        return f"{option} must be positive"
    return f"{option} {value}: {schema_message(e)}"


def not_finite(data, where: str = "") -> str | None:
    """The key (dotted) of the first number in `data` that is NaN or infinite, else None. JSON Schema's range
    checks let NaN through (every comparison with NaN is false), so every number is checked here too."""
    if isinstance(data, float) and not math.isfinite(data):
        return where or "(value)"
    if isinstance(data, dict):
        for k, v in data.items():
            found = not_finite(v, f"{where}.{k}" if where else str(k))
            if found:
                return found
    if isinstance(data, (list, tuple)):
        for i, v in enumerate(data):
            found = not_finite(v, f"{where}.{i}" if where else str(i))
            if found:
                return found
    return None


def _check_option(name: str, value, schema: dict) -> None:
    if not_finite(value):
        raise ConfigError(f"--{name.replace('_', '-')} {value}: not a finite number")
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as e:
        raise ConfigError(option_message(name, value, e)) from None


def apply_options(cfg: AppConfig, **options) -> AppConfig:
    """Override settings (command line, Estimator arguments); None means not given. Each value gets the config
    file's checks, the message naming the option."""
    if options.get("lifter") is not None and options.get("lifter_mode") is None:
        # Naming a frame lifter (--lifter default) means lifting with it: each frame alone, unless the temporal
        # mode is asked for too (the temporal lifter, built on one frame lifter, is --temporal-lifter).
        cfg.lifter_mode = "frame"
    for name, value in options.items():
        if value is None:
            continue
        if name not in OPTIONS:
            raise ConfigError(f"unknown option {name!r}; choose from {', '.join(OPTIONS)}")
        if name in NESTED:
            section, key = NESTED[name]
            _check_option(name, value, SCHEMA["properties"][section]["properties"][key])
            setattr(getattr(cfg, section), key, ellipsoid_mode(value) if key == "ellipsoids" else value)
            continue
        _check_option(name, value, SCHEMA["properties"][name])
        setattr(cfg, name, str(value) if name == "source" else value)
    return cfg


def check_run_options(render=None, **options) -> None:
    """The options of one run (RUN_SCHEMA, and the render target's format); None means not given."""
    for name, value in options.items():
        if value is not None:
            _check_option(name, value, RUN_SCHEMA[name])
    if render is not None:
        problem = render_target_problem(render)
        if problem:
            raise ConfigError(f"--render {render}: {problem}")


def check_device(cfg: AppConfig) -> None:
    """The device the settings ask for exists and suits the runtime, checked before any model loads."""
    if not cfg.device.startswith("cuda"):
        return
    option = f"--device {cfg.device}"
    if cfg.runtime == "litert":
        raise ConfigError(f"{option}: the litert runtime runs on the CPU only; add --runtime torch (or onnx)")
    if not torch.cuda.is_available():
        raise ConfigError(f"{option}: no CUDA GPU is usable here (PyTorch sees none); use --device cpu")
    index = int(cfg.device.split(":")[1]) if ":" in cfg.device else 0
    if index >= torch.cuda.device_count():
        raise ConfigError(f"{option}: there are only {torch.cuda.device_count()} CUDA devices (cuda:0 ...)")


def validate(data: dict, origin: str = "config") -> None:
    where = not_finite(data)
    if where:
        raise ConfigError(f"{origin}: {where}: not a finite number")
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
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as e:
        raise ConfigError(f"{p}: not UTF-8 text (byte {e.start}); save the file as UTF-8") from None
    except (OSError, yaml.YAMLError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"{p}: cannot read YAML ({first})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping of settings at the top level")
    validate(data, str(p))
    cfg = _build(AppConfig, data)
    cfg.view.ellipsoids = ellipsoid_mode(cfg.view.ellipsoids)
    return cfg


def config_dict(cfg: AppConfig) -> dict:
    return asdict(cfg) if is_dataclass(cfg) else dict(cfg)
