"""The 90 % ellipsoid drawn for a joint is exactly the one its covariance defines."""
from __future__ import annotations

import numpy as np

from lifter.aggregate import CHI2_3DOF_90
from visualize.ellipsoid import ellipsoid_axes, ellipsoid_vertices, projected_ellipse, size_colour, unit_sphere


def random_cov(rng):
    a = rng.normal(size=(3, 3)) * np.array([0.01, 0.04, 0.1])
    return a @ a.T + 1e-6 * np.eye(3)


def test_axes_are_eigenvectors_radii_scaled_by_chi2():
    rng = np.random.default_rng(1)
    for _ in range(5):
        cov = random_cov(rng)
        radii, axes = ellipsoid_axes(cov)
        vals, _ = np.linalg.eigh(cov)
        np.testing.assert_allclose(radii, np.sqrt(vals * CHI2_3DOF_90), rtol=1e-9)
        for i in range(3):  # each axis is an eigenvector with the matching eigenvalue
            np.testing.assert_allclose(cov @ axes[:, i], vals[i] * axes[:, i], atol=1e-12)
        np.testing.assert_allclose(axes.T @ axes, np.eye(3), atol=1e-12)


def test_mesh_surface_lies_on_the_chi2_level_set():
    rng = np.random.default_rng(2)
    cov = random_cov(rng)
    centre = np.array([0.3, -1.0, 2.0])
    sphere, tris = unit_sphere(12)
    verts = ellipsoid_vertices(centre, cov, sphere)
    d = verts - centre
    m = np.einsum("vi,ij,vj->v", d, np.linalg.inv(cov), d)
    np.testing.assert_allclose(m, CHI2_3DOF_90, rtol=1e-8)
    assert tris.max() == len(sphere) - 1 and tris.min() == 0
    # A diagonal covariance gives axis-aligned extents of sqrt(var * chi2).
    diag = np.diag([0.01, 0.0004, 0.0025])
    ext = np.abs(ellipsoid_vertices(np.zeros(3), diag, unit_sphere(40)[0])).max(0)
    np.testing.assert_allclose(ext, np.sqrt(np.diag(diag) * CHI2_3DOF_90), rtol=5e-3)


def test_projected_ellipse_matches_projected_points():
    rng = np.random.default_rng(3)
    cov = random_cov(rng)
    jac = rng.normal(size=(2, 3)) * 300
    semi, vecs, _ = projected_ellipse(np.zeros(3), cov, jac)
    pts = ellipsoid_vertices(np.zeros(3), cov, unit_sphere(60)[0]) @ jac.T
    # The silhouette's extent along each 2D axis equals that axis's semi-length.
    for i in range(2):
        np.testing.assert_allclose(np.abs(pts @ vecs[:, i]).max(), semi[i], rtol=5e-3)


def test_size_colour_goes_green_to_red():
    small, large = size_colour(0.0), size_colour(1.0)
    assert small[1] > small[0] and large[0] > large[1]


def test_wireframe_rings_lie_on_the_ellipsoid():
    from tests.fakes_app import fake_estimate
    from core.records import Frame, FrameResult, Person
    from visualize.geometry import GeometryBuilder
    from visualize.scene import SceneBuilder

    est = fake_estimate(n=8, spread=0.03)
    scene = SceneBuilder().build(FrameResult(Frame(0, 0.0, np.zeros((4, 4, 3), np.uint8)), [Person(0, None, estimate=est)]))
    rings = GeometryBuilder().ellipsoid_rings(scene, segments=16)
    ps = scene.persons[0]
    assert len(rings.points) == 17 * 3 * 16
    for j in (5, 13):
        pts = rings.points[j * 48:(j + 1) * 48] - ps.joints[j]
        m = np.einsum("vi,ij,vj->v", pts, np.linalg.inv(ps.covariance[j]), pts)
        np.testing.assert_allclose(m, CHI2_3DOF_90, rtol=1e-6)


def test_ground_grid_reaches_everyone_in_view():
    from visualize.geometry import GRID_RGB, GeometryBuilder, grid_extent
    from visualize.scene import Scene

    for spread in (0.0, 3.0, 8.0, 14.0):
        scene = Scene(ground_y=-0.1, focus=np.array([1.2, 1.0, -9.0]), spread=spread)
        lines = GeometryBuilder().lines(scene, hypotheses=False)
        grid = lines.points[lines.lines[np.all(lines.colors == GRID_RGB, axis=1)].ravel()]
        assert np.allclose(grid[:, 1], -0.1)
        half = np.abs(grid[:, [0, 2]] - scene.focus[[0, 2]]).max(0)
        assert np.all(half >= spread + 1.0), (spread, half)     # a metre of floor beyond the farthest root
        assert len(grid) // 4 <= 25                              # cells grow with the grid: lines stay few
    assert grid_extent(0.0) == (2.5, 0.5) and grid_extent(0.4) == grid_extent(0.9)    # steps: no flicker
