"""The 2D window (frame, keypoints, candidates, HUD): an OpenCV window when this OpenCV build has a GUI, else an
Open3D image window (opencv-python-headless has no imshow). Only ever created when there is a display: cv2.imshow
without one aborts the process."""
from __future__ import annotations

import cv2
import numpy as np

from visualize.controls import Controls, has_display
from visualize.viewer3d import ViewerUnavailable, _import_open3d, bind_keys

TITLE = "diffmocap 2D"
MAX_WIDTH = 960


def _fit(image: np.ndarray) -> np.ndarray:
    if image.shape[1] <= MAX_WIDTH:
        return image
    h = int(round(image.shape[0] * MAX_WIDTH / image.shape[1]))
    return cv2.resize(image, (MAX_WIDTH, h), interpolation=cv2.INTER_AREA)


class OpenCVWindow:
    def __init__(self, controls: Controls):
        self.controls = controls
        cv2.namedWindow(TITLE, cv2.WINDOW_NORMAL)  # raises cv2.error on builds without a GUI

    def show(self, image: np.ndarray) -> None:
        cv2.imshow(TITLE, _fit(image))
        self.poll()

    def poll(self) -> bool:
        key = cv2.waitKey(1) & 0xFF
        if key != 255:
            self.controls.key(chr(key))
        return not self.controls.quit

    def close(self) -> None:
        cv2.destroyWindow(TITLE)


class Open3DImageWindow:
    """Shows BGR images in an Open3D window (its legacy visualizer draws an Image geometry as a 2D picture)."""

    def __init__(self, controls: Controls):
        self.o3d = _import_open3d()
        self.controls = controls
        self.vis = None
        self._image = None
        self._shape = None
        self._dirty = False      # a new image since the window was last drawn

    def _open(self, shape) -> None:
        vis = self.o3d.visualization.VisualizerWithKeyCallback()
        if not vis.create_window(window_name=TITLE, width=shape[1], height=shape[0], visible=True):
            raise ViewerUnavailable("Open3D cannot open a 2D window")
        bind_keys(vis, self.controls)
        self.vis = vis

    def show(self, image: np.ndarray) -> None:
        rgb = np.ascontiguousarray(_fit(image)[:, :, ::-1])
        if self.vis is None:
            self._open(rgb.shape)
        if self._shape != rgb.shape:
            self._image = self.o3d.geometry.Image(rgb)
            self.vis.clear_geometries()
            self.vis.add_geometry(self._image)
            self._shape = rgb.shape
        else:
            np.asarray(self._image)[:] = rgb  # the geometry's own buffer: no re-upload of a new object
            self.vis.update_geometry(self._image)
        self._dirty = True
        # No poll here: the runner polls every consumer after each frame (Presenter.poll), and each draw costs
        # ~6 ms on software OpenGL.

    def poll(self) -> bool:
        if self.vis is not None:
            if not self.vis.poll_events():
                self.controls.quit = True
            if self._dirty:
                self.vis.update_renderer()
                self._dirty = False
        return not self.controls.quit

    def close(self) -> None:
        if self.vis is not None:
            self.vis.destroy_window()
            self.vis = None


def open_window_2d(controls: Controls, say=print):
    """The best 2D window available here, or None (no display, or neither backend works; said once)."""
    if not has_display():
        return None
    try:
        return OpenCVWindow(controls)
    except cv2.error:
        pass
    try:
        window = Open3DImageWindow(controls)
        say("2D window: this OpenCV build has no GUI (opencv-python-headless); drawing it with Open3D")
        return window
    except ViewerUnavailable as e:
        say(f"2D window: not available ({e}); showing the 3D window only")
        return None
