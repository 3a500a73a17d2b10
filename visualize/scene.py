"""What the 3D view shows, in the frame's +Y-up world (core.records.WorldFrame: the floor at y = 0 once the world
stage has found it): per person the mean skeleton, its hypotheses and per-joint covariances, the recent root path of
each track, the real camera's pose, a ground height and a focus point the view camera follows. Shared by the Open3D
viewer and the fallback renderer; the builder eases the focus over about a second so the view follows instead of
re-centring on every frame."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.records import FrameResult, default_world, world_joints
from core.skeleton import ANKLES as FEET, SOLE_BELOW_ANKLE as FOOT_BELOW_ANKLE

FOLLOW_S = 1.0          # s: time constant of the view's focus following the people
TRAIL_S = 4.0           # s: root path kept per track


@dataclass
class PersonScene:
    id: int
    joints: np.ndarray        # (17, 3) world metres
    hypotheses: np.ndarray    # (N, 17, 3) world metres
    covariance: np.ndarray    # (17, 3, 3) in world axes


@dataclass
class Scene:
    persons: list[PersonScene] = field(default_factory=list)
    ground_y: float = 0.0
    focus: np.ndarray = field(default_factory=lambda: np.array([0.0, 1.0, -3.0]))
    trails: list[np.ndarray] = field(default_factory=list)    # per track (T, 3) root positions, oldest first
    camera: np.ndarray | None = None                           # (5, 3) the real camera: centre, 4 frustum corners


def frustum(result: FrameResult, depth: float = 0.35) -> np.ndarray | None:
    """The real camera as its centre and the image corners at `depth` metres, in the frame's world."""
    if result.world is None or result.intrinsics is None:
        return None
    w, h = result.frame.size
    corners = np.array([[0, 0, 1], [w, 0, 1], [w, h, 1], [0, h, 1]], float) @ np.linalg.inv(result.intrinsics).T
    cam = np.concatenate([np.zeros((1, 3)), corners * depth])
    return cam @ result.world.rotation.T + result.world.translation


class SceneBuilder:
    def __init__(self, follow_s: float = FOLLOW_S, trail_s: float = TRAIL_S):
        self.follow_s, self.trail_s = follow_s, trail_s
        self._focus: np.ndarray | None = None
        self._ground: float | None = None
        self._t: float | None = None
        self._trails: dict[int, list[tuple[float, np.ndarray]]] = {}

    def reset(self) -> None:
        self._focus, self._ground, self._t = None, None, None
        self._trails = {}

    def build(self, result: FrameResult) -> Scene:
        persons = []
        world = result.world or default_world()
        r = world.rotation
        t = float(result.frame.timestamp)
        for p in result.persons:
            est = p.estimate
            if est is None or not np.isfinite(est.mean).all():
                continue
            root = np.asarray(est.root_translation, float)
            joints = world_joints(est, result.world)
            hyps = (np.asarray(est.hypotheses, float) + root) @ r.T + world.translation
            cov = r @ np.asarray(est.covariance, float) @ r.T
            persons.append(PersonScene(int(p.id), joints, hyps, cov))
        if self._t is not None and t < self._t:   # a new stream (or a seek): start over
            self.reset()
        for ps in persons:
            self._trails.setdefault(ps.id, []).append((t, ps.joints[0].copy()))
        self._trails = {i: [(s, x) for s, x in tr if s > t - self.trail_s] for i, tr in self._trails.items()}
        self._trails = {i: tr for i, tr in self._trails.items() if tr}
        if persons:
            focus = np.mean([ps.joints[0] for ps in persons], axis=0)
            a = 1.0 if self._t is None or self._focus is None else 1.0 - np.exp(-max(t - self._t, 0.0) / self.follow_s)
            self._focus = focus if self._focus is None else (1 - a) * self._focus + a * focus
            if result.world is not None and result.world.up_source != "default":
                self._ground = 0.0   # the world stage's floor
            else:
                ground = min(float(ps.joints[list(FEET), 1].min()) for ps in persons) - FOOT_BELOW_ANKLE
                # The ground moves down at once (feet never go through it) and up slowly (jumps do not lift it).
                if self._ground is None or ground < self._ground:
                    self._ground = ground
                else:
                    self._ground = 0.95 * self._ground + 0.05 * ground
        self._t = t
        scene = Scene(persons=persons, trails=[np.stack([x for _, x in tr]) for tr in self._trails.values()],
                      camera=frustum(result))
        if self._focus is not None:
            scene.focus = self._focus.copy()
            scene.ground_y = float(self._ground)
        return scene
