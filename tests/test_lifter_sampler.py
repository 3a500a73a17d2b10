import pytest
import torch

from lifter.api import Lifter, redraw_candidates
from lifter.model import LifterModel, ModelConfig, bump_histogram
from lifter.sampler import ddim, split_prediction, training_target
from lifter.schedule import CosineSchedule

TINY = dict(grid=16, width=32, enc_layers=1, heads=2, ffn=64, cond_dim=64, hidden=64, blocks=1, time_dim=32)


def tiny_lifter(seed=0, **kw) -> Lifter:
    torch.manual_seed(seed)
    model = LifterModel(ModelConfig(**{**TINY, **kw}))
    for p in model.parameters():  # the output layer starts at zero; give it weights so samples depend on the input
        if p.abs().sum() == 0 and p.ndim == 2:
            torch.nn.init.normal_(p, std=0.05)
    return Lifter(model)


def inputs(b=2, k=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 17, k, 2, generator=g) * 1.6 - 0.8, torch.rand(b, 17, k, generator=g)


def test_schedule_endpoints_and_timesteps():
    s = CosineSchedule(T=1000)
    ab = s.alpha_bar()
    assert ab.shape == (1001,) and ab[0] == 1.0 and ab[-1] < 1e-4
    assert (ab[1:] < ab[:-1]).all()
    ts = s.timesteps(5)
    assert ts.tolist() == [1000, 800, 600, 400, 200, 0]
    assert s.timesteps(3, start=0).tolist() == [0]
    assert s.timesteps(25, start=10).tolist() == list(range(10, -1, -1))


@pytest.mark.parametrize("target", ["eps", "x0", "v"])
def test_prediction_targets_round_trip(target):
    g = torch.Generator().manual_seed(1)
    x0, eps = torch.randn(4, 16, 3, generator=g), torch.randn(4, 16, 3, generator=g)
    ab = torch.tensor(0.3)
    xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
    rx0, reps = split_prediction(training_target(x0, eps, ab, target), xt, ab, target)
    assert torch.allclose(rx0, x0, atol=1e-5) and torch.allclose(reps, eps, atol=1e-5)


def test_ddim_with_oracle_denoiser_recovers_x0():
    # A denoiser that knows the clean sample must make DDIM land on it for any step count.
    ab = CosineSchedule().alpha_bar()
    x0 = torch.randn(3, 16, 3)
    oracle = lambda x, t: x0  # noqa: E731
    for s in (1, 3, 25):
        out = ddim(oracle, torch.randn(3, 16, 3), CosineSchedule().timesteps(s), ab, target="x0", eta=0.5,
                   generator=torch.Generator().manual_seed(0))
        assert torch.allclose(out, x0, atol=1e-5)


def test_bump_histogram_matches_dense_features():
    coord = torch.tensor([[-0.93, 0.0, 0.41, 1.3]])
    w = torch.tensor([[1.0, 0.5, 0.25, 1.0]])
    hist = bump_histogram(coord, w, 16, 1.25)
    centres = torch.linspace(-1.25, 1.25, 16)
    d = 2.5 / 15
    dist = (coord[..., None] - centres) / d
    dense = (torch.cos(torch.pi / 4 * dist) ** 2 * (dist.abs() < 2) * w[..., None]).sum(-2)
    assert torch.allclose(hist, dense, atol=1e-6)


def test_sampler_is_deterministic_under_a_seed():
    lifter = tiny_lifter()
    xy, lik = inputs()
    a = lifter.sample(xy, lik, n=4, steps=5, eta=0.5, generator=torch.Generator().manual_seed(7))
    b = lifter.sample(xy, lik, n=4, steps=5, eta=0.5, generator=torch.Generator().manual_seed(7))
    c = lifter.sample(xy, lik, n=4, steps=5, eta=0.5, generator=torch.Generator().manual_seed(8))
    assert a.shape == (2, 4, 17, 3) and torch.equal(a, b) and not torch.equal(a, c)
    assert (a[:, :, 0] == 0).all()  # root-relative: pelvis exactly 0


