"""BVH export: exact IK, round trips through bvhio and our reader, a real mocap clip, Blender's importer."""
from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import bvhio
import numpy as np
import pytest

from core.paths import repo_root, shared_dir
from core.skeleton import JOINT_NAMES, PARENTS
from export import ik
from export.bvh import RIG, RIG_NAMES, forward_kinematics, solve, write_bvh
from export.ik import LIMBS, global_rotations, rest_from_positions, rest_pose
from lifter.data.bvh import bvh_fk, parse_bvh
from tests.test_export_fixtures import synthetic_motion


def read_ours(path: Path) -> tuple[np.ndarray, float]:
    clip = parse_bvh(path.read_text())
    pos = bvh_fk(clip)
    return pos[:, [clip.skeleton.index(n) for n in JOINT_NAMES]], clip.frame_time


def read_bvhio(path: Path) -> np.ndarray:
    root = bvhio.readAsHierarchy(str(path))
    joints = {j.Name: j for j, _, _ in root.layout()}
    first, last = root.getKeyframeRange()
    out = []
    for f in range(first, last + 1):
        root.loadPose(f, recursive=True)
        out.append([tuple(joints[n].PositionWorld) for n in JOINT_NAMES])
    return np.array(out)


def joint_error(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    return float(np.linalg.norm(a - b, axis=-1).mean())


def test_ik_reproduces_normalised_positions_exactly():
    poses = synthetic_motion(frames=120, noise=0.01)
    data = solve(poses, ground=False)
    assert np.abs(forward_kinematics(data.rest, data.motion) - data.positions).max() < 1e-9
    # Normalisation keeps the root and every bone direction, and sets each bone to its median length.
    lengths = np.linalg.norm(data.positions[:, 1:] - data.positions[:, list(PARENTS[1:])], axis=-1)
    expected = np.median(np.linalg.norm(poses[:, 1:] - poses[:, list(PARENTS[1:])], axis=-1), axis=0)
    assert np.allclose(lengths, expected[None], atol=1e-12)
    assert np.allclose(data.positions[:, 0], poses[:, 0])


def test_rest_pose_has_zero_rotations():
    pose = rest_pose(rest_from_positions(None))
    data = solve(np.stack([pose, pose]), ground=False)
    assert np.abs(data.motion[:, 3:]).max() < 1e-9


def test_knees_and_elbows_are_hinges():
    # Where the limb is bent enough for its bend plane to count (>= 20 deg), the whole local rotation of the knee /
    # elbow is about the rest bend normal; all the twist sits in the hip / shoulder.
    data = solve(synthetic_motion(frames=120, noise=0.0), ground=False)
    d = ik.bone_directions(data.positions)
    for upper, middle, lower, _, rest_normal in LIMBS:
        bent = np.linalg.norm(np.cross(d[:, middle], d[:, lower]), axis=-1) >= ik.STRAIGHT_SIN
        assert bent.sum() > 30
        k = RIG_NAMES.index(JOINT_NAMES[middle])
        angles = data.motion[bent, 3 + 3 * k:6 + 3 * k]
        hinge = "XYZ"[int(np.argmax(np.abs(rest_normal)))]
        others = [i for i, a in enumerate(RIG[k].order) if a != hinge]
        assert np.abs(angles[:, others]).max() < 1e-6, JOINT_NAMES[middle]
        assert np.ptp(angles[:, RIG[k].order.index(hinge)]) > 60.0


def _steps_deg(rot: np.ndarray) -> np.ndarray:
    rel = np.einsum("tba,tbc->tac", rot[:-1], rot[1:])
    return np.degrees(np.arccos(np.clip((np.trace(rel, axis1=1, axis2=2) - 1) / 2, -1, 1)))


def test_straight_limbs_do_not_flip(monkeypatch):
    # Standing still with straight legs and arms hanging down, 3 mm of joint noise: the bend-plane normal of each
    # limb points anywhere from frame to frame, but the twist rule must keep hips and shoulders steady.
    rng = np.random.default_rng(1)
    pose = rest_pose(rest_from_positions(None))
    for side, s in (("l", 1.0), ("r", -1.0)):   # arms down
        sh = pose[JOINT_NAMES.index(f"{side}_shoulder")]
        pose[JOINT_NAMES.index(f"{side}_elbow")] = sh + [0.0, -0.28, 0.0]
        pose[JOINT_NAMES.index(f"{side}_wrist")] = sh + [0.0, -0.53, 0.0]
    poses = pose[None] + 0.003 * rng.normal(size=(200, 17, 3))
    data = solve(poses, ground=False)
    g, _ = global_rotations(data.positions, data.rest)
    for upper, *_ in LIMBS:
        assert _steps_deg(g[:, upper]).max() < 20.0, JOINT_NAMES[upper]   # noise-sized steps, no flips
    # The same data with the normal taken as measured (no fading) does flip: the test can tell.
    monkeypatch.setattr(ik, "STRAIGHT_SIN", 1e-12)
    monkeypatch.setattr(ik, "STRAIGHT_SIN_LOW", 0.0)
    g, _ = global_rotations(data.positions, data.rest)
    assert max(_steps_deg(g[:, upper]).max() for upper, *_ in LIMBS) > 90.0


def test_synthetic_round_trip_bvhio_and_ours(tmp_path):
    poses = synthetic_motion(frames=150, noise=0.01)
    path = tmp_path / "synthetic.bvh"
    data = write_bvh(path, poses, fps=25.0)
    ours, frame_time = read_ours(path)
    assert frame_time == pytest.approx(1 / 25.0)
    assert len(ours) == len(poses)
    assert joint_error(ours, data.positions) < 1e-5       # 6-decimal file values: a few micrometres
    assert joint_error(read_bvhio(path), data.positions) < 1e-5
    # Grounded: the median lowest joint is at y = 0; otherwise the poses are the input's, normalised.
    assert abs(np.median(data.positions[..., 1].min(axis=1))) < 1e-9
    text = path.read_text()
    assert text.count("End Site") == 5 and text.count("CHANNELS 6") == 1
    assert text.count("CHANNELS 3") == len(RIG) - 1 and f"Frames: {len(poses)}" in text


def test_units_cm(tmp_path):
    poses = synthetic_motion(frames=20)
    data = write_bvh(tmp_path / "m.bvh", poses, fps=30.0, units="cm")
    ours, _ = read_ours(tmp_path / "m.bvh")
    assert joint_error(ours / 100.0, data.positions) < 1e-5


def test_write_replaces_atomically(tmp_path):
    path = tmp_path / "a.bvh"
    write_bvh(path, synthetic_motion(frames=10), fps=30.0)
    write_bvh(path, synthetic_motion(frames=12), fps=30.0)
    assert read_ours(path)[0].shape[0] == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bvh"]   # no temporary file left behind


def real_clip(frames: int = 300) -> np.ndarray:
    """(T, 17, 3) a CMU martial-arts take (shared mocap cache) at 30 fps, through the lifter's data readers."""
    root = shared_dir()
    archive = root / "data" / "mocap" / "cmu_dance" / "bvh.tar.xz" if root else None
    if archive is None or not archive.is_file():
        pytest.skip("shared mocap data not present")
    from lifter.data.extract import bvh_joints
    from lifter.data.sources import SOURCES

    with tarfile.open(archive, "r:xz") as tar:
        member = next(m for m in tar if m.name.endswith("martial/04.bvh"))
        clip = parse_bvh(tar.extractfile(member).read().decode())
    return bvh_joints(clip, SOURCES["cmu_dance"], np.arange(0, clip.num_frames, 4)[:frames])


def test_real_clip_round_trip(tmp_path):
    poses = real_clip()
    path = tmp_path / "real.bvh"
    data = write_bvh(path, poses, fps=30.0)
    ours, _ = read_ours(path)
    err_ours, err_bvhio = joint_error(ours, data.positions), joint_error(read_bvhio(path), data.positions)
    print(f"real clip, {len(poses)} frames: mean joint error ours {err_ours * 1e3:.4f} mm, bvhio {err_bvhio * 1e3:.4f} mm")
    assert err_ours < 1e-3 and err_bvhio < 1e-3
    # Normalising bone lengths barely moves clean mocap (the export is still the same motion).
    moved = data.positions - poses
    moved -= moved[:, :1]
    assert np.linalg.norm(moved, axis=-1).mean() < 0.01


def blender_python() -> Path | None:
    path = repo_root() / ".venv-bpy" / "bin" / "python"
    return path if path.is_file() else None


@pytest.mark.skipif(blender_python() is None, reason="no .venv-bpy (make it with tools/bpy_venv.sh)")
@pytest.mark.parametrize("units", ["m", "cm"])
def test_blender_imports_it(tmp_path, units):
    poses = synthetic_motion(frames=90, noise=0.01)
    path = tmp_path / "blender.bvh"
    data = write_bvh(path, poses, fps=30.0, units=units)
    checked = (0, 41, 89)
    expect = {"num_frames": len(poses), "bones": list(RIG_NAMES), "units": units,
              "frames": {str(f): {n: data.positions[f, j].tolist() for j, n in enumerate(JOINT_NAMES)} for f in checked}}
    (tmp_path / "expect.json").write_text(json.dumps(expect))
    run = subprocess.run([str(blender_python()), str(repo_root() / "tools" / "blender_check.py"), str(path),
                          "--expect", str(tmp_path / "expect.json")], capture_output=True, text=True, timeout=120)
    report = json.loads(run.stdout.strip().splitlines()[-1])
    print(report)
    assert run.returncode == 0, run.stdout + run.stderr
    assert report["frames"] == len(poses) and report["bones"] == len(RIG) and report["max_joint_error_m"] < 1e-3
