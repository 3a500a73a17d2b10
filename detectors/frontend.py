"""The 2D front end: frame -> person detection or tracked ROI -> BlazePose landmarks -> joint candidates.

    fe = FrontEnd(model="full", runtime="litert")
    state = None
    for frame in frames:
        persons, state = fe.process(frame, state)   # a core.protocols.FrontEndOutput; state.timings_ms: stage times

One person per source (the most confident detection), tracked from frame to frame by the landmark model's helper
points; the detector runs again when there is no tracked pose or the tracked ROI's presence score falls below
`presence_threshold`, in which case it runs on the same frame so a lost track costs no frame.
"""
from __future__ import annotations

import time

import cv2
import numpy as np

from core import defaults
from core.protocols import FrontEndOutput
from core.records import Detection, Frame, FrameResult, Person
from detectors.candidates import sampling_generator
from detectors.joint_map import blazepose_candidates
from detectors.landmarks import LandmarkModel
from detectors.pose_detector import DetectorConfig, PoseDetector, roi_bbox
from detectors.sides import keep_sides
from detectors.tracking import (PRESENCE_THRESHOLD, TrackerState, first_landmarks, is_present, roi_from_landmarks,
                                smooth_aux)


class FrontEnd:
    def __init__(self, model: str = "full", runtime: str = "litert", device: str = "cpu", k: int = defaults.CANDIDATES,
                 seed: int | None = None, presence_threshold: float = PRESENCE_THRESHOLD,
                 min_detection_score: float = 0.5, num_threads: int = 2, refine: bool = True,
                 smooth_roi: bool = True, keep_sides: bool = True,
                 detector: PoseDetector | None = None, landmark_model: LandmarkModel | None = None):
        self.detector = detector or PoseDetector.load(runtime=runtime, device=device, num_threads=num_threads,
                                                      config=DetectorConfig(min_score=min_detection_score))
        self.landmark_model = landmark_model or LandmarkModel.load(model, runtime=runtime, device=device,
                                                                   num_threads=num_threads)
        self.landmark_model.refine = refine
        self.k = k
        self.presence_threshold = presence_threshold
        self.smooth_roi = smooth_roi
        self.keep_sides = keep_sides     # undo BlazePose's left/right flips along the track (detectors.sides)
        self.generator = sampling_generator(seed)

    def process(self, frame: Frame, state: TrackerState | None = None) -> FrontEndOutput:
        state = state or TrackerState()
        timings = {"detect": 0.0, "landmarks": 0.0, "candidates": 0.0}
        rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
        person_id, next_id = state.person_id, state.next_id
        detection, landmarks = None, None

        if state.roi is not None:
            t0 = time.perf_counter()
            landmarks = self.landmark_model.run([rgb], [state.roi])[0]
            timings["landmarks"] += (time.perf_counter() - t0) * 1e3
            if is_present(landmarks, self.presence_threshold):
                detection = Detection(score=landmarks.presence, bbox=roi_bbox(state.roi), roi=state.roi,
                                      tracked=True)
            else:
                landmarks = None

        if detection is None:
            t0 = time.perf_counter()
            found = self.detector.detect(frame.image)
            timings["detect"] += (time.perf_counter() - t0) * 1e3
            if found:
                t0 = time.perf_counter()
                run = lambda rois: self.landmark_model.run([rgb] * len(rois), rois)  # noqa: E731
                (detection,), (landmarks,) = first_landmarks(run, found[:1])
                timings["landmarks"] += (time.perf_counter() - t0) * 1e3
                if is_present(landmarks, self.presence_threshold):
                    person_id, next_id = next_id, next_id + 1
                else:
                    detection, landmarks = None, None

        persons = []
        sides = None
        if detection is not None and self.keep_sides:
            sides, landmarks = keep_sides(state.sides if detection.tracked else None, landmarks, frame.timestamp)
        if detection is not None:
            t0 = time.perf_counter()
            candidates = blazepose_candidates(landmarks, self.k, self.generator)
            timings["candidates"] = (time.perf_counter() - t0) * 1e3
            persons.append(Person(id=person_id, detection=detection, landmarks=landmarks, candidates=candidates))
            aux_filter, aux = None, None
            if self.smooth_roi:  # continue the helper points' filter only along an unbroken track
                prev = state.aux_filter if detection.tracked else None
                aux_filter, aux = smooth_aux(prev, frame.timestamp, landmarks.aux)
            new_state = TrackerState(roi=roi_from_landmarks(landmarks, aux), person_id=person_id, next_id=next_id,
                                     frame_index=frame.index, aux_filter=aux_filter, sides=sides, timings_ms=timings)
        else:
            new_state = TrackerState(roi=None, person_id=-1, next_id=next_id, frame_index=frame.index,
                                     timings_ms=timings)
        return FrontEndOutput(persons, new_state)

    def frame_result(self, frame: Frame, state: TrackerState | None = None) -> tuple[FrameResult, TrackerState]:
        """process() wrapped into a records.FrameResult with timings_ms (detect, landmarks, candidates)."""
        persons, state = self.process(frame, state)
        return FrameResult(frame=frame, persons=persons, timings_ms=dict(state.timings_ms)), state
