"""Headless output: the 3D view as an image (Open3D offscreen, or a plain OpenCV projection renderer when Open3D
cannot render), the 2D overlay and 3D view side by side, and a writer for the result (MP4 video or PNG).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from core.camera import project
from core.errors import ExportError
from core.outputs import NO_FRAMES, OutputFile, atomic_write, discard, partial_path, publish, reason
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

        grid = self.builder.lines(replace(s, persons=[]), hypotheses=False)
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


VIDEO_EXTS = (".mp4", ".m4v", ".mov", ".avi", ".mkv")    # written with the mp4v codec through OpenCV
IMAGE_EXTS = (".png", ".jpg", ".jpeg")                       # one picture: the last frame


def is_folder_target(path) -> bool:
    """A render target that names a folder (ends with a slash, is a folder, or has no extension): one PNG per frame."""
    text = str(path)
    p = Path(text)
    return text.endswith(("/", "\\")) or p.is_dir() or p.suffix == ""


def render_target_problem(path) -> str | None:
    """Why `path` cannot be a render target (one line), or None: a folder, a video or a picture by extension."""
    if is_folder_target(path):
        return None
    ext = Path(str(path)).suffix.lower()
    if ext in VIDEO_EXTS or ext in IMAGE_EXTS:
        return None
    return (f"{ext} is not a format the renderer writes; use a video ({', '.join(VIDEO_EXTS)}), a picture "
            f"({', '.join(IMAGE_EXTS)}) or a folder (one PNG per frame)")


class RenderWriter(OutputFile):
    """Writes composed frames to an MP4 (or another of VIDEO_EXTS), one PNG for a single image source (a path
    ending in .png also keeps only the last frame), or one PNG per frame into a folder (see is_folder_target).

    Every file follows core.outputs: a video grows under its partial name (out.partial.mp4) and close() re-opens it,
    counts its frames and renames it only when it holds every frame written; pictures are written atomically (a
    full disk never leaves a cut PNG). Afterwards `written`, `frames` and `failure` say what is on disk."""

    def __init__(self, path: str | Path, fps: float, single: bool = False):
        self.folder = is_folder_target(path)
        path = Path(path)
        if single and not self.folder and path.suffix.lower() not in IMAGE_EXTS:
            path = path.with_suffix(".png")
        self.path = path
        self.partial = partial_path(path)
        self.fps = fps if fps and fps > 0 else 25.0
        self.single = not self.folder and (single or path.suffix.lower() in IMAGE_EXTS)
        self.unit = "PNGs" if self.folder else "frames"
        self.frames = 0
        self._writer = None
        self._last: np.ndarray | None = None
        self._writing = False    # a video frame was handed to OpenCV and not yet counted

    def _encode(self, image: np.ndarray, ext: str) -> bytes:
        ok, data = cv2.imencode(ext, image)
        if not ok:
            raise ExportError(f"cannot write {self.path}: the image could not be encoded as {ext}")
        return data.tobytes()

    def write(self, image: np.ndarray, index: int | None = None) -> None:
        if self.failure:
            raise ExportError(self.failure)
        try:
            self._write(image, index)
        except ExportError as e:
            self.fail(str(e))
            raise

    def _write(self, image: np.ndarray, index: int | None) -> None:
        if self.folder:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise ExportError(f"cannot write {self.path}: {reason(e)}") from None
            name = f"{self.frames if index is None else index:06d}.png"
            atomic_write(self.path / name, self._encode(image, ".png"))
            self.frames += 1
            return
        if self.single:
            self._last = image
            self.frames = 1
            return
        if self._writer is None:
            size = (image.shape[1], image.shape[0])
            self._writer = cv2.VideoWriter(str(self.partial), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, size)
            if not self._writer.isOpened():
                self._writer = None
                discard(self.partial)
                raise ExportError(f"cannot write {self.path}: OpenCV cannot open a video writer for it")
            self._size = size
        if (image.shape[1], image.shape[0]) != self._size:
            image = cv2.resize(image, self._size)
        # An interrupt (the app raises KeyboardInterrupt on a signal) can land between OpenCV's write and the
        # count; _writing lets close() count that frame, which is in the file, instead of failing the whole video.
        self._writing = True
        self._writer.write(image)
        self.frames += 1
        self._writing = False

    def _verify_video(self, p: Path) -> None:
        """The video as written can be opened and holds every frame (a full disk or a kill leaves it unreadable)."""
        cap = cv2.VideoCapture(str(p))
        try:
            if not cap.isOpened():
                raise ExportError(f"cannot write {self.path}: the finished video cannot be read back")
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            if count != self.frames:   # the container's count disagrees: count the frames themselves
                count = 0
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                while cap.grab():
                    count += 1
            else:                      # the count is right: check the last frame's data is there
                cap.set(cv2.CAP_PROP_POS_FRAMES, max(0, count - 1))
                if not cap.grab():
                    count = count - 1
            if self._writing and count == self.frames + 1:   # the interrupted write made it: it is a whole frame
                self.frames, self._writing = count, False
            if count != self.frames:
                raise ExportError(f"cannot write {self.path}: the finished video holds {count} of "
                                  f"{self.frames} frames")
        finally:
            cap.release()

    def close(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.release()
            if self.failure:
                discard(self.partial)
            else:
                try:
                    publish(self.partial, self.path, self._verify_video)
                    self.written = True
                except ExportError as e:
                    self.fail(str(e))
        if self.single and self._last is not None:
            last, self._last = self._last, None
            try:
                atomic_write(self.path, self._encode(last, self.path.suffix or ".png"))
                self.written = True
            except ExportError as e:
                self.fail(str(e))
        if self.folder and self.frames:
            self.written = True
        if not self.frames and not self.failure:
            self.fail(NO_FRAMES)
