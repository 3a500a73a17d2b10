"""tools/gpu_check.sh, the one-call GPU measurement script, run end to end on the CPU with tiny settings: every step
must finish and write what it promises (on a GPU machine the same steps run with --device cuda)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from core.paths import repo_root
from tests.lifter_fixtures import synthetic_poses


@pytest.mark.slow
def test_gpu_check_runs_every_step_on_the_cpu(tmp_path):
    np.savez(tmp_path / "poses.npz", poses=synthetic_poses(8))
    env = dict(os.environ, PY=sys.executable, OUT=str(tmp_path / "out"), DEVICE="cpu", FRAMES="3", POSES="8",
               REPEATS="2", BATCH="4", BENCH_ARGS="--no-live --max-people 1", SKIP_TESTS="1", POSES_FILE=str(tmp_path / "poses.npz"))
    run = subprocess.run(["bash", "tools/gpu_check.sh"], cwd=repo_root(), env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr
    steps = (tmp_path / "out" / "steps.txt").read_text().split("\n")
    assert [line.split()[0] for line in steps if line] == [
        "machine.txt", "bench_heavy_n64.json", "bench_full_n16.json", "lifter_only_n64.json",
        "eval_n64_fp32.json", "eval_n64_bf16.json"]
    assert all(" rc=0 " in line for line in steps if line), steps
    heavy = json.loads((tmp_path / "out" / "bench_heavy_n64.json").read_text())
    assert heavy["config"]["model"] == "heavy" and heavy["config"]["hypotheses"] == 64 and heavy["offline_fps"] > 0
    evals = [json.loads((tmp_path / "out" / f"eval_n64_{v}.json").read_text()) for v in ("fp32", "bf16")]
    assert [e["variant"] for e in evals] == ["fp32", "bf16"] and all(e["n_poses"] == 8 for e in evals)
