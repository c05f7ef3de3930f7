"""`adain`: arbitrary style in one pass (Huang & Belongie 2017), at relu4_1 of
the compact VGG19 encoder/decoder pair of Wang et al. 2020 (collab-distill
`4SE.pth`/`4SD.pth`, MIT; read from --weights, never committed).

The encoder maps an RGB image in [0, 1] to 128 compact relu4_1 channels (its
first 1x1 conv holds the colour conversion of the Caffe VGG it was distilled
from). A style is the per-channel mean and standard deviation of the
painting's features (256 numbers); AdaIN gives the content features those
statistics and the decoder paints the result. Strength blends the
painting's statistics with the frame's own (1 = the painting, 0 = the photo).

The networks and the contract-2 export: the library under the `adain` and
`adain-train` commands and the test fixtures.
"""
import json
import os

import torch
from torch import nn
import torch.nn.functional as F


DEFAULT_WEIGHTS = os.path.join("..", "shared", "data", "weights", "collab-distill-vgg19-16x")
FEATURES = 128
EPS = 1e-5


def _conv(cin, cout):
    return nn.Conv2d(cin, cout, 3)


class Encoder(nn.Module):
    """Compact VGG19 to relu4_1 (16x fewer FLOPs than VGG19's 512 channels)."""

    LAYERS = [("conv11", 3, 16), ("conv12", 16, 16), "pool", ("conv21", 16, 32), ("conv22", 32, 32), "pool",
              ("conv31", 32, 64), ("conv32", 64, 64), ("conv33", 64, 64), ("conv34", 64, 64), "pool",
              ("conv41", 64, FEATURES)]

    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv2d(3, 3, 1)
        for layer in self.LAYERS:
            if layer != "pool":
                name, cin, cout = layer
                setattr(self, name, _conv(cin, cout))

    def forward(self, x):
        y = self.conv0(x)
        for layer in self.LAYERS:
            if layer == "pool":
                y = F.max_pool2d(y, 2)
            else:
                y = F.relu(getattr(self, layer[0])(F.pad(y, (1, 1, 1, 1), mode="reflect")))
        return y


class Decoder(nn.Module):
    """The mirror of Encoder: nearest upsampling where the encoder pooled."""

    LAYERS = [("conv41", FEATURES, 64), "up", ("conv34", 64, 64), ("conv33", 64, 64), ("conv32", 64, 64),
              ("conv31", 64, 32), "up", ("conv22", 32, 32), ("conv21", 32, 16), "up", ("conv12", 16, 16),
              ("conv11", 16, 3)]

    def __init__(self):
        super().__init__()
        for layer in self.LAYERS:
            if layer != "up":
                name, cin, cout = layer
                setattr(self, name, _conv(cin, cout))

    def forward(self, y):
        for layer in self.LAYERS:
            if layer == "up":
                y = F.interpolate(y, scale_factor=2, mode="nearest")
            else:
                y = F.relu(getattr(self, layer[0])(F.pad(y, (1, 1, 1, 1), mode="reflect")))
        return y


def load_pair(weights_dir=DEFAULT_WEIGHTS):
    """The pretrained encoder and decoder (the encoder's 1x1 `_aux` heads, used only
    to distil it, are dropped)."""
    enc, dec = Encoder(), Decoder()
    enc_state = torch.load(os.path.join(weights_dir, "4SE.pth"), map_location="cpu")["model"]
    enc.load_state_dict({k: v for k, v in enc_state.items() if not k.endswith(("_aux.weight", "_aux.bias"))})
    dec.load_state_dict(torch.load(os.path.join(weights_dir, "4SD.pth"), map_location="cpu")["model"])
    return enc.eval(), dec.eval()


def mean_std(features):
    """Per-channel mean and std over the picture: [N, 2C] (means first)."""
    flat = features.flatten(2)
    mean = flat.mean(2)
    std = (flat.var(2, unbiased=False) + EPS).sqrt()
    return torch.cat([mean, std], 1)


def adain(content, style, strength):
    """content [N, C, h, w]; style [N, 2C]; strength [N] or scalar in [0, 1]."""
    c = content.shape[1]
    own = mean_std(content)
    target = own + (style - own) * strength.view(-1, 1)
    normalized = (content - own[:, :c, None, None]) / own[:, c:, None, None]
    return normalized * target[:, c:, None, None] + target[:, :c, None, None]


