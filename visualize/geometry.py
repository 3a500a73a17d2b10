"""Scene -> plain triangle meshes and line sets (numpy arrays), drawn by the Open3D viewer.

Mesh: the mean skeleton (joint spheres, bone cylinders; left green, right orange, centre blue) and one ellipsoid
per joint (50 % or 90 %, the controls' choice) coloured by the joint's uncertainty (its 90 % radius: green sure, red
unsure). Lines: the individual hypotheses (faint), a ground grid on the floor, each track's root path fading with
age, and the real camera as a small frustum.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.skeleton import BONES, LEFT, NUM_JOINTS, RIGHT
from lifter.aggregate import CHI2_3DOF_90
from visualize.colours import id_rgb
from visualize.ellipsoid import ellipsoid_axes, size_colour, unit_sphere
from visualize.scene import Scene

JOINT_RGB = np.array([(0.3, 0.78, 0.3) if j in LEFT else (1.0, 0.55, 0.16) if j in RIGHT else (0.24, 0.63, 1.0)
                      for j in range(NUM_JOINTS)])
HYPOTHESIS_RGB = (0.62, 0.62, 0.68)
GRID_RGB = (0.72, 0.72, 0.72)
TRAIL_RGB = (0.55, 0.2, 0.75)
CAMERA_RGB = (0.2, 0.2, 0.25)
FADE_TO = (0.96, 0.96, 0.97)    # the view's background: old trail points fade into it
JOINT_RADIUS = 0.03
BONE_RADIUS = 0.018
MIN_ELLIPSOID_RADIUS = 0.004


@dataclass
class MeshData:
    vertices: np.ndarray   # (V, 3)
    triangles: np.ndarray  # (T, 3) int
    colors: np.ndarray     # (V, 3) 0..1


@dataclass
class LineData:
    points: np.ndarray     # (P, 3)
    lines: np.ndarray      # (L, 2) int
    colors: np.ndarray     # (L, 3) 0..1


def _cylinder(n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Unit cylinder along +z from z=0 to z=1, radius 1, open ends."""
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.stack([np.cos(ang), np.sin(ang)], 1)
    verts = np.concatenate([np.c_[ring, np.zeros(n)], np.c_[ring, np.ones(n)]])
    tris = []
    for i in range(n):
        j = (i + 1) % n
        tris += [(i, j, n + j), (i, n + j, n + i)]
    return verts, np.asarray(tris, np.int32)


def _frame_along(d: np.ndarray) -> np.ndarray:
    """3x3 rotation whose z column is the unit vector d."""
    z = d / max(np.linalg.norm(d), 1e-9)
    helper = np.array([1.0, 0, 0]) if abs(z[0]) < 0.9 else np.array([0, 1.0, 0])
    x = np.cross(helper, z)
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(z, x), z], 1)


