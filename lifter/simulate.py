"""Training-data simulator: 3D mocap poses -> virtual camera -> heatmap-like maps -> the runtime's candidate sampler.

simulate_batch(poses_world, cfg, generator) gives the lifter's inputs (candidates normalised exactly as at run time)
and its target (the root-relative pose in the camera frame). Candidates are drawn by the same code as the runtime
(detectors.candidates.sample_candidates / combine_candidates) from maps whose statistics come from real BlazePose
heatmaps (configs/simulation.yaml, measured by tools/heatmap_stats.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml

from detectors import candidates as cand
from lifter import heatmap_sim
from lifter.cameras import project, sample_cameras
from lifter.inputs import normalise_candidates
from core.skeleton import JOINT_INDEX, NUM_JOINTS, ROOT

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "simulation.yaml"
MAP_CHUNK = 16  # poses whose heatmaps are rendered and sampled together


def _config_file(path: str | Path | None = None) -> dict:
    return yaml.safe_load(Path(path or DEFAULT_CONFIG).read_text())


@dataclass
class SimConfig:
    # Camera modes (lifter/cameras.py; configs/simulation.yaml camera.modes): name -> settings.
    modes: dict = field(default_factory=lambda: _config_file()["camera"]["modes"])
    # BlazePose-like ROI.
    roi_scale: float = 1.25
    roi_scale_jitter: float = 0.08
    roi_centre_jitter: float = 0.04
    # Where the runtime's joint 9 (the nose) sits on a mocap pose (see nose_points).
    nose_up_fraction: float = 0.35
    nose_forward_m: float = 0.10
    # Heatmap statistics (per-joint dicts keyed by joint name, plus scalars); see configs/simulation.yaml.
    heatmap: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path | None = None) -> "SimConfig":
        data = _config_file(path)
        flat = {}
        for section in ("camera", "roi", "landmarks"):
            for key, value in (data.get(section) or {}).items():
                flat[f"roi_{key}" if section == "roi" else key] = value
        flat["heatmap"] = data["heatmap"]
        known = set(cls.__dataclass_fields__)
        unknown = set(flat) - known
        if unknown:
            raise ValueError(f"unknown simulation settings: {sorted(unknown)}")
        return cls(**flat)


def error_rho(times: torch.Tensor, group: int, cfg: SimConfig) -> torch.Tensor:
    """(B,) each pose's 2D-error correlation with the pose before it, for windows of `group` consecutive poses at
    `times` (B,) seconds: exp(-dt / heatmap.real_2d.error_correlation_s), 0 at each window's first frame."""
    tau = float((cfg.heatmap.get("real_2d") or {}).get("error_correlation_s", 0.0))
    t = torch.as_tensor(times, dtype=torch.float64).reshape(-1, group)
    dt = torch.diff(t, dim=1).abs()
    rho = torch.exp(-dt / tau) if tau > 0 else torch.zeros_like(dt)
    return torch.cat([torch.zeros(len(t), 1, dtype=torch.float64), rho], 1).reshape(-1).float()


@dataclass
class SimBatch:
    cand_xy: torch.Tensor      # (B, 17, K, 2) normalised by lifter.inputs.normalise_candidates
    cand_lik: torch.Tensor     # (B, 17, K)
    pose_cam: torch.Tensor     # (B, 17, 3) root-relative, camera frame, metres (the target, runtime_joints)
    root_cam: torch.Tensor     # (B, 3) pelvis in the camera frame
    intrinsics: torch.Tensor   # (B, 3, 3)
    image_size: torch.Tensor   # (B, 2) width, height
    box: torch.Tensor          # (B, 3) normalisation box, px
    xy_true: torch.Tensor      # (B, 17, 2) true 2D keypoints as the runtime defines them (joint 9 = the nose), px
    visible: torch.Tensor      # (B, 17) bool: inside the image
    mode: torch.Tensor         # (B,) camera mode index (lifter.cameras)


def nose_points(points: torch.Tensor, cfg: SimConfig) -> torch.Tensor:
    """(B, 17, 3) poses (any right-handed frame) -> (B, 3) the nose, which the runtime reports as joint 9.

    Mocap joint 9 is the head base; the nose lies up the neck -> head-top line and forward of it. Forward is
    left x up (left = the shoulder line, up = the neck -> head-top direction), so the sign follows the subject."""
    neck, head = points[:, JOINT_INDEX["neck"]], points[:, JOINT_INDEX["head"]]
    left = points[:, JOINT_INDEX["l_shoulder"]] - points[:, JOINT_INDEX["r_shoulder"]]
    up = head - neck
    forward = torch.linalg.cross(left, up)
    forward = forward / forward.norm(dim=-1, keepdim=True).clamp_min(1e-9)
    return neck + cfg.nose_up_fraction * up + cfg.nose_forward_m * forward


