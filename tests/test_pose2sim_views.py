"""tools.pose2sim_views: the Qualisys calibration read as the shared truth files were made, the truth moved between
cameras, and the clip's subject chosen among several people (tools.realfootage.subject)."""
from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from core.paths import shared_dir
from tools.pose2sim_views import CLIPS_DIR, check_against_shared, read_qca, truth_for

QCA = """<?xml version='1.0' encoding='ASCII'?>
<calibration><cameras>
 <camera serial="camA">
  <fov_video bottom="1919" left="0" right="1087" top="0"/>
  <transform r11="0" r12="1" r13="0" r21="0" r22="0" r23="1" r31="1" r32="0" r33="0" x="3000" y="0" z="1500"/>
  <intrinsic centerPointU="34560" centerPointV="61440" focalLengthU="107520" focalLengthV="107520"
   radialDistortion1="-0.064" radialDistortion2="0.128" radialDistortion3="0" tangentalDistortion1="0.0064"
   tangentalDistortion2="0"/>
 </camera>
</cameras></calibration>
"""


def test_qualisys_calibration_reads_as_opencv(tmp_path):
    path = tmp_path / "Calib.qca.txt"
    path.write_text(QCA)
    cam = read_qca(path)["camA"]
    # intrinsics are stored x 64
    np.testing.assert_allclose(cam["K"], [[1680, 0, 540], [0, 1680, 960], [0, 0, 1]])
    np.testing.assert_allclose(cam["dist"], [-0.001, 0.002, 0.0001, 0.0])
    assert cam["image_size"] == (1088, 1920)
    # the camera sits at (3, 0, 1.5) m: the centre maps to the origin of the camera frame
    np.testing.assert_allclose(cam["R"] @ np.array([3.0, 0.0, 1.5]) + cam["t"], 0.0, atol=1e-12)
    # Qualisys' second and third rows point the other way from OpenCV's; the result is a proper rotation
    np.testing.assert_allclose(cam["R"], [[0, 1, 0], [0, 0, -1], [-1, 0, 0]])
    assert np.linalg.det(cam["R"]) == pytest.approx(1.0)


def _camera(rvec, tvec, k=None):
    rot, _ = cv2.Rodrigues(np.asarray(rvec, float))
    k = np.array([[1500.0, 0, 540], [0, 1500, 960], [0, 0, 1]]) if k is None else k
    return {"R": rot, "t": np.asarray(tvec, float), "K": k, "dist": np.zeros(4), "image_size": (1088, 1920)}


def test_truth_moves_through_world_coordinates():
    rng = np.random.default_rng(0)
    world = rng.normal(0, 0.3, (5, 17, 3)) + [0, 0, 1.0]
    a = _camera([0.2, -0.5, 0.1], [0.1, 0.4, 3.0])
    b = _camera([-0.3, 1.2, 0.05], [-0.2, 0.3, 3.5])
    source = {"joints": world @ a["R"].T + a["t"], "rvec_world": cv2.Rodrigues(a["R"])[0].ravel(), "tvec_world": a["t"],
              "valid": np.ones((5, 17), bool), "frame_index": np.arange(5)}
    moved = truth_for(b, source)
    np.testing.assert_allclose(moved["joints"], world @ b["R"].T + b["t"], atol=1e-5)
    uv = moved["joints"][..., :2] / moved["joints"][..., 2:] * 1500 + [540, 960]
    np.testing.assert_allclose(moved["uv"], uv, atol=1e-3)
    assert moved["valid"].all()
    check_against_shared({"camB": b}, {"camB": {**moved, "dist": np.zeros(4)}})
    with pytest.raises(ValueError, match="t from Calib"):
        check_against_shared({"camB": {**b, "t": b["t"] + 0.1}}, {"camB": {**moved, "dist": np.zeros(4)}})


@pytest.mark.skipif(shared_dir() is None or not (shared_dir() / CLIPS_DIR / "cam03_truth.npz").is_file(),
                    reason="no shared real-footage truth")
def test_cam01_truth_moved_into_cam03_is_the_shared_cam03_truth():
    folder = shared_dir() / CLIPS_DIR
    one, three = (dict(np.load(folder / f"{c}_truth.npz")) for c in ("cam01", "cam03"))
    rot, _ = cv2.Rodrigues(three["rvec_world"])
    view = {"R": rot, "t": three["tvec_world"], "K": three["K"], "dist": three["dist"],
            "image_size": tuple(three["image_size"])}
    moved = truth_for(view, one)
    np.testing.assert_allclose(moved["joints"], three["joints"], atol=1e-5)
    np.testing.assert_allclose(moved["uv"][three["valid"]], three["uv"][three["valid"]], atol=0.1)


def test_the_subject_is_the_person_nearest_the_truth():
    from tools.realfootage import subject

    def person(x):
        lm = np.zeros((33, 5))
        lm[:, 0], lm[:, 1] = x, np.linspace(100, 500, 33)
        return SimpleNamespace(landmarks=SimpleNamespace(landmarks=lm))

    bystander, athlete = person(800.0), person(300.0)
    uv = np.stack([np.full(17, 310.0), np.linspace(100, 500, 17)], -1)
    assert subject([bystander, athlete], uv) == [athlete]
    assert subject([bystander, athlete], None) == [bystander]     # no truth for the frame: the first, as before
    assert subject([], uv) == []
