"""Our BlazePose front end against mediapipe 0.10.14 itself, and the LiteRT runtime against the torch runtime.

mediapipe is not a project requirement: it lives in its own venv (.venv-mediapipe, made by
tools/mediapipe_venv.sh, which this test runs when the venv is missing) and is called through a subprocess.
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.records import Frame
from core.skeleton import JOINT_NAMES, LIMB_JOINTS
from detectors.joint_map import map_points

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-mediapipe"
MEDIAN_PX = 3.0
RUNTIME_PX = 0.5


def messi_path():
    from pipeline.samples import SampleMissing, sample_path

    try:
        return sample_path("messi5.jpg")
    except SampleMissing as e:
        pytest.skip(f"sample media missing ({e})")


def front_end(runtime):
    from detectors.frontend import FrontEnd
    from weights.fetch import WeightsMissing

    try:
        return FrontEnd(model="full", runtime=runtime, seed=0, k=8)
    except WeightsMissing as e:
        pytest.skip(f"BlazePose weights not fetched ({e})")


def mediapipe_python() -> Path:
    py = VENV / "bin" / "python"
    if not (VENV / ".installed").exists():
        try:
            r = subprocess.run(["bash", str(ROOT / "tools" / "mediapipe_venv.sh"), str(VENV)], cwd=ROOT,
                               capture_output=True, text=True, timeout=900)
        except subprocess.TimeoutExpired:
            pytest.skip("could not create .venv-mediapipe in 15 min (no package index reachable?)")
        if r.returncode != 0:
            tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or [""]
            pytest.skip(f"could not create .venv-mediapipe with tools/mediapipe_venv.sh: {tail[0]}")
    return py


def our_landmarks(runtime, image_path):
    import cv2

    img = cv2.imread(str(image_path))
    persons, _ = front_end(runtime).process(Frame(index=0, timestamp=0.0, image=img), None)
    assert len(persons) == 1
    return persons[0].landmarks.landmarks[:, :2]


@pytest.mark.slow
def test_limb_landmarks_match_mediapipe_on_messi():
    image = messi_path()
    py = mediapipe_python()
    r = subprocess.run([str(py), str(ROOT / "tools" / "mediapipe_landmarks.py"), str(image)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    ref = json.loads(r.stdout.strip().splitlines()[-1])
    assert ref["landmarks"] is not None, "mediapipe found no pose on messi5.jpg"
    theirs = map_points(np.array(ref["landmarks"])[:, :2])[list(LIMB_JOINTS)]
    ours = map_points(our_landmarks("litert", image))[list(LIMB_JOINTS)]
    err = np.linalg.norm(ours - theirs, axis=1)
    detail = ", ".join(f"{JOINT_NAMES[j]} {e:.1f}" for j, e in zip(LIMB_JOINTS, err))
    print(f"median {np.median(err):.2f} px, max {err.max():.2f} px: {detail}")
    assert np.median(err) < MEDIAN_PX, detail


def test_litert_and_torch_runtimes_agree_through_the_front_end():
    if not (ROOT / "detectors" / "tflite_torch.py").exists():
        pytest.skip("detectors/tflite_torch.py (the torch runtime) is not in the repo yet")
    image = messi_path()
    a = our_landmarks("litert", image)
    b = our_landmarks("torch", image)
    err = np.linalg.norm(a - b, axis=1)
    assert err.max() < RUNTIME_PX, f"max {err.max():.3f} px at landmark {int(err.argmax())}"
