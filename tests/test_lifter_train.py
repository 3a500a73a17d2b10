import json

import numpy as np
import torch

from lifter.model import LifterModel, ModelConfig
from lifter.schedule import CosineSchedule
from lifter.train import diffusion_loss, fixed_batch, load_config, train
from tests.lifter_fixtures import synthetic_poses
from tests.test_lifter_sampler import TINY, one_thread  # noqa: F401  (autouse: one torch thread)


def small_config():
    cfg = load_config()
    cfg["model"].update(TINY)
    cfg["train"].update(batch=16, repeats=2, lr=3e-3, warmup_steps=5, ckpt_minutes=100, k=8, threads=1, none_share=0.0, pool=48, fresh_per_step=8)
    return cfg


def fixed_loss(model, batch):
    ab = CosineSchedule(T=model.cfg.T).alpha_bar()
    with torch.no_grad():
        return float(diffusion_loss(model, batch, ab, torch.Generator().manual_seed(5), repeats=8))


def test_short_training_run_lowers_the_loss_and_resumes(tmp_path):
    from lifter.simulate import SimConfig

    cfg = small_config()
    sim = SimConfig.load()
    poses = synthetic_poses(64)
    held = fixed_batch(synthetic_poses(32, seed=1), 32, sim, seed=3, k=8)
    torch.manual_seed(cfg["train"]["seed"])
    before = fixed_loss(LifterModel(ModelConfig.from_dict(cfg["model"])), held)
    model, summary = train(cfg, poses, held, tmp_path, steps=16, log_every=4, sim_cfg=sim)
    after = fixed_loss(model, held)
    assert summary["steps"] == 16 and after < 0.8 * before
    lines = [json.loads(s) for s in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if "loss" in r] == [4, 8, 12, 16]
    assert lines[-1]["checkpoint"] and np.isfinite(lines[-1]["val_mpjpe_mm"])
    assert (tmp_path / "last.pt").is_file() and (tmp_path / "best.pt").is_file()
    # Resuming continues from the checkpoint instead of starting over.
    _, summary2 = train(cfg, poses, None, tmp_path, steps=17, log_every=4, sim_cfg=sim)
    assert summary2["steps"] == 17


def test_balance_weights_shares():
    from lifter.train import balance_weights

    names = np.array(["a"] * 90 + ["b"] * 10)
    for alpha, share_a in ((1.0, 0.9), (0.0, 0.5), (0.5, 3 / 4)):
        w = balance_weights(names, alpha)
        assert abs(w.sum() - 1) < 1e-9 and abs(w[:90].sum() - share_a) < 1e-9
        assert np.allclose(w[:90], w[0]) and np.allclose(w[90:], w[90])  # uniform inside a dataset


def test_thread_tuner_keeps_the_faster_setting():
    from lifter.train import ThreadTuner

    before = torch.get_num_threads()
    try:
        tuner = ThreadTuner(trial_steps=3, recheck_steps=5)
        for _ in range(3):
            tuner.record(1.0)   # warm-up on 1 thread
        for _ in range(3):
            tuner.record(0.4)   # trial of 2 threads: faster
        assert tuner.best == 2 and torch.get_num_threads() == 2
        for _ in range(5):
            tuner.record(0.4)
        tuner.record(3.0)       # re-check of 1 thread: one very slow step ends the trial early
        assert tuner.best == 2 and tuner.trying is None and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
