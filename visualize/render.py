"""Headless output: the 3D view as an image (Open3D offscreen, or a plain OpenCV projection renderer when Open3D
cannot render), the 2D overlay and 3D view side by side, and a writer for the result (MP4 video or PNG).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.camera import project
from core.skeleton import BONES, NUM_JOINTS
from visualize.colours import draw_id_labels, id_bgr
from visualize.controls import Controls
from visualize.ellipsoid import ellipsoid_axes, projected_ellipse, size_colour
from visualize.geometry import GRID_RGB, HYPOTHESIS_RGB, JOINT_RGB, GeometryBuilder
from visualize.scene import Scene
from visualize.view_camera import ViewCamera
from visualize.viewer3d import BACKGROUND, Viewer3D, ViewerUnavailable


def _bgr(rgb) -> tuple[int, int, int]:
    r, g, b = (np.asarray(rgb) * 255).astype(int)
    return int(b), int(g), int(r)


class ProjectionRenderer:
    """The 3D scene drawn with OpenCV: grid, faint hypotheses, bones, and each 90 % ellipsoid as its projected
    outline (filled, half transparent), far to near. Same interface as Viewer3D (update / render / poll / close)."""

    def __init__(self, width: int = 640, height: int = 480, controls: Controls | None = None,
                 camera: ViewCamera | None = None):
        self.width, self.height = width, height
        self.controls = controls or Controls()
        self.camera = camera or ViewCamera()
        self.builder = GeometryBuilder()
        self.visible = False
        self._scene = Scene()

    def update(self, scene: Scene) -> None:
        self._scene = scene

    def poll(self) -> bool:
        return not self.controls.quit

    def close(self) -> None:
        pass

    def render(self) -> np.ndarray:
        s, c = self._scene, self.controls
        img = np.empty((self.height, self.width, 3), np.uint8)
        img[:] = _bgr(BACKGROUND)
        ext = self.camera.extrinsic(s.focus, s.spread)
        k = self.camera.intrinsic(self.width, self.height)

        def to_cam(p):
            return np.asarray(p, float) @ ext[:3, :3].T + ext[:3, 3]

        def line(a, b, colour, thick):
            pa, pb = to_cam(a), to_cam(b)
            if pa[2] > 0.05 and pb[2] > 0.05:
                ua, ub = project(pa, k), project(pb, k)
                cv2.line(img, tuple(np.round(ua).astype(int)), tuple(np.round(ub).astype(int)), colour, thick,
                         cv2.LINE_AA)

        grid = self.builder.lines(Scene(persons=[], ground_y=s.ground_y, focus=s.focus, trails=s.trails,
                                        camera=s.camera), hypotheses=False)
        for (a, b), rgb in zip(grid.lines, grid.colors):
            line(grid.points[a], grid.points[b], _bgr(rgb), 1 if np.allclose(rgb, GRID_RGB) else 2)
        for ps in s.persons:
            if c.hypotheses:
                for h in ps.hypotheses:
                    for a, b in BONES:
                        line(h[a], h[b], _bgr(HYPOTHESIS_RGB), 1)
            for a, b in BONES:
                line(ps.joints[a], ps.joints[b], id_bgr(ps.id), 3)
            if c.show_ellipsoids:
                self._ellipses(img, ps, ext, k, c.chi2)
            for j in range(NUM_JOINTS):
                p = to_cam(ps.joints[j])
                if p[2] > 0.05:
                    cv2.circle(img, tuple(np.round(project(p, k)).astype(int)), 4, _bgr(JOINT_RGB[j]), -1, cv2.LINE_AA)
        draw_id_labels(img, s.persons, ext, k)
        return img

    def _ellipses(self, img, ps, ext, k, chi2: float) -> None:
        rot = ext[:3, :3]
        cam = ps.joints @ rot.T + ext[:3, 3]
        radii, _ = ellipsoid_axes(ps.covariance)   # the colour: the 90 % radius
        layer = img.copy()
        for j in np.argsort(-cam[:, 2]):  # far first
            x, y, z = cam[j]
            if z <= 0.05:
                continue
            # d pixel / d world point at the joint: d(project)/d(cam point) @ rotation.
            dp = np.array([[k[0, 0] / z, 0, -k[0, 0] * x / z**2], [0, k[1, 1] / z, -k[1, 1] * y / z**2]])
            semi, _vecs, angle = projected_ellipse(cam[j], rot @ ps.covariance[j] @ rot.T, dp, chi2)
            centre = tuple(np.round(project(cam[j], k)).astype(int))
            axes = (max(1, int(round(semi[0]))), max(1, int(round(semi[1]))))
            colour = _bgr(size_colour(radii[j].max()))
            cv2.ellipse(layer, centre, axes, angle, 0, 360, colour, -1, cv2.LINE_AA)
            cv2.ellipse(img, centre, axes, angle, 0, 360, colour, 1, cv2.LINE_AA)
        cv2.addWeighted(layer, 0.45, img, 0.55, 0, dst=img)


def make_view(width: int, height: int, visible: bool, controls: Controls, say=print):
    """Open3D viewer when it works here, else the projection renderer (and say so once)."""
    try:
        return Viewer3D.create(width, height, visible=visible, controls=controls)
    except ViewerUnavailable as e:
        say(f"3D view: {e}; using the simple OpenCV projection renderer instead")
        return ProjectionRenderer(width, height, controls=controls)


def side_by_side(left: np.ndarray, right: np.ndarray, height: int | None = None) -> np.ndarray:
    """Both images scaled to the same height (default: the right one's) and joined horizontally."""
    height = height or right.shape[0]

    def fit(img):
        if img.shape[0] == height:
            return img
        w = max(1, int(round(img.shape[1] * height / img.shape[0])))
        return cv2.resize(img, (w, height), interpolation=cv2.INTER_AREA if img.shape[0] > height else cv2.INTER_LINEAR)

    out = np.concatenate([fit(left), fit(right)], axis=1)
    if out.shape[1] % 2:  # most video codecs want even sizes
        out = np.concatenate([out, out[:, -1:]], axis=1)
    return out


def is_folder_target(path) -> bool:
    """A render target that names a folder (ends with a slash, is a folder, or has no extension): one PNG per frame."""
    text = str(path)
    p = Path(text)
    return text.endswith(("/", "\\")) or p.is_dir() or p.suffix == ""


class RenderWriter:
    """Writes composed frames to an MP4 (or any OpenCV video extension), one PNG for a single image source (a path
    ending in .png also keeps only the last frame), or one PNG per frame into a folder (see is_folder_target)."""

    def __init__(self, path: str | Path, fps: float, single: bool = False):
        self.folder = is_folder_target(path)
        path = Path(path)
        if single and not self.folder and path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
            path = path.with_suffix(".png")
        self.path = path
        self.fps = fps if fps and fps > 0 else 25.0
        self.single = not self.folder and (single or path.suffix.lower() in (".png", ".jpg", ".jpeg"))
        self.frames = 0
        self._writer = None
        self._last: np.ndarray | None = None

    def write(self, image: np.ndarray, index: int | None = None) -> None:
        self.frames += 1
        if self.folder:
            self.path.mkdir(parents=True, exist_ok=True)
            name = f"{(self.frames - 1) if index is None else index:06d}.png"
            ok, data = cv2.imencode(".png", image)
            if not ok:
                raise OSError(f"cannot encode frame {name}")
            data.tofile(str(self.path / name))
            return
        if self.single:
            self._last = image
            return
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            size = (image.shape[1], image.shape[0])
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, size)
            if not self._writer.isOpened():
                raise OSError(f"cannot open a video writer for {self.path}")
            self._size = size
        if (image.shape[1], image.shape[0]) != self._size:
            image = cv2.resize(image, self._size)
        self._writer.write(image)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        if self.single and self._last is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            ok, data = cv2.imencode(self.path.suffix or ".png", self._last)
            if ok:
                data.tofile(str(self.path))
            self._last = None
