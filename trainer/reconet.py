"""ReCoNet (Gao et al., ACCV 2018): the feed-forward style network, and nothing else.

Input and output follow the model contract in docs/model-contract.md:
RGB float32 NCHW in [0, 1], height and width multiples of 4.
"""
import torch
from torch import nn


class ConvLayer(nn.Module):
    """Reflection-padded conv, optionally followed by instance norm + ReLU."""

    def __init__(self, in_ch, out_ch, kernel, stride=1, norm_relu=True):
        super().__init__()
        self.pad = nn.ReflectionPad2d(kernel // 2)
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride)
        self.norm = nn.InstanceNorm2d(out_ch, affine=True) if norm_relu else None
        self.relu = nn.ReLU() if norm_relu else None

    def forward(self, x):
        x = self.conv(self.pad(x))
        if self.norm is not None:
            x = self.relu(self.norm(x))
        return x


class ResidualBlock(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv1 = ConvLayer(ch, ch, 3)
        self.pad = nn.ReflectionPad2d(1)
        self.conv2 = nn.Conv2d(ch, ch, 3)
        self.norm2 = nn.InstanceNorm2d(ch, affine=True)

    def forward(self, x):
        return x + self.norm2(self.conv2(self.pad(self.conv1(x))))


class UpsampleConv(nn.Module):
    """Nearest x2 upsample then conv; the conv sits between Upsample and
    InstanceNorm, which also avoids torch 1.13's export bug for that pair."""

    def __init__(self, in_ch, out_ch):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv = ConvLayer(in_ch, out_ch, 3)

    def forward(self, x):
        return self.conv(self.up(x))


class ReCoNet(nn.Module):
    def __init__(self, width=48, blocks=4):
        super().__init__()
        self.width, self.blocks = width, blocks
        c1, c2, c3 = width, width * 2, width * 4
        self.encoder = nn.Sequential(
            ConvLayer(3, c1, 9),
            ConvLayer(c1, c2, 3, stride=2),
            ConvLayer(c2, c3, 3, stride=2),
            *[ResidualBlock(c3) for _ in range(blocks)],
        )
        self.decoder = nn.Sequential(
            UpsampleConv(c3, c2),
            UpsampleConv(c2, c1),
            ConvLayer(c1, 3, 9, norm_relu=False),
        )

    def forward_with_features(self, x):
        features = self.encoder(x)
        out = (torch.tanh(self.decoder(features)) + 1) / 2
        return out, features

    def forward(self, x):
        return self.forward_with_features(x)[0]

    def config(self):
        return {"arch": "reconet", "width": self.width, "blocks": self.blocks}


def build(config):
    if config.get("arch", "reconet") != "reconet":
        raise ValueError(f"unknown architecture {config.get('arch')!r}")
    return ReCoNet(width=int(config["width"]), blocks=int(config["blocks"]))
