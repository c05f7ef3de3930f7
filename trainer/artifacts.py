"""Artifact measures on a stylized frame against its input (docs/metrics.md,
"Artifacts"): a 2-px checkerboard where the input is flat, how much of the
input's own colour survives, and rims (halos) around dark shapes on flat
backgrounds. Pure functions on (1, 3, H, W) tensors in [0, 1]."""
import math

import torch
import torch.nn.functional as F

from .flow import luminance

CHECKER_WINDOW = 8      # px: a checkerboard is coherent over a window, noise averages out
FLAT_STD = 0.01         # the input's local luminance std below which a window counts as flat
COLOURFUL_SHARE = 0.1   # the input's most colourful pixels (this share) define "its colour"
HALO_REACH_720P = 24    # px from a dark shape's edge sampled for a rim, at 720p (scaled with the frame)
HALO_LEVELS = 4.0       # a rim is where the mean excess departs from the far background by more (8-bit levels)
HALO_MIN_EDGES = 50     # edge pixels a frame needs for a profile


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


def _sample(image, points):
    """Bilinear samples of a (1, C, H, W) image at pixel positions (..., 2) as (x, y): (C, ...)."""
    h, w = image.shape[-2:]
    grid = torch.stack([(points[..., 0] + 0.5) / w * 2 - 1, (points[..., 1] + 0.5) / h * 2 - 1], dim=-1)
    flat = grid.reshape(1, 1, -1, 2)
    values = F.grid_sample(image, flat, mode="bilinear", padding_mode="border", align_corners=False)
    return values.reshape(image.shape[1], *points.shape[:-1])


def halo_samples(frame, reach, min_edges=HALO_MIN_EDGES):
    """Where halo_profile looks: the edge pixels of a dark shape on a flat background in a
    (1, 3, H, W) frame and `reach` positions along each one's normal into the background
    ((E, reach, 2) as (x, y)), with the input's luminance there ((E, reach)). (None, None,
    count) when fewer than `min_edges` qualify. See halo_profile for which edges count."""
    h, w = frame.shape[-2:]
    y_in = luminance(frame)
    sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=frame.dtype, device=frame.device) / 8
    padded = F.pad(y_in, (1, 1, 1, 1), mode="replicate")
    gx = F.conv2d(padded, sobel.view(1, 1, 3, 3))[0, 0]
    gy = F.conv2d(padded, sobel.t().reshape(1, 1, 3, 3))[0, 0]
    magnitude = (gx * gx + gy * gy).sqrt()
    margin = reach + 4
    candidates = magnitude > 0.02
    candidates[:margin] = False
    candidates[-margin:] = False
    candidates[:, :margin] = False
    candidates[:, -margin:] = False
    ys, xs = torch.nonzero(candidates, as_tuple=True)
    if len(ys) < min_edges:
        return None, None, 0
    normal = torch.stack([gx[ys, xs], gy[ys, xs]], dim=-1) / magnitude[ys, xs].unsqueeze(-1)
    at = torch.stack([xs, ys], dim=-1).to(frame.dtype)
    # Thin to the steepest pixel across the edge, then the step and its dark side.
    across = magnitude.view(1, 1, h, w)
    steepest = (magnitude[ys, xs] >= _sample(across, at + normal)[0]) & (magnitude[ys, xs] >= _sample(across, at - normal)[0])
    dark_side = _sample(y_in, at - 3 * normal)[0]
    step = _sample(y_in, at + 3 * normal)[0] - dark_side
    keep = steepest & (step > 0.25) & (dark_side < 0.4)
    at, normal = at[keep], normal[keep]
    distances = torch.arange(1, reach + 1, dtype=frame.dtype, device=frame.device)
    along = at.unsqueeze(1) + distances.view(1, -1, 1) * normal.unsqueeze(1)
    inside = _sample(y_in, along)[0]
    background = inside[:, 3:]
    far_in = inside[:, -6:].mean(dim=1, keepdim=True)
    flat = (background.std(dim=1) < 0.02) & ((background - far_in).abs().amax(dim=1) < 0.06)
    if int(flat.sum()) < min_edges:
        return None, None, int(flat.sum())
    return along[flat], inside[flat], int(flat.sum())


def halo_excess(out, along, inside):
    """Per edge and px along its normal: the output's departure from its own far background
    (the last 6 px) minus the input's departure from its own ((E, reach), in [0, 1] units).
    Differentiable in `out` (1, 3, H, W)."""
    outside = _sample(luminance(out), along)[0]
    return (outside - outside[:, -6:].mean(dim=1, keepdim=True)) - (inside - inside[:, -6:].mean(dim=1, keepdim=True))


def halo_profile(frame, out, reach=None):
    """The mean rim around dark shapes on flat backgrounds, in 8-bit levels, at 1..reach px
    from the shape's edge (a list), and the number of edge pixels it averages (None when
    the frame has fewer than HALO_MIN_EDGES).

    Edge pixels: a step in the input's luminance (bright side minus dark side, 3 px each
    way along the gradient, above 0.25) whose dark side is dark (below 0.4), thinned to the
    steepest pixel across the edge, and whose bright side is flat out to `reach` (so what
    the output does there is the model's, not the photo's). Along the normal into the
    background, halo_excess: a glow or a dark rim the model adds. Signed and averaged over
    edges: a rim around most dark shapes adds up, brush texture averages out."""
    h, w = frame.shape[-2:]
    reach = reach or max(8, round(HALO_REACH_720P * min(h, w) / 720))
    along, inside, edges = halo_samples(frame, reach)
    if along is None:
        return None, edges
    return [float(v) * 255 for v in halo_excess(out, along, inside).mean(dim=0)], edges


def halo_width_px(profile, levels=HALO_LEVELS):
    """How far from the edge the rim reaches: the farthest px whose mean departure is beyond
    `levels` (0: no rim). A 1-2 px band is the edge itself, a little softer or sharper than
    in the input."""
    if profile is None:
        return None
    beyond = [d for d, value in enumerate(profile, start=1) if abs(value) > levels]
    return beyond[-1] if beyond else 0


def pooled_profile(profiles):
    """One profile from several frames' (profile, edges): weighted by their edge pixels."""
    counted = [(p, n) for p, n in profiles if p is not None]
    if not counted:
        return None
    total = sum(n for _, n in counted)
    return [sum(p[i] * n for p, n in counted) / total for i in range(len(counted[0][0]))]
