"""The world stage: camera-frame estimates -> a gravity-aligned world with a floor, steady roots and locked feet.

    camera level (one per source, fed by every person): GravityEstimator -> up; FloorEstimator -> floor height
    per track (created per track id, dropped with it):   RootFilter (Kalman + the feet on the floor), FootContacts

The world frame (core.records.WorldFrame): +Y up, origin on the floor below the camera, -Z the camera's
horizontal viewing direction; world = R @ camera + t with t = (0, camera height, 0).
"""
from __future__ import annotations

import numpy as np

from core.records import Person, WorldFrame
from pipeline.config import WorldConfig
from pipeline.contacts import FootContacts
from pipeline.floor import FloorEstimator, floor_under_lowest_sole, lowest_ankle
from pipeline.gravity import (Gravity, GravityEstimator, angle_deg, angles_from_up, observe_many, shortest_rotation,
                              unit, world_rotation)
from pipeline.trajectory import RootFilter


UPRIGHT_TAU_S = 1.0      # s: time constant of a track's smoothed balance axis
UPRIGHT_MAX_DEG = 30.0   # a balance axis further than this from up is a posture (bending, lying), not a tilt
# A settled static camera's world moves towards a new estimate at most this fast: a refit that tilts the floor by 1 deg
# moves someone 20 m away by 0.35 m in one frame (vtest.avi: a walker's feet 0.24 m into the floor, recovering over
# 1 s); eased, the change spreads over a few frames (at 10 fps 0.6 deg a frame: 0.2 m at 20 m). Slower (2 deg/s) left
# vtest's feet off the floor while the world caught up. Until the floor has seen SETTLED_S seconds of feet the world
# follows the estimate at once (it converges then: the real clips' up is within 5 deg after 1 s only so).
MAX_TURN_DEG_S = 6.0
MAX_LIFT_M_S = 0.6
SETTLED_S = 2.0


class TrackWorld:
    """One person's temporal world state: root filter, foot contacts, and the smoothed balance axis."""

    def __init__(self, cfg: WorldConfig, serial: int = 0):
        self.serial = serial     # unique per track over the source's life (ids may come back): the floor's group
        self.root = RootFilter(max_speed=cfg.max_speed, max_accel=cfg.max_accel)
        self.feet = FootContacts(lock=cfg.foot_lock)
        self.upright = cfg.upright
        self.reset()

    def reset(self) -> None:
        self.root.reset()
        self.feet.reset()
        self._axis: np.ndarray | None = None
        self._t: float | None = None

    def cue_up(self, up: np.ndarray) -> np.ndarray:
        """The vertical along which this person's support foot and sole are found: the pose's own (its smoothed
        balance axis), else `up`. The lifter's pose may lean from the camera's up, and along that up the front foot
        would seem the lower one."""
        return up if self._axis is None else self._axis

    def stand_up(self, pose: np.ndarray, axis: np.ndarray | None, up: np.ndarray, t: float) -> np.ndarray:
        """The root-relative pose turned about the pelvis so that its balance axis, smoothed over ~1 s, is `up`.
        axis: this frame's balance axis of the pose (gravity.observe_many along `cue_up`; None: none).
        The lifter leans people seen from a steep camera (it saw few such views): the floor fit gives the true up,
        and a standing or walking person's centre of mass is above the support on average."""
        if not self.upright or axis is None:
            return pose
        if self._axis is None or self._t is None or t <= self._t:
            self._axis = axis
        else:
            a = 1.0 - np.exp(-(t - self._t) / UPRIGHT_TAU_S)
            self._axis = unit((1 - a) * self._axis + a * axis)
        self._t = t
        if angle_deg(self._axis, up) > UPRIGHT_MAX_DEG:
            return pose
        return pose @ shortest_rotation(self._axis, up).T


