"""JSONL -> BVH conversion gives the same motion as the live BVH sink."""
from __future__ import annotations

import numpy as np

from export.convert import main
from export.sinks import BvhSink, JsonlSink
from tests.test_export_bvh import read_ours
from tests.test_export_fixtures import make_result, synthetic_motion


def test_convert_matches_live_sink(tmp_path, capsys):
    poses = synthetic_motion(frames=20)
    with JsonlSink(tmp_path / "run.jsonl", meta={"fps": 20.0}) as js, BvhSink(tmp_path / "live.bvh", fps=20.0) as bs:
        for i in range(20):
            r = make_result(i, poses[i] if i not in (3, 4, 11) else None, person_id=2, extra_people=1, fps=20.0)
            js.write(r)
            bs.write(r)
    assert main([str(tmp_path / "run.jsonl"), str(tmp_path / "out.bvh")]) == 0
    assert "20 frames at 20 fps, person 2" in capsys.readouterr().out
    live, live_dt = read_ours(tmp_path / "live.bvh")
    conv, conv_dt = read_ours(tmp_path / "out.bvh")
    assert conv_dt == live_dt and np.linalg.norm(conv - live, axis=-1).max() < 1e-5
    # Another person, in centimetres.
    assert main([str(tmp_path / "run.jsonl"), str(tmp_path / "p3.bvh"), "--person", "3", "--units", "cm"]) == 0
    other, _ = read_ours(tmp_path / "p3.bvh")
    assert len(other) == 20 and np.linalg.norm(other / 100 - live, axis=-1).mean() > 0.1


def test_convert_without_people_fails_cleanly(tmp_path, capsys):
    with JsonlSink(tmp_path / "empty.jsonl") as js:
        js.write(make_result(0, None))
    assert main([str(tmp_path / "empty.jsonl"), str(tmp_path / "x.bvh")]) == 1
    assert "no 3D pose" in capsys.readouterr().err and not (tmp_path / "x.bvh").exists()
