"""fp16 variant of an exported fp32 model. Debian's torch 1.13 cannot run half
precision on the CPU, so the graph is converted with python3-onnx instead:
float weights and constants become float16, except what must stay float32
(Resize scales), and Casts at the edges keep the contract's float32 input and
output. On CUDA the fp16 graph runs in half precision; on the CPU, ONNX Runtime
inserts casts where it has no fp16 kernel (slower: this variant is for GPUs)."""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

KEEP_FLOAT32_INPUTS = {("Resize", 1), ("Resize", 2)}  # roi, scales


def _float32_consumers_only(graph):
    """Names of float tensors that must stay float32 (they feed Resize roi/scales)."""
    keep = set()
    for node in graph.node:
        for index, name in enumerate(node.input):
            if (node.op_type, index) in KEEP_FLOAT32_INPUTS and name:
                keep.add(name)
    return keep


def convert_to_fp16(model):
    graph = model.graph
    keep = _float32_consumers_only(graph)
    for init in graph.initializer:
        if init.data_type == TensorProto.FLOAT and init.name not in keep:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name))
    for node in graph.node:
        if node.op_type == "Constant" and node.output[0] not in keep:
            for attr in node.attribute:
                if attr.name == "value" and attr.t.data_type == TensorProto.FLOAT:
                    attr.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(attr.t).astype(np.float16)))
        if node.op_type == "Cast":
            for attr in node.attribute:
                if attr.name == "to" and attr.i == TensorProto.FLOAT:
                    attr.i = TensorProto.FLOAT16
    # float32 in -> Cast -> the graph in fp16 -> Cast -> float32 out
    input_name, output_name = graph.input[0].name, graph.output[0].name
    half_in, half_out = input_name + "_fp16", output_name + "_fp16"
    for node in graph.node:
        node.input[:] = [half_in if x == input_name else x for x in node.input]
        node.output[:] = [half_out if x == output_name else x for x in node.output]
    graph.node.insert(0, helper.make_node("Cast", [input_name], [half_in], to=TensorProto.FLOAT16, name="input_to_fp16"))
    graph.node.append(helper.make_node("Cast", [half_out], [output_name], to=TensorProto.FLOAT, name="output_to_fp32"))
    del graph.value_info[:]
    onnx.checker.check_model(model)
    return model


def convert_file(src, dst):
    model = convert_to_fp16(onnx.load(src))
    tmp = dst + ".tmp"
    onnx.save(model, tmp)
    import os
    os.replace(tmp, dst)
