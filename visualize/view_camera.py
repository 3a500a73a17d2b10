"""The virtual camera of the 3D view: looks at a focus point from an azimuth/elevation/distance (world +Y up).
Extrinsics use OpenCV's convention (x right, y down, z forward), as Open3D's PinholeCameraParameters do."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ViewCamera:
    azimuth_deg: float = 25.0     # turned right of the real camera (which looks along -Z of the world)
    elevation_deg: float = 12.0   # above the focus
    distance: float = 2.9         # metres from the focus
    fov_deg: float = 50.0         # vertical field of view of the view

    def extrinsic(self, focus: np.ndarray, spread: float = 0.0) -> np.ndarray:
        """4x4 world -> view-camera transform looking at `focus`, backed off so that people up to `spread` metres
        from the focus stay in view."""
        az, el = np.radians(self.azimuth_deg), np.radians(self.elevation_deg)
        distance = self.distance + spread / np.tan(np.radians(self.fov_deg) / 2.0)
        # The real camera sits on the +Z side of the person; put the eye there, turned by az, raised by el.
        offset = distance * np.array([np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el)])
        return look_at(np.asarray(focus, float) + offset, np.asarray(focus, float))

    def intrinsic(self, width: int, height: int) -> np.ndarray:
        f = (height / 2.0) / np.tan(np.radians(self.fov_deg) / 2.0)
        return np.array([[f, 0, (width - 1) / 2.0], [0, f, (height - 1) / 2.0], [0, 0, 1.0]])


def look_at(eye: np.ndarray, target: np.ndarray, up=(0.0, 1.0, 0.0)) -> np.ndarray:
    fwd = target - eye
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, np.asarray(up, float))
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    r = np.stack([right, down, fwd])
    e = np.eye(4)
    e[:3, :3] = r
    e[:3, 3] = -r @ eye
    return e


def follow(extrinsic: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Move a camera by `delta` (world) without turning it: keeps the user's rotation and zoom while following."""
    e = np.array(extrinsic, float)
    e[:3, 3] = e[:3, 3] - e[:3, :3] @ np.asarray(delta, float)
    return e
