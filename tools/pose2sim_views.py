"""The balancing trial's other two cameras: cam02 and cam04 of the shared Pose2Sim clips, with the same 3D truth.

    python -m tools.pose2sim_views [--force] [--multi]

The shared folder (../shared/data/realfootage/pose2sim_balancing) holds cam01 and cam03 of a trial filmed by four
synchronised, calibrated phones, and the trial's 3D truth in those two cameras' frames. The pose2sim wheel on PyPI
(pinned below by version and sha256, BSD-3-Clause) ships the same trial as its single-person demo: the four videos
(cam01 and cam03 byte for byte the shared ones) and the lab's Qualisys calibration. This module downloads that wheel,
takes cam02.mp4, cam04.mp4, Calib.qca.txt and the licence, and writes cam02_truth.npz / cam04_truth.npz in the
shared files' format: the shared truth moved to world coordinates with cam01's extrinsics and into each new camera
with the calibration (the same triangulation, so the same independent truth; nothing is re-estimated).

The calibration is read as the shared files were made from it (checked on every run: cam01's and cam03's K,
distortion and extrinsics must come out as the shared files have them): Qualisys gives each camera's position C (mm)
and a rotation r whose second and third rows point the other way from OpenCV's (x_cam = diag(1,-1,-1) r (X - C));
focal length, principal point and distortion are stored x 64.

Output: .cache/realfootage/pose2sim_balancing/ (core.paths.cache_dir). For evaluation only: never train on it.
--multi also copies the wheel's two-person demo (the same lab and phones, two people close together, no truth) to
.cache/realfootage/pose2sim_multi/, for the multi-person front end (tests/test_multiperson.py).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import cv2
import numpy as np

from core.paths import cache_dir, sha256_file, shared_dir
from weights.fetch import download

WHEEL_SPEC = "pose2sim==0.10.49"
WHEEL_SHA256 = "403e0dc4065898ba6a595e72a8970950310979253d60e24c2e00b16b36bf21e1"
DEMO = "Pose2Sim/Demo_SinglePerson"
MEMBERS = {"cam02.mp4": f"{DEMO}/videos/cam02.mp4", "cam04.mp4": f"{DEMO}/videos/cam04.mp4",
           "Calib.qca.txt": f"{DEMO}/calibration/Calib.qca.txt",
           "LICENSE": "pose2sim-0.10.49.dist-info/licenses/LICENSE"}
MULTI_DEMO = "Pose2Sim/Demo_MultiPerson"
MULTI_VIEWS = ("cam01", "cam02", "cam03", "cam04")
CLIPS_DIR = "data/realfootage/pose2sim_balancing"   # the shared clips (relative to ../shared)
NEW_VIEWS = ("cam02", "cam04")
QCA_SCALE = 64.0   # Qualisys stores the intrinsics in sub-pixel units
FLIP = np.diag([1.0, -1.0, -1.0])


def views_dir() -> Path:
    return cache_dir() / "realfootage" / "pose2sim_balancing"


def read_qca(path: Path) -> dict[str, dict]:
    """Calib.qca.txt -> camera name -> {K (3, 3), dist (4,) k1 k2 p1 p2, R (3, 3), t (3,) metres (x_cam = R X + t),
    image_size (w, h)}."""
    cams = {}
    for cam in ET.parse(path).getroot().iter("camera"):
        tr, intr, fov = cam.find("transform").attrib, cam.find("intrinsic").attrib, cam.find("fov_video").attrib
        r = np.array([[float(tr[f"r{i}{j}"]) for j in (1, 2, 3)] for i in (1, 2, 3)])
        centre = np.array([float(tr[a]) for a in "xyz"]) / 1000.0
        rot = FLIP @ r
        f = lambda key: float(intr[key]) / QCA_SCALE  # noqa: E731
        k = np.array([[f("focalLengthU"), 0.0, f("centerPointU")], [0.0, f("focalLengthV"), f("centerPointV")],
                      [0.0, 0.0, 1.0]])
        dist = np.array([f("radialDistortion1"), f("radialDistortion2"), f("tangentalDistortion1"),
                         f("tangentalDistortion2")])
        size = (int(fov["right"]) - int(fov["left"]) + 1, int(fov["bottom"]) - int(fov["top"]) + 1)
        cams[cam.attrib["serial"]] = {"K": k, "dist": dist, "R": rot, "t": -rot @ centre, "image_size": size}
    return cams


def check_against_shared(cams: dict, truths: dict[str, dict], tol: float = 1e-3) -> None:
    """The calibration must reproduce the shared files' own K, distortion and extrinsics (else the reading is wrong)."""
    for name, truth in truths.items():
        cam = cams[name]
        rot, _ = cv2.Rodrigues(np.asarray(truth["rvec_world"], np.float64))
        pairs = {"K": (cam["K"], truth["K"]), "R": (cam["R"], rot), "t": (cam["t"], truth["tvec_world"]),
                 "dist": (cam["dist"], truth["dist"])}
        for key, (ours, theirs) in pairs.items():
            scale = max(1.0, float(np.abs(theirs).max()))
            if not np.allclose(np.asarray(ours, np.float64), np.asarray(theirs, np.float64), atol=tol * scale):
                raise ValueError(f"{name}: {key} from Calib.qca.txt does not match the shared truth file")


