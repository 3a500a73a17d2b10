"""The candidate-conditioned diffusion lifter: a condition encoder over joint tokens and a denoiser.

Conditioning follows Holmquist & Wandt (ICCV 2023): each candidate's normalised (x, y) becomes "cos^2 bump" grid
features, scaled by its likelihood and pooled over the K candidates of a joint; a small transformer mixes the 17
joint tokens. We pool two ways: the peak (candidate 0, the sharpest location) and the likelihood-weighted mean of
all K (the spread, i.e. the 2D uncertainty). Everything that depends only on the frame is computed once by
`condition`; the denoiser adds only cheap per-step work, so N hypotheses x S steps stay fast.

Internally the diffusion runs on the 16 non-root joints (the pelvis is 0 by definition), in metres x pose_scale.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from core.skeleton import NUM_JOINTS


@dataclass
class ModelConfig:
    grid: int = 64             # bump features per coordinate
    grid_range: float = 1.25   # bump centres span [-range, range] (box coordinates; peaks lie within ~[-0.83, 0.83])
    width: int = 128           # joint-token width of the condition transformer
    enc_layers: int = 4
    heads: int = 4
    ffn: int = 256
    cond_dim: int = 512        # flattened condition vector
    denoiser: str = "mlp"      # "mlp" (flattened pose) or "tokens" (per-joint transformer)
    hidden: int = 512          # mlp denoiser width (or token width for "tokens")
    blocks: int = 3            # residual blocks (or transformer layers for "tokens")
    mlp_ratio: int = 2
    time_dim: int = 128
    pose_scale: float = 4.0    # metres -> diffusion units (pose std ~0.28 m -> ~1.1)
    target: str = "v"          # network prediction: eps | x0 | v
    T: int = 1000
    # Temporal variant (lifter/temporal.py): per-joint attention over a window of frames on the condition tokens.
    temporal_layers: int = 0   # 0: the frame model
    window: int = 1            # frames per window it was trained on
    temporal_spatial: bool = False  # each temporal layer followed by attention across the joints of each frame

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def to_dict(self) -> dict:
        return asdict(self)


def bump_histogram(coord: torch.Tensor, weight: torch.Tensor, grid: int, grid_range: float) -> torch.Tensor:
    """Sum over candidates of weight * cos^2 bumps on a 1D grid, without materialising (K, grid) features.

    coord, weight: (..., K). Returns (..., grid). Each bump has half-width two grid spacings, so a coordinate touches
    four bumps and the bumps sum to 2 everywhere inside the grid (sub-cell positions stay recoverable).
    """
    d = 2 * grid_range / (grid - 1)
    u = (coord + grid_range) / d
    base = torch.floor(u)
    offs = torch.arange(-1, 3, device=coord.device, dtype=coord.dtype)
    idx = base[..., None] + offs                                   # (..., K, 4)
    dist = u[..., None] - idx
    w = torch.cos(math.pi / 4 * dist) ** 2 * (dist.abs() < 2)
    valid = (idx >= 0) & (idx <= grid - 1)
    w = w * valid * weight[..., None]
    idx = idx.clamp(0, grid - 1).long()
    lead = coord.shape[:-1]
    out = torch.zeros(*lead, grid, device=coord.device, dtype=coord.dtype)
    return out.scatter_add_(-1, idx.reshape(*lead, -1), w.reshape(*lead, -1))


def timestep_embedding(t: torch.Tensor, dim: int, T: int) -> torch.Tensor:
    """Sinusoidal embedding of t / T in [0, 1]."""
    half = dim // 2
    freqs = torch.exp(-math.log(1000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    ang = (t.float() / T * 1000.0)[:, None] * freqs[None]
    return torch.cat([torch.cos(ang), torch.sin(ang)], dim=1)


@dataclass
class Condition:
    """Per-frame tensors (rows = frames, or frames x hypotheses after `repeat`)."""
    tokens: torch.Tensor                # (R, 17, width) encoder output
    vec: torch.Tensor                   # (R, cond_dim)
    inp: torch.Tensor                   # (R, hidden) condition's share of the denoiser input
    mods: list[torch.Tensor]            # per block (R, 2*hidden) or (R, 17, 2*hidden): condition's share of the modulation

    @property
    def rows(self) -> int:
        return self.tokens.shape[0]

    def select(self, rows: torch.Tensor) -> "Condition":
        """Only the given rows."""
        return Condition(self.tokens[rows], self.vec[rows], self.inp[rows], [m[rows] for m in self.mods])

    def repeat(self, n: int) -> "Condition":
        """Each row repeated n times consecutively (frame b -> rows b*n .. b*n+n-1); no recomputation."""
        if n == 1:
            return self
        rep = lambda x: x.repeat_interleave(n, dim=0)  # noqa: E731
        return Condition(rep(self.tokens), rep(self.vec), rep(self.inp), [rep(m) for m in self.mods])


def token_layer(cfg: ModelConfig) -> nn.TransformerEncoderLayer:
    """A pre-norm transformer layer (attention + FFN) over joint tokens of the condition's width."""
    return nn.TransformerEncoderLayer(cfg.width, cfg.heads, cfg.ffn, dropout=0.0, activation="gelu",
                                      batch_first=True, norm_first=True)


class ConditionEncoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        feat = 4 * cfg.grid + 2  # peak x, peak y, pooled x, pooled y bumps + peak and mean likelihood
        self.proj = nn.Linear(feat, cfg.width)
        self.joint = nn.Parameter(torch.randn(NUM_JOINTS, cfg.width) * 0.02)
        self.encoder = nn.TransformerEncoder(token_layer(cfg), cfg.enc_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(cfg.width)
        self.flat = nn.Linear(NUM_JOINTS * cfg.width, cfg.cond_dim)

    def features(self, xy: torch.Tensor, lik: torch.Tensor) -> torch.Tensor:
        """xy (B,17,K,2) box-normalised, lik (B,17,K) -> (B,17,4G+2)."""
        g, r = self.cfg.grid, self.cfg.grid_range
        k = xy.shape[2]
        peak_w = lik[..., :1]
        peak = [bump_histogram(xy[..., :1, c], peak_w, g, r) for c in (0, 1)]
        pooled = [bump_histogram(xy[..., c], lik, g, r) / k for c in (0, 1)]
        return torch.cat(peak + pooled + [lik[..., :1], lik.mean(-1, keepdim=True)], dim=-1)

    def forward(self, xy: torch.Tensor, lik: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.proj(self.features(xy, lik)) + self.joint
        tokens = self.norm(self.encoder(h))
        return tokens, self.flat(tokens.flatten(1))


def zero_residual_layer(cfg: ModelConfig) -> nn.TransformerEncoderLayer:
    """A token_layer whose residual branches start at zero: the identity."""
    layer = token_layer(cfg)
    for lin in (layer.self_attn.out_proj, layer.linear2):
        nn.init.zeros_(lin.weight)
        nn.init.zeros_(lin.bias)
    return layer


class TemporalEncoder(nn.Module):
    """Per-joint self-attention over the frames of a window on the encoder's joint tokens (each layer: attention +
    FFN, pre-norm, the frame times in seconds added to the input). With cfg.temporal_spatial each such layer is
    followed by attention across the 17 joints of each frame, so what one joint's track says can reach the others
    before the next layer looks over time again (a joint x time factorisation, as MixSTE). The output projections
    start at zero, so an untrained temporal model is exactly the frame model it was initialised from."""

    def __init__(self, cfg: ModelConfig, time_dim: int = 64):
        super().__init__()
        w = cfg.width
        self.heads, self.time_dim = cfg.heads, time_dim
        self.time = nn.ModuleList([nn.Linear(time_dim, w) for _ in range(cfg.temporal_layers)])
        self.norm1 = nn.ModuleList([nn.LayerNorm(w) for _ in range(cfg.temporal_layers)])
        self.qkv = nn.ModuleList([nn.Linear(w, 3 * w) for _ in range(cfg.temporal_layers)])
        self.proj = nn.ModuleList([nn.Linear(w, w) for _ in range(cfg.temporal_layers)])
        self.norm2 = nn.ModuleList([nn.LayerNorm(w) for _ in range(cfg.temporal_layers)])
        self.ffn = nn.ModuleList([nn.Sequential(nn.Linear(w, cfg.ffn), nn.GELU(), nn.Linear(cfg.ffn, w))
                                  for _ in range(cfg.temporal_layers)])
        for lin in [*self.proj, *(f[2] for f in self.ffn)]:
            nn.init.zeros_(lin.weight)
            nn.init.zeros_(lin.bias)
        self.spatial = (nn.ModuleList([zero_residual_layer(cfg) for _ in range(cfg.temporal_layers)])
                        if cfg.temporal_spatial else None)

    def forward(self, tokens: torch.Tensor, tau: torch.Tensor, pad: torch.Tensor, frames: int,
                slot: int | None = None) -> torch.Tensor:
        """tokens (B*F, 17, width) window-major rows, tau (B*F,) seconds, pad (B*F,) bool -> same shape; with
        `slot`, only that slot's tokens (B, 17, width): the last layer then attends from that frame alone (all an
        output frame needs; the same numbers, a ninth of the last layer's work)."""
        r, j, w = tokens.shape
        h = tokens.view(-1, frames, j, w).transpose(1, 2).reshape(-1, frames, w)     # (B*17, F, w)
        temb = seconds_embedding(tau.view(-1, 1, frames).expand(-1, j, frames).reshape(-1, frames), self.time_dim)
        mask = ~pad.view(-1, 1, frames).expand(-1, j, frames).reshape(-1, 1, 1, frames)  # attend to real frames
        hd = w // self.heads
        last = len(self.qkv) - 1
        for i, (time, n1, qkv, proj, n2, ffn) in enumerate(zip(self.time, self.norm1, self.qkv, self.proj,
                                                                 self.norm2, self.ffn)):
            z = n1(h) + time(temb)
            q, k, v = qkv(z).view(h.shape[0], frames, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
            if slot is not None and i == last:
                q, h = q[:, :, slot:slot + 1], h[:, slot:slot + 1]
            a = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            h = h + proj(a.transpose(1, 2).reshape(h.shape))
            h = h + ffn(n2(h))
            if self.spatial is not None:     # (B*17, F', w) -> each frame's 17 joints -> back
                f = h.shape[1]
                frame_rows = h.view(-1, j, f, w).transpose(1, 2).reshape(-1, j, w)
                h = self.spatial[i](frame_rows).view(-1, f, j, w).transpose(1, 2).reshape(-1, f, w)
        if slot is not None:
            return h.reshape(-1, j, w)
        return h.view(-1, j, frames, w).transpose(1, 2).reshape(r, j, w)


def seconds_embedding(tau: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of times in seconds (periods 0.03 .. 6 s) -> (..., dim)."""
    freqs = 2 * math.pi / torch.logspace(math.log10(0.03), math.log10(6.0), dim // 2, device=tau.device)
    ang = tau.float()[..., None] * freqs
    return torch.cat([torch.cos(ang), torch.sin(ang)], dim=-1)


class MLPDenoiser(nn.Module):
    """Flattened 16x3 pose -> residual MLP with adaptive LayerNorm (scale/shift from condition + timestep)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        h, n = cfg.hidden, (NUM_JOINTS - 1) * 3
        self.inp_x = nn.Linear(n, h)
        self.inp_c = nn.Linear(cfg.cond_dim, h, bias=False)
        self.inp_t = nn.Linear(cfg.time_dim, h)
        self.mod_c = nn.ModuleList([nn.Linear(cfg.cond_dim, 2 * h, bias=False) for _ in range(cfg.blocks)])
        self.mod_t = nn.ModuleList([nn.Linear(cfg.time_dim, 2 * h) for _ in range(cfg.blocks)])
        self.norms = nn.ModuleList([nn.LayerNorm(h, elementwise_affine=False) for _ in range(cfg.blocks)])
        self.fc1 = nn.ModuleList([nn.Linear(h, cfg.mlp_ratio * h) for _ in range(cfg.blocks)])
        self.fc2 = nn.ModuleList([nn.Linear(cfg.mlp_ratio * h, h) for _ in range(cfg.blocks)])
        self.out_norm = nn.LayerNorm(h)
        self.out = nn.Linear(h, n)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        for fc in self.fc2:
            nn.init.zeros_(fc.weight)

    def precompute(self, tokens: torch.Tensor, vec: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return self.inp_c(vec), [m(vec) for m in self.mod_c]

    def forward(self, x: torch.Tensor, temb: torch.Tensor, cond: Condition) -> torch.Tensor:
        h = self.inp_x(x.flatten(1)) + cond.inp + self.inp_t(temb)
        for norm, mc, mt, f1, f2 in zip(self.norms, cond.mods, self.mod_t, self.fc1, self.fc2):
            scale, shift = (mc + mt(temb)).chunk(2, dim=-1)
            h = h + f2(nn.functional.silu(f1(norm(h) * (1 + scale) + shift)))
        return self.out(self.out_norm(h)).view(x.shape)


class TokenDenoiser(nn.Module):
    """Per-joint tokens (noisy xyz + that joint's condition token + timestep) through a small transformer."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        w = cfg.hidden
        self.inp_x = nn.Linear(3, w)
        self.inp_c = nn.Linear(cfg.width, w)
        self.inp_t = nn.Linear(cfg.time_dim, w)
        self.joint = nn.Parameter(torch.randn(NUM_JOINTS - 1, w) * 0.02)
        layer = nn.TransformerEncoderLayer(w, cfg.heads, cfg.mlp_ratio * w, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.layers = nn.TransformerEncoder(layer, cfg.blocks, enable_nested_tensor=False)
        self.out_norm = nn.LayerNorm(w)
        self.out = nn.Linear(w, 3)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def precompute(self, tokens: torch.Tensor, vec: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return self.inp_c(tokens[:, 1:]) + self.joint, []

    def forward(self, x: torch.Tensor, temb: torch.Tensor, cond: Condition) -> torch.Tensor:
        h = self.inp_x(x) + cond.inp + self.inp_t(temb)[:, None]
        return self.out(self.out_norm(self.layers(h)))


class LifterModel(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = ConditionEncoder(cfg)
        self.time = nn.Sequential(nn.Linear(cfg.time_dim, cfg.time_dim), nn.SiLU(), nn.Linear(cfg.time_dim, cfg.time_dim))
        self.denoiser = {"mlp": MLPDenoiser, "tokens": TokenDenoiser}[cfg.denoiser](cfg)
        self.temporal = TemporalEncoder(cfg) if cfg.temporal_layers > 0 else None

    def condition(self, xy: torch.Tensor, lik: torch.Tensor) -> Condition:
        """xy (B,17,K,2) box-normalised candidates, lik (B,17,K) -> per-frame Condition (B rows)."""
        tokens, vec = self.encoder(xy, lik)
        inp, mods = self.denoiser.precompute(tokens, vec)
        return Condition(tokens, vec, inp, mods)

    def window_condition(self, tokens: torch.Tensor, tau: torch.Tensor | None = None,
                         pad: torch.Tensor | None = None, frames: int = 1, slot: int | None = None) -> Condition:
        """The Condition from encoder tokens (B*F, 17, width). Temporal model with tau: rows are windows of `frames`
        (window-major), tau (B*F,) their times in seconds relative to the window's last slot, pad (B*F,) bool the
        padding slots; each frame's condition then holds what the window's other frames add. Without tau (or for a
        frame model): each row's own frame condition, as `condition`. slot: only each window's frame at that slot
        (B rows: an output frame's condition, without the other frames' share of the work)."""
        if tau is not None and self.temporal is not None:
            if pad is None:
                pad = torch.zeros(tau.shape, dtype=torch.bool, device=tau.device)
            tokens = self.temporal(tokens, tau, pad, frames, slot)
        elif slot is not None:
            tokens = tokens.view(-1, frames, *tokens.shape[1:])[:, slot]
        vec = self.encoder.flat(tokens.flatten(1))
        inp, mods = self.denoiser.precompute(tokens, vec)
        return Condition(tokens, vec, inp, mods)

    def denoise(self, x: torch.Tensor, t: torch.Tensor, cond: Condition) -> torch.Tensor:
        """x (R,16,3) noisy pose in diffusion units, t (R,) long -> prediction (R,16,3) (eps, x0 or v per cfg.target)."""
        temb = self.time(timestep_embedding(t, self.cfg.time_dim, self.cfg.T))
        return self.denoiser(x, temb, cond)

    # Pose <-> diffusion units (16 non-root joints).
    def to_internal(self, pose: torch.Tensor) -> torch.Tensor:
        return (pose[..., 1:, :] - pose[..., :1, :]) * self.cfg.pose_scale

    def from_internal(self, x: torch.Tensor) -> torch.Tensor:
        root = torch.zeros(*x.shape[:-2], 1, 3, dtype=x.dtype, device=x.device)
        return torch.cat([root, x / self.cfg.pose_scale], dim=-2)
