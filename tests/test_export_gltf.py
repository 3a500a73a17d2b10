"""glTF export: exact joint positions from the file's own data, key times from the timestamps, the sink against the
JSON Lines, the Khronos validator (npm gltf-validator) and Blender's importer (each skips when its tool is missing)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pygltflib
import pytest

from core.paths import repo_root
from core.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS
from export.gltf import forward_kinematics, key_times, write_gltf
from export.jsonl import read_jsonl
from export.names import joint_names
from export.sinks import GltfSink, JsonlSink
from tests.test_export_fixtures import make_result, synthetic_motion

VALIDATOR = repo_root() / ".node" / "node_modules" / "gltf-validator"
BLENDER_PYTHON = repo_root() / ".venv-bpy" / "bin" / "python"


def read_glb(path) -> tuple[np.ndarray, np.ndarray, list[str], dict]:
    """(times, world joint positions (T, 17, 3), joint names, scene extras) from the file alone (pygltflib)."""
    doc = pygltflib.GLTF2().load(str(path))
    blob = doc.binary_blob()

    def array(index: int) -> np.ndarray:
        acc = doc.accessors[index]
        view = doc.bufferViews[acc.bufferView]
        width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}[acc.type]
        data = np.frombuffer(blob, np.float32, acc.count * width, view.byteOffset + (acc.byteOffset or 0))
        return data.reshape(acc.count, width).astype(np.float64)

    joints = doc.skins[0].joints
    assert [doc.nodes[j].children or [] for j in joints] == [[c for c, p in enumerate(PARENTS) if p == j]
                                                              for j in range(NUM_JOINTS)]
    anim = doc.animations[0]
    times = array(anim.samplers[0].input)[:, 0]
    rot = np.zeros((len(times), NUM_JOINTS, 4))
    trans = np.zeros((len(times), NUM_JOINTS, 3))
    for ch in anim.channels:
        values = array(anim.samplers[ch.sampler].output)
        (rot if ch.target.path == "rotation" else trans)[:, joints.index(ch.target.node)] = values
    names = [doc.nodes[j].name for j in joints]
    return times, forward_kinematics(rot, trans), names, doc.scenes[doc.scene].extras


def test_file_reproduces_the_poses_and_times(tmp_path):
    poses = synthetic_motion(frames=90, noise=0.01)     # bone lengths vary frame to frame, as in lifter output
    stamps = 12.0 + np.cumsum(np.random.default_rng(1).uniform(0.02, 0.05, 90))   # uneven, not from 0
    motion = write_gltf(tmp_path / "a.glb", poses, stamps)
    times, positions, names, extras = read_glb(tmp_path / "a.glb")
    assert names == list(JOINT_NAMES)
    np.testing.assert_allclose(times, stamps - stamps[0], atol=1e-5)
    grounded = poses - np.array([0.0, extras["ground_height_m"], 0.0])
    err = np.linalg.norm(positions - grounded, axis=-1).max()
    print(f"max joint error from the file: {err * 1e6:.2f} um")
    assert err < 1e-4
    assert abs(np.median(grounded[..., 1].min(axis=1))) < 1e-9 and motion.ground == extras["ground_height_m"]


def test_key_times_fall_back_to_fps():
    np.testing.assert_allclose(key_times([0.0, 0.0, 0.0], 10.0), [0.0, 0.1, 0.2])
    np.testing.assert_allclose(key_times([5.0], 10.0), [0.0])
    np.testing.assert_allclose(key_times([1.0, 1.5, 1.7], 10.0), [0.0, 0.5, 0.7])


def test_sink_matches_the_jsonl(tmp_path):
    poses = synthetic_motion(frames=40)
    results = [make_result(i, None if i in (0, 17, 18) else poses[i], fps=25.0) for i in range(40)]
    with JsonlSink(tmp_path / "a.jsonl") as js, GltfSink(tmp_path / "a.glb", fps=25.0) as gs:
        for r in results:
            js.write(r)
            gs.write(r)
    _, frames = read_jsonl(tmp_path / "a.jsonl")
    times, positions, _, extras = read_glb(tmp_path / "a.glb")
    assert len(times) == 40 and times[-1] == pytest.approx(39 / 25.0)
    worst = 0.0
    for f, pos in zip(frames, positions):
        if f["persons"]:
            world = np.array(f["persons"][0]["pose_3d_world"]) - [0.0, extras["ground_height_m"], 0.0]
            worst = max(worst, float(np.linalg.norm(pos - world, axis=-1).max()))
    assert worst < 1e-3
    for i, w in ((17, 1 / 3), (18, 2 / 3)):   # frames without the person: between frames 16 and 19 in time (root exact)
        np.testing.assert_allclose(positions[i][0], positions[16][0] + w * (positions[19][0] - positions[16][0]),
                                   atol=1e-5)


def validate(path) -> dict:
    run = subprocess.run(["node", str(repo_root() / "tools" / "gltf_validate.js"), str(path)], capture_output=True,
                         text=True, timeout=60)
    return json.loads(run.stdout.strip().splitlines()[-1])


needs_validator = pytest.mark.skipif(shutil.which("node") is None or not VALIDATOR.is_dir(),
                                     reason="no node or gltf-validator (make test-extras installs it into .node/)")


@needs_validator
@pytest.mark.parametrize("frames", [1, 60])
def test_khronos_validator_finds_no_error(tmp_path, frames):
    write_gltf(tmp_path / "a.glb", synthetic_motion(frames=max(frames, 2))[:frames], np.arange(frames) / 30.0,
               names="mixamo")
    report = validate(tmp_path / "a.glb")
    print(report)
    assert report["errors"] == 0 and report["warnings"] == 0, report


@needs_validator
def test_khronos_validator_catches_a_broken_file(tmp_path):
    """The check can fail: a file whose animation times run backwards is an error."""
    write_gltf(tmp_path / "a.glb", synthetic_motion(frames=10), np.arange(10) / 30.0)
    doc = pygltflib.GLTF2().load(str(tmp_path / "a.glb"))
    acc = doc.accessors[doc.animations[0].samplers[0].input]
    blob = bytearray(doc.binary_blob())
    off = doc.bufferViews[acc.bufferView].byteOffset
    blob[off:off + 40] = np.arange(10, dtype=np.float32)[::-1].tobytes()
    doc.set_binary_blob(bytes(blob))
    doc.save_binary(str(tmp_path / "b.glb"))
    assert validate(tmp_path / "b.glb")["errors"] > 0


@pytest.mark.skipif(not BLENDER_PYTHON.is_file(), reason="no .venv-bpy (make it with tools/bpy_venv.sh)")
def test_blender_imports_it(tmp_path):
    poses = synthetic_motion(frames=60, noise=0.01)
    motion = write_gltf(tmp_path / "a.glb", poses, np.arange(60) / 10.0, names="unreal")
    names = list(joint_names("unreal"))
    checked = (0, 33, 59)
    expect = {"num_frames": 60, "bones": names, "units": "m",
              "frames": {str(f): {n: motion.positions[f, j].tolist() for j, n in enumerate(names)} for f in checked}}
    (tmp_path / "expect.json").write_text(json.dumps(expect))
    run = subprocess.run([str(BLENDER_PYTHON), str(repo_root() / "tools" / "blender_check.py"), str(tmp_path / "a.glb"),
                          "--expect", str(tmp_path / "expect.json")], capture_output=True, text=True, timeout=180)
    report = json.loads(run.stdout.strip().splitlines()[-1])
    print(report)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert report["frames"] == 60 and report["bones"] == 17 and report["max_joint_error_m"] < 1e-3


def test_app_writes_a_glb_of_an_image(tmp_path):
    """The app end to end on messi5.jpg: --export-gltf with --skeleton-names, matching the JSONL of the same run."""
    from pipeline.samples import SampleMissing, sample_path

    try:
        image = sample_path("messi5.jpg")
    except SampleMissing as e:
        pytest.skip(str(e))
    run = subprocess.run([sys.executable, "app.py", "--source", str(image), "--no-window", "--hypotheses", "4",
                          "--steps", "2", "--seed", "0", "--skeleton-names", "mixamo", "--export-json",
                          str(tmp_path / "m.jsonl"), "--export-gltf", str(tmp_path / "m.glb")],
                         cwd=repo_root(), capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert run.returncode == 0, run.stderr[-2000:]
    times, positions, names, extras = read_glb(tmp_path / "m.glb")
    _, frames = read_jsonl(tmp_path / "m.jsonl")
    world = np.array(frames[0]["persons"][0]["pose_3d_world"]) - [0.0, extras["ground_height_m"], 0.0]
    assert len(times) == 1 and names == list(joint_names("mixamo")) and extras["skeleton_names"] == "mixamo"
    assert np.linalg.norm(positions[0] - world, axis=-1).max() < 1e-3
    if shutil.which("node") and VALIDATOR.is_dir():
        assert validate(tmp_path / "m.glb")["errors"] == 0
