"""The Python API (pipeline.Estimator), the README's example, and the MMPose front end behind the same Protocol."""
import re
from pathlib import Path

import numpy as np
import pytest

from core.errors import ConfigError
from core.protocols import FrontEnd, FrontEndOutput
from core.records import Detection, Frame, Roi
from pipeline.config import AppConfig
from pipeline.factory import build_frontend

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_gives_a_17x3_pose(blazepose_files, capsys):
    from pipeline.samples import SampleMissing, sample_path

    try:
        sample_path("messi5.jpg", fetch=True)
    except SampleMissing as e:
        pytest.skip(str(e))
    text = README.read_text()
    code = re.search(r"## Python API.*?```python\n(.*?)```", text, re.S).group(1)
    assert len(code.strip().splitlines()) <= 6
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - the documented example, as a user runs it
    assert "(17, 3)" in capsys.readouterr().out
    result = scope["result"]
    assert result.persons and result.persons[0].estimate.mean.shape == (17, 3)
    assert np.isfinite(result.persons[0].estimate.covariance).all()
    est = scope["est"]
    again = list(est.run(sample_path("messi5.jpg")))   # run() over a source: a new stream, same picture
    assert len(again) == 1 and again[0].persons[0].estimate.mean.shape == (17, 3)   # the held frame flushed
    # frames given to process() after a run() run as live again, each call returning its own frame (auto: causal)
    assert est.pipeline.offline is False and est.pipeline.temporal_window == "causal"


def test_estimator_options_are_checked_by_the_config_layer():
    from pipeline import Estimator

    with pytest.raises(ConfigError, match="--hypotheses must be at least 1"):
        Estimator(hypotheses=0)
    with pytest.raises(ConfigError, match="--model"):
        Estimator(model="huge")
    with pytest.raises(ConfigError, match="unknown option"):
        Estimator(colour="red")


class FakeBackend:
    def candidates(self, image, detection):
        from core.records import Candidates

        return Candidates(xy=np.zeros((17, 4, 2)), likelihood=np.ones((17, 4)))


class FakeDetector:
    def __init__(self, found):
        self.found = list(found)

    def detect(self, image):
        hit = self.found.pop(0)
        return [Detection(score=0.9, bbox=np.array([0, 0, 10, 10.0]), roi=Roi(5, 5, 10))] if hit else []


def test_mmpose_front_end_is_a_front_end_and_keeps_ids_along_a_track():
    from detectors.mmpose_backend import MMPoseFrontEnd

    fe = MMPoseFrontEnd(FakeBackend(), FakeDetector([True, True, False, True]))
    assert isinstance(fe, FrontEnd)
    state, ids = None, []
    for i in range(4):
        out = fe.process(Frame(index=i, timestamp=i / 10, image=np.zeros((10, 10, 3), np.uint8)), state)
        assert isinstance(out, FrontEndOutput) and set(out.state.timings_ms) == {"detect", "landmarks", "candidates"}
        persons, state = out
        ids.append(persons[0].id if persons else None)
    assert ids == [0, 0, None, 1]          # a lost person found again is a new track
    assert state.restarted().next_id == 2


def test_mmpose_backend_needs_a_model_config():
    with pytest.raises(ConfigError, match="mmpose.config"):
        build_frontend(AppConfig(backend="mmpose"))
