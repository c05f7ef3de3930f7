"""Network -> ONNX file and manifest (the model contract of docs/model-contract.md),
checked against ONNX Runtime through the project's own onnxruntime-node
(scripts/ort-run.mjs), and models run there: the library under `export`,
`eval`, `adain`, `gatys` and `fixtures`."""
import hashlib
import os
import shutil
import subprocess
import tempfile

import numpy as np
import torch

from . import manifest as manifests
from . import reconet

OPSET = 13
PARITY_TOLERANCE = 2e-4  # max abs difference on [0, 1] outputs, fp32
PARITY_TOLERANCE_FP16 = 2e-2  # fp16 weights and activations, against the fp32 PyTorch output
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))



def count_params(net):
    return sum(p.numel() for p in net.parameters())


def export_onnx(net, path, opset=OPSET):
    """Export with dynamic batch, height and width; written to a temp name first."""
    net = reconet.folded(net).eval()
    tmp = path + ".tmp"
    dummy = torch.rand(1, 3, 64, 96)
    dims = {0: "batch", 2: "height", 3: "width"}
    with torch.no_grad():
        torch.onnx.export(net, dummy, tmp, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": dims, "output": dims}, opset_version=opset,
                          do_constant_folding=True)
    pin_rgb_channels(tmp)
    os.replace(tmp, path)


def pin_rgb_channels(path):
    """A cropped output (reconet's sub-pixel networks) leaves ONNX's shape inference
    with a symbolic channel count; the contract says 3, and the runtime checks it."""
    import onnx
    model = onnx.load(path)
    changed = False
    for value in list(model.graph.input) + list(model.graph.output):
        dims = value.type.tensor_type.shape.dim
        if value.name not in ("input", "output") or len(dims) != 4:
            continue
        dim = dims[1]
        if not dim.HasField("dim_value"):
            dim.dim_value = 3
            changed = True
    if changed:
        onnx.save(model, path)


def ort_run(onnx_path, array, extra=None, out_shape=None):
    """Run float32 arrays through onnxruntime-node (CPU): `array` feeds the model's first
    input, `extra` ({name: array}) the others; returns its first output, shaped like
    `array` unless `out_shape` says otherwise."""
    script = os.path.join(ROOT, "scripts", "ort-run.mjs")
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node not found: the parity check runs ONNX Runtime through onnxruntime-node")
    with tempfile.TemporaryDirectory() as tmp:
        def saved(name, a):
            path = os.path.join(tmp, f"feed-{name}.bin")
            np.ascontiguousarray(a, dtype="<f4").tofile(path)
            return path, ",".join(str(d) for d in np.shape(a))
        src, shape = saved("in", array)
        dst = os.path.join(tmp, "out.bin")
        feeds = [f"{name}={path}@{dims}" for name, (path, dims) in ((n, saved(n, a)) for n, a in (extra or {}).items())]
        proc = subprocess.run([node, script, onnx_path, src, shape, dst, *feeds],
                              capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            raise RuntimeError(f"onnxruntime-node failed: {proc.stderr.strip().splitlines()[-1:]}")
        return np.fromfile(dst, dtype="<f4").reshape(out_shape or np.shape(array))


def parity_check(net, onnx_path, height=68, width=124, seed=0):
    """Max abs difference between PyTorch and ONNX Runtime on a random frame whose
    size differs from the export's dummy (so dynamic axes are exercised)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 3, height, width, generator=g)
    with torch.no_grad():
        expected = net.eval()(x).numpy()
    got = ort_run(onnx_path, x.numpy())
    return float(np.abs(expected - got).max())


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def refuse_unfaithful(parity, tolerance, paths, what="ONNX Runtime output differs from PyTorch"):
    """The one rule of every export: a graph ONNX Runtime does not run as PyTorch does
    is removed, never shipped."""
    if parity is not None and parity > tolerance:
        for path in paths:
            os.remove(path)
        raise RuntimeError(f"{what} by {parity:.2e} (tolerance {tolerance:.0e}); export removed")


def contract_manifest(model_id, contract, onnx_path, network, parity, extra, precision="fp32",
                      tolerance=PARITY_TOLERANCE):
    """The manifest every export writes (docs/model-contract.md), with `extra` on top."""
    manifest = {
        "id": model_id,
        "title": model_id,
        "contract": contract,
        "file": os.path.basename(onnx_path),
        "sha256": sha256(onnx_path),
        "network": network,
        "export": {"opset": OPSET, "torch": torch.__version__, "precision": precision,
                   "parity_max_abs_diff": parity, "parity_tolerance": tolerance},
        "listed": True,
        "metrics": {},
    }
    manifest.update(extra)
    return manifest


def export_model(net, out_dir, model_id, manifest_extra, check=True):
    """models/<id>.onnx (frame -> frame) + its contract-1 manifest, checked against PyTorch."""
    os.makedirs(out_dir, exist_ok=True)
    onnx_path = os.path.join(out_dir, f"{model_id}.onnx")
    export_onnx(net, onnx_path)
    parity = parity_check(net, onnx_path) if check else None
    refuse_unfaithful(parity, PARITY_TOLERANCE, [onnx_path])
    manifest = contract_manifest(model_id, manifests.SINGLE_NETWORK, onnx_path,
                                 {**net.config(), "parameters": count_params(net)}, parity, manifest_extra)
    manifests.write(manifest, os.path.join(out_dir, f"{model_id}.json"))
    return onnx_path, manifest


def export_fp16(net, out_dir, model_id, manifest, check=True):
    """<id>-fp16.onnx + manifest (unlisted, variantOf <id>), checked against PyTorch fp32."""
    from .fp16 import convert_file
    fp16_id = f"{model_id}-fp16"
    path = os.path.join(out_dir, f"{fp16_id}.onnx")
    convert_file(os.path.join(out_dir, f"{model_id}.onnx"), path)
    parity = parity_check(net, path) if check else None
    refuse_unfaithful(parity, PARITY_TOLERANCE_FP16, [path], "fp16 model differs from PyTorch fp32")
    variant = dict(manifest, id=fp16_id, file=f"{fp16_id}.onnx", sha256=sha256(path), listed=False,
                   variant="fp16", variantOf=model_id, title=f"{manifest['title']} (fp16)",
                   export=dict(manifest["export"], precision="fp16", parity_max_abs_diff=parity,
                               parity_tolerance=PARITY_TOLERANCE_FP16))
    variant.pop("preview", None)
    variant["metrics"] = {}  # the fp32 figures do not describe this file; measure it where it runs (a GPU)
    manifests.write(variant, os.path.join(out_dir, f"{fp16_id}.json"))
    print(f"exported {path}; vs PyTorch fp32 max abs diff {parity:.2e}" if parity is not None else f"exported {path}")
    return path
