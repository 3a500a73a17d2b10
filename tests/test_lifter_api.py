import numpy as np
import torch

from core.records import Candidates, Estimate3D
from lifter.api import Lifter
from lifter.model import LifterModel, ModelConfig
from tests.test_lifter_sampler import TINY, one_thread  # noqa: F401  (autouse: one torch thread)


def test_estimate_from_saved_random_model(tmp_path):
    torch.manual_seed(0)
    lifter = Lifter(LifterModel(ModelConfig(**TINY)), calibration=2.5, meta={"name": "test"})
    path = lifter.save(tmp_path / "tiny.pt")
    loaded = Lifter.load(path)
    assert loaded.calibration == 2.5 and loaded.meta["name"] == "test"
    for a, b in zip(lifter.model.state_dict().values(), loaded.model.state_dict().values()):
        assert torch.equal(a, b)

    rng = np.random.default_rng(0)
    xy = (np.array([320.0, 240.0]) + rng.normal(0, 60, (17, 1, 2)) + rng.normal(0, 3, (17, 12, 2))).astype(np.float32)
    c = Candidates(xy=xy, likelihood=rng.uniform(0.1, 1.0, (17, 12)).astype(np.float32))
    est = loaded.estimate(c, n=8, steps=3)
    assert isinstance(est, Estimate3D)
    assert est.hypotheses.shape == (8, 17, 3) and est.mean.shape == (17, 3) and est.covariance.shape == (17, 3, 3)
    assert np.isfinite(est.hypotheses).all() and np.allclose(est.mean, est.hypotheses.mean(0), atol=1e-5)
    assert np.allclose(est.hypotheses[:, 0], 0) and np.allclose(est.root_translation, 0)
    assert np.allclose(est.covariance, est.covariance.transpose(0, 2, 1), atol=1e-7)
    assert (np.linalg.eigvalsh(est.covariance) > 0).all()  # the floor keeps every ellipsoid valid (pelvis too)
    again = loaded.estimate(c, n=8, steps=3)
    assert np.array_equal(est.hypotheses, again.hypotheses)  # fixed default seed: steady output
    warm = loaded.estimate(c, n=4, steps=2, init=est.mean, init_t=0)
    assert np.allclose(warm.hypotheses, est.mean[None], atol=1e-6)


def test_half_precision_save_round_trips(tmp_path):
    torch.manual_seed(1)
    lifter = Lifter(LifterModel(ModelConfig(**TINY)))
    loaded = Lifter.load(lifter.save(tmp_path / "h.pt", half=True))
    for a, b in zip(lifter.model.state_dict().values(), loaded.model.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-3, rtol=1e-3)
