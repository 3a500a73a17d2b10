"""ROI tracking between video frames, as MediaPipe's pose_landmark graph does it.

The landmark model also predicts helper points 33 (hip centre) and 34 (size/rotation point); the next frame's
ROI comes from them by the same alignment rule as a detection (pose_landmarks_to_roi.pbtxt: side = 2 * |34 - 33|
* 1.25, rotated upright). Before that MediaPipe smooths the two helper points with a One-Euro filter
(pose_landmark_filtering.pbtxt: min_cutoff 0.01, beta 1.0, derivative cutoff 1.0, speeds scaled by the points'
box size), which keeps the crop steady when the person stands still; `smooth_aux` does the same. The detector runs
again only when there is no previous pose or the presence score drops below the threshold.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from core.records import Detection, Landmarks, Roi
from detectors.pose_detector import alignment_roi
from detectors.sides import Sides

PRESENCE_THRESHOLD = 0.5
UPSIDE_DOWN = math.pi / 2    # a fresh detection's ROI turned further than this from upright gets an upright try too


@dataclass(frozen=True)
class OneEuro:
    """One-Euro filter state for a set of 2D points (MediaPipe's OneEuroFilter, per coordinate)."""
    min_cutoff: float = 0.01
    beta: float = 1.0
    derivative_cutoff: float = 1.0
    last_time: float | None = None
    last_raw: np.ndarray | None = None       # (P, 2) last input
    value: np.ndarray | None = None          # (P, 2) filtered value
    speed: np.ndarray | None = None          # (P, 2) filtered derivative

    @staticmethod
    def alpha(cutoff, dt: float):
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def apply(self, t: float, points: np.ndarray, value_scale: float) -> tuple["OneEuro", np.ndarray]:
        """Filter `points` (P, 2) seen at time t (seconds); returns (new state, filtered points)."""
        points = np.asarray(points, float)
        if self.value is None or self.last_time is None:
            return OneEuro(self.min_cutoff, self.beta, self.derivative_cutoff, t, points, points,
                           np.zeros_like(points)), points
        dt = t - self.last_time
        if dt <= 0:  # same or older timestamp: MediaPipe passes the value through
            return self, points
        dvalue = (points - self.last_raw) * value_scale / dt
        a_d = self.alpha(self.derivative_cutoff, dt)
        speed = a_d * dvalue + (1 - a_d) * self.speed
        a = self.alpha(self.min_cutoff + self.beta * np.abs(speed), dt)
        value = a * points + (1 - a) * self.value
        return OneEuro(self.min_cutoff, self.beta, self.derivative_cutoff, t, points, value, speed), value


def smooth_aux(filt: OneEuro | None, t: float, aux: np.ndarray) -> tuple[OneEuro, np.ndarray]:
    """Smooth helper points 33, 34 (image px) as MediaPipe does before making the next ROI: speeds are divided
    by the points' box size ((width + height) / 2), so the filter behaves the same at any person size."""
    pts = np.asarray(aux[:2], float)
    size = float((pts.max(0) - pts.min(0)).sum() / 2)
    filt = filt or OneEuro()
    if size < 1e-6:
        return filt, pts
    return filt.apply(t, pts, 1.0 / size)


@dataclass
class TrackerState:
    """Per-source state handed from one frame to the next (no globals): start a source with None or TrackerState()."""
    roi: Roi | None = None          # ROI to try on the next frame (None: run the detector)
    person_id: int = -1             # id of the tracked person
    next_id: int = 0                # id given to the next newly detected person
    frame_index: int = -1           # index of the frame that produced this state
    aux_filter: OneEuro | None = None  # One-Euro state of the helper points (reset when the track is lost)
    sides: Sides | None = None      # left/right kept continuous along the track (detectors.sides)
    timings_ms: dict[str, float] = field(default_factory=dict)  # stage timings of that frame

    def restarted(self) -> "TrackerState":
        """Nothing tracked, ids keep counting (core.protocols.TrackState)."""
        return TrackerState(next_id=self.next_id)


def roi_from_landmarks(landmarks: Landmarks, aux: np.ndarray | None = None) -> Roi:
    """Next-frame ROI from the helper points 33 (centre) and 34 (scale/rotation point), or from their smoothed
    version `aux` (2, 2)."""
    pts = landmarks.aux if aux is None else aux
    return alignment_roi(pts[0], pts[1])


def is_present(landmarks: Landmarks | None, threshold: float = PRESENCE_THRESHOLD) -> bool:
    return landmarks is not None and landmarks.presence >= threshold


def first_landmarks(run: Callable[[list[Roi]], list[Landmarks]],
                    detections: list[Detection]) -> tuple[list[Detection], list[Landmarks]]:
    """Landmarks on fresh detections' ROIs (run: ROIs -> landmarks, one batched call). The detector's rotation
    comes from two keypoints, which on a small or cut-off person can point anywhere: a ROI turned more than 90 deg
    is also tried upright (vtest.avi: a walker re-found at the image edge in a 19 x 77 px box got a ROI at -139 deg
    and an upside-down skeleton at presence 0.82; upright: 1.00). The try with the higher presence wins, so a real
    handstand that the model recognises keeps its turn."""
    turned = [i for i, d in enumerate(detections) if abs(d.roi.rotation) > UPSIDE_DOWN]
    upright = [replace(detections[i].roi, rotation=0.0) for i in turned]
    found = run([d.roi for d in detections] + upright)
    dets, lms = list(detections), found[:len(detections)]
    for i, roi, lm in zip(turned, upright, found[len(detections):]):
        if lm.presence > lms[i].presence:
            dets[i], lms[i] = replace(dets[i], roi=roi), lm
    return dets, lms
