"""Our own .tflite -> PyTorch converter for BlazePose's float models.

`read_graph(path)` parses the flatbuffer (schema classes from the `tflite` package) into plain records; constant
sub-graphs (fp16 weights behind DEQUANTIZE, sparse weights behind DENSIFY) are folded to fp32 numpy arrays.
`TfliteModule` executes the remaining ops with torch in NCHW (inputs and outputs stay NHWC, like the .tflite
model). The op schedule is fixed when the module is built, so forward has no data-dependent Python control flow:
it works batched, on any device, under torch.jit.trace / torch.onnx.export / torch.compile.
`TorchTfliteModel(path, device)` has the same interface as detectors.litert.LiteRTModel.

Ops: CONV_2D, DEPTHWISE_CONV_2D, ADD, PAD, RESIZE_BILINEAR, MAX_POOL_2D, DEPTH_TO_SPACE, CONCATENATION, RESHAPE,
LOGISTIC, DEQUANTIZE, DENSIFY; fused activations NONE/RELU/RELU_N1_TO_1/RELU6/TANH. Anything else raises
NotImplementedError naming the op, so a new model fails at load time, not with wrong numbers.
"""
from __future__ import annotations

import argparse
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# tflite enum values (schema.fbs); read by name from the generated classes so they cannot drift.
import tflite
from tflite.BuiltinOperator import BuiltinOperator
from tflite.TensorType import TensorType

from detectors.litert import LiteRTModel
from weights.fetch import MODELS, model_path

OP_NAMES = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}
NUMPY_TYPES = {TensorType.FLOAT32: np.float32, TensorType.FLOAT16: np.float16, TensorType.INT32: np.int32,
               TensorType.INT64: np.int64, TensorType.UINT8: np.uint8, TensorType.INT8: np.int8}
PADDING_SAME = 0
ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH"}
CONST_OPS = {"DEQUANTIZE", "DENSIFY"}  # folded at load time when their input is a constant
NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}


# ----------------------------------------------------------------------------------------------- parsing


@dataclass
class TensorRec:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: type
    data: np.ndarray | None = None     # constant value (dense), None for activations
    sparsity: object | None = None     # tflite.SparsityParameters of a sparse constant


@dataclass
class OpRec:
    kind: str                          # BuiltinOperator name, e.g. "CONV_2D"
    inputs: list[int]
    outputs: list[int]
    options: dict = field(default_factory=dict)


@dataclass
class Graph:
    tensors: list[TensorRec]
    ops: list[OpRec]
    inputs: list[int]
    outputs: list[int]

    def name(self, i: int) -> str:
        return self.tensors[i].name


def _options(op, kind: str) -> dict:
    """The fields of an operator's builtin options that the converter uses."""
    table = op.BuiltinOptions()
    if table is None:
        return {}
    def load(cls):
        obj = cls()
        obj.Init(table.Bytes, table.Pos)
        return obj
    if kind == "CONV_2D":
        o = load(tflite.Conv2DOptions)
        return dict(padding=o.Padding(), stride=(o.StrideH(), o.StrideW()),
                    dilation=(o.DilationHFactor(), o.DilationWFactor()), act=o.FusedActivationFunction())
    if kind == "DEPTHWISE_CONV_2D":
        o = load(tflite.DepthwiseConv2DOptions)
        return dict(padding=o.Padding(), stride=(o.StrideH(), o.StrideW()),
                    dilation=(o.DilationHFactor(), o.DilationWFactor()), act=o.FusedActivationFunction(),
                    depth_multiplier=o.DepthMultiplier())
    if kind == "ADD":
        return dict(act=load(tflite.AddOptions).FusedActivationFunction())
    if kind == "CONCATENATION":
        o = load(tflite.ConcatenationOptions)
        return dict(axis=o.Axis(), act=o.FusedActivationFunction())
    if kind == "MAX_POOL_2D":
        o = load(tflite.Pool2DOptions)
        return dict(padding=o.Padding(), stride=(o.StrideH(), o.StrideW()),
                    kernel=(o.FilterHeight(), o.FilterWidth()), act=o.FusedActivationFunction())
    if kind == "RESIZE_BILINEAR":
        o = load(tflite.ResizeBilinearOptions)
        return dict(align_corners=bool(o.AlignCorners()), half_pixel_centers=bool(o.HalfPixelCenters()))
    if kind == "DEPTH_TO_SPACE":
        return dict(block=load(tflite.DepthToSpaceOptions).BlockSize())
    return {}


