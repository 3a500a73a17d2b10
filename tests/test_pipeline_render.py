"""Headless rendering: the 3D view shows the skeleton and ellipsoids, the composition and the writers work."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.records import Frame, FrameResult, Person
from tests.fakes_app import fake_estimate
from visualize.controls import Controls
from visualize.hud import draw_hud, hud_lines
from visualize.render import ProjectionRenderer, RenderWriter, side_by_side
from visualize.scene import SceneBuilder
from visualize.viewer3d import BACKGROUND, Viewer3D, ViewerUnavailable


def scene(spread=0.03):
    est = fake_estimate(n=8, spread=spread)
    result = FrameResult(frame=Frame(0, 0.0, np.zeros((48, 64, 3), np.uint8)), persons=[Person(0, None, estimate=est)])
    return SceneBuilder().build(result)


def coloured_fraction(img):
    bg = (np.array(BACKGROUND)[::-1] * 255).astype(int)
    diff = np.abs(img.astype(int) - bg).sum(-1)
    # Grid and hypothesis lines are grey; skeleton/ellipsoid pixels are saturated.
    sat = img.max(-1).astype(int) - img.min(-1).astype(int)
    return float(((diff > 30) & (sat > 60)).mean())


def test_projection_renderer_draws_and_toggles():
    c = Controls()
    r = ProjectionRenderer(320, 240, controls=c)
    r.update(scene())
    with_ell = coloured_fraction(r.render())
    c.ellipsoids = False
    without = coloured_fraction(r.render())
    assert without > 0.003 and with_ell > without


def test_scene_world_frame_feet_on_ground():
    s = scene()
    ps = s.persons[0]
    assert ps.joints[10, 1] > ps.joints[0, 1] > ps.joints[3, 1]   # +Y up: head above pelvis above ankle
    assert s.ground_y < ps.joints[[3, 6], 1].min()


def test_open3d_offscreen_view():
    try:
        v = Viewer3D.create(320, 240, visible=False)
    except ViewerUnavailable as e:
        pytest.skip(f"Open3D cannot render here: {e}")
    try:
        from visualize.scene import Scene

        v.update(Scene())                      # a first frame without a person must not break later frames
        empty = coloured_fraction(v.render())
        v.update(scene())
        img = v.render()
        assert coloured_fraction(img) > empty + 0.005
        assert img.shape == (240, 320, 3) and coloured_fraction(img) > 0.005
        v.controls.ellipsoids = False
        v.update(scene())
        assert coloured_fraction(v.render()) < coloured_fraction(img)
    finally:
        v.close()


def test_side_by_side_and_writers(tmp_path):
    left = np.zeros((100, 150, 3), np.uint8)
    right = np.full((240, 321, 3), 255, np.uint8)
    out = side_by_side(left, right)
    assert out.shape[0] == 240 and out.shape[1] % 2 == 0 and out.shape[1] >= 360 + 321
    draw_hud(out, hud_lines(12.3, 45.0, 16, 5, 2))
    w = RenderWriter(tmp_path / "v.mp4", fps=10)
    for _ in range(5):
        w.write(out)
    w.close()
    cap = cv2.VideoCapture(str(tmp_path / "v.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 5
    cap.release()
    single = RenderWriter(tmp_path / "img.mp4", fps=10, single=True)
    single.write(out)
    single.close()
    assert single.path.suffix == ".png" and cv2.imread(str(single.path)).shape == out.shape


def test_controls_keys():
    c = Controls()
    assert c.ellipsoids == "50" and c.show_ellipsoids
    for k in "hee ":
        assert c.key(k)
    assert not c.hypotheses and c.ellipsoids == "off" and not c.show_ellipsoids and c.paused
    c.key("e")
    assert c.ellipsoids == "50" and 2.3 < c.chi2 < 2.4    # chi2(3) median: 2.366
    assert Controls(ellipsoids=True).mode == "90" and Controls(ellipsoids="90").chi2 > 6.2
    c.key("r")
    assert c.reset_view and not c.key("x")
    c.key("q")
    assert c.quit


def test_fallback_renderer_when_open3d_cannot_open(monkeypatch):
    from visualize import render

    def fail(*a, **k):
        raise ViewerUnavailable("no GL here")

    monkeypatch.setattr(render.Viewer3D, "create", staticmethod(fail))
    said = []
    view = render.make_view(160, 120, visible=False, controls=Controls(), say=said.append)
    assert isinstance(view, ProjectionRenderer) and len(said) == 1 and "no GL here" in said[0]
    view.update(scene())
    assert view.render().shape == (120, 160, 3)


def test_no_window_without_display(monkeypatch):
    from visualize.window2d import open_window_2d

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert open_window_2d(Controls(), say=lambda m: None) is None


def test_render_to_a_folder(tmp_path):
    w = RenderWriter(str(tmp_path / "frames") + "/", fps=10)
    img = np.zeros((8, 10, 3), np.uint8)
    for i in (3, 4):
        w.write(img, index=i)
    w.close()
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == ["000003.png", "000004.png"]


def test_presenter_renders_overlay_and_view_side_by_side(tmp_path):
    from core.records import Candidates, Detection, Roi
    from visualize.present import Presenter

    writer = RenderWriter(tmp_path / "out.mp4", fps=10)
    view = ProjectionRenderer(320, 240, controls=Controls())
    p = Presenter(view, view.controls, window=False, writer=writer, hypotheses=8, steps=5)
    est = fake_estimate(n=8)
    xy = np.random.default_rng(0).uniform(20, 100, (17, 4, 2))
    person = Person(0, Detection(0.9, np.array([10, 10, 110, 110.0]), Roi(60, 60, 100)),
                    candidates=Candidates(xy=xy, likelihood=np.full((17, 4), 0.8)), estimate=est)
    for i in range(3):
        frame = Frame(i, i / 10, np.full((120, 160, 3), 90, np.uint8))
        p.write(FrameResult(frame=frame, persons=[person], timings_ms={"total": 12.0}))
    p.close()
    cap = cv2.VideoCapture(str(tmp_path / "out.mp4"))
    ok, img = cap.read()
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 3 and img.shape[0] == 240 and img.shape[1] >= 320 + 320
    cap.release()


class _CountingWindow:
    def __init__(self):
        self.shown = 0

    def show(self, image):
        self.shown += 1

    def poll(self):
        return True

    def close(self):
        pass


@pytest.mark.parametrize("with_writer", [False, True])
def test_live_windows_skip_late_frames_but_renders_never_do(tmp_path, with_writer):
    """Live with windows: a frame older than a camera period when it reaches the display is not drawn (drawing would
    delay the next estimate); frames on time are drawn. A render to a file draws every frame."""
    import time

    from visualize.present import Presenter

    view = ProjectionRenderer(160, 120, controls=Controls())
    writer = RenderWriter(tmp_path / "out.mp4", fps=30) if with_writer else None
    p = Presenter(view, view.controls, window=False, writer=writer, live=True)
    p.window, p._window_2d = True, _CountingWindow()   # as if there were a display
    now = time.perf_counter()
    late = [3, 4]
    for i in range(6):
        age = 0.2 if i in late else 0.005      # seconds since capture; the camera period is 1/30 s
        frame = Frame(i, i / 30, np.zeros((120, 160, 3), np.uint8), captured_at=now - age)
        p.write(FrameResult(frame=frame, persons=[]))
    p.close()
    if with_writer:
        assert p.skipped_views == 0 and p._window_2d.shown == 6
    else:
        assert p.skipped_views == len(late) and p._window_2d.shown == 6 - len(late)


class _FakeVis:
    def __init__(self):
        self.draws = 0

    def poll_events(self):
        return True

    def update_renderer(self):
        self.draws += 1

    def update_geometry(self, g):
        pass


def test_2d_window_draws_once_per_new_image():
    from visualize.window2d import Open3DImageWindow

    w = Open3DImageWindow.__new__(Open3DImageWindow)   # no display here: a fake Open3D visualizer underneath
    w.controls, w.vis, w._dirty, w._shape = Controls(), _FakeVis(), False, (4, 4, 3)
    w._image = np.zeros((4, 4, 3), np.uint8)
    w.show(np.zeros((4, 4, 3), np.uint8))
    assert w.vis.draws == 0                 # show only updates the picture; the runner's poll draws it
    w.poll(), w.poll()
    assert w.vis.draws == 1                 # and only once until the next image
