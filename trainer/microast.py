"""MicroAST (Wang et al., AAAI 2023; MIT): an arbitrary-style network with no
VGG at run time, rebuilt here from the paper's description and its released
layer shapes so its published weights load (models/*_iter_160000.pth.tar of
the authors' repository), and wrapped in the model contract's second form.

Two small encoders of the same shape (content, style): a 9x9 conv to 16
channels, two depthwise-strided/pointwise stages to 64 channels at 1/4 size,
and a residual block, then one more residual block; each encoder returns
both levels. A modulator turns the style encoder's two levels into per-channel
filter weights and biases (a depthwise 3x3 conv, averaged over the picture).
The decoder applies, per level, AdaIN to the style's statistics and a
residual block whose two convolutions are modulated (w * conv(x) + b * x),
then climbs back to full size (bilinear x2, depthwise + pointwise, twice) and
paints RGB with a 9x9 conv.

In the contract's form the painting's whole effect is one vector of 512
numbers: the two levels' means and standard deviations (4 x 64) and the
modulator's weights and biases (4 x 64), so the style encoder runs once per
painting and the stylizer per frame.
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

WIDTHS = (16, 32, 64)
STYLE_LENGTH = 8 * 64
EPS = 1e-5


class Conv(nn.Module):
    """Reflection padding to keep the size (divided by the stride), then a conv."""

    def __init__(self, cin, cout, kernel, stride=1, groups=1):
        super().__init__()
        self.pad = nn.ReflectionPad2d(kernel // 2)
        self.conv_layer = nn.Conv2d(cin, cout, kernel, stride, groups=groups)

    def forward(self, x):
        return self.conv_layer(self.pad(x))


class Residual(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = Conv(channels, channels, 3)
        self.conv2 = Conv(channels, channels, 3)

    def forward(self, x, weight=None, bias=None):
        if weight is None:
            return x + self.conv2(torch.relu(self.conv1(x)))
        h = torch.relu(weight * self.conv1(x) + bias * x)
        return x + weight * self.conv2(h) + bias * h


def _stage(cin, cout):
    """Depthwise strided 3x3, pointwise 1x1 (each followed by ReLU)."""
    return [Conv(cin, cout, 3, 2, groups=cin), nn.ReLU(), Conv(cout, cout, 1), nn.ReLU()]


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        a, b, c = WIDTHS
        self.enc1 = nn.Sequential(Conv(3, a, 9), nn.ReLU(), *_stage(a, b), *_stage(b, c), Residual(c))
        self.enc2 = nn.Sequential(Residual(c))

    def forward(self, x):
        first = self.enc1(x)
        return first, self.enc2(first)


class Modulator(nn.Module):
    def __init__(self):
        super().__init__()
        c = WIDTHS[2]
        for name in ("weight1", "bias1", "weight2", "bias2"):
            setattr(self, name, nn.Sequential(Conv(c, c, 3, groups=c)))

    def forward(self, levels):
        pooled = lambda head, x: head(x).mean(dim=(2, 3))
        return (pooled(self.weight1, levels[0]), pooled(self.weight2, levels[1]),
                pooled(self.bias1, levels[0]), pooled(self.bias2, levels[1]))


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        a, b, c = WIDTHS
        self.dec1 = Residual(c)
        self.dec2 = Residual(c)
        up = lambda: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.dec3 = nn.Sequential(up(), Conv(c, b, 3, groups=b), nn.ReLU(), Conv(b, b, 1), nn.ReLU(),
                                  up(), Conv(b, a, 3, groups=a), nn.ReLU(), Conv(a, a, 1), nn.ReLU(), Conv(a, 3, 9))


def _stats(x):
    flat = x.flatten(2)
    return flat.mean(dim=2), (flat.var(dim=2) + EPS).sqrt()


def _adain(x, mean, std, strength):
    own_mean, own_std = _stats(x)
    normalized = (x - own_mean[..., None, None]) / own_std[..., None, None]
    painted = normalized * std[..., None, None] + mean[..., None, None]
    s = strength.view(-1, 1, 1, 1)
    return s * painted + (1 - s) * x


class StyleEncoder(nn.Module):
    """painting [1, 3, H, W] in [0, 1] -> style [1, 512]: mean and std of both levels, then the modulator's w1, w2, b1, b2."""

    def __init__(self, encoder, modulator):
        super().__init__()
        self.encoder, self.modulator = encoder, modulator

    def forward(self, painting):
        levels = self.encoder(painting)
        stats = [t for level in levels for t in _stats(level)]
        return torch.cat(stats + list(self.modulator(levels)), dim=1)


class Stylizer(nn.Module):
    """frame [1, 3, H, W] in [0, 1], style [1, 512], strength [1] -> frame. The frame is
    padded to a multiple of 4 (two stride-2 stages) by repeating its edges, and the output
    cropped back, inside the graph. Strength blends the AdaIN steps with the content
    features (as the authors' alpha); the filter modulation always applies."""

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, frame, style, strength):
        h, w = frame.shape[-2], frame.shape[-1]
        padded = F.pad(frame, [0, (4 - w % 4) % 4, 0, (4 - h % 4) % 4], mode="replicate")
        levels = self.encoder(padded)
        m0, s0, m1, s1, w1, w2, b1, b2 = [v[..., None, None] for v in style.split(64, dim=1)]
        d = self.decoder
        x = _adain(levels[1], m1[..., 0, 0], s1[..., 0, 0], strength)
        x = d.dec1(x, w2, b2)
        x = _adain(x, m0[..., 0, 0], s0[..., 0, 0], strength)
        x = d.dec2(x, w1, b1)
        return d.dec3(x).clamp(0, 1)[..., :h, :w]


def load_pair(weights_dir):
    """(Stylizer, StyleEncoder) with the released weights from `weights_dir`."""
    parts = {"content_encoder": Encoder(), "style_encoder": Encoder(), "modulator": Modulator(), "decoder": Decoder()}
    for name, module in parts.items():
        path = os.path.join(weights_dir, f"{name}_iter_160000.pth.tar")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"MicroAST weights not found: {path} (see docs/arbitrary-style.md, MicroAST)")
        module.load_state_dict(torch.load(path, map_location="cpu"))
        module.eval()
    return (Stylizer(parts["content_encoder"], parts["decoder"]).eval(),
            StyleEncoder(parts["style_encoder"], parts["modulator"]).eval())
