"""frame -> FrameResult: the 2D front end, the diffusion lifter (warm-started from the previous frame), the root
translation, and One-Euro smoothing of the 3D output. The front end and lifter are passed in (real or fake), so this
file holds only the per-frame glue; each person's temporal state lives in pipeline.persons, keyed by track id. All
people of a frame go through the lifter in one batch (Lifter.estimate_batch where the lifter has it)."""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from core import defaults
from core.camera import intrinsics_from_fov
from core.protocols import FrontEnd, Lifter, TrackState
from core.records import Estimate3D, Frame, FrameResult, Person
from core.smoothing import OneEuroConfig, OneEuroFilter, centred_mean, centred_sigma
from detectors.joint_map import world_joints
from lifter.aggregate import about, with_definition
from lifter.temporal import TemporalStream, window_slots, window_stride
from pipeline.bones import TrackBones
from pipeline.config import (DEFAULT_HYPOTHESES, DEFAULT_STEPS, BonesConfig, ReprojectionConfig, WarmStartConfig,
                             WorldConfig)
from pipeline.grounding import Grounding
from pipeline.persons import PersonState, PersonStates
from pipeline.reprojection import best_mean
from pipeline.root import solve_root

GUESS_DEPTH = 3.0   # metres: root depth used until the first successful root solve


@dataclass
class Detected:
    """The 2D stage's output for one frame, handed to the 3D stage (on another thread in pipelined live mode)."""
    frame: Frame
    persons: list[Person]
    timings_ms: dict[str, float]             # the front end's stage times
    started_at: float                        # time.perf_counter() when the 2D stage began (for the total)
    live_ids: set[int] | None = None         # ids whose 2D track goes on (None: the front end does not say)
    encode_ms: float = 0.0                   # temporal lifter: the time its windows took this frame in (lift)


@dataclass
class _Lifted:
    """A frame after the lifter, bones, root and reprojection choice, before smoothing and the world stage."""
    frame: Frame
    persons: list[Person]
    people: list[Person]        # those lifted (with an estimate)
    k: np.ndarray
    timings: dict
    started_at: float


