"""A synthetic crossing made from real footage: two pedestrians cut out of vtest.avi (pixels that differ from the
empty scene, the median of the video) walk past each other on the empty scene, one in front of the other while
they overlap. Used by tests/test_multiperson.py."""
from __future__ import annotations

import cv2
import numpy as np

from core.records import Frame

# (frame, box x0 y0 x1 y1) of two people in vtest.avi (tools/data/vtest_people.json, frame 720): a blue jacket and
# a red-and-navy one
PEOPLE = ((720, (127, 182, 168, 262)), (720, (294, 163, 337, 248)))
SCALE = 2.0                     # sprites twice their size: people ~190 px tall
CANVAS = (200, 90, 680, 474)    # the part of the scene used as the stage (480 x 384)


def _video(path):
    cap = cv2.VideoCapture(str(path))
    frames = []
    for i in sorted({*range(0, 795, 53), 720}):
        cap.set(cv2.CAP_PROP_POS_FRAMES, i)
        ok, im = cap.read()
        if ok:
            frames.append(im)
    cap.release()
    return frames


def sprites(path):
    """(empty stage image, [(sprite BGR, mask)] for the two people)."""
    frames = _video(path)
    frames_by = dict(zip(sorted({*range(0, 795, 53), 720}), frames))
    background = np.median(np.stack(frames), 0).astype(np.uint8)
    out = []
    for index, (x0, y0, x1, y1) in PEOPLE:
        crop = frames_by[index][y0:y1, x0:x1]
        diff = np.abs(crop.astype(int) - background[y0:y1, x0:x1].astype(int)).max(2)
        mask = cv2.morphologyEx((diff > 30).astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
        size = (int((x1 - x0) * SCALE), int((y1 - y0) * SCALE))
        out.append((cv2.resize(crop, size), cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)))
    cx0, cy0, cx1, cy1 = CANVAS
    return background[cy0:cy1, cx0:cx1].copy(), out


def crossing(path, frames: int = 24, fps: float = 10.0):
    """Frames of person 0 walking right and person 1 walking left, crossing mid-way (person 1 in front);
    also returns each frame's true centre x of the two people."""
    stage, people = sprites(path)
    h, w = stage.shape[:2]
    xs = np.linspace(70, w - 70, frames)
    out, truth = [], []
    for i in range(frames):
        image = stage.copy()
        centres = (xs[i], xs[frames - 1 - i])
        for (sprite, mask), cx in zip(people, centres):
            sh, sw = mask.shape
            x = int(round(cx - sw / 2))
            y = h - sh - 10
            region = image[y:y + sh, x:x + sw]
            region[mask > 0] = sprite[mask > 0]
        out.append(Frame(i, i / fps, image))
        truth.append(centres)
    return out, np.array(truth)
