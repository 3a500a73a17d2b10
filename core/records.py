"""Typed records that flow one way: source -> detect -> heatmaps -> candidates -> lifter -> estimate -> sinks.

Arrays are numpy; image coordinates are pixels (x right, y down); 3D is metres in the camera frame
(x right, y down, z forward) unless a field says "world" (+Y up).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.camera import CAMERA_TO_WORLD


@dataclass
class Frame:
    index: int              # 0-based position in the source
    timestamp: float        # seconds since the source started (from fps for files, clock for cameras)
    image: np.ndarray       # H x W x 3 uint8, BGR
    source: str = ""
    captured_at: float = 0.0  # time.perf_counter() when read, for latency

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.image.shape[1]), int(self.image.shape[0])


@dataclass
class Roi:
    """A rotated square region of the image: centre and side in pixels, rotation in radians (counter-clockwise
    of the image's y-down frame, as MediaPipe defines it)."""
    cx: float
    cy: float
    size: float
    rotation: float = 0.0

    def crop_to_image(self, crop_px: int) -> np.ndarray:
        """2x3 affine mapping crop pixels (0..crop_px) to image pixels."""
        s = self.size / crop_px
        c, n = np.cos(self.rotation), np.sin(self.rotation)
        a = np.array([[c * s, -n * s], [n * s, c * s]])
        t = np.array([self.cx, self.cy]) - a @ np.array([crop_px / 2.0, crop_px / 2.0])
        return np.concatenate([a, t[:, None]], axis=1)

    def image_to_crop(self, crop_px: int) -> np.ndarray:
        m = self.crop_to_image(crop_px)
        inv = np.linalg.inv(m[:, :2])
        return np.concatenate([inv, (-inv @ m[:, 2])[:, None]], axis=1)


@dataclass
class Detection:
    """One person found by the detector (or carried over by tracking)."""
    score: float
    bbox: np.ndarray        # (4,) x0, y0, x1, y1 image px: the body box (BlazePose's own box is a face box)
    roi: Roi                # crop fed to the landmark model
    keypoints: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # detector keypoints, image px
    tracked: bool = False   # True when the ROI came from the previous frame's landmarks


@dataclass
class Landmarks:
    """Output of the 2D landmark model for one person."""
    roi: Roi
    presence: float                 # pose presence score 0..1
    landmarks: np.ndarray           # (33, 5) x, y image px, z (image-pixel scale), visibility, presence (sigmoid)
    world: np.ndarray               # (33, 3) metres, model's world landmarks
    heatmaps: np.ndarray            # (39, 64, 64) raw heatmap logits, crop cell (c, r) <-> crop px (4c, 4r)
    aux: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # helper points 33..38, image px


@dataclass
class Candidates:
    """Joint candidates for our 17 joints: candidate 0 is the heatmap peak, the rest are samples."""
    xy: np.ndarray          # (17, K, 2) image px
    likelihood: np.ndarray  # (17, K) heatmap value (0..1) at each candidate

    @property
    def peaks(self) -> np.ndarray:
        """(17, 3) peak x, y and likelihood: the single-guess 2D keypoints."""
        return np.concatenate([self.xy[:, 0], self.likelihood[:, :1]], axis=1)


@dataclass
class Estimate3D:
    """Lifter output for one person in one frame."""
    hypotheses: np.ndarray   # (N, 17, 3) root-relative, camera frame, metres
    mean: np.ndarray         # (17, 3)
    covariance: np.ndarray   # (17, 3, 3) calibrated: a 90 % ellipsoid uses chi2(3) at 0.90 on it
    root_translation: np.ndarray = field(default_factory=lambda: np.zeros(3))  # pelvis in camera frame, metres
    world: np.ndarray | None = None           # (17, 3) absolute joints in the frame's world (feet locked), metres
    contacts: tuple[bool, bool] | None = None  # (right, left) foot on the floor
    # The scale (one, or one per joint) that made `covariance` calibrated (lifter.aggregate.summarise): a stage that
    # moves the mean off the hypotheses' mean or rebuilds the hypotheses recomputes the covariance with it.
    calibration: float | np.ndarray | None = None


@dataclass
class WorldFrame:
    """The gravity-aligned world of one frame: +Y up, origin on the floor below the camera, -Z the camera's
    horizontal viewing direction; world = rotation @ camera + translation (metres)."""
    rotation: np.ndarray              # (3, 3)
    translation: np.ndarray           # (3,): the camera's position in the world (0, camera height, 0)
    pitch_deg: float                  # camera looking down > 0
    roll_deg: float                   # camera turned counter-clockwise (seen from behind) > 0
    up_std_deg: float                 # 1-sigma uncertainty of the up direction (0: given; inf: not yet seen)
    floor_std_m: float                # 1-sigma uncertainty of the floor height (inf: no foot seen yet)
    up_source: str = "estimated"      # estimated | given | default


def default_world() -> WorldFrame:
    """The world before anything is known (and for results made without the world stage): the camera frame
    turned 180 deg about x, camera at the origin, nothing estimated."""
    return WorldFrame(CAMERA_TO_WORLD.copy(), np.zeros(3), 0.0, 0.0, float("inf"), float("inf"), "default")


def world_joints(estimate: Estimate3D, world: WorldFrame | None) -> np.ndarray:
    """(17, 3) absolute joints in the world: the estimate's own (feet locked) when set, else mean + root turned
    into `world` (default_world() when None)."""
    if estimate.world is not None:
        return np.asarray(estimate.world, float)
    w = world or default_world()
    cam = np.asarray(estimate.mean, float) + np.asarray(estimate.root_translation, float)
    return cam @ w.rotation.T + w.translation


@dataclass
class Person:
    id: int
    detection: Detection
    landmarks: Landmarks | None = None
    candidates: Candidates | None = None
    estimate: Estimate3D | None = None


@dataclass
class FrameResult:
    frame: Frame
    persons: list[Person] = field(default_factory=list)
    intrinsics: np.ndarray | None = None     # (3, 3) used for root translation
    world: WorldFrame | None = None          # the gravity-aligned world (None: the world stage did not run)
    timings_ms: dict[str, float] = field(default_factory=dict)
