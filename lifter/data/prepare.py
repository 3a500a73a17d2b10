"""Build the lifter's pose cache from the shared mocap archives (streamed, never unpacked to disk).

    python -m lifter.data.prepare [--out DIR] [--fps 10] [--sets bandai1 hdm05 ...] [--min-move 0.01] [--workers 2]

Writes DIR (default <cache>/mocap/): train.npz, val.npz, test.npz, test_<group>.npz, {train,val,test}_open.npz,
manifest.json. Each npz: poses (M,17,3) float32 metres, +Y up, pelvis at the origin, SOURCE bone lengths;
dataset, clip, action, style, subject (M,) str; sequence (M,) str (= clip) and frame (M,) int the frame number at
`fps` (lifter.data.sequences: the keys of a sequence file); source_frame (M,) int32 the source frame index; fps
(scalar); joint_names.
"""
from __future__ import annotations

import argparse
import json
import sys
import tarfile
import time
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path, PurePosixPath

import numpy as np

from lifter.data.asf_amc import parse_amc, parse_asf
from lifter.data.bodies import fix_definitions, pair_median
from lifter.data.bvh import parse_bvh
from lifter.data.extract import amc_joints, bvh_joints, drop_near_duplicates, resample_indices
from lifter.data.posture import CATEGORIES, posture
from lifter.data.sequences import sequence_keys
from lifter.data.sources import SOURCES
from lifter.data.splits import assign_split, load_config
from core.paths import cache_dir, shared_dir
from core.skeleton import BONES, JOINT_NAMES

ARCHIVES = {"bandai1": "bvh.tar.xz", "bandai2": "bvh.tar.xz", "cmu_dance": "bvh.tar.xz", "cmu_01_14": "bvh.tar.xz",
            "reactidle": "bvh.tar.xz", "hdm05": "asf_amc.tar.xz"}
# Not motion: cgspeed's 3-frame rest-pose reference file.
EXCLUDE = ("cmu_dance/standard",)
KEYS = ("dataset", "clip", "action", "style", "subject")


def mocap_dir() -> Path | None:
    root = shared_dir()
    return None if root is None else root / "data" / "mocap"


def clip_id(set_name: str, member: str) -> str:
    path = PurePosixPath(member)  # also drops a leading "./"
    return f"{set_name}/{path.with_suffix('')}"


def labels(cid: str) -> dict[str, str]:
    """action / style / subject from the clip id (file naming of each set)."""
    set_name, rest = cid.split("/", 1)
    stem = rest.rsplit("/", 1)[-1]
    if set_name.startswith("bandai"):            # dataset-1_{content}_{style}_{id}
        parts = stem.split("_")
        return {"action": parts[1], "style": parts[2], "subject": ""}
    if set_name == "hdm05":                      # HDM_{actor}_{motion}_{take}_120
        parts = stem.split("_")
        return {"action": parts[2], "style": "", "subject": parts[1]}
    if set_name == "reactidle":                  # {acted,genuine}/{person}_{kind}
        person, kind = stem.split("_")
        return {"action": f"idle_{kind}", "style": kind, "subject": person}
    if set_name == "cmu_01_14":                  # cmu_01_14/{subject}/{subject}_{trial}; action from INDEX.tsv
        return {"action": cmu_index().get(rest, ""), "style": "", "subject": rest.split("/")[0]}
    return {"action": rest.split("/")[0], "style": "", "subject": ""}   # cmu_dance/{style}/{nn}


@lru_cache(maxsize=1)
def cmu_index() -> dict[str, str]:
    """cmu_01_14 INDEX.tsv: "01/01_01" -> CMU's description of the clip ("" when the file is absent)."""
    root = mocap_dir()
    path = None if root is None else root / "cmu_01_14" / "INDEX.tsv"
    if path is None or not path.is_file():
        return {}
    rows = [line.split("\t") for line in path.read_text().splitlines()[1:] if line.strip()]
    return {r[0].removesuffix(".bvh"): r[1] for r in rows if len(r) > 1}


def _source_fps(cid: str, frame_time: float, overrides: dict[str, float]) -> float:
    for prefix, fps in overrides.items():
        if cid == prefix or cid.startswith(prefix.rstrip("/") + "/"):
            return float(fps)
    return 1.0 / frame_time


