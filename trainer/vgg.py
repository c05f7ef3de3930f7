"""VGG19 blocks 1-3 (ImageNet weights from the TensorFlow.js files), the loss network.

Caffe/Keras preprocessing: RGB [0,1] -> BGR, x255, minus the per-channel mean.
"""
import json
import os

import numpy as np
import torch
from torch import nn

LAYERS = [
    ("block1_conv1", 3, 64), ("block1_conv2", 64, 64), "pool",
    ("block2_conv1", 64, 128), ("block2_conv2", 128, 128), "pool",
    ("block3_conv1", 128, 256), ("block3_conv2", 256, 256),
    ("block3_conv3", 256, 256), ("block3_conv4", 256, 256),
]
RELU_NAMES = {  # Keras layer name -> the usual relu name
    "block1_conv1": "relu1_1", "block1_conv2": "relu1_2",
    "block2_conv1": "relu2_1", "block2_conv2": "relu2_2",
    "block3_conv1": "relu3_1", "block3_conv2": "relu3_2",
    "block3_conv3": "relu3_3", "block3_conv4": "relu3_4",
}
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
DEFAULT_WEIGHTS = os.path.join("..", "shared", "data", "weights", "vgg19-tfjs")


class WeightsMissing(Exception):
    pass


class VGG19Features(nn.Module):
    """Returns a dict relu name -> activation for the requested layers."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleDict()
        for layer in LAYERS:
            if layer != "pool":
                name, cin, cout = layer
                self.convs[name] = nn.Conv2d(cin, cout, 3, padding=1)
        self.register_buffer("mean", torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.random_weights = False

    def preprocess(self, rgb01):
        return rgb01.flip(1) * 255.0 - self.mean

    def forward(self, rgb01, wanted):
        x = self.preprocess(rgb01)
        out, last = {}, max(list(RELU_NAMES.values()).index(w) for w in wanted)
        done = 0
        for layer in LAYERS:
            if layer == "pool":
                x = nn.functional.max_pool2d(x, 2)
                continue
            name = layer[0]
            x = torch.relu(self.convs[name](x))
            relu = RELU_NAMES[name]
            if relu in wanted:
                out[relu] = x
            if done == last:
                break
            done += 1
        return out


def load_tfjs(weights_dir):
    manifest_path = os.path.join(weights_dir, "model.json")
    if not os.path.isfile(manifest_path):
        raise WeightsMissing(
            f"VGG19 weights not found: {manifest_path} is missing "
            "(pass --vgg DIR pointing at shared/data/weights/vgg19-tfjs)")
    with open(manifest_path) as f:
        manifest = json.load(f)["weightsManifest"]
    net = VGG19Features()
    wanted = {layer[0] for layer in LAYERS if layer != "pool"}
    for group in manifest:
        names = [w["name"] for w in group["weights"]]
        layer = names[0].split("/")[0]
        if layer not in wanted:
            continue
        blob = b"".join(open(os.path.join(weights_dir, p), "rb").read() for p in group["paths"])
        data = np.frombuffer(blob, dtype="<f4")
        offset = 0
        for w in group["weights"]:
            n = int(np.prod(w["shape"]))
            arr = data[offset:offset + n].reshape(w["shape"])
            offset += n
            conv = net.convs[layer]
            if w["name"].endswith("kernel"):  # HWIO -> OIHW
                conv.weight.data.copy_(torch.from_numpy(arr.transpose(3, 2, 0, 1).copy()))
            else:
                conv.bias.data.copy_(torch.from_numpy(arr.copy()))
        wanted.discard(layer)
    if wanted:
        raise WeightsMissing(f"VGG19 weights in {weights_dir} lack layers: {sorted(wanted)}")
    return net


def random_vgg(seed=0):
    """A VGG of the right shape with random weights: for tests only, where the
    real weights are absent. Its losses mean nothing perceptually."""
    torch.manual_seed(seed)
    net = VGG19Features()
    for conv in net.convs.values():
        nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
        conv.weight.data *= 0.02
        nn.init.zeros_(conv.bias)
    net.random_weights = True
    return net
