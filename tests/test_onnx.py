"""ONNX paths agree with PyTorch: the BlazePose detector and the three landmark models (exported from our converter)
and the lifter; the lifter's fast paths (fp32 eager is exact, bf16 stays close) on the CPU."""
import shutil

import cv2
import numpy as np
import pytest
import torch

from core.records import Roi
from detectors.onnx_export import ensure_onnx, onnx_path
from detectors.runtime import load_model
from detectors.tflite_torch import TorchTfliteModel
from pipeline.samples import sample_path
from weights.fetch import WeightsMissing, fetch_all, model_path


def _weights(name):
    try:
        return model_path(name)
    except WeightsMissing:
        return fetch_all(log=lambda *_: None)[name]


@pytest.fixture(scope="module")
def frame():
    video = cv2.VideoCapture(str(sample_path("vtest.avi", fetch=True)))
    video.set(cv2.CAP_PROP_POS_FRAMES, 100)
    ok, image = video.read()
    video.release()
    assert ok
    return image


def test_detector_onnx_matches_torch(frame):
    from detectors.pose_detector import detector_input

    path = _weights("pose_detection")
    x, _ = detector_input(frame)
    batch = np.stack([x, x[:, ::-1]])                    # batch of 2: the batch axis is dynamic
    ref = TorchTfliteModel(path)(batch)
    onnx_model = load_model(path, runtime="onnx", num_threads=1)
    got = onnx_model(batch)
    assert onnx_model.output_names == ["Identity", "Identity_1"]
    assert onnx_model.input_shape == (1, 224, 224, 3)
    assert got["Identity_1"].shape == (2, 2254, 1)
    np.testing.assert_allclose(got["Identity_1"], ref["Identity_1"], atol=1e-3)   # score logits
    np.testing.assert_allclose(got["Identity"], ref["Identity"], atol=2e-3)       # 224-px offsets
    assert ensure_onnx(path) == onnx_path(path)  # cached, keyed by model + converter


@pytest.mark.slow
@pytest.mark.parametrize("name", ["pose_landmark_lite", "pose_landmark_full", "pose_landmark_heavy"])
def test_landmark_onnx_matches_torch(frame, name):
    from detectors.landmarks import crop_roi

    path = _weights(name)
    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    rois = [Roi(cx=310.0, cy=250.0, size=260.0, rotation=0.1), Roi(cx=480.0, cy=230.0, size=220.0)]
    batch = np.stack([crop_roi(rgb, r) for r in rois])
    ref = TorchTfliteModel(path)(batch)
    got = load_model(path, runtime="onnx", num_threads=1)(batch)
    assert set(got) == set(ref)
    np.testing.assert_allclose(got["Identity_3"], ref["Identity_3"], atol=1e-3)   # heatmap logits
    np.testing.assert_allclose(got["Identity"], ref["Identity"], atol=5e-3)       # landmarks, 256-px crop units
    np.testing.assert_allclose(got["Identity_1"], ref["Identity_1"], atol=1e-4)   # presence


@pytest.fixture(scope="module")
def lifter():
    from lifter.loading import load_lifter

    return load_lifter("random")[0]


def _inputs(b, k, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 17, k, 2, generator=g) * 1.6 - 0.8, torch.rand(b, 17, k, generator=g)


def test_random_lifter_is_not_trivial(lifter):
    # the agreement tests below would pass vacuously if the untrained model ignored its input
    xy, lik = _inputs(2, 32)
    out = lifter.sample(xy, lik, n=4, steps=5, generator=torch.Generator().manual_seed(1))
    assert out.std() > 1e-2
    assert (out[0] - out[1]).abs().max() > 1e-3


def test_lifter_onnx_matches_torch(lifter):
    from lifter.runtimes import with_runtime

    fast = with_runtime(lifter, "onnx", threads=1)
    for b, k in [(3, 32), (1, 16)]:                      # rows and K are dynamic
        xy, lik = _inputs(b, k)
        a = lifter.sample(xy, lik, n=16, steps=5, generator=torch.Generator().manual_seed(1))
        c = fast.sample(xy, lik, n=16, steps=5, generator=torch.Generator().manual_seed(1))
        assert c.shape == (b, 16, 17, 3)
        assert float((a - c).abs().max()) < 1e-4
    init = a[:, 0]
    for eta, init_t in [(0.0, 200), (1.0, None)]:  # warm start: one-call graph (eta 0), Lifter's loop (eta 1)
        a = lifter.sample(xy, lik, n=4, steps=2, eta=eta, init=init, init_t=init_t,
                          generator=torch.Generator().manual_seed(2))
        c = fast.sample(xy, lik, n=4, steps=2, eta=eta, init=init, init_t=init_t,
                        generator=torch.Generator().manual_seed(2))
        assert float((a - c).abs().max()) < 1e-4
        assert float((a - init[:, None]).abs().max()) > 1e-3   # the warm start did move the pose


