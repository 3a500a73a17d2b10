"""Virtual cameras like the footage people have, vectorised over a batch of poses: a documented mixture of modes
(configs/simulation.yaml `camera.modes`), each with its own frame sizes, lenses, distances, heights and roll:

- webcam: a desk or laptop camera 0.5-2 m away, aimed at the upper body; the person may be cut off by the frame;
- phone:  a phone or tripod 2-6 m away, landscape or portrait, the whole body in view;
- room:   a room or surveillance camera 3-10 m away and 2-4 m high, looking down (10-50 deg at typical distances),
          rolled up to +-15 deg, the whole body in view.

A pose (world metres, +Y up) is turned about the vertical axis (any yaw around the person); the camera stands at the
mode's distance and height above the floor (the lowest joint), aimed at the body's centre (webcam: part-way up to the
top) with a framing jitter; the pitch is the aim's, the roll drawn per mode. In full-body modes the distance grows
until the whole body fits the frame. Camera frame as core/camera.py: x right, y down, z forward; pinhole.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

FIT_MARGIN = 0.9      # full-body modes: the body spans at most this share of the frame's width and height
ROLL_LIMIT_DEG = 15.0


@dataclass
class CameraBatch:
    points_cam: torch.Tensor   # (B, J, 3) camera frame, metres (not root-relative)
    intrinsics: torch.Tensor   # (B, 3, 3)
    image_size: torch.Tensor   # (B, 2) width, height px
    xy: torch.Tensor           # (B, J, 2) projected px
    mode: torch.Tensor         # (B,) index into the config's camera modes (in their order)


def _uniform(lo, hi, g: torch.Generator) -> torch.Tensor:
    lo, hi = torch.as_tensor(lo, dtype=torch.float64), torch.as_tensor(hi, dtype=torch.float64)
    return lo + (hi - lo) * torch.rand(lo.shape, generator=g, dtype=torch.float64)


def project(points_cam: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """(B, J, 3) camera-frame points, (B, 3, 3) intrinsics -> (B, J, 2) px (depth clamped at 5 cm)."""
    z = points_cam[..., 2:3].clamp_min(0.05)
    uv = points_cam[..., :2] / z
    f = torch.stack([k[:, 0, 0], k[:, 1, 1]], -1)[:, None]
    c = torch.stack([k[:, 0, 2], k[:, 1, 2]], -1)[:, None]
    return uv * f + c


def _mode_table(modes: dict) -> dict[str, torch.Tensor]:
    """Per-mode settings as tensors indexed by mode, and every mode's frame sizes in one list."""
    names = list(modes)
    sizes, size_mode, size_w = [], [], []
    for i, n in enumerate(names):
        ws = modes[n].get("size_weights") or [1.0] * len(modes[n]["sizes"])
        for wh, w in zip(modes[n]["sizes"], ws):
            sizes.append(wh)
            size_mode.append(i)
            size_w.append(w)
    col = lambda key: torch.tensor([modes[n][key] for n in names], dtype=torch.float64)  # noqa: E731
    return {"share": col("share"), "hfov": col("hfov_deg"), "dist": col("distance_m"), "height": col("height_m"),
            "roll": col("roll_std_deg"), "aim": col("aim_jitter"), "aim_up": col("aim_up"),
            "full": col("full_body"), "sizes": torch.tensor(sizes, dtype=torch.float64),
            "size_mode": torch.tensor(size_mode), "size_w": torch.tensor(size_w, dtype=torch.float64)}