def _buffer_bytes(model, raw: bytes, buffer_index: int) -> bytes | None:
    buf = model.Buffers(buffer_index)
    if buf is None:
        return None
    if buf.Offset() > 1:  # large models keep data outside the flatbuffer, addressed from the file start
        return raw[buf.Offset(): buf.Offset() + buf.Size()]
    if buf.DataLength() == 0:
        return None
    return buf.DataAsNumpy().tobytes()


def read_graph(path: str | Path) -> Graph:
    """Parse subgraph 0 of a .tflite file and fold its constant DEQUANTIZE/DENSIFY ops."""
    raw = Path(path).read_bytes()
    model = tflite.Model.GetRootAsModel(raw, 0)
    if model.SubgraphsLength() != 1:
        raise NotImplementedError(f"{path}: {model.SubgraphsLength()} subgraphs; only single-graph models are supported")
    g = model.Subgraphs(0)
    tensors = []
    for i in range(g.TensorsLength()):
        t = g.Tensors(i)
        if t.Type() not in NUMPY_TYPES:
            raise NotImplementedError(f"{path}: tensor {t.Name().decode()} has unsupported type {t.Type()}")
        if t.Quantization() is not None and t.Quantization().ScaleLength() > 0:
            raise NotImplementedError(f"{path}: tensor {t.Name().decode()} is integer-quantized; only float models")
        dtype = NUMPY_TYPES[t.Type()]
        shape = tuple(int(v) for v in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        rec = TensorRec(i, t.Name().decode(), shape, dtype, sparsity=t.Sparsity())
        data = _buffer_bytes(model, raw, t.Buffer())
        if data is not None:
            arr = np.frombuffer(data, dtype=dtype)
            rec.data = arr if rec.sparsity is not None else arr.reshape(shape).copy()
        tensors.append(rec)
    ops = []
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        kind = OP_NAMES.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "UNKNOWN")
        if kind == "CUSTOM":
            kind = f"CUSTOM:{code.CustomCode().decode()}"
        ops.append(OpRec(kind, [int(v) for v in op.InputsAsNumpy()], [int(v) for v in op.OutputsAsNumpy()],
                         _options(op, kind)))
    graph = Graph(tensors, ops, [int(v) for v in g.InputsAsNumpy()], [int(v) for v in g.OutputsAsNumpy()])
    return fold_constants(graph)


def densify(values: np.ndarray, dense_shape: tuple[int, ...], sparsity) -> np.ndarray:
    """Expand a TFLite sparse tensor (CSR levels in traversal order, optional block dims) to a dense array.

    Same walk as TFLite's FormatConverter::SparseToDense: values are stored in depth-first order over the
    traversal levels; each DENSE level enumerates 0..size-1, each SPARSE_CSR level lists the indices between
    array_segments[parent] and array_segments[parent+1].
    """
    order = [int(v) for v in sparsity.TraversalOrderAsNumpy()]
    block_map = [int(v) for v in sparsity.BlockMapAsNumpy()] if sparsity.BlockMapLength() else []
    rank = len(dense_shape)
    parents = np.zeros(1, dtype=np.int64)             # position of each partial path in its level
    paths = np.zeros((1, 0), dtype=np.int64)           # indices chosen so far, one column per level
    for level in range(sparsity.DimMetadataLength()):
        meta = sparsity.DimMetadata(level)
        if meta.Format() == 0:  # DENSE
            size = int(meta.DenseSize())
            kids = np.arange(size)
            parents = (parents[:, None] * size + kids[None, :]).reshape(-1)
            paths = np.concatenate([np.repeat(paths, size, axis=0), np.tile(kids, len(paths))[:, None]], axis=1)
        else:  # SPARSE_CSR
            segments = _index_vector(meta.ArraySegmentsType(), meta.ArraySegments())
            indices = _index_vector(meta.ArrayIndicesType(), meta.ArrayIndices())
            starts, ends = segments[parents], segments[parents + 1]
            counts = ends - starts
            positions = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)]) if counts.sum() else \
                np.zeros(0, dtype=np.int64)
            paths = np.concatenate([np.repeat(paths, counts, axis=0), indices[positions][:, None]], axis=1)
            parents = positions
    # map traversal-level indices back to the original dims (block dims refine their mapped dim)
    full = np.zeros((len(paths), rank), dtype=np.int64)
    for level in range(rank):
        full[:, order[level]] = paths[:, level]
    block_sizes = [int(sparsity.DimMetadata(level).DenseSize()) for level in range(rank, len(order))]
    for level in range(rank, len(order)):
        b = order[level] - rank
        full[:, block_map[b]] = full[:, block_map[b]] * block_sizes[b] + paths[:, level]
    if len(values) != len(paths):
        raise ValueError(f"sparse tensor has {len(values)} values for {len(paths)} indices")
    dense = np.zeros(dense_shape, dtype=values.dtype)
    dense[tuple(full.T)] = values
    return dense


