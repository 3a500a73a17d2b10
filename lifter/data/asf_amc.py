"""ASF skeleton + AMC motion reader with vectorised forward kinematics (Acclaim/CMU conventions).

Conventions (CMU "ASF/AMC" documentation, as used by HDM05 and the CMU database):
- Each bone has an `axis` (Euler angles + order, e.g. "0 0 20 XYZ") defining its local frame C, a unit `direction`
  and a `length`, both in the world frame of the rest pose.
- AMC gives per bone the dof angles (named rx/ry/rz, listed in the `dof` order); the bone's motion rotation is
  M = R_z(rz) R_y(ry) R_x(rx) for order "XYZ" (the first axis letter is applied first), and
  L_bone = C M C^-1; its global rotation is G_bone = G_parent L_bone.
- End of a bone = start + length * G_bone @ direction; the start of a child is the end of its parent, the root
  bone's start is the AMC root position.
- `:units length L` means file lengths are inches * L (CMU/HDM05: 0.45), so metres = value / L * 0.0254.
Joints returned: "root" followed by the END of every bone, named by the bone (so "lfemur" is the knee).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lifter.data.rotations import axis_rotation

INCH = 0.0254


def euler_extrinsic(order: str, degrees: np.ndarray) -> np.ndarray:
    """R = R_order[-1] @ ... @ R_order[0] (first letter applied first); degrees (..., len(order))."""
    degrees = np.asarray(degrees, dtype=np.float64)
    out = np.broadcast_to(np.eye(3), degrees.shape[:-1] + (3, 3))
    for i, axis in enumerate(order):
        out = axis_rotation(axis, degrees[..., i]) @ out
    return out


@dataclass
class AsfBone:
    name: str
    direction: np.ndarray
    length: float
    axis: np.ndarray            # degrees
    axis_order: str
    dof: list[str] = field(default_factory=list)


@dataclass
class AsfSkeleton:
    bones: dict[str, AsfBone]
    parent: dict[str, str]      # bone -> parent ("root" for the root's children)
    order: list[str]            # bones in parent-first order
    length_unit: float          # file length * length_unit -> metres
    angle_deg: bool
    root_order: list[str]       # e.g. ["tx","ty","tz","rx","ry","rz"]
    root_axis: str
    root_position: np.ndarray
    root_orientation: np.ndarray

    @property
    def joint_names(self) -> list[str]:
        return ["root"] + self.order


def parse_asf(text: str) -> AsfSkeleton:
    bones: dict[str, AsfBone] = {}
    parent: dict[str, str] = {}
    units = {"length": 1.0, "angle": "deg"}
    root = {"order": "TX TY TZ RX RY RZ".split(), "axis": "XYZ", "position": np.zeros(3), "orientation": np.zeros(3)}
    section = None
    cur: dict | None = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(":"):
            parts = line.split()
            section = parts[0][1:].lower()
            continue
        parts = line.split()
        key = parts[0].lower()
        if section == "units":
            units[key] = parts[1] if key == "angle" else float(parts[1])
        elif section == "root":
            if key == "order":
                root["order"] = parts[1:]
            elif key == "axis":
                root["axis"] = parts[1].upper()
            elif key in ("position", "orientation"):
                root[key] = np.array([float(v) for v in parts[1:4]])
        elif section == "bonedata":
            if key == "begin":
                cur = {"dof": [], "axis": np.zeros(3), "axis_order": "XYZ", "direction": np.zeros(3), "length": 0.0}
            elif key == "end":
                bones[cur["name"]] = AsfBone(cur["name"], cur["direction"], cur["length"], cur["axis"],
                                             cur["axis_order"], cur["dof"])
                cur = None
            elif cur is not None:
                if key == "name":
                    cur["name"] = parts[1]
                elif key == "direction":
                    cur["direction"] = np.array([float(v) for v in parts[1:4]])
                elif key == "length":
                    cur["length"] = float(parts[1])
                elif key == "axis":
                    cur["axis"] = np.array([float(v) for v in parts[1:4]])
                    cur["axis_order"] = parts[4].upper() if len(parts) > 4 else "XYZ"
                elif key == "dof":
                    cur["dof"] = [d.lower() for d in parts[1:]]
        elif section == "hierarchy":
            if key in ("begin", "end"):
                continue
            for child in parts[1:]:
                parent[child] = parts[0]
    order: list[str] = []
    frontier = ["root"]
    while frontier:
        nxt = []
        for p in frontier:
            kids = [c for c, q in parent.items() if q == p]
            order.extend(kids)
            nxt.extend(kids)
        frontier = nxt
    missing = [b for b in bones if b not in parent]
    if missing:
        raise ValueError(f"bones missing from :hierarchy: {missing}")
    angle_deg = str(units.get("angle", "deg")).lower().startswith("deg")
    return AsfSkeleton(bones, parent, order, INCH / float(units["length"]), angle_deg,
                       [o.lower() for o in root["order"]], root["axis"], root["position"], root["orientation"])


def parse_amc(text: str, skel: AsfSkeleton) -> dict[str, np.ndarray]:
    """Motion as {bone or "root": (F, n_values)} in file order of values. Fast path: fixed per-frame layout."""
    lines = text.splitlines()
    start = 0
    while start < len(lines) and (not lines[start].strip() or lines[start].lstrip()[0] in "#:"):
        start += 1
    body = lines[start:]
    # Layout of one frame from the first frame block.
    layout: list[tuple[str, int]] = []
    for ln in body[1:]:
        parts = ln.split()
        if not parts:
            continue
        if parts[0].isdigit() and len(parts) == 1:
            break
        layout.append((parts[0], len(parts) - 1))
    per_frame = 1 + sum(1 + n for _, n in layout)
    tokens = np.array(" ".join(body).split())
    n_frames = tokens.size // per_frame
    if n_frames == 0:
        raise ValueError("AMC has no complete frame")
    grid = tokens[: n_frames * per_frame].reshape(n_frames, per_frame)
    out: dict[str, np.ndarray] = {}
    col = 1
    for name, n in layout:
        if not np.all(grid[:, col] == name):
            return _parse_amc_slow(body, skel)
        out[name] = grid[:, col + 1: col + 1 + n].astype(np.float64)
        col += 1 + n
    return out


def _parse_amc_slow(body: list[str], skel: AsfSkeleton) -> dict[str, np.ndarray]:
    frames: list[dict[str, list[float]]] = []
    for ln in body:
        parts = ln.split()
        if not parts:
            continue
        if parts[0].isdigit() and len(parts) == 1:
            frames.append({})
        elif frames:
            frames[-1][parts[0]] = [float(v) for v in parts[1:]]
    names = set().union(*frames) if frames else set()
    out = {}
    for name in names:
        width = max(len(f.get(name, [])) for f in frames)
        out[name] = np.array([f.get(name, [0.0] * width) for f in frames], dtype=np.float64)
    return out


def amc_fk(skel: AsfSkeleton, motion: dict[str, np.ndarray], frames: np.ndarray | None = None) -> np.ndarray:
    """Global joint positions (F, 1 + n_bones, 3) in metres, order skel.joint_names."""
    def take(a):
        return a if frames is None else a[np.asarray(frames)]

    root_vals = take(motion["root"])
    n = root_vals.shape[0]
    to_deg = 1.0 if skel.angle_deg else 180.0 / np.pi
    # Root: translation and rotation columns by the :root order line.
    idx = {k: i for i, k in enumerate(skel.root_order)}
    t = np.stack([root_vals[:, idx[k]] if k in idx else np.zeros(n) for k in ("tx", "ty", "tz")], axis=-1)
    t = t + skel.root_position
    rot_cols = [k for k in skel.root_order if k.startswith("r")]
    ang = {k: root_vals[:, idx[k]] * to_deg for k in rot_cols}
    order = skel.root_axis
    m = euler_extrinsic(order, np.stack([ang.get("r" + a.lower(), np.zeros(n)) for a in order], axis=-1))
    c = euler_extrinsic(order, skel.root_orientation)
    g = {"root": c @ m @ c.T}
    end = {"root": t * skel.length_unit}
    for name in skel.order:
        b = skel.bones[name]
        c = euler_extrinsic(b.axis_order, b.axis)
        if b.dof and name in motion:
            vals = take(motion[name]) * to_deg
            d = {dof: vals[:, k] for k, dof in enumerate(b.dof) if k < vals.shape[1]}
            mm = euler_extrinsic(b.axis_order, np.stack([d.get("r" + a.lower(), np.zeros(n)) for a in b.axis_order],
                                                        axis=-1))
            local = c @ mm @ c.T
        else:
            local = np.broadcast_to(np.eye(3), (n, 3, 3))
        p = skel.parent[name]
        g[name] = g[p] @ local
        end[name] = end[p] + (b.length * skel.length_unit) * np.einsum("fab,b->fa", g[name], b.direction)
    return np.stack([end[k] for k in skel.joint_names], axis=1)