def _finish(cid, joints, frames, out, stats, min_move):
    joints = joints - joints[:, :1]          # pelvis at the origin
    if not np.all(np.isfinite(joints)):
        raise ValueError("non-finite joint positions")
    keep = drop_near_duplicates(joints, min_move)
    bone = np.stack([np.linalg.norm(joints[:, c] - joints[:, p], axis=-1) for p, c in BONES], axis=1)
    stats["max_bone_std_m"] = max(stats.get("max_bone_std_m", 0.0), float(bone.std(0).max()) if len(bone) > 1 else 0.0)
    out["poses"].append(joints[keep].astype(np.float32))
    out["frame"].append(np.asarray(frames)[keep].astype(np.int32))
    lab = {"dataset": cid.split("/", 1)[0], "clip": cid, **labels(cid)}
    for k in KEYS:
        out[k].append(np.full(len(keep), lab[k]))
    stats["resampled"] += len(joints)
    stats["kept"] += len(keep)


def process_set(set_name: str, archive: str, fps: float, min_move: float, overrides: dict[str, float]) -> dict:
    """Stream one archive -> {"arrays": {...}, "stats": {...}}."""
    t0 = time.perf_counter()
    source = SOURCES[set_name]
    out = {k: [] for k in ("poses", "frame", *KEYS)}
    stats = {"files": 0, "clips": 0, "source_frames": 0, "resampled": 0, "kept": 0, "failed": []}
    asf_text: dict[str, str] = {}
    if source.fmt == "asf_amc":  # first pass: the small per-actor skeletons (AMCs may come before their ASF)
        with tarfile.open(archive, "r:xz") as tar:
            for m in tar:
                if m.isfile() and m.name.lower().endswith(".asf"):
                    asf_text[str(PurePosixPath(m.name))] = tar.extractfile(m).read().decode("latin-1")
    asf_cache = {}
    with tarfile.open(archive, "r:xz") as tar:
        for m in tar:
            name = m.name.lower()
            if not m.isfile() or not name.endswith((".bvh", ".amc")):
                continue
            cid = clip_id(set_name, m.name)
            if cid in EXCLUDE:
                continue
            stats["files"] += 1
            try:
                text = tar.extractfile(m).read().decode("latin-1")
                if source.fmt == "bvh":
                    def select(n, frame_time):
                        return resample_indices(n, _source_fps(cid, frame_time, overrides), fps)

                    clip = parse_bvh(text, select)
                    frames = clip.frame_index
                    stats["source_frames"] += clip.source_frames
                    joints = bvh_joints(clip, source)
                else:
                    folder = str(PurePosixPath(m.name).parent)
                    actor = PurePosixPath(m.name).stem.split("_")[1]
                    key = f"{folder}/HDM_{actor}.asf"
                    if key not in asf_cache:
                        if key not in asf_text:
                            raise FileNotFoundError(f"no skeleton {key}")
                        asf_cache[key] = parse_asf(asf_text[key])
                    skel = asf_cache[key]
                    motion = parse_amc(text, skel)
                    n = len(motion["root"])
                    src_fps = _source_fps(cid, 1.0 / 120.0, overrides)   # HDM05 AMC: 120 fps (file names *_120)
                    frames = resample_indices(n, src_fps, fps)
                    stats["source_frames"] += n
                    joints = amc_joints(skel, motion, source, frames)
                if len(frames) == 0:
                    raise ValueError("no frames")
                _finish(cid, joints, frames, out, stats, min_move)
                stats["clips"] += 1
            except Exception as exc:  # report, keep going
                stats["failed"].append(f"{cid}: {type(exc).__name__}: {exc}")
    arrays = {k: (np.concatenate(v) if v else np.zeros((0, len(JOINT_NAMES), 3) if k == "poses" else 0))
              for k, v in out.items()}
    stats["median_lengths_m"] = pair_median(arrays["poses"]) if len(arrays["poses"]) else {}
    arrays["poses"], factors = fix_definitions(arrays["poses"])   # same anatomical joints in every set
    stats["definition_factors"] = {name: round(float(f), 3) for name, f in factors.items()}
    stats["seconds"] = round(time.perf_counter() - t0, 1)
    return {"set": set_name, "arrays": arrays, "stats": stats}


def _process(args):
    return process_set(*args)


def _subset(arrays: dict, mask: np.ndarray) -> dict:
    return {k: v[mask] for k, v in arrays.items()}


