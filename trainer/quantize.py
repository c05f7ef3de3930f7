"""int8 variant (quantize-dequantize ONNX) of an exported fp32 model, calibrated
on real frames. Weights: int8, symmetric, per output channel. Activations
around every Conv: uint8, asymmetric, ranges from PyTorch forward hooks on the
calibration photos. ONNX Runtime fuses each DQ -> Conv -> Q into a QLinearConv;
instance norms, pads and the rest stay float."""
import os

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from . import reconet
from .data import list_images, load_image


def add_arguments(p):
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--onnx", required=True, help="the exported fp32 model")
    p.add_argument("--out", required=True, help="the int8 model to write")
    p.add_argument("--photos", default=os.path.join("..", "shared", "data", "content", "bsds500", "val"))
    p.add_argument("--count", type=int, default=16)
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--percentile", type=float, default=99.99)


def calibrate(net, frames, percentile):
    """(input range, output range) of every Conv2d, in forward order."""
    ranges, hooks = [], []
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    stats = {id(c): {"in": [], "out": []} for c in convs}

    def hook(module, inputs, output):
        stats[id(module)]["in"].append(inputs[0].detach().flatten())
        stats[id(module)]["out"].append(output.detach().flatten())

    for c in convs:
        hooks.append(c.register_forward_hook(hook))
    with torch.no_grad():
        for frame in frames:
            net(frame.unsqueeze(0))
    for h in hooks:
        h.remove()

    def span(values):
        v = torch.cat(values).numpy()
        lo, hi = np.percentile(v, 100 - percentile), np.percentile(v, percentile)
        return float(min(lo, 0.0)), float(max(hi, 0.0))

    for c in convs:
        ranges.append((span(stats[id(c)]["in"]), span(stats[id(c)]["out"])))
    return ranges


def uint8_params(lo, hi):
    scale = max(hi - lo, 1e-8) / 255.0
    zero = int(round(-lo / scale))
    return np.float32(scale), np.uint8(min(255, max(0, zero)))


def quantize(model, ranges):
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    if len(convs) != len(ranges):
        raise RuntimeError(f"{len(convs)} Conv nodes in the graph, {len(ranges)} calibrated convs")
    new_inits, new_nodes = [], {}
    for k, (conv, (in_range, out_range)) in enumerate(zip(convs, ranges)):
        x, w_name, b_name = conv.input[0], conv.input[1], conv.input[2]
        sx, zx = uint8_params(*in_range)
        sy, zy = uint8_params(*out_range)
        w = numpy_helper.to_array(inits[w_name]).astype(np.float32)
        b = numpy_helper.to_array(inits[b_name]).astype(np.float32)
        sw = np.maximum(np.abs(w).reshape(w.shape[0], -1).max(axis=1), 1e-8) / 127.0
        wq = np.clip(np.round(w / sw[:, None, None, None]), -127, 127).astype(np.int8)
        bq = np.round(b / (sx * sw)).astype(np.int32)
        p = f"q{k}_"
        new_inits += [
            numpy_helper.from_array(np.array(sx, np.float32), p + "sx"), numpy_helper.from_array(np.array(zx, np.uint8), p + "zx"),
            numpy_helper.from_array(np.array(sy, np.float32), p + "sy"), numpy_helper.from_array(np.array(zy, np.uint8), p + "zy"),
            numpy_helper.from_array(wq, p + "wq"), numpy_helper.from_array(sw.astype(np.float32), p + "sw"),
            numpy_helper.from_array(np.zeros(len(sw), np.int8), p + "zw"),
            numpy_helper.from_array(bq, p + "bq"), numpy_helper.from_array((sx * sw).astype(np.float32), p + "sb"),
            numpy_helper.from_array(np.zeros(len(sw), np.int32), p + "zb"),
        ]
        y = conv.output[0]
        before = [
            helper.make_node("QuantizeLinear", [x, p + "sx", p + "zx"], [p + "xq"]),
            helper.make_node("DequantizeLinear", [p + "xq", p + "sx", p + "zx"], [p + "xdq"]),
            helper.make_node("DequantizeLinear", [p + "wq", p + "sw", p + "zw"], [p + "wdq"], axis=0),
            helper.make_node("DequantizeLinear", [p + "bq", p + "sb", p + "zb"], [p + "bdq"], axis=0),
        ]
        after = [
            helper.make_node("QuantizeLinear", [p + "y", p + "sy", p + "zy"], [p + "yq"]),
            helper.make_node("DequantizeLinear", [p + "yq", p + "sy", p + "zy"], [y]),
        ]
        conv.input[:] = [p + "xdq", p + "wdq", p + "bdq"]
        conv.output[:] = [p + "y"]
        new_nodes[id(conv)] = (before, after)
    nodes = []
    for n in graph.node:
        if id(n) in new_nodes:
            before, after = new_nodes[id(n)]
            nodes += before + [n] + after
        else:
            nodes.append(n)
    del graph.node[:]
    graph.node.extend(nodes)
    used = {x for n in graph.node for x in n.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept + new_inits)
    del graph.value_info[:]
    onnx.checker.check_model(model)
    return model


def run(args):
    torch.set_grad_enabled(False)
    net, _ = reconet.load(args.checkpoint)
    net.eval()
    frames = []
    for path in list_images(args.photos)[: args.count]:
        img = load_image(path, args.height)
        frames.append(img[:, :, : img.shape[2] - img.shape[2] % 4][:, : img.shape[1] - img.shape[1] % 4])
    ranges = calibrate(net, frames, args.percentile)
    model = quantize(onnx.load(args.onnx), ranges)
    tmp = args.out + ".tmp"
    onnx.save(model, tmp)
    os.replace(tmp, args.out)
    print(f"wrote {args.out} (calibrated on {len(frames)} photos)")
    return 0
