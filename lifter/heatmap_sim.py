"""Heatmap-like maps for the training simulator, shaped after measured BlazePose heatmaps (tools/heatmap_stats.py).

The simulator renders one 64x64 map per BlazePose landmark that the runtime's joint map uses
(detectors.joint_map.USED) in a BlazePose-like square ROI crop (cell (c, r) <-> crop pixel (4c, 4r) of a 256 crop),
and maps candidates to our 17 joints with the runtime's own table (detectors.joint_map.TABLE), so derived joints
(pelvis, spine, thorax, head) get exactly the runtime's mixture of landmark noise. Each map: a Gaussian mode at the
true position plus a detector-like offset, sometimes a second mode or a swap onto the mirrored landmark, a low
flat map when the landmark is outside the image or the crop (or randomly occluded), and a background level.
Values are the sigmoid likelihoods the runtime samples from.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from detectors import joint_map
from core.skeleton import JOINT_INDEX

CROP_PX = 256
CELLS = 64
CELL_PX = CROP_PX // CELLS

# BlazePose landmark names (subject's view), for the landmarks the joint map uses.
LANDMARK_NAMES = {
    0: "nose", 7: "left_ear", 8: "right_ear", 11: "left_shoulder", 12: "right_shoulder", 13: "left_elbow",
    14: "right_elbow", 15: "left_wrist", 16: "right_wrist", 23: "left_hip", 24: "right_hip", 25: "left_knee",
    26: "right_knee", 27: "left_ankle", 28: "right_ankle",
}
SOURCES = tuple(joint_map.USED)                       # BlazePose indices rendered, in the table's column order
SOURCE_NAMES = tuple(LANDMARK_NAMES[i] for i in SOURCES)


def _mirror(name: str) -> str:
    return name.replace("left", "@").replace("right", "left").replace("@", "right")


MIRROR = tuple(SOURCE_NAMES.index(_mirror(n)) for n in SOURCE_NAMES)
# Our joints that each directly-mapped landmark copies (the ears are placed virtually, see source_positions).
_DIRECT = {
    "nose": "neck", "left_shoulder": "l_shoulder", "right_shoulder": "r_shoulder", "left_elbow": "l_elbow",
    "right_elbow": "r_elbow", "left_wrist": "l_wrist", "right_wrist": "r_wrist", "left_hip": "l_hip",
    "right_hip": "r_hip", "left_knee": "l_knee", "right_knee": "r_knee", "left_ankle": "l_ankle",
    "right_ankle": "r_ankle",
}


def source_table():
    """(17, len(SOURCES)) the runtime's weights from the rendered landmarks to our joints (combine_candidates)."""
    return joint_map.TABLE[:, list(SOURCES)]


def source_positions(xy17: torch.Tensor) -> torch.Tensor:
    """(B, 17, 2) true joints -> (B, len(SOURCES), 2) true landmark positions.

    Mocap has no ears: both are placed where the runtime's head formula (head = mid-ears + e * (mid-ears -
    mid-shoulders)) returns our true head joint, so the derived head is unbiased and carries the ears' noise."""
    e = joint_map.HEAD_EXTENSION
    shoulders = (xy17[:, JOINT_INDEX["l_shoulder"]] + xy17[:, JOINT_INDEX["r_shoulder"]]) / 2
    ears = (xy17[:, JOINT_INDEX["head"]] + e * shoulders) / (1.0 + e)
    cols = []
    for name in SOURCE_NAMES:
        cols.append(ears if name.endswith("_ear") else xy17[:, JOINT_INDEX[_DIRECT[name]]])
    return torch.stack(cols, 1)


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


