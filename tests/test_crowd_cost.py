"""What makes a crowded frame cheaper (issue 13, speed) does not change what it computes: the candidates of all
people sampled in one call, one balance axis per person for all people at once, and a settled floor's refit from its
previous plane alone."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import pipeline.floor as floor_module
from core.records import Roi
from detectors.joint_map import blazepose_candidates, blazepose_candidates_many
from pipeline.floor import Floor, fit_plane, lowest_ankle
from pipeline.gravity import angle_deg, observe_many, up_from_angles
from tests.test_frontend import synthetic_landmarks
from tests.test_world import camera, to_camera, walker


def test_candidates_of_several_people_in_one_call():
    rois = [Roi(cx=300.0, cy=200.0, size=320.0, rotation=0.4), Roi(cx=80.0, cy=400.0, size=120.0, rotation=-0.2)]
    lms = [synthetic_landmarks(roi)[0] for roi in rois]
    # one person: the very same draws as before (the single-person path's outputs do not change)
    a = blazepose_candidates(lms[0], k=8, generator=torch.Generator().manual_seed(3))
    b = blazepose_candidates_many(lms[:1], k=8, generator=torch.Generator().manual_seed(3))[0]
    np.testing.assert_array_equal(a.xy, b.xy)
    # two people in one call: each person's candidates in their own crop (peaks exact, draws within a cell)
    both = blazepose_candidates_many(lms, k=8, generator=torch.Generator().manual_seed(3))
    assert len(both) == 2
    for lm, roi, cand in zip(lms, rois, both):
        alone = blazepose_candidates(lm, k=8, generator=torch.Generator().manual_seed(0))
        np.testing.assert_allclose(cand.xy[:, 0], alone.xy[:, 0], atol=1e-4)
        cell = 4 * roi.size / 256 * np.sqrt(2)
        assert np.abs(cand.xy - alone.xy[:, :1]).max() <= cell + 1e-4
    assert blazepose_candidates_many([], k=8) == []


def test_balance_axes_of_several_people_with_their_own_verticals():
    r, t = camera(20.0, 4.0, 3.0)
    poses = np.stack([to_camera(walker(0.1 * i, start=(i - 2.0, 0, -5.0 - i))[0], r, t) for i in range(4)])
    poses -= poses[:, :1]
    ups = np.stack([up_from_angles(20.0 + 10 * i, 4.0 - 3 * i) for i in range(4)])
    axes, ok = observe_many(poses, ups)
    for i in range(4):
        one, one_ok = observe_many(poses[i:i + 1], ups[i])
        assert ok[i] == one_ok[0]
        np.testing.assert_allclose(axes[i], one[0], atol=1e-12)
    assert ok.all() and angle_deg(axes, up_from_angles(20.0, 4.0)).max() < 15.0


def feet_of_walkers(seed: int = 0):
    """Lower ankles (camera frame) of 5 people walking 6 s in front of a camera 3.5 m up, pitch 28, roll 6, each
    person's depth scaled by their own error."""
    r, t = camera(28.0, 6.0, 3.5)
    up = up_from_angles(28.0, 6.0)
    scales = 1 + np.random.default_rng(seed).normal(0, 0.1, 5)
    points, groups = [], []
    for i in range(60):
        for k in range(5):
            w, _ = walker(i / 10, start=(-4.0 + 2 * k, 0, -5.0 - 2 * k), velocity=(0.4 * (k - 2), 0, 0.3 * (k % 2)))
            points.append(lowest_ankle(to_camera(w, r, t) * scales[k], up))
            groups.append(k)
    return np.array(points), np.array(groups), up


def test_a_settled_floor_refits_from_its_previous_plane_alone(monkeypatch):
    points, groups, up = feet_of_walkers()
    prior = up_from_angles(22.0, 6.0)
    solves = []
    real = floor_module.least_squares

    def counting(*args, **kwargs):
        solves.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(floor_module, "least_squares", counting)
    first = fit_plane(points, groups, prior, 8.0, Floor(-3.0, 1.0), 0.1)
    assert len(solves) == 1 and angle_deg(first.up, up) < 2.0
    # the previous plane where the grid's best tilt is: one solve, the same plane as solving from both starts
    solves.clear()
    again = fit_plane(points, groups, prior, 8.0, Floor(-3.0, 1.0), 0.1, previous=first)
    assert len(solves) == 1
    assert angle_deg(again.up, first.up) < 0.05 and again.height == pytest.approx(first.height, abs=0.01)
    # a previous plane 20 deg off: the grid's start is tried too, and the fit gets back to the feet's plane
    solves.clear()
    off = Floor(first.height, 0.1, up_from_angles(48.0, 6.0), 1.0)
    back = fit_plane(points, groups, prior, 8.0, Floor(-3.0, 1.0), 0.1, previous=off)
    assert len(solves) == 2 and angle_deg(back.up, first.up) < 0.5