def _index_vector(kind: int, table) -> np.ndarray:
    cls = {1: tflite.Int32Vector, 2: tflite.Uint16Vector, 3: tflite.Uint8Vector}[kind]
    vec = cls()
    vec.Init(table.Bytes, table.Pos)
    return vec.ValuesAsNumpy().astype(np.int64)


def fold_constants(graph: Graph) -> Graph:
    """Evaluate DEQUANTIZE/DENSIFY on constants once (fp16 -> fp32, sparse -> dense) and drop those ops."""
    kept = []
    for op in graph.ops:
        if op.kind in CONST_OPS and graph.tensors[op.inputs[0]].data is not None:
            src, dst = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
            if op.kind == "DENSIFY":
                value = densify(src.data, src.shape, src.sparsity)
            else:
                value = src.data.reshape(src.shape) if src.sparsity is None else src.data
                value = value.astype(np.float32)
            dst.data = value.astype(dst.dtype).reshape(dst.shape)
        else:
            kept.append(op)
    for t in graph.tensors:
        if t.sparsity is not None and t.data is not None and t.data.shape != t.shape:
            t.data = None  # raw sparse payload, now only reachable through its folded DENSIFY output
    return Graph(graph.tensors, kept, graph.inputs, graph.outputs)


# ----------------------------------------------------------------------------------------------- torch ops


def _activate(x: torch.Tensor, act: int) -> torch.Tensor:
    """Fused activation, in place: x is always a fresh op result here (saves an allocation per layer on CPU)."""
    if act == 0:
        return x
    if act == 1:
        return x.relu_()
    if act == 2:
        return x.clamp_(-1.0, 1.0)
    if act == 3:
        return x.clamp_(0.0, 6.0)
    if act == 4:
        return x.tanh_()
    raise NotImplementedError(f"fused activation {act}")


def _check_act(act: int) -> int:
    if act not in ACTIVATIONS:
        raise NotImplementedError(f"fused activation {act} is not supported")
    return act


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow SAME padding (before, after) for one spatial dim; the odd pixel goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _spatial_padding(padding: int, hw: tuple[int, int], kernel: tuple[int, int], stride, dilation=(1, 1)):
    """(top, bottom, left, right) for SAME, zeros for VALID."""
    if padding != PADDING_SAME:
        return (0, 0, 0, 0)
    top, bottom = same_padding(hw[0], kernel[0], stride[0], dilation[0])
    left, right = same_padding(hw[1], kernel[1], stride[1], dilation[1])
    return top, bottom, left, right