def blazepose_roi(xy: torch.Tensor, cfg, g: torch.Generator, rho: torch.Tensor | None = None) -> Roi:
    """MediaPipe-like full-body ROI from the true 2D joints (B, 17, 2): centred on the hip centre, side = 2 x the
    largest hip-centre-to-joint distance x roi_scale, with jitter on centre and scale (rotation-free). rho (B,): the
    jitter of a video's frames correlated with the frame before (the app's ROI follows the last landmarks), as
    render_maps' errors; None: independent."""
    b = xy.shape[0]
    hip = (xy[:, JOINT_INDEX["l_hip"]] + xy[:, JOINT_INDEX["r_hip"]]) / 2
    radius = (xy - hip[:, None]).norm(dim=-1).amax(1).clamp_min(4.0)
    size = 2 * radius * cfg.roi_scale * torch.exp(ar_normal((b,), rho, g) * cfg.roi_scale_jitter)
    centre = hip + ar_normal((b, 2), rho, g) * cfg.roi_centre_jitter * size[:, None]
    return Roi(x0=centre[:, 0] - size / 2, y0=centre[:, 1] - size / 2, size=size)


def per_source(values: dict, default: float) -> torch.Tensor:
    """A per-landmark setting (dict name -> value) as a (len(SOURCES),) tensor; missing names take the default."""
    return torch.tensor([float(values.get(name, default)) for name in SOURCE_NAMES])


def _odds_scaled(p: torch.Tensor, scale: float) -> torch.Tensor:
    """A probability with its odds multiplied by scale (0 and 1 stay 0 and 1)."""
    return p * scale / (1.0 - p + p * scale).clamp_min(1e-12)


def ar_normal(shape: tuple, rho: torch.Tensor | None, g: torch.Generator) -> torch.Tensor:
    """Standard normal draws of `shape` whose row i is correlated rho[i] with row i - 1 (AR(1) along the batch: the
    frames of a video window, rho 0 at a window's first frame); rho None: independent rows (the same draws as
    torch.randn)."""
    z = torch.randn(*shape, generator=g)
    if rho is None:
        return z
    r = rho.to(z.dtype).clamp(0.0, 0.999)
    out = z.clone()
    for i in range(1, shape[0]):
        out[i] = r[i] * out[i - 1] + torch.sqrt(1 - r[i] ** 2) * z[i]
    return out


def _uniform(shape: tuple, rho: torch.Tensor | None, g: torch.Generator) -> torch.Tensor:
    """Uniform draws in 0..1, correlated along the batch as ar_normal (a Gaussian copula): a swap or a miss then
    persists over a few frames, as BlazePose's do. rho None: torch.rand."""
    if rho is None:
        return torch.rand(*shape, generator=g)
    return 0.5 * (1 + torch.erf(ar_normal(shape, rho, g) / 2 ** 0.5))


def persistent_share(cfg) -> float:
    """heatmap.real_2d.persistent_share: the share of each landmark's peak-offset variance that stays the same through
    a video (0 when the config has none)."""
    return float((cfg.heatmap.get("real_2d") or {}).get("persistent_share", 0.0))