def truth_for(view: dict, source: dict) -> dict:
    """The shared truth `source` (one camera's file) expressed in camera `view` (read_qca's entry)."""
    rot_s, _ = cv2.Rodrigues(np.asarray(source["rvec_world"], np.float64))
    joints = np.asarray(source["joints"], np.float64)
    world = (joints - np.asarray(source["tvec_world"], np.float64)) @ rot_s   # X = R^T (x - t)
    cam = world @ view["R"].T + view["t"]
    uv, _ = cv2.projectPoints(cam.reshape(-1, 3), np.zeros(3), np.zeros(3), view["K"], view["dist"])
    rvec, _ = cv2.Rodrigues(view["R"])
    return {"joints": cam.astype(np.float32), "uv": uv.reshape(*joints.shape[:2], 2).astype(np.float32),
            "valid": np.asarray(source["valid"]) & (cam[..., 2] > 0), "frame_index": np.asarray(source["frame_index"]),
            "image_size": np.array(view["image_size"]), "K": view["K"], "dist": view["dist"],
            "rvec_world": rvec.reshape(3), "tvec_world": view["t"]}


def _extract(members: dict[str, str], out: Path) -> None:
    """Download the pinned wheel and copy the members (our name -> path in the wheel) into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="diffmocap-pose2sim-") as tmp_name:
        wheel = download("pip", WHEEL_SPEC, Path(tmp_name))
        if sha256_file(wheel) != WHEEL_SHA256:
            raise RuntimeError(f"{wheel.name} does not match its pinned sha256")
        with zipfile.ZipFile(wheel) as z:
            for ours, inner in members.items():
                with z.open(inner) as src, open(out / ours, "wb") as dst:
                    shutil.copyfileobj(src, dst)


def multi_dir() -> Path:
    return cache_dir() / "realfootage" / "pose2sim_multi"


def fetch_multi(force: bool = False, log=print) -> Path:
    """The wheel's two-person demo (same lab, same four phones, 100 frames; no 3D truth) under multi_dir(): a real
    scene with two people close together, for the multi-person front end."""
    out = multi_dir()
    if not force and all((out / f"{c}.mp4").is_file() for c in MULTI_VIEWS):
        log(f"pose2sim_views: the two-person demo is already in {out}")
        return out
    _extract({f"{c}.mp4": f"{MULTI_DEMO}/videos/{c}.mp4" for c in MULTI_VIEWS} | {"LICENSE": MEMBERS["LICENSE"]}, out)
    log(f"pose2sim_views: the two-person demo written to {out}")
    return out


def fetch(force: bool = False, log=print) -> Path | None:
    """Make cam02 / cam04 with truth available under views_dir(); returns it, or None without the shared truth."""
    shared = shared_dir()
    folder = None if shared is None else shared / CLIPS_DIR
    if folder is None or not all((folder / f"{c}_truth.npz").is_file() for c in ("cam01", "cam03")):
        log("pose2sim_views: no shared truth (../shared/data/realfootage/pose2sim_balancing): nothing to move")
        return None
    out = views_dir()
    if not force and all((out / f"{v}_truth.npz").is_file() and (out / f"{v}.mp4").is_file() for v in NEW_VIEWS):
        log(f"pose2sim_views: already in {out}")
        return out
    _extract(MEMBERS, out)
    cams = read_qca(out / "Calib.qca.txt")
    truths = {c: dict(np.load(folder / f"{c}_truth.npz")) for c in ("cam01", "cam03")}
    check_against_shared(cams, truths)
    for v in NEW_VIEWS:
        np.savez_compressed(out / f"{v}_truth.npz", **truth_for(cams[v], truths["cam01"]))
    log(f"pose2sim_views: {', '.join(NEW_VIEWS)} with truth written to {out}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.pose2sim_views", description=__doc__.split("\n")[0])
    ap.add_argument("--force", action="store_true", help="download and write again")
    ap.add_argument("--multi", action="store_true", help="also the two-person demo's videos (no truth)")
    args = ap.parse_args(argv)
    try:
        fetch(force=args.force)
        if args.multi:
            fetch_multi(force=args.force)
    except (RuntimeError, ValueError) as err:
        print(f"pose2sim_views: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