@dataclass
class Pipeline:
    frontend: FrontEnd
    lifter: Lifter
    hypotheses: int = DEFAULT_HYPOTHESES
    steps: int = DEFAULT_STEPS
    fov: float = 60.0
    intrinsics: np.ndarray | None = None     # (3, 3) known camera K for the root translation; None: from `fov`
    warm_start: WarmStartConfig = field(default_factory=WarmStartConfig)
    smoothing: OneEuroConfig = field(default_factory=OneEuroConfig)
    bones: BonesConfig = field(default_factory=BonesConfig)
    reprojection: ReprojectionConfig = field(default_factory=ReprojectionConfig)
    definition_sd: float = defaults.DEFINITION_SD_M   # m per axis: joint-definition uncertainty on every covariance
    max_warm_gap: float = 0.5                # s: older previous estimates are not used as a warm start
    person: int | None = None                # keep only this track id (--person); None: everyone
    world: WorldConfig = field(default_factory=WorldConfig)
    camera_pitch: float | None = None        # degrees (None: estimated by the world stage)
    camera_roll: float | None = None
    _grounding: Grounding | None = None      # the world stage (gravity, floor, root trajectory, contacts)
    _lifted_size: tuple | None = None        # frame size seen last by lift (another size: another camera)
    lifter_mode: str = "frame"               # "temporal": the lifter is a temporal one, fed each person's window
    temporal_rate: float | None = None       # frames per second of that window (lifter.temporal.TemporalStream)
    temporal_window: str = "causal"          # its window mode (lifter.temporal.MODES); lag1 / centred hold frames
    max_wait: float | None = None            # s (live): a window that looks ahead gives way to causal once its wait
                                             # (frames ahead x capture interval) is longer (temporal_max_wait_ms)
    _causal_live: bool = False               # this stream has given way to causal (max_wait), until a new stream
    _held: deque = field(default_factory=deque)   # frames waiting for the frames after them (lag1 / centred)
    _ready: deque = field(default_factory=deque)  # results not returned yet (after time went back)
    offline: bool = False                    # a file processed offline: smoothing may look ahead (smoothing.offline)
    _lifted: deque = field(default_factory=deque)  # lifted frames waiting for the frames after them (centred smoothing)
    _stamps: deque = field(default_factory=lambda: deque(maxlen=9))   # recent frame times (the frame interval)
    _arrivals: deque = field(default_factory=lambda: deque(maxlen=9))  # their wall-clock capture times (max_wait)
    _state: TrackState | None = None
    _tracks: PersonStates = field(default_factory=PersonStates)
    _size: tuple | None = None               # frame size seen last

    def reset(self) -> None:
        """Forget tracking and temporal state (after a reconnect or a seek). Track ids keep counting, so a person
        found again gets a new id, as after any lost track (an id never names two tracks in one run)."""
        self._restart_tracker()
        self._tracks = PersonStates()
        self._forget_held()
        if self._grounding is not None:
            self._grounding.reset()

    def _forget_held(self) -> None:
        """Frames held for a window that looks ahead are dropped (a reset starts a new stream; flush() first to
        keep them)."""
        self._held.clear()
        self._ready.clear()
        self._lifted.clear()
        self._restart_clock()

    def _restart_clock(self) -> None:
        """A new stream's timing: its frame times, capture times and whether its look-ahead gave way (max_wait)."""
        self._stamps.clear()
        self._arrivals.clear()
        self._causal_live = False

    def settle_world(self, frames) -> int:
        """Offline look-ahead for the world stage: the video's first frames (`frames`, read from a second opening of
        the source) go through the pipeline, then everything but the camera-level up vector and floor is forgotten
        (tracks, ids, per-person state; the candidate sampler's random state is put back), so the run proper starts
        in a settled world instead of moving it, and everyone in it, when the first floor fit lands (vtest.avi: a
        jump of up to 0.9 m at frame 3). Those frames' evidence then counts twice in a static camera's estimate.
        Returns the frames used."""
        generator = getattr(self.frontend, "generator", None)
        saved = generator.get_state() if hasattr(generator, "get_state") else None
        n = 0
        try:
            for frame in frames:
                self.process(frame)
                n += 1
            self.flush()     # the frames a look-ahead still holds count too
        finally:   # also after a failure: the run proper starts afresh (and meets the failure in its own frames)
            if saved is not None:
                generator.set_state(saved)
            self._state, self._tracks, self._size, self._lifted_size = None, PersonStates(), None, None
            self._forget_held()
            if self._grounding is not None:
                self._grounding.forget_tracks()
        return n

    def _restart_tracker(self) -> None:
        """A fresh 2D tracker state that keeps counting ids. The 3D state of the old ids ends in `lift` (their ids
        are not seen again), so this is safe on the 2D thread of pipelined live mode."""
        if self._state is not None:
            self._state = self._state.restarted()

    def process(self, frame: Frame) -> FrameResult | None:
        """detect + lift (None while a window that looks ahead holds the frame; see lift)."""
        return self.lift(self.detect(frame))

    def detect(self, frame: Frame) -> Detected:
        """The 2D stage (front end with its tracker state). Runs on its own thread in pipelined live mode; it
        touches only the tracker state, `lift` only the per-person 3D state."""
        t0 = time.perf_counter()
        if self._size is not None and frame.size != self._size:
            self._restart_tracker()  # another size is another picture (a folder of photos): the last ROI means nothing
        self._size = frame.size
        persons, self._state = self.frontend.process(frame, self._state)
        live = getattr(self._state, "live_ids", None)
        return Detected(frame, persons, dict(self._state.timings_ms), t0, None if live is None else set(live))

    def lift(self, detected: Detected) -> FrameResult | None:
        """The 3D stage: lifter (all people of the frame in one batch), root translation, smoothing -> FrameResult.

        A temporal lifter whose window looks ahead (temporal_window lag1: one frame, centred: half a window; times the
        window's stride) first takes this frame into each person's window, then lifts the frame that many frames
        back: the result is that frame's (its Frame, people, timestamp), so exports stay aligned with their frames,
        at that many frame periods of added latency. None while the first frames are held; flush() lifts the held
        frames at the end of a stream (their later slots are padding)."""
        t = detected.frame.timestamp
        if self._stamps and t <= self._stamps[-1]:   # time went back (a new video): what is held is finished first,
            self._ready.extend(self.flush())         # from its own windows and frames
            self._restart_clock()
        self._stamps.append(t)
        if detected.frame.captured_at:
            self._arrivals.append(detected.frame.captured_at)
        if self.lifter_mode != "temporal":
            self._lift(detected)
            return self._ready.popleft() if self._ready else None
        t1 = time.perf_counter()
        for p in self._people(detected):
            self._window(self._tracks.get(p.id)).add_candidates(p.candidates, t)
        detected.encode_ms = (time.perf_counter() - t1) * 1e3   # counted in this frame's lift time
        self._held.append(detected)
        ahead = self._lookahead()
        while len(self._held) > ahead:     # at the switch to causal the frame held is lifted too (see ready)
            self._lift(self._held.popleft())
        return self._ready.popleft() if self._ready else None

    @property
    def window_in_use(self) -> str:
        """The temporal window mode the frames are lifted with now: temporal_window, or causal where a live
        look-ahead gave way (max_wait)."""
        return "causal" if self._causal_live else self.temporal_window

    def ready(self) -> list[FrameResult]:
        """The results finished along with the one lift returned (in order after it): at the switch of a live
        look-ahead to causal (max_wait) one call finishes the frame held and the new one; a caller that wants each
        result as soon as it exists takes these too (pipeline.runner, Estimator.run)."""
        out = list(self._ready)
        self._ready.clear()
        return out

    def flush(self) -> list[FrameResult]:
        """The frames still held for a window or a smoothing that looks ahead, finished in order (at the end of a
        video or stream)."""
        while self._held:
            self._lift(self._held.popleft())
        while self._lifted:
            self._ready.append(self._finish(self._lifted.popleft()))
        return self.ready()

    def _lookahead(self) -> int:
        """Frames a result waits for: the window's slots after its output frame x the window's stride. Live
        (max_wait set), once that wait at the median interval between the frames' capture times is longer than
        max_wait (a slow source, or a pipeline that keeps up with only part of the frames: the next frame it takes is
        then more than one source period away), the stream gives way to causal windows for good (until a new
        stream), so a machine at the edge does not flip between the two (each switch to causal finishes two frames
        at once)."""
        after = window_slots(self.lifter.cfg.window, self.temporal_window)[1]
        if not after or self._causal_live:
            return 0
        ahead = after * window_stride(self._interval() or 0.0, self.temporal_rate)
        # The wait in wall-clock time: frames reach the pipeline at their capture times (a sped-up replay's frame
        # times are the video's own). Judged once the recent arrivals are all in, so the slow first frames of a
        # stream (models warming up, a camera starting) do not decide it.
        full = len(self._arrivals) == self._arrivals.maxlen
        if self.max_wait is not None and full and ahead * float(np.median(np.diff(self._arrivals))) > self.max_wait:
            self._causal_live = True
            return 0
        return ahead

    def _people(self, detected: Detected) -> list[Person]:
        """The people of a frame that go through the lifter (with candidates; only --person where set)."""
        return [p for p in detected.persons
                if p.candidates is not None and (self.person is None or p.id == self.person)]

    def _lift(self, detected: Detected) -> None:
        """Lift one frame (lifter, bones, root, reprojection choice) and queue it; the frames whose smoothing has
        all the frames it needs are finished (smoothing, world stage) into _ready."""
        self._lifted.append(self._lift_people(detected))
        while len(self._lifted) > self._smooth_lookahead():
            self._ready.append(self._finish(self._lifted.popleft()))

    def _smooth_lookahead(self) -> int:
        """Frames a lifted frame waits for before its smoothing: those within the centred filter's reach (3 sigma;
        one while the frame interval is not known yet), else none."""
        if not self._centred():
            return 0
        interval = self._interval()
        if interval is None:
            return 1
        return int(np.ceil(3 * centred_sigma(self.smoothing.offline_cutoff_hz) / interval - 1e-9))

    def _interval(self) -> float | None:
        """The source's frame interval (s): the median gap of the recent frame times, None before two frames."""
        return float(np.median(np.diff(self._stamps))) if len(self._stamps) > 1 else None

    def _centred(self) -> bool:
        """Centred (zero-lag) smoothing: a file processed offline with smoothing.offline centred, whose frame rate is
        above twice the cutoff (below, the frames cannot hold the motion that cutoff would take out: the filter would
        change nothing, and the file is smoothed as live, by One-Euro; vtest.avi's 10 fps at 6 Hz)."""
        if not (self.offline and self.smoothing.enabled and self.smoothing.offline == "centred"):
            return False
        interval = self._interval()
        return interval is None or 1.0 / interval > 2 * self.smoothing.offline_cutoff_hz

    def _lift_people(self, detected: Detected) -> _Lifted:
        frame, persons, timings, t0 = detected.frame, detected.persons, dict(detected.timings_ms), detected.started_at
        if self.person is not None:
            persons = [p for p in persons if p.id == self.person]
        w, h = frame.size
        k = intrinsics_from_fov(w, h, self.fov) if self.intrinsics is None else np.asarray(self.intrinsics, float)
        people = self._people(detected)
        tracks = [self._tracks.get(p.id) for p in people]
        t1 = time.perf_counter()
        if self.lifter_mode == "temporal":   # issue 14: each person's window of frames replaces the warm start
            estimates = [self._window(tr).estimate_at(frame.timestamp, self.window_in_use) for tr in tracks]
        else:
            estimates = self._estimate(people, [self._init_pose(p, frame.timestamp, tr)
                                                for p, tr in zip(people, tracks)])
        lift_ms = (time.perf_counter() - t1) * 1e3 + (detected.encode_ms if self.lifter_mode == "temporal" else 0.0)
        root_ms = 0.0
        for p, track, est in zip(people, tracks, estimates):
            t1 = time.perf_counter()
            lifted = np.asarray(est.mean, float).copy()
            if self.bones.enabled:
                track.bones = track.bones or TrackBones(self.bones)
                track.bones.apply(est, _world(p) if self.bones.scale == "world" else None)
            t2 = time.perf_counter()
            track.prev_mean, track.prev_time = np.asarray(est.mean, float).copy(), frame.timestamp
            est.root_translation = self._root(p, est.mean, k, track)
            if self.reprojection.keep < 1.0:
                mean = best_mean(est.hypotheses, est.root_translation, p.candidates.peaks, k, self.reprojection.keep)
                est.mean = mean.astype(np.asarray(est.mean).dtype)
                est.root_translation = self._root(p, est.mean, k, track)
            # The ellipsoids are centred on the mean reported: count its offset from the lifter's (22-25 mm on the
            # real clips), the hypotheses' spread as the lifter calibrated it (before the bones rebuilt them).
            # Truth from another system defines the joints its own way (core.defaults.DEFINITION_SD_M).
            cov = est.covariance
            if cov is not None and est.calibration is not None:
                cov = about(cov, lifted - np.asarray(est.mean, float), est.calibration)
            if cov is not None and self.definition_sd > 0:
                cov = with_definition(cov, self.definition_sd)
            if cov is not est.covariance:
                est.covariance = np.asarray(cov, dtype=np.asarray(est.covariance).dtype)
            if track.raw and frame.timestamp <= track.raw[-1][0]:
                track.raw.clear()
            track.raw.append((frame.timestamp, np.asarray(est.mean, float).copy(),
                              np.asarray(est.root_translation, float).copy()))
            p.estimate = est
            lift_ms += (t2 - t1) * 1e3
            root_ms += (time.perf_counter() - t2) * 1e3
        # The tracks of the people in frames still held (a window or the smoothing looking ahead) stay too.
        seen = ({p.id for p in people} | {p.id for d in self._held for p in d.persons}
                | {p.id for lifted in self._lifted for p in lifted.people})
        self._tracks.keep_only(seen if detected.live_ids is None else seen | detected.live_ids)
        timings.update(lift=lift_ms, root=root_ms)
        return _Lifted(frame, persons, people, k, timings, t0)

    def _finish(self, lifted: _Lifted) -> FrameResult:
        """Smoothing and the world stage of a lifted frame -> its FrameResult."""
        t1 = time.perf_counter()
        for p in lifted.people:
            self._smooth(p.estimate, lifted.frame.timestamp, self._tracks.get(p.id))
        t2 = time.perf_counter()
        world = self._world(lifted.persons, lifted.frame)
        end = time.perf_counter()
        timings = lifted.timings
        timings.update(smooth=(t2 - t1) * 1e3, world=(end - t2) * 1e3, total=(end - lifted.started_at) * 1e3)
        return FrameResult(frame=lifted.frame, persons=lifted.persons, intrinsics=lifted.k, timings_ms=timings,
                           world=world)

    def _world(self, persons: list[Person], frame: Frame):
        """The world stage (pipeline/grounding.py), one per source; a new frame size starts it afresh."""
        if not self.world.enabled:
            return None
        if self._grounding is None:
            self._grounding = Grounding(self.world, self.camera_pitch, self.camera_roll)
        if self._lifted_size is not None and frame.size != self._lifted_size:
            self._grounding.reset()
        self._lifted_size = frame.size
        return self._grounding.update(persons, frame.timestamp, keep=self._tracks.ids())

    def _estimate(self, people: list[Person], inits: list[np.ndarray | None]) -> list[Estimate3D]:
        """The lifter on every person: one batch for those starting from noise, one for the warm-started ones (a
        lifter without estimate_batch, e.g. a test fake, one person at a time)."""
        out: list[Estimate3D | None] = [None] * len(people)
        batch = getattr(self.lifter, "estimate_batch", None)
        for warm in (False, True):
            idx = [i for i, init in enumerate(inits) if (init is not None) == warm]
            if not idx:
                continue
            kw = dict(n=self.hypotheses, steps=self.steps)
            if warm:
                kw["init_t"] = self.warm_start.init_t
            if batch is not None:
                ests = batch([people[i].candidates for i in idx], inits=[inits[i] for i in idx] if warm else None, **kw)
            else:
                ests = [self.lifter.estimate(people[i].candidates, init=inits[i], **kw) if warm else
                        self.lifter.estimate(people[i].candidates, **kw) for i in idx]
            for i, est in zip(idx, ests):
                out[i] = est
        return out

    def _window(self, track: PersonState) -> TemporalStream:
        if track.window is None:
            track.window = TemporalStream(self.lifter, self.hypotheses, self.steps, rate=self.temporal_rate,
                                          mode=self.temporal_window)
        return track.window

    def _init_pose(self, person: Person, t: float, track: PersonState) -> np.ndarray | None:
        """The pose the diffusion starts from (noised to warm_start.init_t), or None to start from noise."""
        if not self.warm_start.enabled:
            return None
        if self.warm_start.source == "world":
            return _world(person)
        fresh = track.prev_mean is not None and 0 < t - track.prev_time <= self.max_warm_gap
        return track.prev_mean if fresh else None

    def _root(self, person: Person, mean: np.ndarray, k: np.ndarray, track: PersonState) -> np.ndarray:
        peaks = person.candidates.peaks
        t = solve_root(mean, peaks[:, :2], k, weights=peaks[:, 2])
        if t is None:
            if track.root is not None:
                return track.root.copy()
            # Nothing better yet: the pelvis pixel's ray at a typical distance.
            ray = np.linalg.inv(k) @ np.r_[peaks[0, :2], 1.0]
            return ray * GUESS_DEPTH
        track.root = t
        return t

    def _smooth(self, est: Estimate3D, t: float, track: PersonState) -> None:
        if not self.smoothing.enabled:
            return
        raw = np.asarray(est.mean, float)
        root = None    # with the world stage its trajectory filter takes the raw root
        if self._centred():    # offline: centred over this person's frames before and after t
            if not track.raw:
                return
            times = np.array([s[0] for s in track.raw])
            smooth = centred_mean(times, np.stack([s[1] for s in track.raw]), t, self.smoothing.offline_cutoff_hz)
            if not self.world.enabled:
                root = centred_mean(times, np.stack([s[2] for s in track.raw]), t, self.smoothing.offline_cutoff_hz)
        else:
            if track.pose_filter is None:
                # the pose at the lifter mode's beta (the temporal window already smooths it); the root, solved
                # from each frame's 2D, at the base beta
                track.pose_filter = OneEuroFilter(self.smoothing.for_lifter(self.lifter_mode))
                track.root_filter = OneEuroFilter(self.smoothing)
            smooth = track.pose_filter(raw, t)
            if not self.world.enabled:
                root = track.root_filter(np.asarray(est.root_translation, float)[None], t)[0]
        # Hypotheses move with the mean so the ellipsoids stay centred on it, and the covariance counts the move
        # as it counts the reprojection choice's (the calibrated second moment about the mean reported): a live
        # filter's lag is error the lifter's spread does not know of (real clips, live: coverage 0.79 / 0.69).
        est.hypotheses = (np.asarray(est.hypotheses) + (smooth - raw)[None]).astype(np.asarray(est.hypotheses).dtype)
        if est.covariance is not None and est.calibration is not None:
            est.covariance = np.asarray(about(est.covariance, raw - smooth, est.calibration),
                                        dtype=np.asarray(est.covariance).dtype)
        est.mean = smooth.astype(np.asarray(est.mean).dtype)
        if root is not None:
            est.root_translation = root


def _world(person: Person) -> np.ndarray | None:
    """The person's world landmarks as our 17 root-relative joints (camera-like axes), or None."""
    world = getattr(person.landmarks, "world", None)
    return None if world is None else world_joints(world)
