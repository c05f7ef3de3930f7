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
    def __init__(self, ch, inner=None):
        super().__init__()
        inner = inner or ch
        self.conv1 = ConvLayer(ch, inner, 3)
        self.pad = nn.ReflectionPad2d(1)
        self.conv2 = nn.Conv2d(inner, ch, 3)
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
    """`channels` (optional) gives every layer's width explicitly, for pruned
    networks: {"encoder": [c1, c2, c3], "residual": [inner per block], "decoder": [d1, d2]}."""

    def __init__(self, width=48, blocks=4, channels=None):
        super().__init__()
        self.width, self.blocks = width, blocks
        if channels is None:
            channels = {"encoder": [width, width * 2, width * 4], "residual": [width * 4] * blocks,
                        "decoder": [width * 2, width]}
            self.explicit_channels = None
        else:
            self.explicit_channels = {k: [int(c) for c in v] for k, v in channels.items()}
            self.blocks = len(channels["residual"])
        c1, c2, c3 = channels["encoder"]
        d1, d2 = channels["decoder"]
        self.encoder = nn.Sequential(
            ConvLayer(3, c1, 9),
            ConvLayer(c1, c2, 3, stride=2),
            ConvLayer(c2, c3, 3, stride=2),
            *[ResidualBlock(c3, inner) for inner in channels["residual"]],
        )
        self.decoder = nn.Sequential(
            UpsampleConv(c3, d1),
            UpsampleConv(d1, d2),
            ConvLayer(d2, 3, 9, norm_relu=False),
        )

    def forward_with_features(self, x):
        features = self.encoder(x)
        out = (torch.tanh(self.decoder(features)) + 1) / 2
        return out, features

    def forward(self, x):
        return self.forward_with_features(x)[0]

    def config(self):
        config = {"arch": "reconet", "width": self.width, "blocks": self.blocks}
        if self.explicit_channels is not None:
            config["channels"] = self.explicit_channels
        return config


def build(config):
    if config.get("arch", "reconet") != "reconet":
        raise ValueError(f"unknown architecture {config.get('arch')!r}")
    return ReCoNet(width=int(config["width"]), blocks=int(config["blocks"]), channels=config.get("channels"))