class GeometryBuilder:
    def __init__(self, sphere_resolution: int = 8):
        self.sphere_v, self.sphere_t = unit_sphere(sphere_resolution)
        self.cyl_v, self.cyl_t = _cylinder()

    def skeleton_mesh(self, scene: Scene) -> MeshData:
        """Joint spheres (coloured by side) and bone cylinders (in the person's id colour) of every mean pose."""
        parts = []
        for ps in scene.persons:
            for j in range(NUM_JOINTS):
                parts.append((ps.joints[j] + JOINT_RADIUS * self.sphere_v, self.sphere_t, JOINT_RGB[j]))
            for parent, child in BONES:
                a, b = ps.joints[parent], ps.joints[child]
                rot = _frame_along(b - a)
                v = (self.cyl_v * np.array([BONE_RADIUS, BONE_RADIUS, np.linalg.norm(b - a)])) @ rot.T + a
                parts.append((v, self.cyl_t, id_rgb(ps.id)))
        return _join(parts)

    def ellipsoid_mesh(self, scene: Scene, chi2: float = CHI2_3DOF_90) -> MeshData:
        """One ellipsoid per joint (axes = eigenvectors, radii = sqrt(eigenvalues * chi2)), coloured by the joint's
        90 % radius."""
        parts = []
        for ps in scene.persons:
            radii, axes = ellipsoid_axes(ps.covariance, chi2)
            colour_radii, _ = ellipsoid_axes(ps.covariance)
            for j in range(NUM_JOINTS):
                r = np.maximum(radii[j], MIN_ELLIPSOID_RADIUS)
                parts.append((ps.joints[j] + (self.sphere_v * r) @ axes[j].T, self.sphere_t,
                              size_colour(colour_radii[j].max())))
        return _join(parts)

    def ellipsoid_rings(self, scene: Scene, segments: int = 24, chi2: float = CHI2_3DOF_90) -> LineData:
        """The 90 % ellipsoids as wireframes: per joint the three principal ellipses (through two axes each), for
        the interactive window, where meshes cannot be transparent."""
        ang = np.linspace(0, 2 * np.pi, segments, endpoint=False)
        circle = np.stack([np.cos(ang), np.sin(ang)], 1)
        seg = np.stack([np.arange(segments), (np.arange(segments) + 1) % segments], 1)
        pts, lines, cols, n = [], [], [], 0
        for ps in scene.persons:
            radii, axes = ellipsoid_axes(ps.covariance, chi2)
            colour_radii, _ = ellipsoid_axes(ps.covariance)
            for j in range(NUM_JOINTS):
                r = np.maximum(radii[j], MIN_ELLIPSOID_RADIUS)
                rgb = size_colour(colour_radii[j].max())
                for a, b in ((0, 1), (1, 2), (0, 2)):
                    ring = circle[:, :1] * (r[a] * axes[j][:, a]) + circle[:, 1:] * (r[b] * axes[j][:, b])
                    pts.append(ps.joints[j] + ring)
                    lines.append(seg + n)
                    cols.append(np.tile(rgb, (segments, 1)))
                    n += segments
        if not pts:
            return LineData(np.zeros((0, 3)), np.zeros((0, 2), np.int32), np.zeros((0, 3)))
        return LineData(np.concatenate(pts), np.concatenate(lines).astype(np.int32), np.concatenate(cols))

    def lines(self, scene: Scene, hypotheses: bool = True) -> LineData:
        pts, lines, cols = [], [], []
        n = 0
        if hypotheses:
            bones = np.asarray(BONES)
            for ps in scene.persons:
                for h in ps.hypotheses:
                    pts.append(h)
                    lines.append(bones + n)
                    cols.append(np.tile(HYPOTHESIS_RGB, (len(bones), 1)))
                    n += len(h)
        # Ground grid centred under the focus, snapped to the grid step so it does not slide with the person, and
        # reaching everyone in view.
        grid_half, grid_step = grid_extent(scene.spread)
        cx = np.round(scene.focus[0] / grid_step) * grid_step
        cz = np.round(scene.focus[2] / grid_step) * grid_step
        ticks = np.arange(-grid_half, grid_half + 1e-9, grid_step)
        y = scene.ground_y
        for t in ticks:
            pts.append(np.array([[cx + t, y, cz - grid_half], [cx + t, y, cz + grid_half],
                                 [cx - grid_half, y, cz + t], [cx + grid_half, y, cz + t]]))
            lines.append(np.array([[n, n + 1], [n + 2, n + 3]]))
            cols.append(np.tile(GRID_RGB, (2, 1)))
            n += 4
        for trail in scene.trails:   # oldest faint, newest full colour
            if len(trail) < 2:
                continue
            age = np.linspace(1.0, 0.0, len(trail) - 1)[:, None]
            pts.append(trail)
            lines.append(np.stack([np.arange(len(trail) - 1), np.arange(1, len(trail))], 1) + n)
            cols.append(age * np.asarray(FADE_TO) + (1 - age) * np.asarray(TRAIL_RGB))
            n += len(trail)
        if scene.camera is not None:   # centre to each corner, and the image rectangle
            pts.append(scene.camera)
            lines.append(np.array([[0, 1], [0, 2], [0, 3], [0, 4], [1, 2], [2, 3], [3, 4], [4, 1]]) + n)
            cols.append(np.tile(CAMERA_RGB, (8, 1)))
            n += 5
        return LineData(np.concatenate(pts), np.concatenate(lines).astype(np.int32), np.concatenate(cols))


def grid_extent(spread: float) -> tuple[float, float]:
    """(half side, cell) of the ground grid for people up to `spread` metres from the focus: 2.5 m / 0.5 m cells for
    one person, growing in 2.5 m steps (so it does not flicker as people move) with cells of 1 m beyond 5 m and 2 m
    beyond 10 m (people 7.5 m either side of the focus get a 20 x 20 m grid of 21 lines a side, not 41)."""
    half = 2.5 * np.ceil((max(spread, 0.0) + 1.5) / 2.5)
    return float(half), 0.5 if half <= 5.0 else 1.0 if half <= 10.0 else 2.0


def _join(parts) -> MeshData:
    """[(vertices, triangles, rgb)] -> one MeshData with per-vertex colours."""
    if not parts:
        return MeshData(np.zeros((0, 3)), np.zeros((0, 3), np.int32), np.zeros((0, 3)))
    verts, tris, cols, n = [], [], [], 0
    for v, t, rgb in parts:
        verts.append(v)
        tris.append(t + n)
        cols.append(np.broadcast_to(np.asarray(rgb, float), v.shape))
        n += len(v)
    return MeshData(np.concatenate(verts), np.concatenate(tris).astype(np.int32), np.concatenate(cols))
