"""Open3D view of the 3D result: mean skeleton, per-joint 90 % ellipsoids, faint hypotheses, ground grid, a camera
that follows the person. One class for the interactive window and for headless rendering (legacy Visualizer with
visible=False renders offscreen through EGL); `render()` returns the view as a BGR image.

Open3D's own import or window creation can fail (missing system libraries, no GL); `Viewer3D.create` then raises
ViewerUnavailable and callers fall back to visualize.render.ProjectionRenderer.
"""
from __future__ import annotations

import os

import numpy as np

from core.errors import ViewerUnavailable
from visualize.controls import Controls
from visualize.geometry import GeometryBuilder
from visualize.scene import Scene
from visualize.view_camera import ViewCamera, follow

BACKGROUND = (0.96, 0.96, 0.97)
ELLIPSOID_OPACITY = 0.35  # rendered frames: ellipsoids faint enough that the skeleton reads through them
POSITION_3D = (630, 40)   # window position: right of the 2D window (visualize.window2d.POSITION_2D, 620 px wide)


def _import_open3d():
    try:
        import open3d as o3d
    except (ImportError, OSError) as e:  # e.g. libusb-1.0.so.0 / libGL missing
        raise ViewerUnavailable(f"open3d cannot be imported ({str(e).splitlines()[0]})") from None
    o3d.utility.set_verbosity_level(o3d.utility.VerbosityLevel.Error)
    return o3d


def bind_keys(vis, controls: Controls) -> None:
    """The app's keys (q h e r space, Esc = q) on an Open3D VisualizerWithKeyCallback window."""
    def on_key(key: str):
        return lambda _vis: controls.key(key) and False   # False: Open3D need not redraw for the key itself

    for key in "QHER ":
        vis.register_key_callback(ord(key), on_key(key))
    vis.register_key_callback(256, on_key("q"))  # Esc