class Grounding:
    def __init__(self, cfg: WorldConfig | None = None, pitch: float | None = None, roll: float | None = None):
        self.cfg = cfg or WorldConfig()
        self.gravity = GravityEstimator(self.cfg.camera, self.cfg.window_s, pitch, roll)
        self.floor = FloorEstimator(self.cfg.camera, self.cfg.window_s)
        self.tracks: dict[int, TrackWorld] = {}
        self._serial = 0
        self._shown: tuple[np.ndarray, float, float] | None = None   # the world given out: up, camera height, time

    def reset(self) -> None:
        self.gravity.reset()
        self.floor.reset()
        self.tracks = {}
        self._serial = 0
        self._shown = None

    def _ease(self, up: np.ndarray, height: float, t: float, settled: bool) -> tuple[np.ndarray, float]:
        """The world to give out: the estimate itself, or for a settled static camera a step towards it of at most
        MAX_TURN_DEG_S / MAX_LIFT_M_S (a time going backwards, as after Pipeline.settle_world, moves nothing)."""
        if self._shown is not None and self.cfg.camera == "static" and settled:
            shown_up, shown_height, shown_t = self._shown
            dt = max(0.0, t - shown_t)
            turn = float(angle_deg(shown_up, up))
            if turn > MAX_TURN_DEG_S * dt:
                up = unit(shown_up + (MAX_TURN_DEG_S * dt / turn) * (up - shown_up))
            height = shown_height + float(np.clip(height - shown_height, -MAX_LIFT_M_S * dt, MAX_LIFT_M_S * dt))
        self._shown = (up, height, t)
        return up, height

    def forget_tracks(self) -> None:
        """Drop every person's state, keep the camera-level up and floor (Pipeline.settle_world)."""
        self.tracks = {}

    def _track(self, pid: int) -> TrackWorld:
        if pid not in self.tracks:
            self.tracks[pid] = TrackWorld(self.cfg, self._serial)
            self._serial += 1
        return self.tracks[pid]

    def update(self, persons: list[Person], t: float, keep: set[int] | None = None) -> WorldFrame:
        """Sets each person's estimate.root_translation (filtered, camera frame), .world and .contacts. `keep`: the
        ids whose track goes on (a person hidden for a moment keeps their root filter); default: those seen now."""
        people = [p for p in persons if p.estimate is not None and np.isfinite(p.estimate.mean).all()
                  and np.isfinite(p.estimate.root_translation).all()]
        measured = [np.asarray(p.estimate.mean, float) + np.asarray(p.estimate.root_translation, float)
                    for p in people]
        g = self.gravity.update(measured, t)
        # Each person's balance axis, once, all people at once: the floor's evidence are those standing or walking
        # (axis near up), not someone lying or a false detection lifted as lying, whose lower ankle is not on the
        # floor (or not a foot at all); the same axis stands them up below.
        tracks = [self._track(p.id) for p in people]
        axes, ok = (observe_many(np.stack([m - m[0] for m in measured]), np.stack([tr.cue_up(g.up) for tr in tracks]))
                    if people else (np.zeros((0, 3)), np.zeros(0, bool)))
        upright = np.flatnonzero(ok & (angle_deg(axes, g.up) <= UPRIGHT_MAX_DEG))
        floor = self.floor.update([measured[i] for i in upright], g.up, t, g.std_deg, tilt=g.source != "given",
                                  groups=[tracks[i].serial for i in upright])
        if floor.up is not None and g.source == "estimated":   # the feet over the floor refine the body cue
            g = Gravity(floor.up, floor.up_std_deg, g.source)
        shown = floor if np.isfinite(floor.std) or not measured else floor_under_lowest_sole(measured, g.up)
        shown_up, height = self._ease(g.up, shown.camera_height, t, self.floor.seen_s >= SETTLED_S)
        rot = world_rotation(shown_up)
        trans = np.array([0.0, height, 0.0])
        for p, track, axis, valid in zip(people, tracks, axes, ok):
            est = p.estimate
            mean = track.stand_up(np.asarray(est.mean, float), axis if valid else None, g.up, t)
            on_floor = (lowest_ankle(mean, g.up), g.up, floor.height) if np.isfinite(floor.std) else None
            root = track.root.update(est.root_translation, t, on_floor)
            est.root_translation = root.astype(np.asarray(est.root_translation).dtype)
            world, contacts = track.feet.update((mean + root) @ rot.T + trans, t)
            est.world, est.contacts = world, contacts
        for gone in set(self.tracks) - ({p.id for p in people} if keep is None else set(keep)):
            del self.tracks[gone]
        pitch, roll = angles_from_up(shown_up)
        return WorldFrame(rot, trans, pitch, roll, g.std_deg, floor.std, g.source)
