import torch

from lifter.baseline import Baseline, BaselineMLP, peak_inputs


def test_forward_shapes_root_relative_and_save_load(tmp_path):
    model = BaselineMLP(width=64, blocks=2).eval()
    xy = torch.rand(5, 17, 4, 2) * 2 - 1
    lik = torch.rand(5, 17, 4)
    x = peak_inputs(xy, lik)
    assert x.shape == (5, 17, 3) and torch.equal(x[..., :2], xy[:, :, 0]) and torch.equal(x[..., 2], lik[:, :, 0])
    y = model(x)
    assert y.shape == (5, 17, 3) and (y[:, 0] == 0).all()
    base = Baseline(model, meta={"note": "test"})
    base.save(tmp_path / "b.pt", half=False)
    loaded = Baseline.load(tmp_path / "b.pt")
    assert torch.allclose(loaded.predict(xy, lik), base.predict(xy, lik), atol=1e-6)
    assert loaded.meta == {"note": "test"}
    # Only candidate 0 matters.
    xy2 = xy.clone()
    xy2[:, :, 1:] = 0
    assert torch.equal(loaded.predict(xy2, lik), loaded.predict(xy, lik))


def test_default_architecture_is_martinez_sized():
    model = BaselineMLP()
    assert model.config == {"width": 1024, "blocks": 2, "dropout": 0.25}
    assert sum(p.numel() for p in model.parameters()) > 4_000_000
