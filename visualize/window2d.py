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
# Where the windows open (without a window manager both would open at the same place and the 2D window would hide
# the 3D view): the 2D window at the left, at most BESIDE_WIDTH wide, the 3D window right of it
# (visualize.viewer3d.POSITION_3D).
POSITION_2D = (0, 40)
BESIDE_WIDTH = 620


def _fit(image: np.ndarray, max_width: int = MAX_WIDTH) -> np.ndarray:
    if image.shape[1] <= max_width:
        return image
    h = int(round(image.shape[0] * max_width / image.shape[1]))
    return cv2.resize(image, (max_width, h), interpolation=cv2.INTER_AREA)


class OpenCVWindow:
    max_width = MAX_WIDTH
    def __init__(self, controls: Controls, max_width: int = MAX_WIDTH):
        self.controls = controls
        self.max_width = max_width
        cv2.namedWindow(TITLE, cv2.WINDOW_NORMAL)  # raises cv2.error on builds without a GUI
        cv2.moveWindow(TITLE, *POSITION_2D)

    def show(self, image: np.ndarray) -> None:
        cv2.imshow(TITLE, _fit(image, self.max_width))
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
    max_width = MAX_WIDTH

    def __init__(self, controls: Controls, max_width: int = MAX_WIDTH):
        self.o3d = _import_open3d()
        self.controls = controls
        self.max_width = max_width
        self.vis = None
        self._image = None
        self._shape = None
        self._dirty = False      # a new image since the window was last drawn

    def _open(self, shape) -> None:
        vis = self.o3d.visualization.VisualizerWithKeyCallback()
        if not vis.create_window(window_name=TITLE, width=shape[1], height=shape[0], left=POSITION_2D[0],
                                 top=POSITION_2D[1], visible=True):
            raise ViewerUnavailable("Open3D cannot open a 2D window")
        bind_keys(vis, self.controls)
        self.vis = vis

    def show(self, image: np.ndarray) -> None:
        rgb = np.ascontiguousarray(_fit(image, self.max_width)[:, :, ::-1])
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


def open_window_2d(controls: Controls, say=print, beside_3d: bool = False):
    """The best 2D window available here, or None (no display, or neither backend works; said once).
    beside_3d: a 3D window is open too: keep this one narrow enough to sit left of it."""
    if not has_display():
        return None
    width = BESIDE_WIDTH if beside_3d else MAX_WIDTH
    try:
        return OpenCVWindow(controls, width)
    except cv2.error:
        pass
    try:
        window = Open3DImageWindow(controls, width)
        say("2D window: this OpenCV build has no GUI (opencv-python-headless); drawing it with Open3D")
        return window
    except ViewerUnavailable as e:
        say(f"2D window: not available ({e}); showing the 3D window only")
        return None
