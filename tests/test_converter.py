"""detectors.tflite_torch: our converter agrees with LiteRT on real images, batches, traces, and fails loudly."""
import cv2
import numpy as np
import pytest
import torch

from detectors.litert import LiteRTModel
from detectors.runtime import load_model
from detectors.tflite_torch import (DepthToSpace, Graph, OpRec, ResizeBilinear, TensorRec, TfliteModule,
                                    TorchTfliteModel, read_graph, same_padding)
from pipeline.samples import sample_path

LANDMARK_MODELS = ["pose_landmark_lite", "pose_landmark_full", "pose_landmark_heavy"]


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Busy-waiting OpenMP workers make 2-thread runs erratic on a shared 2-core machine; restore afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def weights(blazepose_files):
    return blazepose_files


def _crop(image_bgr, cx, cy, side, out):
    """Axis-aligned square crop (side px around cx, cy) resized to out x out, RGB float in [0, 1]."""
    s = out / side
    affine = np.array([[s, 0, out / 2 - s * cx], [0, s, out / 2 - s * cy]], np.float32)
    rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
    return cv2.warpAffine(rgb, affine, (out, out)).astype(np.float32) / 255.0


@pytest.fixture(scope="module")
def images():
    """Real inputs: messi5.jpg and frame 100 of vtest.avi (hand-picked boxes around people)."""
    messi = cv2.imread(str(sample_path("messi5.jpg", fetch=True)))
    video = cv2.VideoCapture(str(sample_path("vtest.avi", fetch=True)))
    video.set(cv2.CAP_PROP_POS_FRAMES, 100)
    ok, frame = video.read()
    video.release()
    assert ok
    people = np.stack([_crop(messi, 262, 198, 400, 256), _crop(frame, 392, 218, 110, 256),
                       _crop(frame, 362, 235, 110, 256)])
    scenes = np.stack([_crop(messi, 274, 171, 548, 224), _crop(frame, 384, 288, 768, 224)]) * 2.0 - 1.0
    return {"people": people, "scenes": scenes}


def test_detector_agrees_with_litert(weights, images):
    path = weights["pose_detection"]
    ref = LiteRTModel(path)(images["scenes"])
    out = TorchTfliteModel(path)(images["scenes"])
    assert out.keys() == ref.keys()
    assert np.abs(out["Identity"] - ref["Identity"]).max() < 0.02          # boxes/keypoints, 224-px units
    assert np.abs(out["Identity_1"] - ref["Identity_1"]).max() < 0.01      # score logits
    assert ref["Identity_1"].max() > 0                                     # someone is detected: real content


@pytest.mark.parametrize("name", LANDMARK_MODELS)
def test_landmarks_agree_with_litert(weights, images, name):
    people = images["people"][:1] if name == "pose_landmark_heavy" else images["people"]
    ref = LiteRTModel(weights[name])(people)
    out = TorchTfliteModel(weights[name])(people)
    assert out.keys() == ref.keys() and all(out[k].shape == ref[k].shape for k in ref)
    assert (ref["Identity_1"] > 0.9).all()                                 # the crops do hold a person
    assert np.abs(out["Identity_3"] - ref["Identity_3"]).max() < 1e-3      # heatmap logits
    xy = lambda o: o["Identity"].reshape(-1, 39, 5)[:, :33, :2]            # noqa: E731
    assert np.abs(xy(out) - xy(ref)).max() < 0.5                           # landmark pixels in the 256 crop
    assert np.abs(out["Identity"] - ref["Identity"]).max() < 0.05          # incl. z, visibility, presence
    assert np.abs(out["Identity_1"] - ref["Identity_1"]).max() < 1e-4
    assert np.abs(out["Identity_4"] - ref["Identity_4"]).max() < 1e-3      # world landmarks, metres
    seg = np.abs(out["Identity_2"] - ref["Identity_2"]).max()
    assert seg < 1e-3 * np.abs(ref["Identity_2"]).max()                    # segmentation logits reach ~1e3


@pytest.mark.parametrize("name", ["pose_detection", "pose_landmark_lite"])
def test_batched_run_equals_single_runs(weights, images, name):
    model = TorchTfliteModel(weights[name])
    batch = images["scenes"][[0, 1, 0]] if name == "pose_detection" else images["people"]
    together = model(batch)
    for i in range(len(batch)):
        alone = model(batch[i:i + 1])
        for key in model.output_names:
            assert np.allclose(together[key][i], alone[key][0], rtol=1e-4, atol=1e-4), key


