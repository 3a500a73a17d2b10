"""What the 3D view shows, in the +Y-up world frame: per person the mean skeleton, its hypotheses and per-joint
covariances, plus a ground height under the feet and a focus point the camera follows. Shared by the Open3D viewer
and the fallback renderer; the builder smooths ground and focus over time so the view does not shake."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.camera import CAMERA_TO_WORLD, camera_to_world
from core.records import FrameResult

FEET = (3, 6)           # ankles
FOOT_BELOW_ANKLE = 0.08  # metres from ankle joint to the sole


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
    spread: float = 0.0       # metres from the focus to the farthest person's root (the view backs off to show all)


class SceneBuilder:
    def __init__(self, follow: float = 0.5):
        self.follow = follow          # 0..1: how quickly focus and ground move to the new frame's values
        self._focus: np.ndarray | None = None
        self._ground: float | None = None
        self._ids: set = set()

    def reset(self) -> None:
        self._focus, self._ground = None, None
        self._ids = set()

    def build(self, result: FrameResult) -> Scene:
        persons = []
        r = CAMERA_TO_WORLD
        for p in result.persons:
            est = p.estimate
            if est is None or not np.isfinite(est.mean).all():
                continue
            root = np.asarray(est.root_translation, float)
            joints = camera_to_world(np.asarray(est.mean, float) + root)
            hyps = camera_to_world(np.asarray(est.hypotheses, float) + root)
            cov = r @ np.asarray(est.covariance, float) @ r.T
            persons.append(PersonScene(int(p.id), joints, hyps, cov))
        ids = {ps.id for ps in persons}
        if persons and not ids & self._ids:  # only new tracks: jump to them instead of gliding across the scene
            self.reset()
        self._ids = ids
        if persons:
            focus = np.mean([ps.joints[0] for ps in persons], axis=0)
            ground = min(float(ps.joints[list(FEET), 1].min()) for ps in persons) - FOOT_BELOW_ANKLE
            a = self.follow
            self._focus = focus if self._focus is None else (1 - a) * self._focus + a * focus
            # The ground moves down at once (feet never go through it) and up slowly (jumps do not lift it).
            if self._ground is None or ground < self._ground:
                self._ground = ground
            else:
                self._ground = 0.95 * self._ground + 0.05 * ground
        scene = Scene(persons=persons)
        if self._focus is not None:
            scene.focus = self._focus.copy()
            roots = np.array([ps.joints[0] for ps in persons]) if persons else self._focus[None]
            scene.spread = float(np.linalg.norm((roots - self._focus)[:, [0, 2]], axis=1).max())
            scene.ground_y = float(self._ground)
        return scene
