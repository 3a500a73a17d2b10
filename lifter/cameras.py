"""Virtual cameras like real webcam / phone footage, vectorised over a batch of poses.

A pose (world metres, +Y up) is turned about the vertical axis (any yaw around the person), then seen by a camera
at a random height above the feet, aimed at the body's centre with a framing jitter (so the person is sometimes
off-centre and partly out of frame), tilted by the aim's pitch clipped to a range, with a small roll. The distance
comes from how much of the frame height the person fills, so a wide webcam sits close and a narrow lens far, as in
real footage. Camera frame as pipeline/camera.py: x right, y down, z forward; pinhole, centred principal point.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class CameraBatch:
    points_cam: torch.Tensor   # (B, J, 3) camera frame, metres (not root-relative)
    intrinsics: torch.Tensor   # (B, 3, 3)
    image_size: torch.Tensor   # (B, 2) width, height px
    xy: torch.Tensor           # (B, J, 2) projected px


def _uniform(lo: float, hi: float, n: int, g: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g, dtype=torch.float64)


def project(points_cam: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """(B, J, 3) camera-frame points, (B, 3, 3) intrinsics -> (B, J, 2) px (depth clamped at 5 cm)."""
    z = points_cam[..., 2:3].clamp_min(0.05)
    uv = points_cam[..., :2] / z
    f = torch.stack([k[:, 0, 0], k[:, 1, 1]], -1)[:, None]
    c = torch.stack([k[:, 0, 2], k[:, 1, 2]], -1)[:, None]
    return uv * f + c


def sample_cameras(poses_world: torch.Tensor, cfg, g: torch.Generator) -> CameraBatch:
    """poses_world (B, J, 3) metres +Y up -> a random camera for each pose. cfg: SimConfig (camera fields)."""
    p = poses_world.to(torch.float64)
    b = p.shape[0]
    # Frame size: one of the configured sizes.
    sizes = torch.tensor(cfg.frame_sizes, dtype=torch.float64)
    weights = torch.tensor(cfg.frame_size_weights, dtype=torch.float64)
    pick = torch.multinomial(weights, b, replacement=True, generator=g)
    wh = sizes[pick]
    hfov = torch.deg2rad(_uniform(*cfg.hfov_deg, b, g))
    f = (wh[:, 0] / 2) / torch.tan(hfov / 2)
    k = torch.zeros(b, 3, 3, dtype=torch.float64)
    k[:, 0, 0] = f
    k[:, 1, 1] = f
    k[:, 0, 2] = wh[:, 0] / 2
    k[:, 1, 2] = wh[:, 1] / 2
    k[:, 2, 2] = 1.0

    # Any yaw around the person: turn the pose about world Y.
    yaw = _uniform(0.0, 2 * torch.pi, b, g)
    c, s = torch.cos(yaw), torch.sin(yaw)
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    p = torch.stack([c[:, None] * x + s[:, None] * z, y, -s[:, None] * x + c[:, None] * z], -1)

    lo, hi = p.amin(1), p.amax(1)
    height = (hi - lo).amax(1).clamp_min(0.5)  # body extent (largest axis, so lying poses are framed too)
    # Distance from how much of the vertical field the person fills.
    vfov_half = torch.atan(torch.tan(hfov / 2) * wh[:, 1] / wh[:, 0])
    fill = _uniform(*cfg.fill, b, g)
    dist = (height / (fill * 2 * torch.tan(vfov_half))).clamp(*cfg.distance_m)
    cam_h = lo[:, 1] + _uniform(*cfg.camera_height_m, b, g)  # above the lowest joint (the feet)
    # Camera sits on world +Z looking towards -Z; camera frame = diag(1, -1, -1) of world offsets.
    cam = torch.stack([torch.zeros_like(dist), cam_h, dist], -1)
    q = p - cam[:, None]
    q = torch.stack([q[..., 0], -q[..., 1], -q[..., 2]], -1)

    # Aim at the body centre plus a framing jitter proportional to the body height.
    centre = (lo + hi) / 2
    jitter = torch.randn(b, 2, generator=g, dtype=torch.float64) * cfg.aim_jitter * height[:, None]
    t = torch.stack([centre[:, 0] + jitter[:, 0], cam_h - (centre[:, 1] + jitter[:, 1]), dist - centre[:, 2]], -1)
    pan = torch.atan2(t[:, 0], t[:, 2])
    q = _rot_y(q, -pan)
    t = _rot_y(t[:, None], -pan)[:, 0]
    # Tilt to the aim, clipped to the pitch range (then the person may sit off-centre or partly out of frame).
    lo_p, hi_p = (float(v) for v in torch.deg2rad(torch.tensor(cfg.pitch_deg, dtype=torch.float64)))
    pitch = torch.atan2(t[:, 1], t[:, 2]).clamp(lo_p, hi_p)  # positive = looking down
    q = _rot_x(q, pitch)
    roll_std = float(torch.deg2rad(torch.tensor(cfg.roll_std_deg)))
    roll = (torch.randn(b, generator=g, dtype=torch.float64) * roll_std).clamp(-3 * roll_std, 3 * roll_std)
    q = _rot_z(q, roll)
    xy = project(q, k)
    return CameraBatch(points_cam=q.float(), intrinsics=k.float(), image_size=wh.float(), xy=xy.float())


def _rot_y(q: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Rotate camera-frame points about the camera's y axis by angle a (a = -pan brings a direction at pan to z)."""
    c, s = torch.cos(a)[:, None], torch.sin(a)[:, None]
    return torch.stack([c * q[..., 0] + s * q[..., 2], q[..., 1], -s * q[..., 0] + c * q[..., 2]], -1)


def _rot_x(q: torch.Tensor, pitch: torch.Tensor) -> torch.Tensor:
    """Tilt the camera down by `pitch` (radians): the new forward axis leans towards +y (down)."""
    c, s = torch.cos(pitch)[:, None], torch.sin(pitch)[:, None]
    y, z = q[..., 1], q[..., 2]
    return torch.stack([q[..., 0], c * y - s * z, s * y + c * z], -1)


def _rot_z(q: torch.Tensor, roll: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(roll)[:, None], torch.sin(roll)[:, None]
    x, y = q[..., 0], q[..., 1]
    return torch.stack([c * x - s * y, s * x + c * y, q[..., 2]], -1)