def runtime_joints(points: torch.Tensor, cfg: SimConfig) -> torch.Tensor:
    """Mocap joints (B, 17, 3) -> the same 17 points the runtime's 2D front end defines (detectors/joint_map.py), so
    the 2D input, the 3D target and the real footage's truth mean one thing: joint 9 = the nose (nose_points),
    thorax = mid-shoulders, spine = mid(pelvis, thorax). Pelvis (mid-hips), limbs and head top are already so."""
    out = points.clone()
    out[:, JOINT_INDEX["neck"]] = nose_points(points, cfg)
    out[:, JOINT_INDEX["thorax"]] = (points[:, JOINT_INDEX["l_shoulder"]] + points[:, JOINT_INDEX["r_shoulder"]]) / 2
    out[:, JOINT_INDEX["spine"]] = (out[:, JOINT_INDEX["pelvis"]] + out[:, JOINT_INDEX["thorax"]]) / 2
    return out


def simulate_batch(
    poses_world: torch.Tensor,
    cfg: SimConfig,
    generator: torch.Generator,
    noise: str = "detector",
    k: int = 32,
    group: int = 1,
    rho: torch.Tensor | None = None,
) -> SimBatch:
    """poses_world (B, 17, 3) metres, +Y up, our joint order -> SimBatch.

    noise="detector": candidates drawn from simulated heatmaps; noise="none": all K candidates are the exact
    projected joints with likelihood 1. group: runs of this many consecutive poses (a video window) share one camera.
    rho (B,): with noise="detector", each pose's 2D errors are correlated rho[i] with the pose before it (frames of a
    video; heatmap_sim.render_maps, error_rho); None: independent. With group > 1 a share of each landmark's offset
    is the same in all the group's frames (heatmap.real_2d.persistent_share, heatmap_sim.fixed_offsets).
    """
    if poses_world.ndim != 3 or poses_world.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"poses_world must be (B, {NUM_JOINTS}, 3), got {tuple(poses_world.shape)}")
    cams = sample_cameras(poses_world, cfg, generator, group)
    points = runtime_joints(cams.points_cam, cfg)
    xy = project(points, cams.intrinsics)
    w, h = cams.image_size[:, 0:1], cams.image_size[:, 1:2]
    visible = (xy[..., 0] >= 0) & (xy[..., 0] < w) & (xy[..., 1] >= 0) & (xy[..., 1] < h)
    visible &= points[..., 2] > 0.05
    b = xy.shape[0]
    if noise == "none":
        xy_px = xy[:, :, None].expand(b, NUM_JOINTS, k, 2).contiguous()
        lik = torch.ones(b, NUM_JOINTS, k)
    elif noise == "detector":
        roi = heatmap_sim.blazepose_roi(xy, cfg, generator, rho=rho)
        src = heatmap_sim.source_positions(xy)
        src_out = (src[..., 0] < 0) | (src[..., 0] >= w) | (src[..., 1] < 0) | (src[..., 1] >= h)
        src_cells = roi.image_to_cells(src)
        # Render and sample a few poses at a time: the maps of a chunk stay in cache (several times faster).
        cells, lik_src = [], []
        chunk = MAP_CHUNK if rho is None else max(1, MAP_CHUNK // group) * group   # whole windows per chunk
        fixed = heatmap_sim.fixed_offsets(b, src_cells.shape[1], group, cfg, generator)
        for i in range(0, b, chunk):
            r = None if rho is None else rho[i:i + chunk]
            fx = None if fixed is None else fixed[i:i + chunk]
            maps = heatmap_sim.render_maps(src_cells[i:i + chunk], src_out[i:i + chunk], cfg, generator, rho=r,
                                           fixed=fx)
            c, l = cand.sample_candidates(maps, k, generator=generator)
            cells.append(c)
            lik_src.append(l)
        cells, lik_src = torch.cat(cells), torch.cat(lik_src)
        xy_px, lik = cand.combine_candidates(roi.cells_to_image(cells), lik_src, heatmap_sim.source_table())
    else:
        raise ValueError(f"noise must be 'detector' or 'none', got {noise!r}")
    cand_xy, cand_lik, box = normalise_candidates(xy_px, lik)
    root = points[:, ROOT]
    return SimBatch(
        cand_xy=cand_xy.float(),
        cand_lik=cand_lik.float(),
        pose_cam=(points - root[:, None]).float(),
        root_cam=root.float(),
        intrinsics=cams.intrinsics,
        image_size=cams.image_size,
        box=box.float(),
        xy_true=xy,
        visible=visible,
        mode=cams.mode,
    )
