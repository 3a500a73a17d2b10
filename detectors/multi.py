"""The 2D front end for several people: every tracked person's ROI -> BlazePose landmarks (one batched call),
a round-robin tiled scan for people not tracked yet (detectors.people), and stable track ids.

    fe = MultiFrontEnd(model="full", max_people=8)
    state = None
    for frame in frames:
        persons, state = fe.process(frame, state)     # persons[i].id: the track id; state.live_ids

Ids (ByteTrack / OC-SORT style, scipy's Hungarian assignment): a person followed by their landmarks keeps the id
from frame to frame. When a track is lost (presence drops, its ROI jumps or slides onto someone else) it waits, its
box moving on at its last velocity, for `max_lost_s` seconds: a new detection near that predicted box takes the
old id back (a crossing, a short occlusion); after that the track ends and the person, when found again, gets a
new id. Two tracks whose landmarks land on the same person are one person: the track that looks more like them
(and is nearer its predicted box) keeps them, the other becomes lost. "Looks like": a colour histogram of the
person's torso (between the shoulder and hip landmarks; `appearance`), kept per track as a running mean and
compared by Bhattacharyya distance; a track whose landmarks suddenly show another torso colour has slid onto
someone else and is lost, and a lost track is taken back only by a detection that looks like it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from core import defaults
from core.protocols import FrontEndOutput
from core.records import Detection, Frame, Landmarks, Person, Roi
from detectors.candidates import sampling_generator
from detectors.joint_map import blazepose_candidates_many
from detectors.landmarks import LandmarkModel
from detectors.people import Scanner, merge, next_regions, still, thumbnail
from detectors.pose_detector import DetectorConfig, PoseDetector, iou
from detectors.sides import Sides, keep_sides
from detectors.tracking import (PRESENCE_THRESHOLD, OneEuro, first_landmarks, is_present, roi_from_landmarks,
                                smooth_aux)

MAX_PEOPLE = 8
TORSO = (11, 12, 24, 23)     # BlazePose shoulders and hips, around the torso
SLID = 0.55                  # Bhattacharyya distance from a track's appearance: its ROI is on someone else
SAME = 0.45                  # at most this far from a lost track's appearance to take its id back
MAX_TILES = 2                # tiles scanned in one frame at most: a slow frame (live mode on a busy machine) does
                             # not pay for the time it took, the sweep takes longer instead (latency stays bounded)


@dataclass
class PersonTrack:
    """One person's 2D track. roi None: lost (waiting to be found again)."""
    id: int
    box: np.ndarray                 # (4,) last body box x0 y0 x1 y1, image px
    last_seen: float                # timestamp (s) of the last frame with the person
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))   # box centre, px/s (smoothed)
    roi: Roi | None = None          # ROI to try on the next frame
    aux_filter: OneEuro | None = None
    frames: int = 1                 # frames seen
    look: np.ndarray | None = None  # running mean of the torso colour histogram (`appearance`)
    sides: Sides | None = None      # left/right kept continuous (detectors.sides)

    def predicted(self, t: float) -> np.ndarray:
        """The box moved on at the last velocity to time t (at most 2 s ahead)."""
        shift = self.velocity * min(max(t - self.last_seen, 0.0), 2.0)
        return self.box + np.r_[shift, shift]


@dataclass
class MultiTrackerState:
    """Per-source state of MultiFrontEnd (core.protocols.TrackState)."""
    tracks: dict[int, PersonTrack] = field(default_factory=dict)   # active and lost tracks by id
    next_id: int = 0
    cursor: int = 0                  # round-robin position of the scan
    credit: float = 0.0              # tiles owed to the scan (scan_period_s spreads a sweep over time)
    empty: dict[int, np.ndarray] = field(default_factory=dict)   # region -> its thumbnail when a scan found nobody
    last_time: float | None = None   # timestamp of the previous frame
    frame_index: int = -1
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def live_ids(self) -> set[int]:
        """Ids whose track goes on (seen now, or lost for less than max_lost_s): their 3D state is worth keeping."""
        return set(self.tracks)

    def restarted(self) -> "MultiTrackerState":
        return MultiTrackerState(next_id=self.next_id)


def body_box(lm: Landmarks) -> np.ndarray:
    """(4,) x0 y0 x1 y1 around the 33 landmarks."""
    xy = np.asarray(lm.landmarks)[:, :2]
    return np.r_[xy.min(0), xy.max(0)]