def test_load_model_torch_matches_litert_interface(weights):
    path = weights["pose_landmark_lite"]
    torch_model, lite_model = load_model(path, "torch"), load_model(path, "litert")
    assert isinstance(torch_model, TorchTfliteModel)
    assert torch_model.input_shape == lite_model.input_shape == (1, 256, 256, 3)
    assert torch_model.output_names == lite_model.output_names


@pytest.mark.slow
def test_module_traces_and_exports_with_dynamic_batch(weights, images, tmp_path):
    """The graph is static Python: torch.export and an ONNX export made at B=2 replay at B=3 (detector model)."""
    onnxruntime = pytest.importorskip("onnxruntime")
    model = TorchTfliteModel(weights["pose_detection"])
    x2 = torch.from_numpy(images["scenes"])
    x3 = np.concatenate([images["scenes"], images["scenes"][:1]])
    expected = model(x3)
    batch = torch.export.Dim("batch", min=1, max=64)
    exported = torch.export.export(model.module, (x2,), dynamic_shapes=({0: batch},))
    with torch.inference_mode():
        replay = exported.module()(torch.from_numpy(x3))
    for key, value in zip(model.output_names, replay):
        assert np.allclose(value.numpy(), expected[key], atol=1e-4)
    onnx_path = tmp_path / "pose_detection.onnx"
    torch.onnx.export(model.module, (x2,), str(onnx_path), input_names=["input_1"], output_names=model.output_names,
                      dynamic_axes={"input_1": {0: "batch"}}, dynamo=False)
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    for key, value in zip(model.output_names, session.run(None, {"input_1": x3})):
        assert np.abs(value - expected[key]).max() < 0.02, key


def test_graph_holds_only_dense_float_constants_after_folding(weights):
    graph = read_graph(weights["pose_detection"])      # the one model with DENSIFY (sparse fp16 weights)
    kinds = {op.kind for op in graph.ops}
    assert "DENSIFY" not in kinds and "DEQUANTIZE" not in kinds
    for op in graph.ops:
        for i in op.inputs[1:]:
            t = graph.tensors[i]
            if i >= 0 and t.data is not None and op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                assert t.data.dtype == np.float32 and t.data.shape == t.shape


def test_same_padding_is_tensorflows():
    assert same_padding(256, 3, 2) == (0, 1)      # even input, stride 2: the extra pixel goes after
    assert same_padding(255, 3, 2) == (1, 1)
    assert same_padding(64, 5, 1) == (2, 2)
    assert same_padding(7, 2, 2) == (0, 1)
    assert same_padding(8, 3, 1, dilation=2) == (2, 2)


def test_legacy_resize_matches_tensorflow_rule():
    """align_corners=False, half_pixel_centers=False: src = dst * in / out (no half-pixel shift)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 5, 7)).astype(np.float32)
    out_hw = (8, 11)
    expected = np.zeros((2, 3) + out_hw, np.float32)
    for oy in range(out_hw[0]):
        sy = oy * 5 / out_hw[0]
        y0, fy = int(np.floor(sy)), sy - np.floor(sy)
        y1 = min(y0 + 1, 4)
        for ox in range(out_hw[1]):
            sx = ox * 7 / out_hw[1]
            x0, fx = int(np.floor(sx)), sx - np.floor(sx)
            x1 = min(x0 + 1, 6)
            top = x[..., y0, x0] * (1 - fx) + x[..., y0, x1] * fx
            bottom = x[..., y1, x0] * (1 - fx) + x[..., y1, x1] * fx
            expected[..., oy, ox] = top * (1 - fy) + bottom * fy
    got = ResizeBilinear((5, 7), out_hw, align_corners=False, half_pixel=False)(torch.from_numpy(x))
    assert np.allclose(got.numpy(), expected, atol=1e-5)


def test_depth_to_space_uses_tensorflow_channel_order():
    rng = np.random.default_rng(1)
    n, h, w, b, c = 2, 3, 4, 2, 5
    x = rng.normal(size=(n, h, w, b * b * c)).astype(np.float32)
    expected = x.reshape(n, h, w, b, b, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, h * b, w * b, c)
    got = DepthToSpace(b, x.shape)(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    assert np.array_equal(got.numpy(), expected)


def test_unsupported_op_fails_at_load_naming_it():
    tensors = [TensorRec(0, "in", (1, 4), np.float32), TensorRec(1, "out", (1, 4), np.float32)]
    graph = Graph(tensors, [OpRec("SOFTMAX", [0], [1])], [0], [1])
    with pytest.raises(NotImplementedError, match="SOFTMAX"):
        TfliteModule(graph)