class Viewer3D:
    def __init__(self, o3d, vis, width: int, height: int, visible: bool, controls: Controls, camera: ViewCamera):
        self.o3d, self.vis = o3d, vis
        self.width, self.height, self.visible = width, height, visible
        self.controls = controls
        self.camera = camera
        self.builder = GeometryBuilder()
        self.mesh = o3d.geometry.TriangleMesh()
        self.ell = o3d.geometry.TriangleMesh()
        self.rings = o3d.geometry.LineSet()
        self.wire = visible   # in a window ellipsoids are wireframes (no transparency in the legacy renderer)
        self.lines = o3d.geometry.LineSet()
        self._added = False
        self._dirty = True       # the scene changed since the window was last drawn
        self._ell_shown = True
        self.translucent = not visible   # rendered frames blend the ellipsoids half-transparent over the skeleton
        self._focus: np.ndarray | None = None
        self._extrinsic: np.ndarray | None = None
        opt = vis.get_render_option()
        opt.background_color = np.asarray(BACKGROUND)
        opt.mesh_show_back_face = True
        opt.light_on = True

    @classmethod
    def create(cls, width: int = 640, height: int = 480, visible: bool = False, controls: Controls | None = None,
               camera: ViewCamera | None = None) -> "Viewer3D":
        o3d = _import_open3d()
        if not visible:
            os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")  # quiets a warning from the offscreen path
        controls = controls or Controls()
        vis = o3d.visualization.VisualizerWithKeyCallback()
        try:
            ok = vis.create_window(window_name="diffmocap 3D", width=width, height=height, left=POSITION_3D[0],
                                   top=POSITION_3D[1], visible=visible)
        except Exception as e:  # noqa: BLE001 - any GL failure means: no 3D window here
            raise ViewerUnavailable(f"Open3D cannot create a window ({e})") from None
        if not ok:
            raise ViewerUnavailable("Open3D cannot create a window (no display or GL context)")
        bind_keys(vis, controls)
        return cls(o3d, vis, width, height, visible, controls, camera or ViewCamera())

    @staticmethod
    def _set_mesh(o3d, mesh, data) -> None:
        mesh.vertices = o3d.utility.Vector3dVector(data.vertices)
        mesh.triangles = o3d.utility.Vector3iVector(data.triangles)
        mesh.vertex_colors = o3d.utility.Vector3dVector(data.colors)
        mesh.compute_vertex_normals()

    @staticmethod
    def _set_lines(o3d, lineset, data) -> None:
        lineset.points = o3d.utility.Vector3dVector(data.points)
        lineset.lines = o3d.utility.Vector2iVector(data.lines)
        lineset.colors = o3d.utility.Vector3dVector(data.colors)

    def update(self, scene: Scene) -> None:
        o3d, c = self.o3d, self.controls
        user_ext = None
        if self._added and self.visible:  # the user's current view (mouse), kept while following
            user_ext = np.asarray(self.vis.get_view_control().convert_to_pinhole_camera_parameters().extrinsic)
        self._set_mesh(o3d, self.mesh, self.builder.skeleton_mesh(scene))
        chi2 = c.chi2 if c.show_ellipsoids else 1.0
        if self.wire:
            self._set_lines(o3d, self.rings, self.builder.ellipsoid_rings(scene, chi2=chi2))
            self._set_mesh(o3d, self.ell, self.builder.ellipsoid_mesh(Scene()))
        else:
            self._set_mesh(o3d, self.ell, self.builder.ellipsoid_mesh(scene, chi2))
        self._set_lines(o3d, self.lines, self.builder.lines(scene, hypotheses=c.hypotheses))
        if not self._added:
            for g in (self.lines, self.mesh, self.ell, self.rings):
                self.vis.add_geometry(g)
            self._added = True
        else:
            for g in (self.lines, self.mesh) + ((self.ell, self.rings) if self._ell_shown else ()):
                self.vis.update_geometry(g)
        self._show_ellipsoids(c.show_ellipsoids)
        # Refit the view's bounding box (it sets the clipping planes) to the current scene, then place our camera.
        self.vis.reset_view_point(True)
        self._place_camera(scene.focus, user_ext)
        self._dirty = True

    def _show_ellipsoids(self, show: bool) -> None:
        if show and not self._ell_shown:
            self.vis.add_geometry(self.ell, reset_bounding_box=False)
            self.vis.add_geometry(self.rings, reset_bounding_box=False)
        elif not show and self._ell_shown:
            self.vis.remove_geometry(self.ell, reset_bounding_box=False)
            self.vis.remove_geometry(self.rings, reset_bounding_box=False)
        self._ell_shown = show

    def _place_camera(self, focus: np.ndarray, user_ext: np.ndarray | None = None) -> None:
        ctr = self.vis.get_view_control()
        params = ctr.convert_to_pinhole_camera_parameters()
        if self._extrinsic is None or self.controls.reset_view:
            ext = self.camera.extrinsic(focus)
            self.controls.reset_view = False
        elif user_ext is not None:  # keep the user's mouse rotation/zoom, move along with the person
            ext = follow(user_ext, focus - self._focus)
        else:
            ext = follow(self._extrinsic, focus - self._focus)
        params.extrinsic = ext
        params.intrinsic.set_intrinsics(self.width, self.height, *self._k_params())
        ctr.convert_from_pinhole_camera_parameters(params, allow_arbitrary=True)
        self._extrinsic, self._focus = ext, np.asarray(focus, float).copy()

    def _k_params(self):
        k = self.camera.intrinsic(self.width, self.height)
        return k[0, 0], k[1, 1], k[0, 2], k[1, 2]

    def poll(self) -> bool:
        """Process window events; False once the window was closed or q pressed."""
        alive = self.vis.poll_events()
        if self._dirty:  # a redraw costs a frame of software OpenGL; mouse moves ask Open3D for their own
            self.vis.update_renderer()
            self._dirty = False
        if not alive:
            self.controls.quit = True
        return alive and not self.controls.quit

    def _capture(self) -> np.ndarray:
        self.vis.poll_events()
        self.vis.update_renderer()
        return np.asarray(self.vis.capture_screen_float_buffer(do_render=True))

    def render(self) -> np.ndarray:
        """The current view as an H x W x 3 uint8 BGR image (ellipsoids half transparent when translucent)."""
        buf = self._capture()
        if self.translucent and self._ell_shown and len(self.ell.triangles):
            self._show_ellipsoids(False)
            buf = ELLIPSOID_OPACITY * buf + (1 - ELLIPSOID_OPACITY) * self._capture()
            self._show_ellipsoids(True)
        return np.ascontiguousarray((np.clip(buf, 0, 1) * 255 + 0.5).astype(np.uint8)[:, :, ::-1])

    def close(self) -> None:
        try:
            self.vis.destroy_window()
        except Exception:  # noqa: BLE001 - closing a dead window
            pass