@pytest.fixture(autouse=True)
def one_thread():
    # Tiny models: one thread avoids oversubscription stalls on a shared CPU.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("target", ["eps", "x0", "v"])
def test_every_step_count_and_eta_runs(target):
    lifter = tiny_lifter(target=target)
    xy, lik = inputs(b=1)
    for steps in range(1, 26) if target == "x0" else (1, 2, 5, 25):
        eta = (0.0, 0.5, 1.0)[steps % 3]
        out = lifter.sample(xy, lik, n=3, steps=steps, eta=eta, generator=torch.Generator().manual_seed(0))
        assert out.shape == (1, 3, 17, 3) and torch.isfinite(out).all()


def test_warm_start_at_zero_returns_init_and_small_t_stays_close():
    lifter = tiny_lifter()
    xy, lik = inputs()
    init = torch.randn(2, 17, 3) * 0.3
    init[:, 0] = 0
    out = lifter.sample(xy, lik, n=5, steps=5, init=init, init_t=0, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(out, init[:, None].expand_as(out), atol=1e-6)
    near = lifter.sample(xy, lik, n=5, steps=2, init=init, init_t=20, generator=torch.Generator().manual_seed(0))
    far = lifter.sample(xy, lik, n=5, steps=2, generator=torch.Generator().manual_seed(0))
    assert (near - init[:, None]).norm(dim=-1).mean() < (far - init[:, None]).norm(dim=-1).mean()


@pytest.mark.parametrize("per_hypothesis_draw", [False, True])
def test_condition_is_computed_once_per_call(per_hypothesis_draw, monkeypatch):
    lifter = tiny_lifter()
    calls = []
    enc = lifter.model.encoder
    original = enc.forward
    monkeypatch.setattr(enc, "forward", lambda xy, lik: calls.append(xy.shape[0]) or original(xy, lik))
    xy, lik = inputs(b=3)
    lifter.sample(xy, lik, n=6, steps=10, per_hypothesis_draw=per_hypothesis_draw,
                  generator=torch.Generator().manual_seed(0))
    assert calls == [18 if per_hypothesis_draw else 3]


def test_redraw_keeps_peak_and_draws_from_pool_by_likelihood():
    xy, lik = inputs(b=1, k=4)
    lik[0, :, 3] = 0  # never drawn
    new_xy, new_lik = redraw_candidates(xy, lik, 50, torch.Generator().manual_seed(0))
    assert new_xy.shape == (50, 17, 4, 2) and new_lik.shape == (50, 17, 4)
    assert torch.equal(new_xy[:, :, 0], xy[:, :, 0].expand(50, 17, 2))
    pool = xy[0, :, :3]  # (17, 3, 2)
    match = (new_xy[:, :, 1:, None, :] == pool[None, :, None]).all(-1).any(-1)
    assert match.all()


def test_start_noise_is_the_generators_stream():
    """The start sample is torch.randn from the caller's generator, in order: a seed fixes the hypotheses."""
    from lifter.api import start_sample

    lifter = tiny_lifter()
    x, start = start_sample(lifter, 2, 3, torch.Generator().manual_seed(7))
    assert start == lifter.T and torch.equal(x, torch.randn(6, 16, 3, generator=torch.Generator().manual_seed(7)))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("kw", [{}, {"eta": 1.0}, {"per_hypothesis_draw": True}, {"warm": True}])
def test_cuda_lifter_with_a_cpu_generator_matches_the_cpu(kw):
    """Lifter.estimate seeds a CPU generator; a CUDA lifter draws that noise on the CPU and gets the CPU's answer."""
    kw = dict(kw)
    cpu = tiny_lifter()
    gpu = Lifter(tiny_lifter().model, device="cuda")
    xy, lik = inputs()
    if kw.pop("warm", False):
        kw.update(init=torch.randn(2, 17, 3) * 0.3, init_t=200)
    a = cpu.sample(xy, lik, n=4, steps=5, generator=torch.Generator().manual_seed(3), **kw)
    b = gpu.sample(xy, lik, n=4, steps=5, generator=torch.Generator().manual_seed(3), **kw)
    assert b.device.type == "cuda" and torch.allclose(a, b.cpu(), atol=1e-4)