def _save(path: Path, arrays: dict, fps: float) -> None:
    arrays = {k: (v.astype(str) if k in KEYS else v) for k, v in arrays.items()}
    arrays["source_frame"] = arrays["frame"]
    arrays["sequence"], arrays["frame"] = sequence_keys(arrays["clip"], arrays["source_frame"])
    np.savez(path, **arrays, fps=np.float32(fps), joint_names=np.array(JOINT_NAMES))


def main(argv: list[str] | None = None) -> int:
    cfg = load_config()
    pc = cfg["prepare"]
    ap = argparse.ArgumentParser(prog="python -m lifter.data.prepare", description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=None, help="output folder (default <cache>/mocap)")
    ap.add_argument("--fps", type=float, default=float(pc["fps"]))
    ap.add_argument("--min-move", type=float, default=float(pc["min_move"]), help="metres; 0 keeps every pose")
    ap.add_argument("--sets", nargs="+", default=list(pc["sets"]), choices=sorted(ARCHIVES))
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)

    root = mocap_dir()
    if root is None or not root.is_dir():
        print("error: shared mocap folder not found (expected ../shared/data/mocap beside the repo, "
              "or set DIFFMOCAP_SHARED)", file=sys.stderr)
        return 2
    missing = [s for s in args.sets if not (root / s / ARCHIVES[s]).is_file()]
    if missing:
        print(f"error: missing archives for {missing} under {root}", file=sys.stderr)
        return 2
    out_dir = args.out or cache_dir() / "mocap"
    out_dir.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    big_first = sorted(args.sets, key=lambda s: -(root / s / ARCHIVES[s]).stat().st_size)
    jobs = [(s, str(root / s / ARCHIVES[s]), args.fps, args.min_move, pc.get("fps_override") or {}) for s in big_first]
    if args.workers > 1 and len(jobs) > 1:
        with get_context("spawn").Pool(min(args.workers, len(jobs))) as pool:
            results = list(pool.imap_unordered(_process, jobs))
    else:
        results = [_process(j) for j in jobs]
    results.sort(key=lambda r: args.sets.index(r["set"]))

    manifest = {"fps": args.fps, "min_move": args.min_move, "sets": {}, "splits": {}}
    for r in results:
        st = r["stats"]
        manifest["sets"][r["set"]] = st
        print(f"{r['set']:10s} files {st['files']:5d}  ok {st['clips']:5d}  failed {len(st['failed']):3d}  "
              f"source frames {st['source_frames']:8d}  at {args.fps:g} fps {st['resampled']:7d}  "
              f"after de-dup {st['kept']:7d}  max bone std {1000 * st.get('max_bone_std_m', 0):.1f} mm  "
              f"{st['seconds']:.1f} s")
        for f in st["failed"][:10]:
            print("   failed:", f)
        if len(st["failed"]) > 10:
            print(f"   ... {len(st['failed']) - 10} more in manifest.json")
    arrays = {k: np.concatenate([r["arrays"][k] for r in results]) for k in results[0]["arrays"]}
    split_group = [assign_split(c, cfg["splits"]) for c in arrays["clip"]]
    split = np.array([s for s, _ in split_group])
    group = np.array([g for _, g in split_group])
    is_open = np.isin(arrays["dataset"], cfg["open_sets"])
    arrays["posture"] = posture(arrays["poses"])

    outputs = {name: split == name for name in ("train", "val", "test")}
    for g in cfg["splits"]["test"]:
        outputs[f"test_{g}"] = (split == "test") & (group == g)
    # Held-out seated / floor poses of every test group (lifter.data.posture), the everyday-pose check.
    outputs["test_seated"] = (split == "test") & (arrays["posture"] != "standing")
    for name in ("train", "val", "test"):
        outputs[f"{name}_open"] = (split == name) & is_open
    for name, mask in outputs.items():
        sub = _subset(arrays, mask)
        _save(out_dir / f"{name}.npz", sub, args.fps)
        per_set = {s: int((sub["dataset"] == s).sum()) for s in args.sets}
        per_posture = {c: int((sub["posture"] == c).sum()) for c in CATEGORIES}
        manifest["splits"][name] = {"poses": int(mask.sum()), "clips": int(len(np.unique(sub["clip"]))), **per_set,
                                    "posture": per_posture}
        print(f"{name:14s} {int(mask.sum()):7d} poses  {len(np.unique(sub['clip'])):5d} clips  " +
              "  ".join(f"{s} {n}" for s, n in per_set.items()))
    manifest["seconds"] = round(time.perf_counter() - t0, 1)
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1))
    print(f"wrote {out_dir} in {manifest['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
