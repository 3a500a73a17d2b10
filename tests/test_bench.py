"""pipeline.bench: the command prints one valid JSON object with every stage, FPS, latency and MediaPipe key."""
import json
import subprocess
import sys

import pytest

from core.paths import repo_root
from pipeline.samples import sample_path


def test_bench_measures_the_apps_pipeline():
    """The bench's options go through the app's config layer, and its lifter choice maps onto lifter.runtimes."""
    from pipeline.bench import bench_config, lifter_variant, parse_args

    args = parse_args(["--source", str(sample_path("vtest.avi", fetch=True)), "--model", "lite", "--hypotheses", "8",
                       "--weights", "random"])
    cfg = bench_config(args)
    assert (cfg.model, cfg.hypotheses, cfg.lifter, cfg.candidates) == ("lite", 8, "random", 32)
    assert lifter_variant(args) is None      # auto: the factory's own choice, as in the app
    for flags, variant in ((["--lifter", "onnx"], "onnx"), (["--dtype", "bf16"], "bf16"),
                           (["--lifter", "torch"], "fp32-fast"), (["--lifter-mode", "graph", "--dtype", "bf16"],
                                                                  "graph-bf16")):
        assert lifter_variant(parse_args(["--source", str(args.source)] + flags)) == variant


@pytest.mark.slow
def test_bench_cli_prints_json_with_all_keys():
    video = sample_path("vtest.avi", fetch=True)
    cmd = [sys.executable, "-m", "pipeline.bench", "--source", str(video), "--frames", "5", "--threads", "2",
           "--json"]
    out = subprocess.run(cmd, cwd=repo_root(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert set(result["stages_ms"]) == {"decode", "detect", "landmark", "candidates", "lifter", "root", "smooth",
                                          "world"}
    assert all(v >= 0 for v in result["stages_ms"].values())
    assert result["sequential"]["with_person"] > 0          # --start auto found the first walker ...
    assert result["stages_ms"]["lifter"] > 0                 # ... so the lifter ran
    assert result["offline_fps"] > 0 and result["offline"]["frames"] == 5 == result["offline_pipelined"]["frames"]
    assert "run_offline" in result["offline"]["how"] and "run_live" in result["live"]["how"]   # the app's loops
    assert result["live_latency_ms_p95"] >= result["live_latency_ms_median"] > 0
    assert result["live"]["frames"] + result["live_dropped"] >= 5
    assert "mediapipe_fps" in result and result["mediapipe"]["how"]
    if result["mediapipe_fps"]:
        assert result["mediapipe"]["with_pose"] > 0              # both passes start where both find someone
        assert result["ratio_vs_mediapipe"] == pytest.approx(result["offline_fps"] / result["mediapipe_fps"], rel=1e-2)
    assert result["machine"]["cores"] >= 1 and result["config"]["model"] == "full"
