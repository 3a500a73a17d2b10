"""The 3D state of every person in view, keyed by track id: created when an id first appears, dropped when the
front end ends its track (not merely when a frame misses the person: a track lost for a moment comes back under
the same id with its state). Another stage's per-person object (a root filter, foot contacts...) is one more
field of PersonState: it is then created, kept and dropped with the person."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from core.smoothing import OneEuroFilter
from pipeline.bones import TrackBones


@dataclass
class PersonState:
    prev_mean: np.ndarray | None = None     # raw lifter mean of the person's previous frame (warm start)
    prev_time: float = -1.0
    root: np.ndarray | None = None          # last solved root translation (camera frame, m)
    pose_filter: OneEuroFilter | None = None
    root_filter: OneEuroFilter | None = None
    bones: TrackBones | None = None          # the person's bone lengths over the video
    window: object | None = None             # lifter_mode temporal: lifter.temporal.TemporalStream, the person's frames
    raw: deque = field(default_factory=lambda: deque(maxlen=256))  # offline centred smoothing: recent (time, mean,
                                                                     # root) before smoothing, the frames after too


class PersonStates:
    """PersonState by track id."""

    def __init__(self):
        self._by_id: dict[int, PersonState] = {}

    def get(self, track_id: int) -> PersonState:
        """The person's state, new for an id not seen before."""
        return self._by_id.setdefault(track_id, PersonState())

    def keep_only(self, live: set[int]) -> list[int]:
        """Drop the state of every id not in `live` (their tracks ended); returns the dropped ids."""
        gone = [i for i in self._by_id if i not in live]
        for i in gone:
            del self._by_id[i]
        return gone

    def ids(self) -> set[int]:
        return set(self._by_id)

    def __contains__(self, track_id: int) -> bool:
        return track_id in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)
