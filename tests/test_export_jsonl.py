"""JSON Lines export: real sink output validates against the schema, line by line."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from core.camera import camera_to_world
from core.skeleton import JOINT_NAMES, PARENTS
from export.jsonl import SCHEMA_VERSION, frame_record, header_record, load_schema, read_jsonl, validate_record
from export.sinks import JsonlSink
from tests.test_export_fixtures import make_result, synthetic_motion


def test_sink_output_validates(tmp_path):
    poses = synthetic_motion(frames=6)
    path = tmp_path / "out.jsonl"
    with JsonlSink(path, meta={"source": Path("clip.mp4"), "fps": np.float32(30.0), "model": "test"}) as sink:
        sink.write(make_result(0, poses[0], extra_people=1))
        sink.write(make_result(1, None))                      # nobody in this frame
        for i in range(2, 6):
            sink.write(make_result(i, poses[i]))
    header, frames = read_jsonl(path)                         # validates every line
    assert header["joint_names"] == list(JOINT_NAMES) and header["parents"] == list(PARENTS)
    assert header["schema_version"] == SCHEMA_VERSION and header["fps"] == 30.0 and header["source"] == "clip.mp4"
    assert header["meta"] == {"model": "test"} and header["include_hypotheses"] is False
    assert [f["frame_index"] for f in frames] == list(range(6))
    assert frames[1]["persons"] == [] and len(frames[0]["persons"]) == 2
    p = frames[2]["persons"][0]
    assert "hypotheses" not in p
    assert np.allclose(p["pose_3d_world"], poses[2], atol=2e-6)     # world = camera_to_world(pose_3d + root)
    assert np.allclose(camera_to_world(np.array(p["pose_3d"]) + p["root_translation"]), poses[2], atol=4e-6)
    assert np.array(p["covariance"]).shape == (17, 3, 3) and np.array(p["keypoints_2d"]).shape == (17, 3)
    assert frames[2]["image_size"] == [640, 480] and np.array(frames[2]["intrinsics"]).shape == (3, 3)
    assert frames[3]["timestamp"] == pytest.approx(0.1)


def test_hypotheses_on_request(tmp_path):
    path = tmp_path / "h.jsonl"
    with JsonlSink(path, include_hypotheses=True) as sink:
        sink.write(make_result(0, synthetic_motion(frames=1)[0], hypotheses=7))
    header, frames = read_jsonl(path)
    assert header["include_hypotheses"] is True
    assert np.array(frames[0]["persons"][0]["hypotheses"]).shape == (7, 17, 3)


def test_nan_becomes_null_and_validates():
    result = make_result(0, synthetic_motion(frames=1)[0])
    result.persons[0].estimate.mean[3] = np.nan
    result.persons[0].candidates = None
    result.persons[0].estimate.covariance[0, 0, 0] = np.inf
    record = json.loads(json.dumps(frame_record(result), allow_nan=False))
    validate_record(record)
    person = record["persons"][0]
    assert person["pose_3d"][3] == [None, None, None] and person["keypoints_2d"] is None
    assert person["covariance"][0][0][0] is None


def test_person_without_3d_validates():
    result = make_result(0, synthetic_motion(frames=1)[0])
    result.persons[0].estimate = None
    record = frame_record(result, include_hypotheses=True)
    validate_record(record)
    assert record["persons"][0]["pose_3d"] is None and record["persons"][0]["hypotheses"] is None


@pytest.mark.parametrize("breakage", ["short_pose", "no_persons", "bad_joint_names", "string_index", "bad_type"])
def test_schema_rejects_broken_records(breakage):
    record = frame_record(make_result(0, synthetic_motion(frames=1)[0]))
    header = header_record({"fps": 25})
    validate_record(record)
    validate_record(header)
    if breakage == "short_pose":
        record["persons"][0]["pose_3d"] = record["persons"][0]["pose_3d"][:16]
    elif breakage == "no_persons":
        del record["persons"]
    elif breakage == "string_index":
        record["frame_index"] = "3"
    elif breakage == "bad_type":
        record["type"] = "frames"
    else:
        record = header
        record["joint_names"] = list(reversed(JOINT_NAMES))
    with pytest.raises(jsonschema.ValidationError):
        validate_record(record)


def test_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(load_schema())
