"""ROI tracking between video frames, as MediaPipe's pose_landmark graph does it.

The landmark model also predicts helper points 33 (hip centre) and 34 (size/rotation point); the next frame's
ROI comes from them by the same alignment rule as a detection (pose_landmarks_to_roi.pbtxt: side = 2 * |34 - 33|
* 1.25, rotated upright). The detector runs again only when there is no previous pose or the landmark model's
presence score drops below the threshold. MediaPipe also One-Euro-smooths the helper points before making the ROI;
we do not (the ROI then follows fast motion with no lag).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from detectors.pose_detector import alignment_roi
from pipeline.records import Landmarks, Roi

PRESENCE_THRESHOLD = 0.5


@dataclass
class TrackerState:
    """Per-source state handed from one frame to the next (no globals): start a source with None or TrackerState()."""
    roi: Roi | None = None          # ROI to try on the next frame (None: run the detector)
    person_id: int = -1             # id of the tracked person
    next_id: int = 0                # id given to the next newly detected person
    frame_index: int = -1           # index of the frame that produced this state
    timings_ms: dict[str, float] = field(default_factory=dict)  # stage timings of that frame


def roi_from_landmarks(landmarks: Landmarks) -> Roi:
    """Next-frame ROI from the helper points 33 (centre) and 34 (scale/rotation point)."""
    return alignment_roi(landmarks.aux[0], landmarks.aux[1])


def is_present(landmarks: Landmarks | None, threshold: float = PRESENCE_THRESHOLD) -> bool:
    return landmarks is not None and landmarks.presence >= threshold
