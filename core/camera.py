"""Pinhole camera helpers: intrinsics from a field of view, projection, camera <-> world axes.

Camera frame: x right, y down, z forward (OpenCV). World frame: +Y up, right-handed, metres.
"""
from __future__ import annotations

import numpy as np

DEFAULT_FOV_DEG = 60.0  # horizontal field of view assumed when the camera is unknown (typical webcam)


def intrinsics_from_fov(width: int, height: int, fov_deg: float = DEFAULT_FOV_DEG) -> np.ndarray:
    """3x3 K with the principal point at the image centre and square pixels; fov is horizontal."""
    f = (width / 2.0) / np.tan(np.radians(fov_deg) / 2.0)
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])


def project(points_cam: np.ndarray, k: np.ndarray) -> np.ndarray:
    """(..., 3) camera-frame points -> (..., 2) pixels."""
    z = np.clip(points_cam[..., 2:3], 1e-6, None)
    uv = points_cam[..., :2] / z
    return uv * np.array([k[0, 0], k[1, 1]]) + np.array([k[0, 2], k[1, 2]])


# Camera (y down, z forward) -> world (+Y up, +Z towards the camera): a 180 degree turn about x.
CAMERA_TO_WORLD = np.diag([1.0, -1.0, -1.0])


def camera_to_world(points_cam: np.ndarray) -> np.ndarray:
    return points_cam @ CAMERA_TO_WORLD.T


def world_to_camera(points_world: np.ndarray) -> np.ndarray:
    return points_world @ CAMERA_TO_WORLD  # the matrix is its own inverse