class Conv(nn.Module):
    """CONV_2D / DEPTHWISE_CONV_2D (+ SAME padding, asymmetric when needed, + fused activation)."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray | None, groups: int, pads, stride, dilation, act: int):
        super().__init__()
        self.weight = nn.Parameter(torch.from_numpy(np.ascontiguousarray(weight)), requires_grad=False)
        self.bias = None if bias is None else nn.Parameter(torch.from_numpy(bias.copy()), requires_grad=False)
        top, bottom, left, right = pads
        symmetric = top == bottom and left == right
        self.padding = (top, left) if symmetric else (0, 0)
        self.pre_pad = None if symmetric else (left, right, top, bottom)
        self.groups, self.stride, self.dilation, self.act = groups, tuple(stride), tuple(dilation), act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pre_pad is not None:
            x = F.pad(x, self.pre_pad)
        x = F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        return _activate(x, self.act)


class Add(nn.Module):
    def __init__(self, act: int, const: np.ndarray | None = None):
        super().__init__()
        self.act = act
        self.register_buffer("const", None if const is None else torch.from_numpy(const.copy()))

    def forward(self, a: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
        return _activate(a + (self.const if b is None else b), self.act)


class Pad(nn.Module):
    def __init__(self, pads: tuple[int, ...], value: float = 0.0):
        super().__init__()
        self.pads, self.value = pads, value  # torch order: last dim first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self.pads, value=self.value)


class ResizeBilinear(nn.Module):
    """RESIZE_BILINEAR with TFLite's three coordinate rules.

    half_pixel_centers -> torch align_corners=False; align_corners -> torch align_corners=True; neither (legacy
    TF) -> src = dst * in/out, done with precomputed gather indices so it stays exportable.
    """

    def __init__(self, in_hw: tuple[int, int], out_hw: tuple[int, int], align_corners: bool, half_pixel: bool):
        super().__init__()
        self.out_hw, self.align_corners = tuple(out_hw), align_corners
        self.legacy = not align_corners and not half_pixel
        if self.legacy:
            for axis, (n_in, n_out) in enumerate(zip(in_hw, out_hw)):
                src = np.arange(n_out) * (n_in / n_out)
                lo = np.floor(src).astype(np.int64)
                hi = np.minimum(lo + 1, n_in - 1)
                frac = (src - lo).astype(np.float32)
                self.register_buffer(f"lo{axis}", torch.from_numpy(lo))
                self.register_buffer(f"hi{axis}", torch.from_numpy(hi))
                self.register_buffer(f"w{axis}", torch.from_numpy(frac))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.legacy:
            return F.interpolate(x, size=self.out_hw, mode="bilinear", align_corners=self.align_corners)
        top, bottom = x.index_select(2, self.lo0), x.index_select(2, self.hi0)
        x = top + (bottom - top) * self.w0.view(1, 1, -1, 1)
        left, right = x.index_select(3, self.lo1), x.index_select(3, self.hi1)
        return left + (right - left) * self.w1.view(1, 1, 1, -1)


class MaxPool(nn.Module):
    def __init__(self, kernel, stride, pads, act: int):
        super().__init__()
        top, bottom, left, right = pads
        self.kernel, self.stride, self.act = tuple(kernel), tuple(stride), act
        self.pre_pad = None if pads == (0, 0, 0, 0) else (left, right, top, bottom)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pre_pad is not None:
            x = F.pad(x, self.pre_pad, value=float("-inf"))  # SAME pooling ignores the padded cells
        return _activate(F.max_pool2d(x, self.kernel, self.stride), self.act)


class DepthToSpace(nn.Module):
    """TF DEPTH_TO_SPACE (DCR order: channel = (row_in_block * b + col_in_block) * C + c), on NCHW data."""

    def __init__(self, block: int, in_shape_nhwc: tuple[int, ...]):
        super().__init__()
        self.block = block
        _, self.h, self.w, self.c = in_shape_nhwc  # static sizes keep the exported graph free of shape ops

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c = self.block, self.c // (self.block * self.block)
        x = x.reshape(-1, b, b, c, self.h, self.w).permute(0, 3, 4, 1, 5, 2)
        return x.reshape(-1, c, self.h * b, self.w * b)


class Reshape(nn.Module):
    """RESHAPE in the tflite layout: NCHW activations go back to NHWC first; the batch dim is kept."""

    def __init__(self, shape: tuple[int, ...], from_nchw: bool, to_nchw: bool):
        super().__init__()
        self.shape, self.from_nchw, self.to_nchw = tuple(shape), from_nchw, to_nchw

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.from_nchw:
            x = x.permute(0, 2, 3, 1)
        x = x.reshape((-1,) + self.shape)
        return x.permute(0, 3, 1, 2) if self.to_nchw else x


class Concat(nn.Module):
    def __init__(self, axis: int, act: int):
        super().__init__()
        self.axis, self.act = axis, act

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return _activate(torch.cat(xs, dim=self.axis), self.act)


class Logistic(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(x)


class ToFloat(nn.Module):
    """DEQUANTIZE of a runtime fp16 tensor (constant ones are folded at load time)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.float()


# ----------------------------------------------------------------------------------------------- graph -> module


@dataclass
class Step:
    inputs: list[int]       # tensor indices read (constants are baked into the module)
    output: int
    frees: list[int]        # tensors not needed after this step