def appearance(image_bgr: np.ndarray, lm: Landmarks) -> np.ndarray | None:
    """Normalised hue-saturation histogram (12 x 4 bins; dark, grey pixels in their own value bins) of the torso
    quad, or None when the torso is too small to say."""
    quad = np.round(np.asarray(lm.landmarks)[list(TORSO), :2]).astype(np.int32)
    h, w = image_bgr.shape[:2]
    x0, y0 = np.clip(quad.min(0), 0, [w, h])
    x1, y1 = np.clip(quad.max(0) + 1, 0, [w, h])
    if x1 - x0 < 3 or y1 - y0 < 3:
        return None
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)       # only the torso's bounding box is converted
    cv2.fillConvexPoly(mask, quad - [x0, y0], 1)
    if mask.sum() < 30:
        return None
    hsv = cv2.cvtColor(image_bgr[y0:y1, x0:x1], cv2.COLOR_BGR2HSV)
    colour = cv2.calcHist([hsv], [0, 1], mask & (hsv[..., 1] >= 40).astype(np.uint8), [12, 4], [0, 180, 40, 256])
    grey = cv2.calcHist([hsv], [2], mask & (hsv[..., 1] < 40).astype(np.uint8), [6], [0, 256])
    h = np.concatenate([colour.ravel(), grey.ravel()]).astype(np.float32)
    return h / max(float(h.sum()), 1.0)


