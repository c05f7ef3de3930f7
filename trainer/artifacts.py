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
PALETTE_STEP = 2.0      # distance units per cell of a painting's palette (a*, b*: 2 units; L*: 4)
PALETTE_L_WEIGHT = 0.5  # L* counts half in a palette distance: a lighter ochre is still the painting's ochre
PALETTE_RANGE = 128.0   # the palette spans a*, b* in [-RANGE, RANGE), L* in [0, 100]
PALETTE_RADIUS = 10.0   # distance units: a colour counts as the painting's if this close to enough of its pixels
PALETTE_FLOOR = 0.002   # ... enough: this share of the painting's pixels
PALETTE_SAMPLES = 4096  # held colours of the painting kept to find the nearest one
OFF_PALETTE_CHROMA = 15.0  # chroma below which a pixel is grey enough to belong to any palette
OWN_HUE_DEG = 45.0      # an output pixel within this hue of the input's own colour there keeps, not invents, it


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


_XYZ_OF_RGB = [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
_WHITE_D65 = [[0.95047], [1.0], [1.08883]]


def _lab(rgb):
    """CIE L*, a*, b* (D65) of sRGB in [0, 1]: (3, N)."""
    c = rgb.reshape(3, -1)
    linear = torch.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = torch.tensor(_XYZ_OF_RGB, dtype=c.dtype, device=c.device)
    xyz = (m @ linear) / torch.tensor(_WHITE_D65, dtype=c.dtype, device=c.device)
    f = torch.where(xyz > 0.008856, xyz.clamp(min=1e-12) ** (1 / 3), 7.787 * xyz + 16 / 116)
    return torch.stack([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _lab_ab(rgb):
    """CIE a*, b* (D65) of sRGB in [0, 1]: (2, N)."""
    return _lab(rgb)[1:]


def _rgb_of_lab(lab):
    """sRGB in [0, 1] (clipped to the gamut) of CIE L*a*b* (3, N): the inverse of _lab."""
    fy = (lab[0] + 16) / 116
    f = torch.stack([fy + lab[1] / 500, fy, fy - lab[2] / 200])
    xyz = torch.where(f > 0.206893, f ** 3, (f - 16 / 116) / 7.787)
    xyz = xyz * torch.tensor(_WHITE_D65, dtype=lab.dtype, device=lab.device)
    linear = torch.linalg.solve(torch.tensor(_XYZ_OF_RGB, dtype=lab.dtype, device=lab.device), xyz).clamp(0, 1)
    return torch.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear.clamp(min=1e-12) ** (1 / 2.4) - 0.055)


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


class Palette:
    """Which colours a painting holds. A colour's distance to another is
    sqrt((PALETTE_L_WEIGHT dL*)^2 + da*^2 + db*^2); `share` is, over a grid of cells
    PALETTE_STEP distance units wide, the share of the painting's pixels within
    PALETTE_RADIUS of each cell; `held` (K, 3) are L*a*b* colours of the painting in cells
    holding at least PALETTE_FLOOR, a sample of them, where an invented colour should go."""

    def __init__(self, share, held):
        self.share, self.held = share, held

    @staticmethod
    def _scaled(lab):
        return torch.stack([lab[0] * PALETTE_L_WEIGHT, lab[1], lab[2]])

    def share_at(self, lab):
        """The painting's share near each colour of `lab` (3, N): (N,)."""
        return self.share.to(lab.device)[_palette_cells(lab, self.share.shape)]

    def nearest(self, lab):
        """The a*b* of the painting's held colour nearest each colour of `lab` (3, N): (2, N)."""
        held = self._scaled(self.held.t()).t().to(lab.device)
        queries = self._scaled(lab).t()
        index = torch.cat([torch.cdist(chunk, held).argmin(dim=1) for chunk in queries.split(8192)])
        return self.held.to(lab.device)[index, 1:].t()


def _palette_cells(lab, sizes):
    """The (L*, a*, b*) cell indices of each colour of `lab` (3, N) in a palette grid of `sizes`."""
    scaled = Palette._scaled(lab)
    lightness = (scaled[0] / PALETTE_STEP).long().clamp(0, sizes[0] - 1)
    ab = ((scaled[1:] + PALETTE_RANGE) / PALETTE_STEP).long().clamp(0, sizes[1] - 1)
    return lightness, ab[0], ab[1]


def painting_palette(painting, seed=0):
    """The Palette of a painting (3, H, W) in [0, 1]."""
    lab = _lab(painting)
    if lab.shape[1] > 1_000_000:  # a large scan: a fixed sample of its pixels says the same
        lab = lab[:, torch.randperm(lab.shape[1], generator=torch.Generator().manual_seed(seed))[:1_000_000]]
    sizes = (int(100 * PALETTE_L_WEIGHT / PALETTE_STEP) + 1, int(2 * PALETTE_RANGE / PALETTE_STEP),
             int(2 * PALETTE_RANGE / PALETTE_STEP))
    cells = _palette_cells(lab, sizes)
    flat = (cells[0] * sizes[1] + cells[1]) * sizes[2] + cells[2]
    counts = torch.zeros(sizes[0] * sizes[1] * sizes[2]).index_add_(0, flat, torch.ones(lab.shape[1]))
    r = int(PALETTE_RADIUS / PALETTE_STEP)
    offsets = torch.arange(-r, r + 1, dtype=torch.float32)
    ball = ((offsets.view(-1, 1, 1) ** 2 + offsets.view(1, -1, 1) ** 2 + offsets.view(1, 1, -1) ** 2) <= r * r).float()
    near = F.conv3d(counts.view(1, 1, *sizes), ball.view(1, 1, *ball.shape), padding=r)[0, 0] / lab.shape[1]
    on_palette = lab[:, near[cells] >= PALETTE_FLOOR]
    if on_palette.shape[1] == 0:
        raise ValueError("the painting holds no colour above the palette's floor")
    pick = torch.randperm(on_palette.shape[1], generator=torch.Generator().manual_seed(seed))[:PALETTE_SAMPLES]
    return Palette(near, on_palette[:, pick].t().contiguous())


def off_palette_weight(frame, out, palette, floor=PALETTE_FLOOR):
    """Per pixel (H*W), how far out of the painting's palette the output's colour is: 1 where
    the painting holds (almost) none of it, falling to 0 as the painting's share near it
    reaches `floor`; 0 where the output is nearly grey (chroma under OFF_PALETTE_CHROMA) and
    where it keeps the input's own colour (its hue within OWN_HUE_DEG of a colourful input's):
    the model may keep a photo's colours, it should not invent colours the painting lacks.
    Not differentiable (a mask); frame, out: (3, H, W)."""
    with torch.no_grad():
        return _off_palette_weight_of(_lab(out), _lab_ab(frame), palette, floor).to(out.dtype)


def _off_palette_weight_of(lab_out, ab_in, palette, floor=PALETTE_FLOOR):
    """off_palette_weight from the output's L*a*b* and the input's a*b* (3, N) and (2, N)."""
    with torch.no_grad():
        share = palette.share_at(lab_out)
        ab_out = lab_out[1:]
        hue_gap = torch.remainder(torch.atan2(ab_out[1], ab_out[0]) - torch.atan2(ab_in[1], ab_in[0]) + math.pi,
                                  2 * math.pi) - math.pi
        own = (ab_in.norm(dim=0) >= OFF_PALETTE_CHROMA) & (hue_gap.abs() < math.radians(OWN_HUE_DEG))
        colourful = ab_out.norm(dim=0) >= OFF_PALETTE_CHROMA
        return (1 - share / floor).clamp(0, 1) * (colourful & ~own).to(share.dtype)


def recoloured(frame, out, palette):
    """`out` with the colours the painting lacks moved into its palette: each pixel's a*b*
    moved towards that of the painting's nearest held colour (Palette.nearest) by its
    off_palette_weight, its lightness kept. What a teacher that paints such colours should
    have painted. frame, out: (3, H, W) in [0, 1]."""
    with torch.no_grad():
        lab = _lab(out.clamp(0, 1))  # once: both the weight and the move read it
        weight = _off_palette_weight_of(lab, _lab_ab(frame), palette)
        moved = weight > 0
        if bool(moved.any()):
            lab[1:, moved] += weight[moved] * (palette.nearest(lab[:, moved]) - lab[1:, moved])
        return _rgb_of_lab(lab).reshape(out.shape)


def off_palette_share(frame, out, palette):
    """The share of the output's pixels painted in a colour the painting does not hold and
    the input did not have there (off_palette_weight >= 0.5): green on a painting of ochres,
    say. frame, out: (1, 3, H, W)."""
    return float((off_palette_weight(frame[0], out[0], palette) >= 0.5).float().mean())


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


def halo_excess(out, along, inside, fixed_background=False):
    """Per edge and px along its normal: the output's departure from its own far background
    (the last 6 px) minus the input's departure from its own ((E, reach), in [0, 1] units).
    Differentiable in `out` (1, 3, H, W); with `fixed_background` not through the far
    background, so a penalty on it can only move the rim, not the background beyond it."""
    outside = _sample(luminance(out), along)[0]
    far = outside[:, -6:].mean(dim=1, keepdim=True)
    if fixed_background:
        far = far.detach()
    return (outside - far) - (inside - inside[:, -6:].mean(dim=1, keepdim=True))


DARK_SIDE_PX = 8  # the edge pixel and 7 px into the dark shape: as far as a glow moved inward reaches


def dark_side_points(along, px=DARK_SIDE_PX):
    """On each halo_samples normal, the edge pixel and `px - 1` px into the dark shape: (E, px, 2)."""
    step = along[:, 1] - along[:, 0]
    edge = along[:, 0] - step
    depth = torch.arange(px, dtype=along.dtype, device=along.device)
    return edge.unsqueeze(1) - depth.view(1, -1, 1) * step.unsqueeze(1)


def dark_side_depth(image, along, px=DARK_SIDE_PX, fixed_background=False):
    """Per edge, how far below its own far background (the last 6 px of `along`) an image is
    at the edge and 1..px-1 px into the dark shape ((E, px), in [0, 1] units, negative where
    the shape is darker). With `fixed_background` not differentiable through the background."""
    y = luminance(image)
    far = _sample(y, along[:, -6:])[0].mean(dim=1, keepdim=True)
    if fixed_background:
        far = far.detach()
    return _sample(y, dark_side_points(along, px))[0] - far


def frame_edges(frame, reach=None):
    """halo_samples of a whole frame, looking `reach` px out (default: HALO_REACH_720P scaled
    with the frame's short side): what halo_profile and edge_contrast_kept measure along,
    found once per frame when both are taken."""
    h, w = frame.shape[-2:]
    return halo_samples(frame, reach or max(8, round(HALO_REACH_720P * min(h, w) / 720)))


def edge_contrast_kept(frame, out, reach=None, edges=None):
    """How much of the input's step from a dark shape down from its flat background the output
    keeps, 3..DARK_SIDE_PX-1 px inside the shape (1: as deep, 0: the shape as light as the
    sky), on the edges halo_profile measures (`edges`: frame_edges already taken); and their
    number ((None, count) when too few). A rim can be narrowed by moving the glow into the
    shape, lightening it: the halo width falls, and this falls with it."""
    along, _, edges = edges or frame_edges(frame, reach)
    if along is None:
        return None, edges
    wanted = dark_side_depth(frame, along)[:, 3:].mean()
    return float(dark_side_depth(out, along)[:, 3:].mean() / wanted), edges


def halo_profile(frame, out, reach=None, edges=None):
    """The mean rim around dark shapes on flat backgrounds, in 8-bit levels, at 1..reach px
    from the shape's edge (a list), and the number of edge pixels it averages (None when
    the frame has fewer than HALO_MIN_EDGES).

    Edge pixels: a step in the input's luminance (bright side minus dark side, 3 px each
    way along the gradient, above 0.25) whose dark side is dark (below 0.4), thinned to the
    steepest pixel across the edge, and whose bright side is flat out to `reach` (so what
    the output does there is the model's, not the photo's). Along the normal into the
    background, halo_excess: a glow or a dark rim the model adds. Signed and averaged over
    edges: a rim around most dark shapes adds up, brush texture averages out. `edges`:
    frame_edges already taken."""
    along, inside, edges = edges or frame_edges(frame, reach)
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


def pooled_ratio(ratios):
    """One figure from several frames' (ratio, edges), as edge_contrast_kept gives: weighted
    by their edge pixels (None when no frame had enough)."""
    counted = [(r, n) for r, n in ratios if r is not None]
    if not counted:
        return None
    return sum(r * n for r, n in counted) / sum(n for _, n in counted)
