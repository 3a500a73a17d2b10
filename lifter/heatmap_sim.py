"""Heatmap-like maps for the training simulator, shaped after measured BlazePose heatmaps (tools/heatmap_stats.py).

Each rendered joint gets a 64x64 map in a BlazePose-like square ROI crop (cell (c, r) <-> crop pixel (4c, 4r) of a
256 crop): a Gaussian mode at the true position plus a detector-like offset, sometimes a second mode or a swap onto
the mirrored joint, a low flat map when the joint is outside the crop / image (or randomly occluded), and a small
background level. Maps are the sigmoid values the runtime samples from, so the same sampler draws candidates.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from pipeline.skeleton import FLIP_PERM, JOINT_INDEX

CROP_PX = 256
CELLS = 64
CELL_PX = CROP_PX // CELLS

# Joints rendered as their own map; pelvis, spine and thorax are derived from hip / shoulder pairs like the runtime.
SOURCES = (1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15, 16)
DERIVED = (0, 7, 8)


def source_table(spine_weight_pelvis: float) -> torch.Tensor:
    """(17, len(SOURCES)) weights mapping rendered source joints to our 17 joints (for combine_candidates)."""
    t = torch.zeros(17, len(SOURCES), dtype=torch.float64)
    col = {j: i for i, j in enumerate(SOURCES)}
    for j in SOURCES:
        t[j, col[j]] = 1.0
    hips = (col[JOINT_INDEX["l_hip"]], col[JOINT_INDEX["r_hip"]])
    shoulders = (col[JOINT_INDEX["l_shoulder"]], col[JOINT_INDEX["r_shoulder"]])
    for c in hips:
        t[0, c] = 0.5
        t[7, c] = 0.5 * spine_weight_pelvis
    for c in shoulders:
        t[8, c] = 0.5
        t[7, c] = 0.5 * (1.0 - spine_weight_pelvis)
    return t


@dataclass
class Roi:
    """Axis-aligned square crops (B,): top-left corner and side in image px."""
    x0: torch.Tensor
    y0: torch.Tensor
    size: torch.Tensor

    def image_to_cells(self, xy: torch.Tensor) -> torch.Tensor:
        """(B, J, 2) image px -> map cells."""
        s = (self.size / CROP_PX)[:, None, None]
        return (xy - torch.stack([self.x0, self.y0], -1)[:, None]) / s / CELL_PX

    def cells_to_image(self, cells: torch.Tensor) -> torch.Tensor:
        """(B, ..., 2) map cells -> image px."""
        shape = (-1,) + (1,) * (cells.ndim - 2) + (2,)
        s = (self.size / CROP_PX).view(shape[:-1] + (1,))
        return cells * CELL_PX * s + torch.stack([self.x0, self.y0], -1).view(shape)


def blazepose_roi(xy: torch.Tensor, cfg, g: torch.Generator) -> Roi:
    """MediaPipe-like full-body ROI from the true 2D joints (B, 17, 2): centred on the hip centre, side = 2 x the
    largest hip-centre-to-joint distance x roi_scale, with jitter on centre and scale (rotation-free)."""
    b = xy.shape[0]
    hip = (xy[:, JOINT_INDEX["l_hip"]] + xy[:, JOINT_INDEX["r_hip"]]) / 2
    radius = (xy - hip[:, None]).norm(dim=-1).amax(1).clamp_min(4.0)
    size = 2 * radius * cfg.roi_scale * torch.exp(torch.randn(b, generator=g) * cfg.roi_scale_jitter)
    centre = hip + torch.randn(b, 2, generator=g) * cfg.roi_centre_jitter * size[:, None]
    return Roi(x0=centre[:, 0] - size / 2, y0=centre[:, 1] - size / 2, size=size)


def _per_source(values: dict, default: float) -> torch.Tensor:
    names = [name for name, i in JOINT_INDEX.items()]
    return torch.tensor([float(values.get(names[j], default)) for j in SOURCES])


def render_maps(true_cells: torch.Tensor, outside: torch.Tensor, cfg, g: torch.Generator) -> torch.Tensor:
    """true_cells (B, 17, 2) true joint positions in map cells, outside (B, 17) bool (outside the image) ->
    (B, len(SOURCES), 64, 64) likelihood maps in 0..1."""
    b = true_cells.shape[0]
    src = torch.tensor(SOURCES)
    n_src = len(SOURCES)
    hm = cfg.heatmap
    sigma = _per_source(hm["sigma_cells"], 1.5)
    peak = _per_source(hm["peak_height"], 0.9)
    peak_sd = _per_source(hm["peak_height_std"], 0.1)
    offset_sd = _per_source(hm["offset_cells"], 0.7)
    p_second = _per_source(hm["second_mode_prob"], 0.02)
    p_swap = _per_source(hm["swap_prob"], 0.01)
    p_occ = _per_source(hm["occluded_prob"], 0.03)

    def rand(*shape):
        return torch.rand(*shape, generator=g)

    centre = true_cells[:, src] + torch.randn(b, n_src, 2, generator=g) * offset_sd[:, None]
    mirror_cells = true_cells[:, torch.tensor([FLIP_PERM[j] for j in SOURCES])]
    mirror = mirror_cells + torch.randn(b, n_src, 2, generator=g) * offset_sd[:, None]
    swap = rand(b, n_src) < p_swap
    main = torch.where(swap[..., None], mirror, centre)
    other = torch.where(swap[..., None], centre, mirror)
    height = (peak + torch.randn(b, n_src, generator=g) * peak_sd).clamp(0.05, 1.0)
    width = sigma * torch.exp(torch.randn(b, n_src, generator=g) * hm["sigma_log_std"])
    second = rand(b, n_src) < p_second
    lo, hi = hm["second_mode_rel"]
    height2 = torch.where(second, height * (lo + (hi - lo) * rand(b, n_src)), torch.zeros(()))

    # Outside the crop or the image: mostly a low, nearly flat map; random occlusion lowers and widens the mode.
    in_crop = ((main >= -0.5) & (main <= CELLS - 0.5)).all(-1)
    out = outside[:, src] | ~in_crop
    flat = out & (rand(b, n_src) < hm["flat_prob_outside"])
    occluded = ~flat & (rand(b, n_src) < p_occ)
    height = torch.where(occluded, height * hm["occluded_height_scale"], height)
    width = torch.where(occluded, width * hm["occluded_width_scale"], width)
    # A flat map is a very wide, low bump at the crop border nearest the joint (so its argmax is not arbitrary).
    fl_lo, fl_hi = hm["flat_level"]
    height = torch.where(flat, fl_lo + (fl_hi - fl_lo) * rand(b, n_src), height)
    width = torch.where(flat, torch.full_like(width, hm["flat_width_cells"]), width)
    main = torch.where(flat[..., None], main.clamp(0.0, CELLS - 1.0), main)
    height2 = torch.where(flat, torch.zeros(()), height2)

    grid = torch.arange(CELLS, dtype=torch.float32)

    def bump(c, w):  # separable Gaussian factors (b, n_src, 64)
        return torch.exp(-0.5 * ((grid - c[..., None]) / w[..., None]) ** 2)

    # One batched rank-3 product writes each map once: main mode + second mode + constant background.
    rows = torch.stack([bump(main[..., 1], width) * height[..., None], bump(other[..., 1], width) * height2[..., None],
                        torch.full((b, n_src, CELLS), float(hm["background"]))], -1)
    cols = torch.stack([bump(main[..., 0], width), bump(other[..., 0], width), torch.ones(b, n_src, CELLS)], -2)
    maps = torch.bmm(rows.view(-1, CELLS, 3), cols.view(-1, 3, CELLS)).view(b, n_src, CELLS, CELLS)
    # Only overlapping double modes can exceed 1.
    over = (height + height2 + hm["background"] > 1.0).view(-1)
    if bool(over.any()):
        flat_maps = maps.view(-1, CELLS, CELLS)
        flat_maps[over] = flat_maps[over].clamp_max(1.0)
    return maps
