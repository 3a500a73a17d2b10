"""90 % uncertainty ellipsoids from a joint's calibrated covariance: axes are the eigenvectors, radii are
sqrt(eigenvalue * chi2_3(0.90)); meshes for the 3D viewer, projected ellipses for the 2D fallback renderer."""
from __future__ import annotations

import numpy as np

from lifter.aggregate import CHI2_3DOF_90

SIZE_RANGE_M = (0.03, 0.30)   # largest radius mapped from green (sure) to red (unsure)


def ellipsoid_axes(cov: np.ndarray, chi2: float = CHI2_3DOF_90) -> tuple[np.ndarray, np.ndarray]:
    """cov (..., 3, 3) -> radii (..., 3) ascending, axes (..., 3, 3) with axis i in column i (unit eigenvectors)."""
    cov = np.asarray(cov, dtype=np.float64)
    sym = 0.5 * (cov + np.swapaxes(cov, -1, -2))
    vals, vecs = np.linalg.eigh(sym)
    return np.sqrt(np.clip(vals, 0.0, None) * chi2), vecs


def unit_sphere(resolution: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """A UV sphere: vertices (V, 3), triangles (T, 3) int32; same topology for every call with this resolution."""
    lat = np.linspace(0, np.pi, resolution + 1)[1:-1]
    lon = np.linspace(0, 2 * np.pi, 2 * resolution, endpoint=False)
    ring = np.stack([np.outer(np.sin(lat), np.cos(lon)), np.outer(np.sin(lat), np.sin(lon)),
                     np.repeat(np.cos(lat)[:, None], len(lon), 1)], -1).reshape(-1, 3)
    verts = np.concatenate([[[0, 0, 1.0]], ring, [[0, 0, -1.0]]])
    n_lon, n_lat = len(lon), len(lat)
    tris = []
    for i in range(n_lon):
        j = (i + 1) % n_lon
        tris.append((0, 1 + j, 1 + i))
        last = 1 + (n_lat - 1) * n_lon
        tris.append((len(verts) - 1, last + i, last + j))
        for r in range(n_lat - 1):
            a, b = 1 + r * n_lon + i, 1 + r * n_lon + j
            c, d = a + n_lon, b + n_lon
            tris += [(a, b, d), (a, d, c)]
    return verts, np.asarray(tris, dtype=np.int32)


def ellipsoid_vertices(center: np.ndarray, cov: np.ndarray, sphere: np.ndarray, chi2: float = CHI2_3DOF_90,
                       min_radius: float = 0.0) -> np.ndarray:
    """Unit-sphere vertices (V, 3) -> the ellipsoid's surface: center + axes @ diag(radii) @ v."""
    radii, axes = ellipsoid_axes(cov, chi2)
    radii = np.maximum(radii, min_radius)
    return np.asarray(center, float) + (sphere * radii) @ axes.T


def size_colour(radius: float | np.ndarray, lo: float = SIZE_RANGE_M[0], hi: float = SIZE_RANGE_M[1]) -> np.ndarray:
    """Largest radius (m) -> RGB in 0..1: green (small) through yellow to red (large)."""
    s = np.clip((np.asarray(radius, float) - lo) / (hi - lo), 0.0, 1.0)
    r = np.clip(2.0 * s, 0, 1)
    g = np.clip(2.0 * (1.0 - s), 0, 1)
    return np.stack([r, g, 0.15 * np.ones_like(s)], -1)


def projected_ellipse(center: np.ndarray, cov: np.ndarray, jac: np.ndarray, chi2: float = CHI2_3DOF_90
                      ) -> tuple[np.ndarray, np.ndarray, float]:
    """Outline of the 3D ellipsoid under a projection linearised at its centre (jac: 2x3 d pixel / d point).

    The image of {x: x^T (chi2 C)^-1 x <= 1} under a linear map J is {y: y^T (chi2 J C J^T)^-1 y <= 1}.
    Returns the 2D semi-axes lengths (2,), their unit directions (2, 2) in columns, and the angle (deg) of axis 0.
    """
    c2 = jac @ np.asarray(cov, float) @ jac.T
    vals, vecs = np.linalg.eigh(0.5 * (c2 + c2.T))
    semi = np.sqrt(np.clip(vals, 0, None) * chi2)
    angle = float(np.degrees(np.arctan2(vecs[1, 0], vecs[0, 0])))
    return semi, vecs, angle