class TfliteModule(nn.Module):
    """Executes a parsed Graph. forward(x NHWC float32) -> tuple of outputs (tflite layout, graph output order)."""

    def __init__(self, graph: Graph):
        super().__init__()
        self.input_index = graph.inputs[0]
        self.output_indices = list(graph.outputs)
        self.output_names = [graph.name(i) for i in graph.outputs]
        if len(graph.inputs) != 1:
            raise NotImplementedError(f"{len(graph.inputs)} graph inputs; only single-input models are supported")
        nchw = {self.input_index: len(graph.tensors[self.input_index].shape) == 4}
        layers, steps = [], []
        for op in graph.ops:
            if len(op.outputs) != 1:
                raise NotImplementedError(f"{op.kind} with {len(op.outputs)} outputs")
            layer, reads = self._build(graph, op, nchw)
            nchw[op.outputs[0]] = len(graph.tensors[op.outputs[0]].shape) == 4
            layers.append(layer)
            steps.append(Step(reads, op.outputs[0], []))
        # free each intermediate after its last reader (keeps batched GPU memory low)
        last_use: dict[int, int] = {}
        for k, step in enumerate(steps):
            for i in step.inputs:
                last_use[i] = k
        for i, k in last_use.items():
            if i not in self.output_indices:
                steps[k].frees.append(i)
        self.layers = nn.ModuleList(layers)
        self.steps = steps
        self.output_nchw = [nchw[i] for i in self.output_indices]

    @staticmethod
    def _build(graph: Graph, op: OpRec, nchw: dict[int, bool]) -> tuple[nn.Module, list[int]]:
        t = graph.tensors
        ins = [i for i in op.inputs if i >= 0]
        x = t[ins[0]]
        o = op.options
        runtime = [i for i in ins if t[i].data is None]
        for i in runtime:
            if i not in nchw:
                raise ValueError(f"{op.kind}: input {t[i].name} is used before it is computed")
        if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            w = t[ins[1]].data
            bias = t[ins[2]].data if len(ins) > 2 else None
            if w is None or (len(ins) > 2 and bias is None):
                raise NotImplementedError(f"{op.kind} with runtime weights")
            hw = x.shape[1:3]
            if op.kind == "CONV_2D":
                weight, groups = w.transpose(0, 3, 1, 2), 1       # OHWI -> OIHW
                if w.shape[3] != x.shape[3]:
                    raise NotImplementedError("grouped CONV_2D")
            else:
                weight = w.transpose(3, 0, 1, 2)                   # 1HW(C*M) -> (C*M)1HW
                groups = x.shape[3]
            pads = _spatial_padding(o["padding"], hw, w.shape[1:3], o["stride"], o["dilation"])
            return Conv(weight.astype(np.float32), None if bias is None else bias.astype(np.float32), groups, pads,
                        o["stride"], o["dilation"], _check_act(o["act"])), runtime
        if op.kind == "ADD":
            act = _check_act(o["act"])
            if len(runtime) == 2:
                if t[ins[0]].shape != t[ins[1]].shape:
                    raise NotImplementedError("broadcasting ADD of two runtime tensors")
                return Add(act), runtime
            const = t[ins[1]] if t[ins[1]].data is not None else t[ins[0]]
            other = runtime[0]
            value = const.data.astype(np.float32)
            if nchw[other]:
                value = value.reshape((1,) * (4 - value.ndim) + value.shape).transpose(0, 3, 1, 2)
            return Add(act, value), runtime
        if op.kind == "PAD":
            pads = t[ins[1]].data.reshape(-1, 2)
            if nchw[ins[0]]:
                pads = pads[[0, 3, 1, 2]]
            value = float(t[ins[2]].data.reshape(())) if len(ins) > 2 else 0.0
            torch_pads = tuple(int(v) for v in pads[::-1].reshape(-1))
            return Pad(torch_pads, value), runtime
        if op.kind == "RESIZE_BILINEAR":
            out_hw = tuple(int(v) for v in t[ins[1]].data)
            return ResizeBilinear(x.shape[1:3], out_hw, o["align_corners"], o["half_pixel_centers"]), runtime
        if op.kind == "MAX_POOL_2D":
            pads = _spatial_padding(o["padding"], x.shape[1:3], o["kernel"], o["stride"])
            return MaxPool(o["kernel"], o["stride"], pads, _check_act(o["act"])), runtime
        if op.kind == "DEPTH_TO_SPACE":
            return DepthToSpace(o["block"], x.shape), runtime
        if op.kind == "RESHAPE":
            out = t[op.outputs[0]].shape
            if not x.shape or x.shape[0] != 1 or not out or out[0] != 1:
                raise NotImplementedError(f"RESHAPE {x.shape} -> {out} that changes the batch dim")
            return Reshape(out[1:], nchw[ins[0]], len(out) == 4), runtime[:1]
        if op.kind == "CONCATENATION":
            rank = len(x.shape)
            axis = o["axis"] % rank
            if any(t[i].data is not None for i in ins):
                raise NotImplementedError("CONCATENATION with constant inputs")
            if nchw[ins[0]]:
                axis = NHWC_TO_NCHW_AXIS[axis]
            return Concat(axis, _check_act(o["act"])), runtime
        if op.kind == "LOGISTIC":
            return Logistic(), runtime
        if op.kind == "DEQUANTIZE" and x.dtype == np.float16:
            return ToFloat(), runtime
        raise NotImplementedError(f"tflite op {op.kind} is not supported by detectors.tflite_torch")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        env = {self.input_index: x.permute(0, 3, 1, 2) if x.dim() == 4 else x}
        for layer, step in zip(self.layers, self.steps):
            env[step.output] = layer(*[env[i] for i in step.inputs])
            for i in step.frees:
                del env[i]
        return tuple(env[i].permute(0, 2, 3, 1) if is_nchw else env[i]
                     for i, is_nchw in zip(self.output_indices, self.output_nchw))


