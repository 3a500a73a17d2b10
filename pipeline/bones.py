"""One person's bone lengths over a video. A body's proportions do not change, but each frame's estimate of them is
noisy, and the MEAN of hypotheses that disagree in depth has shortened bones (averaging vectors that point different
ways shortens them; on the real clips the mean's bones were ~12 % short). So each track keeps the median, over its
last `window` frames, of the hypotheses' median bone lengths, and every hypothesis and the mean are rebuilt with
those lengths, bone directions kept (lifter.data.retarget).

The absolute size is not observable from one view; the lifter guesses its training population's. With scale "world"
the lengths are scaled so their sum matches the track's median of the BlazePose world landmarks' (a size prior the
landmark model learned from real people). docs/realfootage.md has the measurements of both."""
from __future__ import annotations

from collections import deque

import numpy as np

from lifter.data.retarget import bone_lengths, retarget
from pipeline.config import BonesConfig


class TrackBones:
    def __init__(self, cfg: BonesConfig):
        self.cfg = cfg
        self.lengths: deque = deque(maxlen=cfg.window)
        self.world: deque = deque(maxlen=cfg.window)

    def apply(self, est, world: np.ndarray | None = None) -> None:
        """Record this frame; rebuild est.hypotheses and est.mean with the track's lengths. world: this frame's
        (17, 3) world-landmark joints, or None."""
        hyps = np.asarray(est.hypotheses, np.float64)
        self.lengths.append(np.median(bone_lengths(hyps), axis=0))
        if world is not None:
            self.world.append(float(bone_lengths(np.asarray(world, np.float64)).sum()))
        if len(self.lengths) < self.cfg.min_frames:
            return
        lengths = np.median(np.stack(self.lengths), axis=0)
        if self.cfg.scale == "world" and self.world:
            lengths = lengths * (np.median(self.world) / lengths.sum())
        est.hypotheses = retarget(hyps, lengths).astype(np.asarray(est.hypotheses).dtype)
        est.mean = retarget(np.asarray(est.mean, np.float64), lengths).astype(np.asarray(est.mean).dtype)
