"""The TFLite interpreter (trainer/tflite_graph.py) on a small graph written here
with the flatc bindings: mirror pad, fp16 weights through DEQUANTIZE, a
VALID conv with fused ReLU, a SAME stride-2 conv, instance-norm-like
MEAN/SQUARED_DIFFERENCE/RSQRT/MUL/SUB/ADD, nearest upsampling and a sigmoid,
checked against the same computation written directly in PyTorch. The TFLite
schema ships beside the tests (fixtures/tflite-schema.fbs, Apache-2.0)."""
import os

import numpy as np
import torch
import torch.nn.functional as F

SCHEMA = os.path.join(os.path.dirname(__file__), "fixtures", "tflite-schema.fbs")


def write_model(path, weights):
    import flatbuffers
    from trainer.tflite_graph import bindings
    bindings(SCHEMA)
    import importlib
    T = {n: importlib.import_module(f"tflite.{n}") for n in (
        "Model", "SubGraph", "Tensor", "Buffer", "Operator", "OperatorCode", "Conv2DOptions", "ReducerOptions",
        "MirrorPadOptions", "BuiltinOperator", "BuiltinOptions")}
    B = T["BuiltinOperator"].BuiltinOperator
    O = T["BuiltinOptions"].BuiltinOptions
    b = flatbuffers.Builder(1024)
    buffers, tensors, ops = [b""], [], []

    def vector(start, values, prepend):
        start(b, len(values))
        for v in reversed(values):
            prepend(v)
        return b.EndVector()

    def tensor(name, shape, dtype=0, data=None):
        if data is not None:
            buffers.append(np.ascontiguousarray(data).tobytes())
        tensors.append((name, shape, dtype, len(buffers) - 1 if data is not None else 0))
        return len(tensors) - 1

    x = tensor("x", [1, 8, 8, 3])
    pads = tensor("pads", [4, 2], 2, np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32))
    padded = tensor("padded", [1, 10, 10, 3])
    w16 = tensor("w16", [4, 3, 3, 3], 1, weights["w1"].astype(np.float16))
    w = tensor("w", [4, 3, 3, 3])
    b16 = tensor("b16", [4], 1, weights["b1"].astype(np.float16))
    bias = tensor("b", [4])
    c1 = tensor("c1", [1, 8, 8, 4])
    w2 = tensor("w2", [4, 3, 3, 4], 0, weights["w2"])
    c2 = tensor("c2", [1, 4, 4, 4])
    axes = tensor("axes", [2], 2, np.array([1, 2], np.int32))
    mean = tensor("mean", [1, 1, 1, 4])
    sqd = tensor("sqd", [1, 4, 4, 4])
    var = tensor("var", [1, 1, 1, 4])
    eps = tensor("eps", [], 0, np.array(1e-3, np.float32))
    var_eps = tensor("var_eps", [1, 1, 1, 4])
    inv = tensor("inv", [1, 1, 1, 4])
    centred = tensor("centred", [1, 4, 4, 4])
    normed = tensor("normed", [1, 4, 4, 4])
    shift = tensor("shift", [4], 0, weights["shift"])
    shifted = tensor("shifted", [1, 4, 4, 4])
    up = tensor("up", [1, 8, 8, 4])
    up_size = tensor("up_size", [2], 2, np.array([8, 8], np.int32))
    out = tensor("out", [1, 8, 8, 4])

    def conv_options(padding, stride, activation):
        T["Conv2DOptions"].Start(b)
        T["Conv2DOptions"].AddPadding(b, padding)
        T["Conv2DOptions"].AddStrideH(b, stride)
        T["Conv2DOptions"].AddStrideW(b, stride)
        T["Conv2DOptions"].AddFusedActivationFunction(b, activation)
        return O.Conv2DOptions, T["Conv2DOptions"].End(b)

    def reducer():
        T["ReducerOptions"].Start(b)
        T["ReducerOptions"].AddKeepDims(b, True)
        return O.ReducerOptions, T["ReducerOptions"].End(b)

    def mirror():
        T["MirrorPadOptions"].Start(b)
        T["MirrorPadOptions"].AddMode(b, 0)
        return O.MirrorPadOptions, T["MirrorPadOptions"].End(b)

    codes = []
    for code, ins, outs, options in [
        (B.MIRROR_PAD, [x, pads], [padded], mirror()),
        (B.DEQUANTIZE, [w16], [w], None), (B.DEQUANTIZE, [b16], [bias], None),
        (B.CONV_2D, [padded, w, bias], [c1], conv_options(1, 1, 1)),          # VALID, ReLU
        (B.CONV_2D, [c1, w2, -1], [c2], conv_options(0, 2, 0)),               # SAME, stride 2, no bias
        (B.MEAN, [c2, axes], [mean], reducer()), (B.SQUARED_DIFFERENCE, [c2, mean], [sqd], None),
        (B.MEAN, [sqd, axes], [var], reducer()), (B.ADD, [var, eps], [var_eps], None), (B.RSQRT, [var_eps], [inv], None),
        (B.SUB, [c2, mean], [centred], None), (B.MUL, [centred, inv], [normed], None), (B.ADD, [normed, shift], [shifted], None),
        (B.RESIZE_NEAREST_NEIGHBOR, [shifted, up_size], [up], None), (B.LOGISTIC, [up], [out], None),
    ]:
        if code not in codes:
            codes.append(code)
        ops.append((codes.index(code), ins, outs, options))

    names = [b.CreateString(t[0]) for t in tensors]
    tensor_offsets = []
    for (name, shape, dtype, buffer), name_offset in zip(tensors, names):
        shape_offset = vector(T["Tensor"].StartShapeVector, shape, b.PrependInt32)
        T["Tensor"].Start(b)
        T["Tensor"].AddShape(b, shape_offset)
        T["Tensor"].AddType(b, dtype)
        T["Tensor"].AddBuffer(b, buffer)
        T["Tensor"].AddName(b, name_offset)
        tensor_offsets.append(T["Tensor"].End(b))
    op_offsets = []
    for index, ins, outs, options in ops:
        ins_offset = vector(T["Operator"].StartInputsVector, ins, b.PrependInt32)
        outs_offset = vector(T["Operator"].StartOutputsVector, outs, b.PrependInt32)
        T["Operator"].Start(b)
        T["Operator"].AddOpcodeIndex(b, index)
        T["Operator"].AddInputs(b, ins_offset)
        T["Operator"].AddOutputs(b, outs_offset)
        if options:
            T["Operator"].AddBuiltinOptionsType(b, options[0])
            T["Operator"].AddBuiltinOptions(b, options[1])
        op_offsets.append(T["Operator"].End(b))
    tensors_vec = vector(T["SubGraph"].StartTensorsVector, tensor_offsets, b.PrependUOffsetTRelative)
    ops_vec = vector(T["SubGraph"].StartOperatorsVector, op_offsets, b.PrependUOffsetTRelative)
    in_vec = vector(T["SubGraph"].StartInputsVector, [x], b.PrependInt32)
    out_vec = vector(T["SubGraph"].StartOutputsVector, [out], b.PrependInt32)
    T["SubGraph"].Start(b)
    T["SubGraph"].AddTensors(b, tensors_vec)
    T["SubGraph"].AddOperators(b, ops_vec)
    T["SubGraph"].AddInputs(b, in_vec)
    T["SubGraph"].AddOutputs(b, out_vec)
    subgraph = T["SubGraph"].End(b)
    code_offsets = []
    for code in codes:
        T["OperatorCode"].Start(b)
        T["OperatorCode"].AddDeprecatedBuiltinCode(b, min(code, 127))
        T["OperatorCode"].AddBuiltinCode(b, code)
        code_offsets.append(T["OperatorCode"].End(b))
    buffer_offsets = []
    for data in buffers:
        data_offset = b.CreateByteVector(data) if data else None
        T["Buffer"].Start(b)
        if data_offset is not None:
            T["Buffer"].AddData(b, data_offset)
        buffer_offsets.append(T["Buffer"].End(b))
    codes_vec = vector(T["Model"].StartOperatorCodesVector, code_offsets, b.PrependUOffsetTRelative)
    subgraphs_vec = vector(T["Model"].StartSubgraphsVector, [subgraph], b.PrependUOffsetTRelative)
    buffers_vec = vector(T["Model"].StartBuffersVector, buffer_offsets, b.PrependUOffsetTRelative)
    T["Model"].Start(b)
    T["Model"].AddVersion(b, 3)
    T["Model"].AddOperatorCodes(b, codes_vec)
    T["Model"].AddSubgraphs(b, subgraphs_vec)
    T["Model"].AddBuffers(b, buffers_vec)
    b.Finish(T["Model"].End(b), file_identifier=b"TFL3")
    with open(path, "wb") as f:
        f.write(b.Output())


