"""Deeper style levels: relu4_1 and relu5_1 (receptive fields of about 100 and
200 px) from the compact VGG19 encoder of Wang et al. 2020 (collab-distill
`5SE.pth`, MIT; read from the shared weights, never committed).

The loss network's own VGG19 weights stop at block 3 (48 px receptive field),
so tiles, swirls and large shapes cannot be asked of a network through it. The
compact encoder was distilled from VGG19 with a 1x1 "linear embedding" head at
each relu x_1 level (`convN1_aux`) trained to map its 16x narrower features
back onto VGG19's; through those heads its levels 4 and 5 stand in for the
real ones. `fidelity` measures how well the heads reproduce the real VGG at
the levels both have (relu1_1-relu3_1): the check that the stand-in is fair.

The deep levels read the picture's luminance only (grey in all three
channels). Asked of colour, a network being trained found the stand-in's
blind spot: red rims on every dark edge, which raised the deep Gram match and
looked nothing like the painting (docs/lab/2026-12-04-deeper-style-levels.md).
Colour is the VGG levels' job; the deep levels ask for structure.
"""
import os

import torch
from torch import nn
import torch.nn.functional as F

from .flow import luminance
from .vgg import WeightsMissing

DEFAULT_WEIGHTS = os.path.join("..", "shared", "data", "weights", "collab-distill-vgg19-16x")
DEEP_LEVELS = ("relu4_1", "relu5_1")

# (name, in, out) or "pool", in the order of VGG19's convolutions.
_LAYERS = [("conv11", 3, 16), ("conv12", 16, 16), "pool",
           ("conv21", 16, 32), ("conv22", 32, 32), "pool",
           ("conv31", 32, 64), ("conv32", 64, 64), ("conv33", 64, 64), ("conv34", 64, 64), "pool",
           ("conv41", 64, 128), ("conv42", 128, 128), ("conv43", 128, 128), ("conv44", 128, 128), "pool",
           ("conv51", 128, 128)]
# The levels with an embedding head, and the VGG19 width each head maps to.
_HEADS = {"relu1_1": ("conv11", 16, 64), "relu2_1": ("conv21", 32, 128), "relu3_1": ("conv31", 64, 256),
          "relu4_1": ("conv41", 128, 512), "relu5_1": ("conv51", 128, 512)}


class CompactVGG(nn.Module):
    """RGB in [0, 1] -> {relu name: features in VGG19's width}, through the embedding heads,
    from the picture's luminance (`colour=True`: from its colours, for `fidelity`)."""

    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv2d(3, 3, 1)  # the Caffe colour conversion, folded in by the authors
        for layer in _LAYERS:
            if layer != "pool":
                name, cin, cout = layer
                setattr(self, name, nn.Conv2d(cin, cout, 3))
        for conv, cin, cout in _HEADS.values():
            setattr(self, conv + "_aux", nn.Conv2d(cin, cout, 1))
        self.requires_grad_(False)

    def forward(self, rgb01, wanted=DEEP_LEVELS, colour=False):
        if not colour:
            rgb01 = luminance(rgb01).expand(-1, 3, -1, -1)
        heads = {conv: relu for relu, (conv, _, _) in _HEADS.items() if relu in wanted}
        last = max(i for i, layer in enumerate(_LAYERS) if layer != "pool" and layer[0] in heads)
        out = {}
        y = self.conv0(rgb01)
        for layer in _LAYERS[:last + 1]:
            if layer == "pool":
                y = F.max_pool2d(y, 2)
                continue
            y = F.relu(getattr(self, layer[0])(F.pad(y, (1, 1, 1, 1), mode="reflect")))
            if layer[0] in heads:
                out[heads[layer[0]]] = F.relu(getattr(self, layer[0] + "_aux")(y))
        return out


def load_compact_vgg(weights_dir=DEFAULT_WEIGHTS):
    path = os.path.join(weights_dir, "5SE.pth")
    if not os.path.isfile(path):
        raise WeightsMissing(f"compact VGG19 encoder not found: {path} is missing "
                             "(pass --deep-encoder DIR pointing at shared/data/weights/collab-distill-vgg19-16x)")
    net = CompactVGG()
    net.load_state_dict(torch.load(path, map_location="cpu")["model"])
    return net.eval()


def random_compact_vgg():
    """TESTS ONLY: the same network with random weights."""
    return CompactVGG().eval()


def fidelity(compact, vgg, photos, levels=("relu1_1", "relu2_1", "relu3_1")):
    """How closely the embedding heads reproduce VGG19 where both exist: per
    level, the median over channels of the Pearson correlation between the
    head's channel and the real channel over every pixel of `photos` (a list of
    [1, 3, H, W] tensors; H and W multiples of 8). The heads were fitted to a
    VGG19 whose channels were rescaled (the "normalised" VGG of Gatys et al.),
    so a correlation, which ignores each channel's scale, is the fair test."""
    result = {}
    with torch.no_grad():
        for level in levels:
            ours, theirs = [], []
            for photo in photos:
                ours.append(compact(photo, (level,), colour=True)[level].flatten(2)[0])
                theirs.append(vgg(photo, (level,))[level].flatten(2)[0])
            a, b = torch.cat(ours, 1), torch.cat(theirs, 1)
            a = a - a.mean(1, keepdim=True)
            b = b - b.mean(1, keepdim=True)
            r = (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp(min=1e-12)
            alive = b.norm(dim=1) > 0  # channels VGG never fires on these photos say nothing
            result[level] = {"median_r": float(r[alive].median()), "channels": int(alive.sum())}
    return result
