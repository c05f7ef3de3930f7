"""Artifact measures on a stylized frame against its input (docs/metrics.md,
"Artifacts"): a 2-px checkerboard where the input is flat, and how much of the
input's own colour survives. Pure functions on (1, 3, H, W) tensors in [0, 1]."""
import math

import torch
import torch.nn.functional as F

from .flow import luminance

CHECKER_WINDOW = 8      # px: a checkerboard is coherent over a window, noise averages out
FLAT_STD = 0.01         # the input's local luminance std below which a window counts as flat
COLOURFUL_SHARE = 0.1   # the input's most colourful pixels (this share) define "its colour"


def checkerboard_levels(frame, out, window=CHECKER_WINDOW, flat_std=FLAT_STD):
    """Mean amplitude, in 8-bit levels, of the (-1)^(x+y) pattern in the output's
    luminance over `window`-px blocks where the input is flat (None if no block is).
    Any smooth shading cancels out over an even block; a sub-pixel head's
    checkerboard does not."""
    h, w = (out.shape[-2] // window) * window, (out.shape[-1] // window) * window
    y_out = luminance(out[..., :h, :w]) * 255
    ys = torch.arange(h).view(-1, 1)
    xs = torch.arange(w).view(1, -1)
    sign = (1 - 2 * ((ys + xs) % 2)).to(y_out.dtype)
    amplitude = F.avg_pool2d(y_out * sign, window).abs()
    y_in = luminance(frame[..., :h, :w])
    std = (F.avg_pool2d(y_in * y_in, window) - F.avg_pool2d(y_in, window) ** 2).clamp(min=0).sqrt()
    flat = std < flat_std
    return float(amplitude[flat].mean()) if bool(flat.any()) else None


def _lab_ab(rgb):
    """CIE a*, b* (D65) of sRGB in [0, 1]: (2, N)."""
    c = rgb.reshape(3, -1)
    linear = torch.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = torch.tensor([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]], dtype=c.dtype)
    xyz = (m @ linear) / torch.tensor([[0.95047], [1.0], [1.08883]], dtype=c.dtype)
    f = torch.where(xyz > 0.008856, xyz.clamp(min=1e-12) ** (1 / 3), 7.787 * xyz + 16 / 116)
    return torch.stack([500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def colour_kept(frame, out, share=COLOURFUL_SHARE):
    """The input's own colour through the stylization: over the input's most colourful
    pixels (top `share` by chroma), the mean a*b* vector before and after. Returns
    (chroma kept = |after| / |before|, hue shift in degrees), or (None, None) for a grey input."""
    ab_in, ab_out = _lab_ab(frame[0]), _lab_ab(out[0])
    chroma = ab_in.norm(dim=0)
    mask = chroma >= torch.quantile(chroma, 1 - share)
    before, after = ab_in[:, mask].mean(dim=1), ab_out[:, mask].mean(dim=1)
    if float(before.norm()) < 5:  # a grey picture has no colour to keep
        return None, None
    shift = math.degrees(math.atan2(float(after[1]), float(after[0])) - math.atan2(float(before[1]), float(before[0])))
    shift = (shift + 180) % 360 - 180
    return float(after.norm() / before.norm()), abs(shift)