def test_runs_a_tflite_graph_as_pytorch_would(tmp_path):
    from trainer.tflite_graph import TFLiteGraph
    rng = np.random.default_rng(0)
    weights = {"w1": rng.normal(0, 0.5, (4, 3, 3, 3)).astype(np.float32), "b1": rng.normal(0, 0.1, 4).astype(np.float32),
               "w2": rng.normal(0, 0.5, (4, 3, 3, 4)).astype(np.float32), "shift": rng.normal(0, 0.5, 4).astype(np.float32)}
    path = str(tmp_path / "tiny.tflite")
    write_model(path, weights)
    graph = TFLiteGraph(path, SCHEMA).eval()
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        got = graph(x)
        # The same computation, written directly (weights OHWI -> OIHW; fp16 rounding of w1, b1 as TFLite stores them).
        w1 = torch.from_numpy(weights["w1"].astype(np.float16).astype(np.float32)).permute(0, 3, 1, 2)
        b1 = torch.from_numpy(weights["b1"].astype(np.float16).astype(np.float32))
        c1 = F.relu(F.conv2d(F.pad(x, [1, 1, 1, 1], mode="reflect"), w1, b1))
        c2 = F.conv2d(F.pad(c1, [0, 1, 0, 1]), torch.from_numpy(weights["w2"]).permute(0, 3, 1, 2), stride=2)  # TF SAME: extra pad after
        mean = c2.mean((2, 3), keepdim=True)
        var = ((c2 - mean) ** 2).mean((2, 3), keepdim=True)
        normed = (c2 - mean) * torch.rsqrt(var + 1e-3) + torch.from_numpy(weights["shift"]).view(1, -1, 1, 1)
        expected = torch.sigmoid(F.interpolate(normed, scale_factor=2, mode="nearest"))
    assert got.shape == (1, 4, 8, 8)
    assert float((got - expected).abs().max()) < 1e-5
    # Any input size: the upsampling factor is kept, not the graph's fixed size.
    with torch.no_grad():
        assert graph(torch.rand(1, 3, 12, 16)).shape == (1, 4, 12, 16)