def fixed_offsets(b: int, n_src: int, group: int, cfg, g: torch.Generator) -> torch.Tensor | None:
    """(b, n_src, 2) standard normal directions, one draw per run of `group` frames (a video of one person under one
    camera): the part of each landmark's peak offset that stays the same through the video
    (heatmap.real_2d.persistent_share; render_maps). None (and nothing drawn) with group 1 or a share of 0."""
    if group <= 1 or persistent_share(cfg) <= 0:
        return None
    return torch.randn(b // group, n_src, 2, generator=g).repeat_interleave(group, 0)


def render_maps(cells: torch.Tensor, outside: torch.Tensor, cfg, g: torch.Generator,
                rho: torch.Tensor | None = None, fixed: torch.Tensor | None = None) -> torch.Tensor:
    """cells (B, S, 2) true landmark positions in map cells, outside (B, S) bool (outside the image) ->
    (B, S, 64, 64) likelihood maps in 0..1 for the S = len(SOURCES) rendered landmarks.

    rho (B,): the maps are consecutive frames of video windows and each map's errors (peak offset, its scale, the
    peak height, swaps and misses) are correlated rho[i] with the map before it (BlazePose's 2D errors on the real
    clips: autocorrelation 0.73-0.78 at 17 ms, 0.25 at 133 ms, ~0 at 267 ms; heatmap.real_2d.error_correlation_s).
    None: every map independent. fixed (B, S, 2) (fixed_offsets): the directions of the persistent share of the peak
    offsets (real_2d.persistent_share of their variance: BlazePose's bias for one person in one view, which a window
    of frames cannot average away); the rest changes as rho says. Each map's offset keeps its distribution.

    The per-landmark shape settings are tools/heatmap_stats.py's measurements on real BlazePose maps; the `real_2d`
    settings calibrate them to BlazePose's errors against 3D truth on real footage (configs/simulation.yaml,
    tools/sim_2d_stats.py): a scale on the peak offsets and the swap odds, gross misses (the peak on something else,
    0.1-0.3 of the person's size away, lower) and a per-image shift of the peak heights. On a swap or a miss the true
    position keeps a lower mode, so the candidates still cover it (as on real footage)."""
    b, n_src = cells.shape[:2]
    hm = cfg.heatmap
    cal = hm.get("real_2d") or {}
    sigma = per_source(hm["sigma_cells"], 1.5)
    peak = per_source(hm["peak_height"], 0.9)
    peak_sd = per_source(hm["peak_height_std"], 0.1)
    offset_sd = per_source(hm["offset_cells"], 0.7) * float(cal.get("offset_scale", 1.0))
    p_second = per_source(hm["second_mode_prob"], 0.02)
    p_swap = _odds_scaled(per_source(hm["swap_prob"], 0.01), float(cal.get("swap_odds_scale", 1.0)))
    # Gross misses are the second mode winning: as frequent as the measured second modes, times a rate.
    p_miss = p_second * float(cal.get("miss_per_second_mode", 0.0))
    p_occ = per_source(hm["occluded_prob"], 0.03)
    p_at_mirror = per_source(hm["second_mode_at_mirror"], 0.5)
    background = per_source(hm["background"], 5e-4)

    def rand(*shape):
        return torch.rand(*shape, generator=g)

    # Offsets: Gaussian with a log-normal spread of their scale per map (real errors have a heavier tail).
    s_off = float(cal.get("offset_log_std", 0.0))
    off = offset_sd * torch.exp(ar_normal((b, n_src), rho, g) * s_off - 0.5 * s_off**2)
    direction = ar_normal((b, n_src, 2), rho, g)
    if fixed is not None:
        share = persistent_share(cfg)
        direction = (1 - share) ** 0.5 * direction + share ** 0.5 * fixed
    centre = cells + direction * off[..., None]
    mirror = cells[:, list(MIRROR)] + torch.randn(b, n_src, 2, generator=g) * off[:, list(MIRROR), None]
    # A second mode sits on the mirrored landmark or anywhere over the person (often another limb's landmark).
    lo_b, hi_b = cells.amin(1, keepdim=True), cells.amax(1, keepdim=True)
    anywhere = lo_b + (hi_b - lo_b) * rand(b, n_src, 2)
    elsewhere = torch.where((rand(b, n_src) < p_at_mirror)[..., None], mirror, anywhere)
    # A miss: the peak 0.1-0.3 of the person's size (larger side of the landmarks' box) off in any direction.
    extent = (hi_b - lo_b).amax(-1)  # (b, 1) cells
    miss_lo, miss_hi = cal.get("miss_distance", [0.1, 0.3])
    angle = rand(b, n_src) * (2 * torch.pi)
    dist = extent * (miss_lo + (miss_hi - miss_lo) * rand(b, n_src))
    missed = centre + torch.stack([torch.cos(angle), torch.sin(angle)], -1) * dist[..., None]
    swap = _uniform((b, n_src), rho, g) < p_swap
    miss = ~swap & (_uniform((b, n_src), rho, g) < p_miss)
    wrong = swap | miss
    main = torch.where(swap[..., None], mirror, torch.where(miss[..., None], missed, centre))
    other = torch.where(wrong[..., None], centre, elsewhere)
    shift_lo, shift_hi = cal.get("peak_height_shift", [0.0, 0.0])
    shift = shift_lo + (shift_hi - shift_lo) * rand(b, 1)  # per image: how clear the picture is
    height = (peak + shift + ar_normal((b, n_src), rho, g) * peak_sd).clamp(0.05, 1.0)
    height = torch.where(wrong, height * float(cal.get("wrong_height_scale", 1.0)), height)
    width = sigma * torch.exp(torch.randn(b, n_src, generator=g) * hm["sigma_log_std"])
    second = wrong | (rand(b, n_src) < p_second)
    lo, hi = hm["second_mode_rel"]
    rel2 = torch.where(second, lo + (hi - lo) * rand(b, n_src), torch.zeros(()))

    # Outside the image or the crop: sometimes a low flat map, otherwise a lower, wider mode guessed further off
    # (measured on images cut through the body); random occlusion lowers and widens the mode.
    in_crop = ((main >= -0.5) & (main <= CELLS - 0.5)).all(-1)
    out = outside | ~in_crop
    flat = out & (rand(b, n_src) < hm["flat_prob_outside"])
    guessed = out & ~flat
    main = main + guessed[..., None] * torch.randn(b, n_src, 2, generator=g) * hm["outside_offset_cells"]
    height = torch.where(guessed, height * hm["outside_height_scale"], height)
    width = torch.where(guessed, width * hm["outside_width_scale"], width)
    occluded = ~out & (rand(b, n_src) < p_occ)
    height = torch.where(occluded, height * hm["occluded_height_scale"], height)
    width = torch.where(occluded, width * hm["occluded_width_scale"], width)
    # A flat map is a very wide, low bump at the crop border nearest the landmark (so its argmax is not arbitrary).
    fl_lo, fl_hi = hm["flat_level"]
    height = torch.where(flat, fl_lo + (fl_hi - fl_lo) * rand(b, n_src), height)
    width = torch.where(flat, torch.full_like(width, hm["flat_width_cells"]), width)
    main = torch.where(flat[..., None], main.clamp(0.0, CELLS - 1.0), main)
    # The second mode's height is measured relative to the map's own (final) peak.
    height2 = torch.where(flat, torch.zeros(()), height * rel2)

    grid = torch.arange(CELLS, dtype=torch.float32)

    def bump(c, w):  # separable Gaussian factors (b, n_src, 64)
        return torch.exp(-0.5 * ((grid - c[..., None]) / w[..., None]) ** 2)

    # One batched rank-3 product writes each map once: main mode + second mode + constant background.
    s_bg = float(hm["background_log_std"])  # log-normal spread around the measured mean background
    floor = background * torch.exp(torch.randn(b, n_src, generator=g) * s_bg - 0.5 * s_bg**2)
    rows = torch.stack([bump(main[..., 1], width) * height[..., None], bump(other[..., 1], width) * height2[..., None],
                        floor[..., None].expand(b, n_src, CELLS)], -1)
    cols = torch.stack([bump(main[..., 0], width), bump(other[..., 0], width), torch.ones(b, n_src, CELLS)], -2)
    maps = torch.bmm(rows.view(-1, CELLS, 3), cols.view(-1, 3, CELLS)).view(b, n_src, CELLS, CELLS)
    # Only overlapping double modes can exceed 1.
    over = (height + height2 + floor > 1.0).reshape(-1)
    if bool(over.any()):
        flat_maps = maps.view(-1, CELLS, CELLS)
        flat_maps[over] = flat_maps[over].clamp_max(1.0)
    return maps