class TorchTfliteModel:
    """Same interface as detectors.litert.LiteRTModel: input_shape, output_names, __call__(batch) -> dict.

    `.module` is the nn.Module (NHWC torch in -> tuple of torch outputs in output_names order), e.g. for ONNX.
    """

    def __init__(self, path: str | Path, device: str | torch.device = "cpu"):
        graph = read_graph(path)
        self.device = torch.device(device)
        self.module = TfliteModule(graph).to(self.device).eval()
        self.input_shape = tuple(graph.tensors[graph.inputs[0]].shape)
        self.output_names = list(self.module.output_names)

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
        with torch.inference_mode():
            outs = self.module(x)
        return {name: out.float().cpu().numpy() for name, out in zip(self.output_names, outs)}


def main(argv: list[str] | None = None) -> int:
    """List each model's ops and time LiteRT against this converter (per image, random input)."""
    parser = argparse.ArgumentParser(
        description="tflite -> torch converter: ops used and per-image timings. On a busy shared CPU set "
                    "OMP_WAIT_POLICY=PASSIVE, or torch's spinning OpenMP workers dominate the 2-thread timings.")
    parser.add_argument("models", nargs="*", default=sorted(MODELS, key=list(BENCH_ORDER).index))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--batch", type=int, default=8, help="also time the converter at this batch size")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    def per_image_ms(fn, x, repeats):
        fn(x)
        fn(x)
        wall, cpu = [], []
        for _ in range(repeats):
            w, c = time.perf_counter(), time.process_time()
            fn(x)
            wall.append(time.perf_counter() - w)
            cpu.append(time.process_time() - c)
        scale = 1000.0 / len(x)
        return np.median(wall) * scale, np.min(wall) * scale, np.median(cpu) * scale

    rng = np.random.default_rng(0)
    print(f"threads={args.threads}; per image: wall median / wall min / process CPU median, ms")
    for name in args.models:
        path = model_path(name)
        ops = Counter(op.kind for op in _raw_ops(path))
        print(f"{name}: ops {dict(sorted(ops.items()))}")
        torch_model, lite = TorchTfliteModel(path), LiteRTModel(path, num_threads=args.threads)
        x1 = rng.uniform(0, 1, (1,) + torch_model.input_shape[1:]).astype(np.float32)
        xb = rng.uniform(0, 1, (args.batch,) + torch_model.input_shape[1:]).astype(np.float32)
        rows = [("litert B=1", lite, x1, args.repeats), ("torch  B=1", torch_model, x1, args.repeats),
                (f"torch  B={args.batch}", torch_model, xb, max(3, args.repeats // 4))]
        for label, fn, x, repeats in rows:
            med, low, cpu = per_image_ms(fn, x, repeats)
            print(f"  {label}: {med:7.1f} / {low:7.1f} / {cpu:7.1f}")
    return 0


BENCH_ORDER = ("pose_detection", "pose_landmark_lite", "pose_landmark_full", "pose_landmark_heavy")


def _raw_ops(path: str | Path) -> list[OpRec]:
    """Ops as stored in the file (before constant folding), for listing."""
    model = tflite.Model.GetRootAsModel(Path(path).read_bytes(), 0)
    g = model.Subgraphs(0)
    ops = []
    for i in range(g.OperatorsLength()):
        code = model.OperatorCodes(g.Operators(i).OpcodeIndex())
        ops.append(OpRec(OP_NAMES.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "UNKNOWN"), [], []))
    return ops


if __name__ == "__main__":
    raise SystemExit(main())
