"""Left and right kept continuous along a track: BlazePose's left/right flips undone.

BlazePose sometimes labels a person's limbs the other way round for a run of frames: it takes a person seen from
the front for one seen from behind (or the reverse) and puts "left knee" on the right knee. On the real clips with 3D
truth (docs/realfootage.md) cam02 of the balancing trial does it for both the arms and the legs in about 35 of 100
frames (a run of ~25 frames, then flickers); the lifter then sees a person facing the other way and every joint's
depth flips (MediaPipe's world landmarks flip with it). A body cannot swap its sides between two frames, so:

- per limb group (arms with the face, legs with the feet) two readings of the track are followed: BlazePose's
  labels, and the labels exchanged. A reading pays, from one frame to the next, how far its landmarks moved (summed
  over shoulders to wrists, or hips to ankles, in units of the jump a flip makes), and the exchanged reading also pays
  `cost_per_s` for every second it is used. Each frame takes the cheaper reading, the exchanged one only when
  cheaper by `margin` (a two-state Viterbi run forwards, so it is causal: live and offline alike);
- a flip that lasts a moment is undone: following it would cost two jumps of the limbs across the body, undoing it
  only its time; a person really turning moves their limbs continuously, so BlazePose's reading stays the cheaper
  one; with the limbs on top of each other (a side view) both readings cost the same and BlazePose's labels stand;
- BlazePose keeps the last word: a flip that goes on for longer than about a second is taken as BlazePose seeing the
  person that way, and a wrong reading is never held for long.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from core.records import Landmarks

# BlazePose's 33 landmarks with left and right exchanged (names from the subject's view).
FACE_PAIRS = ((1, 4), (2, 5), (3, 6), (7, 8), (9, 10))
ARM_PAIRS = ((11, 12), (13, 14), (15, 16), (17, 18), (19, 20), (21, 22))
LEG_PAIRS = ((23, 24), (25, 26), (27, 28), (29, 30), (31, 32))
GROUPS = (FACE_PAIRS + ARM_PAIRS, LEG_PAIRS)
# The pairs compared: shoulders to wrists, hips to ankles (the hands' and feet's small points follow them).
COMPARED = (ARM_PAIRS[:3], LEG_PAIRS[:3])


def _perm(groups) -> np.ndarray:
    p = np.arange(33)
    for group in groups:
        for a, b in group:
            p[a], p[b] = b, a
    return p


@dataclass
class Sides:
    """One track's side state: its previous frame's landmarks (as BlazePose labelled them) and time, and per group
    the running cost of reading them as labelled and exchanged."""
    prev: np.ndarray | None = None          # (33, 2) image px
    time: float = 0.0
    cost: np.ndarray = field(default_factory=lambda: np.zeros((2, 2)))   # group x (as labelled, exchanged)


def exchanged(lm: Landmarks, groups: tuple[bool, bool]) -> Landmarks:
    """The landmarks with left and right exchanged in the chosen groups (landmarks, world, heatmap channels)."""
    if not any(groups):
        return lm
    p = _perm([g for g, on in zip(GROUPS, groups) if on])
    heat = np.asarray(lm.heatmaps)
    heat = np.concatenate([heat[p], heat[33:]]) if heat.shape[0] >= 33 else heat
    return replace(lm, landmarks=lm.landmarks[p], world=lm.world[p], heatmaps=heat)


def _moved(xy: np.ndarray, prev: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Summed landmark motion from `prev` to `xy` over the pairs (a[i], b[i]): keeping the labels, and exchanging
    them."""
    same = np.linalg.norm(xy[a] - prev[a], axis=-1).sum() + np.linalg.norm(xy[b] - prev[b], axis=-1).sum()
    other = np.linalg.norm(xy[b] - prev[a], axis=-1).sum() + np.linalg.norm(xy[a] - prev[b], axis=-1).sum()
    return float(same), float(other)


def keep_sides(state: Sides | None, lm: Landmarks, t: float, cost_per_s: float = 0.7,
               margin: float = 0.3) -> tuple[Sides, Landmarks]:
    """This frame's landmarks with left and right as the track had them (`state` None: a new track, BlazePose's
    labels). Costs are in units of a flip's jump (twice the summed left-right distance of the group's pairs, at
    least half the body's size): cost_per_s is what reading a group exchanged costs per second (so a flip is undone
    for about (1 - margin) / cost_per_s seconds at most), margin how much cheaper the exchanged reading must be
    (limbs crossing in a turn look like a small flip)."""
    xy = np.asarray(lm.landmarks[:, :2], float)
    if state is None or state.prev is None:
        return Sides(prev=xy, time=t, cost=np.array([[0.0, np.inf]] * 2)), lm
    size = float(np.ptp(xy[11:33], axis=0).max()) or 1.0
    dt = min(max(t - state.time, 0.0), 1.0)
    cost = np.empty((2, 2))
    for g, pairs in enumerate(COMPARED):
        a, b = np.array(pairs).T
        jump = max(np.linalg.norm(xy[a] - xy[b], axis=-1).sum() + np.linalg.norm(state.prev[a] - state.prev[b],
                                                                                   axis=-1).sum(), 0.5 * size)
        same, other = (m / jump for m in _moved(xy, state.prev, a, b))
        kept, flipped = state.cost[g]
        cost[g, 0] = min(kept + same, flipped + other)
        cost[g, 1] = min(flipped + same, kept + other) + cost_per_s * dt
        cost[g] -= cost[g].min()
    choice = tuple(bool(c[1] < c[0] - margin) for c in cost)
    return Sides(prev=xy, time=t, cost=cost), exchanged(lm, choice)
