"""Small fake stages for the app's tests: a front end and a lifter with the real interfaces, no weights."""
from __future__ import annotations

import time

import numpy as np

from core.camera import intrinsics_from_fov, project
from core.protocols import FrontEndOutput
from core.records import Candidates, Detection, Estimate3D, Frame, Person, Roi
from detectors.tracking import TrackerState

# A standing person, root-relative camera frame (x right, y down, z forward), metres, H36M joint order.
REST_POSE = np.array([
    [0, 0, 0], [-0.13, 0, 0], [-0.14, 0.45, 0.02], [-0.15, 0.88, 0.05], [0.13, 0, 0], [0.14, 0.45, 0.02],
    [0.15, 0.88, 0.05], [0, -0.24, 0], [0, -0.5, 0], [0, -0.6, -0.03], [0, -0.72, 0], [0.18, -0.48, 0],
    [0.22, -0.2, 0.02], [0.25, 0.05, -0.05], [-0.18, -0.48, 0], [-0.22, -0.2, 0.02], [-0.25, 0.05, -0.05],
], dtype=np.float64)


def fake_estimate(n: int = 8, spread: float = 0.02, seed: int = 0, root=(0.0, 0.0, 3.5)) -> Estimate3D:
    rng = np.random.default_rng(seed)
    hyps = REST_POSE[None] + rng.normal(0, spread, (n, 17, 3)) * np.linspace(0.2, 2, 17)[None, :, None]
    hyps[:, 0] = 0
    mean = hyps.mean(0)
    d = hyps - mean
    cov = np.einsum("nji,njk->jik", d, d) / max(n - 1, 1) + 0.005**2 * np.eye(3)
    return Estimate3D(hypotheses=hyps, mean=mean, covariance=cov, root_translation=np.asarray(root, float))


class FakeFrontEnd:
    """Projects REST_POSE (moved by a sine, or to `path(frame index)`: camera-frame root) into the frame; `delay`
    seconds of work per frame."""

    def __init__(self, delay: float = 0.0, fov: float = 60.0, k: int = 4, path=None):
        self.delay, self.fov, self.k, self.path = delay, fov, k, path

    def process(self, frame: Frame, state=None):
        if self.delay:
            time.sleep(self.delay)
        w, h = frame.size
        kmat = intrinsics_from_fov(w, h, self.fov)
        t = np.array([0.3 * np.sin(frame.index / 5.0), 0.0, 3.5]) if self.path is None else self.path(frame.index)
        uv = project(REST_POSE + t, kmat)
        xy = np.repeat(uv[:, None], self.k, 1)
        lik = np.full((17, self.k), 0.9)
        box = np.r_[uv.min(0), uv.max(0)]
        det = Detection(score=0.9, bbox=box, roi=Roi(float(uv[:, 0].mean()), float(uv[:, 1].mean()), 200.0))
        persons = [Person(id=0, detection=det, candidates=Candidates(xy=xy, likelihood=lik))]
        timings = {"detect": 0.0, "landmarks": self.delay * 1e3, "candidates": 0.0}
        return FrontEndOutput(persons, TrackerState(timings_ms=timings))


class FakeLifter:
    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.calls = []

    def estimate(self, candidates, n=16, steps=5, init=None, init_t=None, **kw) -> Estimate3D:
        if self.delay:
            time.sleep(self.delay)
        self.calls.append({"n": n, "steps": steps, "init": init, "init_t": init_t})
        est = fake_estimate(n=n, seed=len(self.calls))
        est.root_translation = np.zeros(3)
        return est
