"""Foot contacts and foot locking, in the world frame (+Y up, floor at y = 0).

Contact (per foot, with hysteresis): the foot is near the floor, not much above the other foot, and slow.
Locking: when a foot touches down its ankle position is recorded; while the contact lasts the ankle is held
there (on the floor) and the leg is solved by two-bone IK (hip fixed, thigh and shin lengths kept, the knee
staying in the leg's own bend plane), as animation tools do, so feet do not slide. A lock further than
`release` from where the pose puts the ankle is dropped (the person really moved the foot).

One FootContacts per track: a new track starts with no contact.
"""
from __future__ import annotations

import numpy as np

from core.skeleton import SOLE_BELOW_ANKLE

# (hip, knee, ankle) of the right and left leg (core/skeleton.py order)
LEGS = ((1, 2, 3), (4, 5, 6))
ON_HEIGHT, OFF_HEIGHT = 0.12, 0.22       # m: sole above the floor to touch down / lift off
ON_ABOVE, OFF_ABOVE = 0.05, 0.10         # m: above the other foot
ON_SPEED, OFF_SPEED = 0.6, 1.0           # m/s: horizontal ankle speed
RELEASE = 0.25                           # m: a lock this far from the posed ankle is dropped


def two_bone_ik(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, target: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """New (knee, ankle) reaching `target` from `hip` with the thigh and shin lengths of (hip, knee, ankle), the knee
    bending in the plane of the original leg (towards the original knee). A target out of reach is pulled onto
    the reachable sphere (the leg straight, pointing at it)."""
    a = float(np.linalg.norm(knee - hip))
    b = float(np.linalg.norm(ankle - knee))
    to = target - hip
    d = float(np.linalg.norm(to))
    if d < 1e-9 or a < 1e-9 or b < 1e-9:
        return knee.copy(), ankle.copy()
    axis = to / d
    d_ok = float(np.clip(d, abs(a - b) + 1e-6, a + b - 1e-6))
    reached = hip + axis * d_ok
    # Knee direction: the original knee's offset from the hip->target axis (else any perpendicular).
    side = (knee - hip) - ((knee - hip) @ axis) * axis
    if np.linalg.norm(side) < 1e-6:
        helper = np.array([1.0, 0, 0]) if abs(axis[0]) < 0.9 else np.array([0, 0, 1.0])
        side = np.cross(axis, helper)
    side /= np.linalg.norm(side)
    along = (a * a - b * b + d_ok * d_ok) / (2 * d_ok)    # law of cosines: the knee's projection on the axis
    height = np.sqrt(max(a * a - along * along, 0.0))
    return hip + axis * along + side * height, reached


class FootContacts:
    """Per track: contact flags (right, left) and the foot locks."""

    def __init__(self, lock: bool = True, release: float = RELEASE):
        self.lock, self.release = lock, release
        self.reset()

    def reset(self) -> None:
        self.contact = [False, False]
        self._locked: list[np.ndarray | None] = [None, None]
        self._prev: list[np.ndarray | None] = [None, None]
        self._t: float | None = None

    def update(self, joints: np.ndarray, t: float) -> tuple[np.ndarray, tuple[bool, bool]]:
        """joints: (17, 3) world pose (this frame) -> (pose with locked feet, (right, left) contact)."""
        out = np.array(joints, float)
        dt = None if self._t is None or t <= self._t else t - self._t
        soles = [out[ankle, 1] - SOLE_BELOW_ANKLE for _, _, ankle in LEGS]
        for i, (hip, knee, ankle) in enumerate(LEGS):
            pos = out[ankle]
            prev = self._prev[i]
            speed = 0.0 if prev is None or dt is None else float(np.linalg.norm((pos - prev)[[0, 2]])) / dt
            above = soles[i] - soles[1 - i]
            if self.contact[i]:
                self.contact[i] = not (soles[i] > OFF_HEIGHT or above > OFF_ABOVE or speed > OFF_SPEED)
            else:
                self.contact[i] = soles[i] < ON_HEIGHT and above < ON_ABOVE and speed < ON_SPEED
            self._prev[i] = pos.copy()
        self._t = t
        if self.lock:
            for i, (hip, knee, ankle) in enumerate(LEGS):
                if not self.contact[i]:
                    self._locked[i] = None
                    continue
                if self._locked[i] is None or np.linalg.norm((self._locked[i] - out[ankle])[[0, 2]]) > self.release:
                    self._locked[i] = np.array([out[ankle, 0], SOLE_BELOW_ANKLE, out[ankle, 2]])
                out[knee], out[ankle] = two_bone_ik(out[hip], out[knee], out[ankle], self._locked[i])
        return out, (bool(self.contact[0]), bool(self.contact[1]))
