"""The app's display consumer: for each FrameResult it draws the 2D overlay with a HUD, updates the 3D view, shows
both in windows when there is a display, and writes them side by side when rendering (RenderWriter).

Windows only with a display (cv2.imshow without one aborts); visualize.window2d picks the 2D window's backend.
"""
from __future__ import annotations

import sys
import time

import numpy as np

from core.records import FrameResult
from visualize.controls import Controls, has_display
from visualize.hud import draw_hud, hud_lines
from visualize.overlay2d import draw_persons
from visualize.render import RenderWriter, side_by_side
from visualize.scene import SceneBuilder
from visualize.window2d import open_window_2d

class Presenter:
    def __init__(self, view, controls: Controls, window: bool = False, writer: RenderWriter | None = None,
                 hypotheses: int | None = None, steps: int | None = None, live: bool = False, say=None):
        self.view, self.controls = view, controls
        self.window = window and has_display()
        self.writer = writer
        self.hypotheses, self.steps, self.live = hypotheses, steps, live
        self.say = say or (lambda m: print(m, file=sys.stderr))
        self.scenes = SceneBuilder()
        self._count = 0
        self.skipped_views = 0           # live frames estimated and exported but not drawn (the display was behind)
        self._period: float | None = None   # live: seconds between camera frames (running estimate)
        self._last_stamp: float | None = None
        self._fps: float | None = None
        self._last_t: float | None = None
        self._window_2d = (open_window_2d(controls, say=self.say, beside_3d=getattr(view, "visible", False))
                           if self.window else None)
        if writer is not None and hasattr(view, "translucent"):
            view.translucent = True  # rendered frames show the skeleton through half-transparent ellipsoids

    def _hud(self, result: FrameResult) -> list[str]:
        now = time.perf_counter()
        if self._last_t is not None and now > self._last_t:
            inst = 1.0 / (now - self._last_t)
            self._fps = inst if self._fps is None else 0.9 * self._fps + 0.1 * inst
        self._last_t = now
        extra = {}
        if self.live:  # capture -> now; offline frames wait in a read-ahead queue, so show the processing time
            latency = (now - result.frame.captured_at) * 1e3 if result.frame.captured_at else None
            dropped = result.frame.index + 1 - self._count
        else:
            latency, dropped = None, None
            if "total" in result.timings_ms:
                extra["process"] = f"{result.timings_ms['total']:.0f} ms"
            extra["frame"] = str(result.frame.index)
        if not result.persons:
            extra["person"] = "none found"
        if result.world is not None and result.world.up_source != "default":
            w = result.world
            std = "given" if w.up_source == "given" else f"+-{w.up_std_deg:.1f}"
            extra["camera"] = f"pitch {w.pitch_deg:.1f} roll {w.roll_deg:.1f} deg ({std})"
        extra["ellipsoids"] = "off" if not self.controls.show_ellipsoids else f"{self.controls.mode} % (e)"
        if self.controls.paused:
            extra["paused"] = "(space)"
        return hud_lines(self._fps, latency, self.hypotheses, self.steps, dropped, extra)

    def _behind(self, result: FrameResult) -> bool:
        """Live windows only: this frame is already more than a camera period old. Drawing it would delay the next
        estimate (drawing costs about as much as estimating on software OpenGL), so it is skipped; the next frame
        that arrives in time is drawn. Renders to a file never skip."""
        if not (self.live and self.window and self.writer is None):
            return False
        t = result.frame.timestamp
        if self._last_stamp is not None and t > self._last_stamp:
            step = t - self._last_stamp
            self._period = step if self._period is None else min(step, 0.9 * self._period + 0.1 * step)
        self._last_stamp = t
        if self._period is None or not result.frame.captured_at:
            return False
        return time.perf_counter() - result.frame.captured_at > self._period

    def write(self, result: FrameResult) -> None:
        self._count += 1
        if self._behind(result):
            self.skipped_views += 1
            return
        overlay = draw_persons(result.frame.image, result.persons)
        draw_hud(overlay, self._hud(result))
        if self.controls.reset_view:
            self.scenes.reset()
        self.view.update(self.scenes.build(result))
        if self._window_2d is not None:
            # Without an Open3D window (fallback renderer) the 3D view goes beside the overlay in this window.
            shown = overlay if getattr(self.view, "visible", False) else side_by_side(overlay, self.view.render())
            self._window_2d.show(shown)
        if self.writer is not None:
            self.writer.write(side_by_side(overlay, self.view.render()), index=result.frame.index)

    def poll(self) -> bool:
        if self.window and getattr(self.view, "visible", False):
            self.view.poll()
        if self._window_2d is not None:
            self._window_2d.poll()
        return not self.controls.quit

    def close(self) -> None:
        try:
            if self.writer is not None:
                self.writer.close()
        finally:
            self.view.close()
            if self._window_2d is not None:
                self._window_2d.close()