class StyleEncoder(nn.Module):
    """painting [1, 3, H, W] in [0, 1] -> style [1, 256]."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, painting):
        return mean_std(self.encoder(painting))


class Stylizer(nn.Module):
    """frame [1, 3, H, W] in [0, 1], style [1, 2C], strength [1] -> frame [1, 3, H, W].
    The frame is padded to a multiple of 8 (the encoder pools three times) by
    repeating its edges, and the output cropped back, inside the graph."""

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, frame, style, strength):
        h, w = frame.shape[-2], frame.shape[-1]
        padded = F.pad(frame, [0, (8 - w % 8) % 8, 0, (8 - h % 8) % 8], mode="replicate")
        return self.decoder(adain(self.encoder(padded), style, strength)).clamp(0, 1)[..., :h, :w]


class ColourStatistics(nn.Module):
    """The features are the pixels themselves: as the encoder and the decoder of a
    Stylizer, AdaIN becomes colour-statistics transfer (Reinhard et al. 2001). A
    baseline, and the runtime tests' fixture: its effect is known exactly (the
    output's per-channel mean moves to the painting's as strength goes to 1)."""

    def forward(self, x):
        return x + 0.0  # a node of its own, so the ONNX graph keeps distinct input and output names


# ---- export: the model contract's second form (docs/model-contract.md) -------------------

def _declare_image_output(path):
    """The in-graph crop leaves the output's declared shape to the exporter's guesses
    (a symbolic channel count); declare what it is: [1, 3, height, width]."""
    import onnx
    model = onnx.load(path)
    dims = model.graph.output[0].type.tensor_type.shape.dim
    dims[0].dim_value, dims[1].dim_value = 1, 3
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    onnx.checker.check_model(model)
    onnx.save(model, path)


def export_arbitrary(stylizer, style_encoder, out_dir, model_id, extra, painting_size=512, check=True):
    """models/<id>.onnx (frame, style, strength -> frame) + models/<id>.style.onnx
    (painting -> style) + a contract-2 manifest; both graphs checked against
    PyTorch through onnxruntime-node before the manifest is written."""
    import numpy as np
    from . import manifest as manifests
    from .onnx_files import OPSET, PARITY_TOLERANCE, contract_manifest, count_params, ort_run, refuse_unfaithful, sha256
    os.makedirs(out_dir, exist_ok=True)
    stylizer, style_encoder = stylizer.eval(), style_encoder.eval()
    g = torch.Generator().manual_seed(0)
    painting = torch.rand(1, 3, 72, 88, generator=g)
    with torch.no_grad():
        style = style_encoder(painting)
    style_length = style.shape[1]
    stylizer_path = os.path.join(out_dir, f"{model_id}.onnx")
    encoder_path = os.path.join(out_dir, f"{model_id}.style.onnx")
    dims = {2: "height", 3: "width"}
    with torch.no_grad():
        torch.onnx.export(stylizer, (torch.rand(1, 3, 64, 96), style, torch.ones(1)), stylizer_path + ".tmp",
                          input_names=["input", "style", "strength"], output_names=["output"],
                          dynamic_axes={"input": dims, "output": dims}, opset_version=OPSET)
        torch.onnx.export(style_encoder, (painting,), encoder_path + ".tmp", input_names=["painting"],
                          output_names=["style"], dynamic_axes={"painting": dims}, opset_version=OPSET)
    _declare_image_output(stylizer_path + ".tmp")
    os.replace(stylizer_path + ".tmp", stylizer_path)
    os.replace(encoder_path + ".tmp", encoder_path)
    parity = None
    if check:
        frame = torch.rand(1, 3, 68, 124, generator=g)  # not a multiple of 8: the in-graph padding is exercised
        strength = torch.tensor([0.7])
        with torch.no_grad():
            expected_frame = stylizer(frame, style, strength).numpy()
        got_style = ort_run(encoder_path, painting.numpy(), out_shape=tuple(style.shape))
        got_frame = ort_run(stylizer_path, frame.numpy(), {"style": style.numpy(), "strength": strength.numpy()})
        parity = max(float(np.abs(style.numpy() - got_style).max() / max(1.0, float(style.abs().max()))),
                     float(np.abs(expected_frame - got_frame).max()))
    refuse_unfaithful(parity, PARITY_TOLERANCE, [stylizer_path, encoder_path])
    arbitrary = {"encoder": f"{model_id}.style.onnx", "styleLength": int(style_length), "paintingSize": painting_size,
                 "encoderSha256": sha256(encoder_path)}
    manifest = contract_manifest(model_id, manifests.ARBITRARY_STYLE, stylizer_path,
                                 {"arch": "adain", "parameters": count_params(stylizer)}, parity,
                                 {"arbitrary": arbitrary, **extra})
    manifests.write(manifest, os.path.join(out_dir, f"{model_id}.json"))
    return stylizer_path, manifest


def load_decoder(checkpoint, decoder):
    """A fine-tuned painter's weights into `decoder` (the AdaIN decoder or Magenta's transfer
    network; for `adain --decoder`, `adain-train --init` and export): an adain-train
    checkpoint, or a shipped contract-2 stylizer (.onnx, whose initializers carry the
    painter's state names under the stylizer's attribute, with its manifest beside it)."""
    if not os.path.isfile(checkpoint):
        raise FileNotFoundError(f"painter not found: {checkpoint}")
    if not checkpoint.endswith(".onnx"):
        state = torch.load(checkpoint, map_location="cpu")
        decoder.load_state_dict(state["decoder"])
        return state
    import onnx
    from onnx import numpy_helper
    manifest_path = checkpoint[:-5] + ".json"
    if not os.path.isfile(manifest_path):
        raise FileNotFoundError(f"{checkpoint}: its manifest {manifest_path} is missing (it holds the training settings)")
    with open(manifest_path) as f:
        training = json.load(f).get("training", {})
    initializers = {i.name: i for i in onnx.load(checkpoint).graph.initializer}
    wanted = decoder.state_dict()
    # The painter's weights sit under the stylizer's attribute for it (Stylizer.decoder, magenta.Stylizer.transfer).
    prefix = next((p for p in ("decoder.", "transfer.") if all(p + k in initializers for k in wanted)), None)
    if prefix is None:
        raise ValueError(f"{checkpoint}: lacks this painter's weights (another network's export?)")
    decoder.load_state_dict({k: torch.from_numpy(numpy_helper.to_array(initializers[prefix + k]).copy()) for k in wanted})
    config = {k: v for k, v in training.items() if k not in ("steps_done", "paintings")}
    return {"decoder": decoder.state_dict(), "config": config, "step": training.get("steps_done", 0),
            "paintings": training.get("paintings")}