def look_distance(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Bhattacharyya distance of two appearance histograms (0 same, 1 disjoint); 0.3 when one is unknown."""
    if a is None or b is None:
        return 0.3
    return float(cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA))


def _centre(box) -> np.ndarray:
    box = np.asarray(box, float)
    return (box[..., :2] + box[..., 2:]) / 2


def _height(box) -> np.ndarray:
    box = np.asarray(box, float)
    return np.maximum(box[..., 3] - box[..., 1], 1.0)


def covered(region: tuple[int, int, int], boxes: list[np.ndarray], share: float = 0.8) -> bool:
    """Whether one of the boxes covers at least `share` of the square region (x, y, side)."""
    x, y, side = region
    for b in boxes:
        w = min(x + side, b[2]) - max(x, b[0])
        h = min(y + side, b[3]) - max(y, b[1])
        if w > 0 and h > 0 and w * h >= share * side * side:
            return True
    return False


def distance(box, boxes) -> np.ndarray:
    """Centre distance of `box` to each of `boxes`, in the heights of `boxes`."""
    return np.linalg.norm(_centre(boxes) - _centre(box), axis=-1) / _height(boxes)


class MultiFrontEnd:
    def __init__(self, model: str = "full", runtime: str = "litert", device: str = "cpu", k: int = defaults.CANDIDATES,
                 seed: int | None = None, max_people: int = MAX_PEOPLE, presence_threshold: float = PRESENCE_THRESHOLD,
                 min_detection_score: float = 0.5, num_threads: int = 2, scan_period_s: float = 1.0,
                 max_lost_s: float = 3.0, extra_model: str | None = None, full_people: int = 1,
                 detector: PoseDetector | None = None, landmark_model: LandmarkModel | None = None,
                 extra_landmark_model: LandmarkModel | None = None, keep_sides: bool = True):
        detector = detector or PoseDetector.load(runtime=runtime, device=device, num_threads=num_threads,
                                                 config=DetectorConfig(min_score=min_detection_score))
        self.scanner = Scanner(detector)
        self.landmark_model = landmark_model or LandmarkModel.load(model, runtime=runtime, device=device,
                                                                   num_threads=num_threads)
        # The people beyond the first `full_people` (by track age) may use a cheaper landmark model (extra_model).
        if extra_landmark_model is None and extra_model is not None and extra_model != model:
            extra_landmark_model = LandmarkModel.load(extra_model, runtime=runtime, device=device,
                                                      num_threads=num_threads)
        self.extra_landmark_model = extra_landmark_model
        self.full_people = full_people
        self.k = k
        self.max_people = max_people
        self.presence_threshold = presence_threshold
        self.scan_period_s = scan_period_s
        self.max_lost_s = max_lost_s
        self.keep_sides = keep_sides     # undo BlazePose's left/right flips along a track (detectors.sides)
        self.generator = sampling_generator(seed)

    def process(self, frame: Frame, state: MultiTrackerState | None = None) -> FrontEndOutput:
        state = state or MultiTrackerState()
        t = frame.timestamp
        timings = {"detect": 0.0, "landmarks": 0.0, "candidates": 0.0}
        rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
        tracks = {i: tr for i, tr in state.tracks.items() if tr.roi is not None or t - tr.last_seen <= self.max_lost_s}
        active = [tr for tr in tracks.values() if tr.roi is not None]

        # 1. Everyone tracked: their ROIs in one landmark call (the oldest tracks first: they get the full model).
        active.sort(key=lambda tr: tr.id)
        t0 = time.perf_counter()
        found = self._landmarks(rgb, [tr.roi for tr in active], self.full_people)
        timings["landmarks"] += (time.perf_counter() - t0) * 1e3
        kept = self._keep_tracked(frame.image, active, found, t)

        # 2. A share of the tiled scan; detections away from everyone tracked are new people (or lost ones back).
        next_id, cursor = state.next_id, state.cursor
        regions = self.scanner.regions(*frame.size)
        tiles = len(regions) - 1
        # The tiles are swept once every scan_period_s seconds, a share per frame (768x576 at 30 fps: 0.67 a frame).
        dt = 0.0 if state.last_time is None else min(max(t - state.last_time, 0.0), self.scan_period_s)
        credit = min(state.credit + tiles * dt / self.scan_period_s, MAX_TILES)
        empty = dict(state.empty)
        if state.frame_index < 0:
            scan, credit = list(range(len(regions))), 0.0  # a stream's first frame: the whole scan at once
        elif len(kept) >= self.max_people:
            scan, credit = [], 0.0                         # as many people followed as wanted: no search
        else:
            scan, cursor = next_regions(tiles, cursor, int(credit))
            credit -= len(scan)
            # Skipped, their turn spent: a tile that someone followed fills (a close-up: no one new to find), and
            # a tile where the last scan found nobody and nothing moved since (the detector would see the same).
            scan = [i + 1 for i in scan if not covered(regions[i + 1], [k[2] for k in kept])
                    and not (i + 1 in empty and still(empty[i + 1], thumbnail(frame.image, regions[i + 1])))]
            scan += [] if kept else [0]                    # the whole frame too while nobody is tracked
        scan = sorted(set(scan))
        t0 = time.perf_counter()
        found = self.scanner.detect_regions(frame.image, [regions[i] for i in scan])
        for i, dets in zip(scan, found):
            if i and not dets:
                empty[i] = thumbnail(frame.image, regions[i])
            else:
                empty.pop(i, None)
        dets = merge([d for ds in found for d in ds])
        timings["detect"] += (time.perf_counter() - t0) * 1e3
        boxes = [k[2] for k in kept]
        dets = [d for d in dets if not boxes or distance(d.bbox, np.array(boxes)).min() > 0.5]
        new = []
        if dets and len(kept) < self.max_people:
            t0 = time.perf_counter()
            dets, lms = first_landmarks(lambda rois: self._landmarks(rgb, rois, self.full_people - len(kept)), dets)
            timings["landmarks"] += (time.perf_counter() - t0) * 1e3
            for d, lm in sorted(zip(dets, lms), key=lambda p: -p[1].presence):
                if not is_present(lm, self.presence_threshold):
                    continue
                box = body_box(lm)
                taken = [k[2] for k in kept] + [n[2] for n in new]
                if taken and (iou(box, np.array(taken)).max() > 0.5 or distance(box, np.array(taken)).min() < 0.3):
                    continue
                new.append((d, lm, box, appearance(frame.image, lm)))
        new = new[:max(self.max_people - len(kept), 0)]

        # 3. Ids for the new people: lost tracks near their predicted box first, else new ids.
        lost = [tr for tr in tracks.values() if tr.id not in {k[0].id for k in kept}]
        ids = self._match_lost(lost, [(n[2], n[3]) for n in new], t)
        found, out = [], {}    # (id, detection, landmarks) of everyone in this frame
        for tr, lm, box, look in kept:
            out[tr.id] = self._update(tr, lm, box, look, t, frame.timestamp)
            lm = self._sides(tr, lm, t, tr.sides)
            found.append((tr.id, Detection(lm.presence, box, lm.roi, tracked=True), lm))
        for (d, lm, box, look), track_id in zip(new, ids):
            prev = tracks.get(track_id)
            if track_id < 0:
                track_id, next_id = next_id, next_id + 1
            tr = prev or PersonTrack(id=track_id, box=box, last_seen=t, frames=0)
            out[track_id] = self._update(tr, lm, box, look, t, frame.timestamp, continued=False)
            lm = self._sides(tr, lm, t, None)
            found.append((track_id, Detection(lm.presence, box, d.roi, d.keypoints), lm))
        t0 = time.perf_counter()
        cands = blazepose_candidates_many([lm for _, _, lm in found], self.k, self.generator)
        timings["candidates"] += (time.perf_counter() - t0) * 1e3
        persons = [Person(id=i, detection=det, landmarks=lm, candidates=c) for (i, det, lm), c in zip(found, cands)]
        for tr in lost:
            if tr.id not in out:
                tr.roi, tr.aux_filter = None, None
                out[tr.id] = tr
        persons.sort(key=lambda p: p.id)
        return FrontEndOutput(persons, MultiTrackerState(out, next_id, cursor, credit, empty, t, frame.index,
                                                                   timings))

    def _sides(self, tr: PersonTrack, lm: Landmarks, t: float, state: Sides | None) -> Landmarks:
        """The track's landmarks with left and right kept continuous (state None: a track starting again)."""
        if not self.keep_sides:
            return lm
        tr.sides, lm = keep_sides(state, lm, t)
        return lm

    def _landmarks(self, rgb: np.ndarray, rois: list[Roi], full: int) -> list[Landmarks]:
        """Landmarks on each ROI: the first `full` with the landmark model, the rest with the extra one (if any)."""
        full = len(rois) if self.extra_landmark_model is None else max(full, 0)
        return (self.landmark_model.run([rgb] * len(rois[:full]), rois[:full])
                + (self.extra_landmark_model.run([rgb] * len(rois[full:]), rois[full:]) if rois[full:] else []))

    def _keep_tracked(self, image, active: list[PersonTrack], found: list[Landmarks], t: float) -> list[tuple]:
        """(track, landmarks, box, look) of the tracks whose landmarks are present, where the track was heading and
        looking like the track; of two on one person, the one that looks more like them."""
        kept = []
        for tr, lm in zip(active, found):
            if not is_present(lm, self.presence_threshold):
                continue
            box = body_box(lm)
            look = appearance(image, lm)
            moved = distance(box, tr.predicted(t)[None])[0]
            changed = look_distance(tr.look, look) if tr.frames > 2 else 0.0
            if moved > 0.7 or changed > SLID:                # the ROI slid onto something or someone else
                continue
            kept.append((tr, lm, box, look, moved + 2 * changed))
        kept.sort(key=lambda k: k[4])
        out = []
        for tr, lm, box, look, _ in kept:
            if out and iou(box, np.array([k[2] for k in out])).max() > 0.5:
                continue                                   # the track more like this person holds them
            out.append((tr, lm, box, look))
        return out

    def _match_lost(self, lost: list[PersonTrack], new: list[tuple], t: float) -> list[int]:
        """For each new (box, look), the id of the lost track it continues (-1: none). Gates: within 1 body height
        of the predicted box (+0.5 per second lost), a height ratio within 0.6-1.6, and looking alike (SAME)."""
        ids = [-1] * len(new)
        if not lost or not new:
            return ids
        boxes = np.array([box for box, _ in new])
        cost = np.full((len(new), len(lost)), 1e6)
        for j, tr in enumerate(lost):
            pred = tr.predicted(t)
            d = distance(boxes, pred[None].repeat(len(boxes), 0))
            looks = np.array([look_distance(tr.look, look) for _, look in new])
            ratio = _height(boxes) / _height(pred)
            ok = (d < 1.0 + 0.5 * (t - tr.last_seen)) & (ratio > 0.6) & (ratio < 1.6) & (looks <= SAME)
            cost[:, j] = np.where(ok, d + 2 * looks, 1e6)
        for i, j in zip(*linear_sum_assignment(cost)):
            if cost[i, j] < 1e6:
                ids[i] = lost[j].id
        return ids

    def _update(self, tr: PersonTrack, lm: Landmarks, box: np.ndarray, look: np.ndarray | None, t: float, ts: float,
                continued: bool = True) -> PersonTrack:
        dt = t - tr.last_seen
        if tr.frames > 0 and dt > 0:
            v = (_centre(box) - _centre(tr.box)) / dt
            tr.velocity = v if tr.frames == 1 else 0.5 * tr.velocity + 0.5 * v
        prev = tr.aux_filter if continued else None    # the helper points' filter goes on along an unbroken track
        tr.aux_filter, aux = smooth_aux(prev, ts, lm.aux)
        tr.roi = roi_from_landmarks(lm, aux)
        tr.box, tr.last_seen, tr.frames = box, t, tr.frames + 1
        if look is not None:
            tr.look = look if tr.look is None else 0.8 * tr.look + 0.2 * look
        return tr
