"""pipeline.bench: the command prints one valid JSON object with every stage, FPS, latency and MediaPipe key."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from core.paths import repo_root
from pipeline.samples import sample_path


def test_lift_pads_for_fixed_shapes_and_summarises():
    from lifter.loading import load_lifter
    from pipeline.bench import lift
    from core.records import Candidates

    lifter = load_lifter("random")[0]
    rng = np.random.default_rng(0)
    cands = [Candidates(xy=rng.uniform(100, 300, (17, 32, 2)).astype(np.float32),
                        likelihood=rng.uniform(0, 1, (17, 32)).astype(np.float32)) for _ in range(3)]
    est, lifter_ms, aggregate_ms = lift(lifter, cands, 8, 2, torch.Generator().manual_seed(0), pad_to=5)
    assert len(est) == 3 and lifter_ms > 0 and aggregate_ms >= 0
    assert est[0].hypotheses.shape == (8, 17, 3) and est[0].covariance.shape == (17, 3, 3)
    # padding does not change the real frames' results: same noise for the first 3 frames either way
    alone, _, _ = lift(lifter, cands, 8, 2, torch.Generator().manual_seed(0))
    np.testing.assert_allclose(alone[1].mean, est[1].mean, atol=1e-5)
    assert not np.allclose(est[0].mean, est[1].mean)


@pytest.mark.slow
def test_bench_cli_prints_json_with_all_keys():
    video = sample_path("vtest.avi", fetch=True)
    cmd = [sys.executable, "-m", "pipeline.bench", "--source", str(video), "--frames", "5", "--threads", "2",
           "--json"]
    out = subprocess.run(cmd, cwd=repo_root(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert set(result["stages_ms"]) == {"decode", "detect", "landmark", "candidates", "lifter", "aggregate"}
    assert all(v >= 0 for v in result["stages_ms"].values())
    assert result["sequential"]["with_person"] > 0          # --start auto found the first walker ...
    assert result["stages_ms"]["lifter"] > 0                 # ... so the lifter ran
    assert result["offline_fps"] > 0 and result["offline"]["frames"] == 5
    assert result["live_latency_ms_p95"] >= result["live_latency_ms_median"] > 0
    assert result["live"]["frames"] + result["live_dropped"] >= 5
    assert "mediapipe_fps" in result and result["mediapipe"]["how"]
    if result["mediapipe_fps"]:
        assert result["ratio_vs_mediapipe"] == pytest.approx(result["offline_fps"] / result["mediapipe_fps"], rel=1e-2)
    assert result["machine"]["cores"] >= 1 and result["config"]["model"] == "full"