def sample_cameras(poses_world: torch.Tensor, cfg, g: torch.Generator, group: int = 1) -> CameraBatch:
    """poses_world (B, J, 3) metres +Y up -> a random camera for each pose. cfg: SimConfig (`modes`).

    group: consecutive runs of this many poses (the frames of a video window) share one camera, framed on all of
    them (the person moves inside a still camera's view); group 1 draws exactly what it always did."""
    p = poses_world.to(torch.float64)
    frames = p.shape[0]
    if frames % group:
        raise ValueError(f"{frames} poses do not split into groups of {group}")
    b = frames // group
    per = lambda x: x.repeat_interleave(group, 0) if group > 1 else x  # noqa: E731 (one draw per group -> frames)
    tab = _mode_table(cfg.modes)
    mode = torch.multinomial(tab["share"], b, replacement=True, generator=g)
    # Frame size: one of the mode's sizes (by weight).
    own = tab["size_mode"][None] == mode[:, None]
    pick = torch.multinomial(own * tab["size_w"][None], 1, generator=g)[:, 0]
    wh = tab["sizes"][pick]
    hfov = torch.deg2rad(_uniform(tab["hfov"][mode, 0], tab["hfov"][mode, 1], g))
    yaw = _uniform(torch.zeros(b), torch.full((b,), 2 * torch.pi), g)
    mode, wh, hfov, yaw = per(mode), per(wh), per(hfov), per(yaw)
    f = (wh[:, 0] / 2) / torch.tan(hfov / 2)
    k = torch.zeros(frames, 3, 3, dtype=torch.float64)
    k[:, 0, 0] = f
    k[:, 1, 1] = f
    k[:, 0, 2] = wh[:, 0] / 2
    k[:, 1, 2] = wh[:, 1] / 2
    k[:, 2, 2] = 1.0

    # Any yaw around the person: turn the pose about world Y.
    c, s = torch.cos(yaw), torch.sin(yaw)
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    p = torch.stack([c[:, None] * x + s[:, None] * z, y, -s[:, None] * x + c[:, None] * z], -1)

    lo, hi = per(p.view(b, -1, 3).amin(1)), per(p.view(b, -1, 3).amax(1))
    extent = (hi - lo).clamp_min(0.3)
    height = extent.amax(1).clamp_min(0.5)   # body size for framing (largest axis, so lying poses are framed too)
    dist = per(_uniform(tab["dist"][mode[::group], 0], tab["dist"][mode[::group], 1], g))
    # Full-body modes: back off until the body fits (vertical and horizontal extent, with a margin for its depth).
    tan_h = torch.tan(hfov / 2)
    tan_v = tan_h * wh[:, 1] / wh[:, 0]
    need = torch.maximum(extent[:, 1] / (2 * FIT_MARGIN * tan_v), torch.maximum(extent[:, 0], extent[:, 2])
                         / (2 * FIT_MARGIN * tan_h)) + extent[:, [0, 2]].amax(1) / 2
    dist = torch.where(tab["full"][mode] > 0, torch.maximum(dist, need), dist)
    # Above the floor (lowest joint).
    cam_h = lo[:, 1] + per(_uniform(tab["height"][mode[::group], 0], tab["height"][mode[::group], 1], g))
    # Camera sits on world +Z looking towards -Z; camera frame = diag(1, -1, -1) of world offsets.
    cam = torch.stack([torch.zeros_like(dist), cam_h, dist], -1)
    q = p - cam[:, None]
    q = torch.stack([q[..., 0], -q[..., 1], -q[..., 2]], -1)

    # Aim at the body centre (webcam: part-way up to the top) plus a framing jitter proportional to the body size.
    centre = (lo + hi) / 2
    centre[:, 1] += tab["aim_up"][mode] * (hi[:, 1] - centre[:, 1])
    jitter = per(torch.randn(b, 2, generator=g, dtype=torch.float64)) * tab["aim"][mode, None] * height[:, None]
    t = torch.stack([centre[:, 0] + jitter[:, 0], cam_h - (centre[:, 1] + jitter[:, 1]), dist - centre[:, 2]], -1)
    pan = torch.atan2(t[:, 0], t[:, 2])
    q = _rot_y(q, -pan)
    t = _rot_y(t[:, None], -pan)[:, 0]
    pitch = torch.atan2(t[:, 1], t[:, 2])  # positive = looking down
    q = _rot_x(q, pitch)
    roll = torch.deg2rad((per(torch.randn(b, generator=g, dtype=torch.float64)) * tab["roll"][mode])
                         .clamp(-ROLL_LIMIT_DEG, ROLL_LIMIT_DEG))
    q = _rot_z(q, roll)
    xy = project(q, k)
    return CameraBatch(points_cam=q.float(), intrinsics=k.float(), image_size=wh.float(), xy=xy.float(), mode=mode)


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
