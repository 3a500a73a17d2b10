"""detectors.sides: BlazePose's left/right flips undone along a track, a real turn left alone."""
from __future__ import annotations

import numpy as np
import pytest

from core.records import Landmarks, Roi
from detectors.sides import ARM_PAIRS, FACE_PAIRS, LEG_PAIRS, exchanged, keep_sides

PAIRS = FACE_PAIRS + ARM_PAIRS + LEG_PAIRS


def body(yaw: float, t: float) -> np.ndarray:
    """(33, 2) image px of a stick person turned `yaw` about the vertical (orthographic, 400 px tall), its arms
    swinging a little with time: the left side (first of each pair) at +x when facing the camera."""
    pts = np.zeros((33, 3))
    height = {0: 0.95, **{a: h for (a, _), h in zip(PAIRS, [0.96] * 3 + [0.94, 0.9] + [0.8, 0.62, 0.45, 0.42, 0.42,
                                                                                   0.43, 0.5, 0.27, 0.04, 0.02, 0.0])}}
    width = {a: w for (a, _), w in zip(PAIRS, [0.03, 0.04, 0.05, 0.08, 0.03, 0.2, 0.24, 0.26, 0.27, 0.26, 0.26,
                                               0.1, 0.11, 0.12, 0.12, 0.13])}
    for a, b in PAIRS:
        swing = 0.05 * np.sin(2 * np.pi * t) * (a in (13, 15, 17, 19, 21))
        pts[a] = [width[a], height[a], swing]
        pts[b] = [-width[a], height[a], -swing]
    pts[0] = [0.0, height[0], 0.08]
    c, s = np.cos(yaw), np.sin(yaw)
    x = pts[:, 0] * c + pts[:, 2] * s
    return np.stack([320 + 400 * x, 440 - 400 * pts[:, 1]], -1)


def landmarks(xy: np.ndarray) -> Landmarks:
    lm = np.zeros((33, 5))
    lm[:, :2] = xy
    lm[:, 3] = np.arange(33)                                  # visibility marks each landmark's identity
    heat = np.arange(39, dtype=np.float32)[:, None, None] * np.ones((39, 64, 64), np.float32)
    return Landmarks(roi=Roi(320, 240, 400), presence=1.0, landmarks=lm, world=np.tile(np.arange(33.0)[:, None], 3),
                     heatmaps=heat)


SWAP = np.arange(33)
for a, b in PAIRS:
    SWAP[a], SWAP[b] = b, a


def run(frames: list[np.ndarray], fps: float = 30.0) -> list[Landmarks]:
    state, out = None, []
    for i, xy in enumerate(frames):
        state, lm = keep_sides(state, landmarks(xy), i / fps)
        out.append(lm)
    return out


def exchanged_frames(out: list[Landmarks]) -> list[int]:
    return [i for i, lm in enumerate(out) if not np.array_equal(lm.landmarks[:, 3], np.arange(33))]


def test_a_short_flip_is_undone():
    truth = [body(0.3, i / 30) for i in range(90)]
    seen = [xy[SWAP] if 30 <= i < 50 else xy for i, xy in enumerate(truth)]   # BlazePose flips 20 frames
    out = run(seen)
    assert exchanged_frames(out) == list(range(30, 50))
    for lm, xy in zip(out, truth):
        np.testing.assert_allclose(lm.landmarks[:, :2], xy)


def test_only_the_flipped_limb_group_is_exchanged():
    truth = [body(0.3, i / 30) for i in range(60)]
    legs = np.arange(33)
    for a, b in LEG_PAIRS:
        legs[a], legs[b] = b, a
    out = run([xy[legs] if 20 <= i < 30 else xy for i, xy in enumerate(truth)])
    for lm, xy in zip(out, truth):
        np.testing.assert_allclose(lm.landmarks[:, :2], xy)


def test_a_person_turning_round_keeps_blazeposes_labels():
    # a full turn in 1.5 s: the left and right limbs cross in the image twice, continuously
    frames = [body(2 * np.pi * i / 45, i / 30) for i in range(90)]
    assert exchanged_frames(run(frames)) == []


def test_a_lasting_flip_is_blazeposes_reading_after_about_a_second():
    truth = [body(0.3, i / 30) for i in range(240)]
    out = run([xy[SWAP] if i >= 30 else xy for i, xy in enumerate(truth)])
    ex = exchanged_frames(out)
    assert ex[0] == 30 and ex == list(range(30, ex[-1] + 1))        # undone at first, as a flip would be
    assert 0.5 <= len(ex) / 30 <= 3.0                                # for about a second
    assert ex[-1] < 239                                              # then BlazePose's labels again, for good


def test_exchanging_moves_landmarks_world_and_heatmaps_together():
    lm = landmarks(body(0.0, 0.0))
    both = exchanged(lm, (True, True))
    np.testing.assert_array_equal(both.landmarks[:, 3], SWAP)
    np.testing.assert_array_equal(both.world[:, 0], SWAP)
    np.testing.assert_array_equal(both.heatmaps[:33, 0, 0], SWAP)
    np.testing.assert_array_equal(both.heatmaps[33:, 0, 0], np.arange(33, 39))  # helper points stay
    arms = exchanged(lm, (True, False))
    assert arms.landmarks[11, 3] == 12 and arms.landmarks[23, 3] == 23
    assert exchanged(lm, (False, False)) is lm


class FlippingLandmarks:
    """A landmark model that sees the stick person of `body` and flips their sides in frames 5..9."""

    def __init__(self):
        self.frame = 0
        self.refine = True

    def run(self, images, rois):
        xy = body(0.3, self.frame / 30)
        lm = landmarks(xy[SWAP] if 5 <= self.frame < 10 else xy)
        lm.aux = np.array([[320.0, 300.0], [320.0, 100.0]])
        lm.heatmaps = np.zeros((39, 64, 64), np.float32)
        return [lm for _ in rois]


class OnePerson:
    def detect(self, image):
        from core.records import Detection
        return [Detection(0.9, np.array([200.0, 40.0, 440.0, 460.0]), Roi(320, 250, 450))]


@pytest.mark.parametrize("on", [True, False])
def test_the_front_end_hands_on_continuous_sides(on):
    from core.records import Frame
    from detectors.frontend import FrontEnd

    model = FlippingLandmarks()
    fe = FrontEnd(detector=OnePerson(), landmark_model=model, keep_sides=on, k=2, seed=0)
    state, got = None, []
    for i in range(15):
        model.frame = i
        persons, state = fe.process(Frame(i, i / 30, np.zeros((480, 640, 3), np.uint8)), state)
        got.append(persons[0].landmarks.landmarks[:, :2])
    wrong = [i for i, xy in enumerate(got) if not np.allclose(xy, body(0.3, i / 30))]
    assert wrong == ([] if on else list(range(5, 10)))
