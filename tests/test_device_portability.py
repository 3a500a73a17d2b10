"""The GPU paths, checked without a GPU: every model and sampler run on PyTorch's "meta" device.

Meta tensors carry shapes but no data, so a constant left on the CPU ("Tensor on device meta is not on the expected
device cpu") or a host read inside the loop (.item(), float(t), bool(t): "cannot be called on meta tensors") fails
here as it would fail, or stall, on CUDA. What meta cannot check (CUDA graphs, autocast on a GPU, the numbers)
is in the CUDA tests of tests/test_onnx.py and tests/test_lifter_sampler.py, which skip without a GPU.
"""
import pytest
import torch

from lifter.api import Lifter
from lifter.loading import random_model
from lifter.runtimes import with_runtime

META = torch.device("meta")


@pytest.fixture
def model():
    return random_model(seed=0)  # fresh per test: moving a module to meta drops its weights


def inputs(b=2, k=32):
    g = torch.Generator().manual_seed(0)
    return torch.rand(b, 17, k, 2, generator=g) * 1.6 - 0.8, torch.rand(b, 17, k, generator=g)


@pytest.mark.parametrize("kw", [{}, {"init": "warm"}, {"eta": 1.0}, {"per_hypothesis_draw": True}],
                         ids=["noise", "warm", "eta1", "redraw"])
@pytest.mark.parametrize("kind", ["Lifter", "eager runtime"])
def test_lifter_sampling_stays_on_the_device_with_a_cpu_generator(model, kind, kw):
    """Host inputs and the CPU generator Lifter.estimate uses; the result lives on the lifter's device."""
    kw = dict(kw)
    if kw.get("init") == "warm":
        kw["init"] = torch.zeros(2, 17, 3)  # a host array, as pipeline.stages passes the previous mean
    lifter = Lifter(model, device=META)
    if kind != "Lifter":
        lifter = with_runtime(lifter)
    # The redraw picks candidates by likelihood where the generator lives: with a CPU generator that copies the
    # likelihoods to the host (correct on CUDA, one sync, off the fast path), which meta cannot do; check it on-device.
    g = None if kw.get("per_hypothesis_draw") else torch.Generator().manual_seed(1)
    out = lifter.sample(*inputs(), n=4, steps=5, generator=g, **kw)
    assert out.device == META and out.shape == (2, 4, 17, 3)


def test_lifter_condition_and_denoiser_on_the_device(model):
    lifter = Lifter(model, device=META)
    cond = lifter.condition(*inputs(b=3))
    x = torch.zeros(3, 16, 3, device=META)
    out = lifter.model.denoise(x, torch.full((3,), 500, device=META), cond)
    assert out.device == META and out.shape == x.shape


@pytest.mark.parametrize("name", ["pose_detection", "pose_landmark_full"])
def test_converted_blazepose_runs_on_the_device(blazepose_files, name):
    """The tflite->PyTorch converter's module (the --runtime torch --device cuda path) keeps every constant in
    parameters or buffers, so Module.to(device) moves all of it."""
    from detectors.tflite_torch import TorchTfliteModel

    m = TorchTfliteModel(blazepose_files[name], device=META)
    x = torch.zeros(2, *m.input_shape[1:], device=META)
    with torch.inference_mode():
        outs = m.module(x)
    assert len(outs) == len(m.output_names)
    assert all(o.device == META and o.shape[0] == 2 for o in outs)