def test_fast_lifter_fp32_exact_bf16_close(lifter):
    from lifter.runtimes import with_runtime

    xy, lik = _inputs(2, 32)
    ref = lifter.sample(xy, lik, n=16, steps=5, generator=torch.Generator().manual_seed(1))
    fast32 = with_runtime(lifter)
    fp32 = fast32.sample(xy, lik, n=16, steps=5, generator=torch.Generator().manual_seed(1))
    assert torch.equal(ref, fp32)
    init = ref[:, 0]
    warm = lifter.sample(xy, lik, n=4, steps=2, init=init, init_t=200, generator=torch.Generator().manual_seed(3))
    fast_warm = fast32.sample(xy, lik, n=4, steps=2, init=init, init_t=200, generator=torch.Generator().manual_seed(3))
    assert torch.equal(warm, fast_warm)
    bf16 = with_runtime(lifter, dtype="bf16")
    out = bf16.sample(xy, lik, n=16, steps=5, generator=torch.Generator().manual_seed(1))
    assert out.dtype == torch.float32 and out.shape == ref.shape
    assert float((out - ref).abs().max()) < 0.02                          # metres
    assert float((out.mean(1) - ref.mean(1)).norm(dim=-1).mean()) < 0.005
    est = bf16.estimate(_candidates())                                    # Lifter.estimate runs on the fast path
    assert est.hypotheses.shape == (16, 17, 3) and np.isfinite(est.covariance).all()


@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available() and not shutil.which("c++"),
                    reason="torch.compile on the CPU needs a C++ compiler")
def test_compiled_lifter_matches_eager(lifter):
    """mode="compile" (torch.compile of condition + S DDIM steps; inductor on the CPU, reduce-overhead on CUDA)."""
    from lifter.runtimes import with_runtime

    xy, lik = _inputs(2, 32)
    ref = lifter.sample(xy, lik, n=4, steps=3, generator=torch.Generator().manual_seed(0))
    compiled = with_runtime(lifter, "compile")
    for _ in range(2):  # the first call compiles, the second reuses it
        out = compiled.sample(xy, lik, n=4, steps=3, generator=torch.Generator().manual_seed(0))
        assert torch.allclose(out, ref, atol=1e-5)


def test_fast_lifter_graph_mode_needs_cuda(lifter):
    from lifter.runtimes import with_runtime

    if torch.cuda.is_available():
        pytest.skip("CUDA present: graph mode is allowed")
    with pytest.raises(ValueError, match="CUDA"):
        with_runtime(lifter, "graph")


def _candidates():
    from core.records import Candidates

    rng = np.random.default_rng(0)
    xy = rng.uniform(100, 300, (17, 32, 2)).astype(np.float32)
    return Candidates(xy=xy, likelihood=rng.uniform(0, 1, (17, 32)).astype(np.float32))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_graph_matches_eager_without_host_sync(lifter):
    from lifter.runtimes import with_runtime

    xy, lik = _inputs(4, 32)
    eager = with_runtime(lifter, device="cuda")
    graph = with_runtime(lifter, "graph", device="cuda")
    a = eager.sample(xy, lik, n=16, steps=5, generator=torch.Generator().manual_seed(1))
    graph.sample(xy, lik, n=16, steps=5, generator=torch.Generator().manual_seed(1))  # capture
    torch.cuda.set_sync_debug_mode("error")  # any host sync during the replay raises
    try:
        runner = graph.runner.fns[(4, 32, 16, 5, graph.T)]
        x = torch.randn(64, 16, 3, generator=torch.Generator().manual_seed(1)).cuda()
        out = runner(xy.cuda(), lik.cuda(), x)
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert float((out.cpu() - a.cpu()).abs().max()) < 1e-4
