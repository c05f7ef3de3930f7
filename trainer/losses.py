"""The coherent-video loss of ReCoNet: content + style + TV + output-level
temporal (with the luminance term) + feature-map temporal, occlusion-masked.
Feature magnitudes are in the Caffe 0-255 scale of the VGG input."""
import torch
import torch.nn.functional as F

from .artifacts import dark_side_depth, halo_excess, halo_samples
from .flow import downscale_flow, downscale_mask, luminance, warp

# The blob detector's settings (docs/metrics.md; `trainer blobs` reads them from here): the
# blob penalty below is the detector made differentiable, so both share one definition.
WINDOW_RADIUS = 32          # guided filter window (px at 720p): larger than the blobs it should find
EPSILON = 1e-3              # guided filter regulariser (input variance units)
TEXTURE_SIGMA = 3.0         # smoothing of the residual: brush texture finer than this does not count
FLAT_RADIUS = 15            # input flatness window (31x31 px)
FLAT_STD = 0.05             # a blob lies where the input is flat: mean local std of input luminance below this

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu3_4")
CONTENT_LAYER = "relu2_2"


def gram(features):
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w)
    return f.bmm(f.transpose(1, 2)) / (c * h * w)


def pyramid(images, levels):
    out = [images]
    for _ in range(levels - 1):
        out.append(F.avg_pool2d(out[-1], 2))
    return out


def style_targets(vgg, style_image, scale_weights):
    """Gram matrices of the style image at each pyramid level."""
    targets = []
    with torch.no_grad():
        for level in pyramid(style_image, len(scale_weights)):
            feats = vgg(level, STYLE_LAYERS)
            targets.append({k: gram(v) for k, v in feats.items()})
    return targets


def gram_term(g, target, norm):
    """One layer's Gram loss. "sum": plain MSE (relu3_4's term is ~1e4 times
    relu1_1's in the Caffe scale, so colour and fine texture barely count);
    "balanced": squared distance relative to the target's own squared norm, so
    every layer weighs the same."""
    target = target.expand_as(g)
    if norm == "balanced":
        return ((g - target).pow(2).sum((1, 2)) / target.pow(2).sum((1, 2)).clamp(min=1e-12)).mean()
    return F.mse_loss(g, target)


def style_loss(vgg, output, targets, scale_weights, full_scale_features=None, norm="sum"):
    """Pyramid Gram loss. `full_scale_features` lets the caller reuse the VGG
    pass it already made on the full-size output."""
    total = output.new_zeros(())
    for i, (level, target, weight) in enumerate(zip(pyramid(output, len(scale_weights)), targets, scale_weights)):
        if weight == 0:
            continue
        feats = full_scale_features if (i == 0 and full_scale_features) else vgg(level, STYLE_LAYERS)
        for name in STYLE_LAYERS:
            total = total + weight * gram_term(gram(feats[name]), target[name], norm)
    return total


def balanced_style_distance(features, target_grams):
    """d(o, s) of docs/metrics.md, per image: the mean over STYLE_LAYERS of
    ||G(o) - G(s)||_F / ||G(s)||_F. Returns a (N,) tensor and the per-layer
    (N, layers) distances."""
    per_layer = []
    for name in STYLE_LAYERS:
        g = gram(features[name])
        t = target_grams[name].expand_as(g)
        per_layer.append((g - t).flatten(1).norm(dim=1) / t.flatten(1).norm(dim=1).clamp(min=1e-12))
    per_layer = torch.stack(per_layer, 1)
    return per_layer.mean(1), per_layer


def content_loss(output_features, input_features):
    return F.mse_loss(output_features[CONTENT_LAYER], input_features[CONTENT_LAYER])


def distillation_loss(output, output_features, teacher_output, teacher_features, keep=None):
    """Student against teacher: relu2_2 feature MSE + pixel MSE in the 0-255 scale.
    `keep` (N, 1, H, W) in [0, 1], if given, weights each pixel (0: free to differ);
    the feature term sees it averaged down to the feature map's size."""
    features, teacher = output_features[CONTENT_LAYER], teacher_features[CONTENT_LAYER]
    keep_features = None if keep is None else F.adaptive_avg_pool2d(keep, features.shape[-2:])
    return (_weighted_mse(features, teacher, keep_features)
            + 255.0 ** 2 * _weighted_mse(output, teacher_output, keep))


def _weighted_mse(a, b, weight=None):
    squared = (a - b).pow(2)
    return squared.mean() if weight is None else (weight * squared).mean()


# How many input pixels one position of each style layer spans (VGG19's poolings before it).
STYLE_LAYER_STRIDE = {"relu1_1": 1, "relu2_1": 2, "relu3_1": 4, "relu3_4": 4}


def windowed_gram(features, window):
    """Gram matrices of `features` (N, C, H, W) over non-overlapping window x window
    tiles (the remainder at the right and bottom left out): (N, tiles, C, C), each
    normalised like `gram`."""
    n, c, h, w = features.shape
    rows, cols = h // window, w // window
    if rows == 0 or cols == 0:
        raise ValueError(f"a {window} px window does not fit a {h}x{w} feature map")
    tiles = (features[..., :rows * window, :cols * window]
             .reshape(n, c, rows, window, cols, window)
             .permute(0, 2, 4, 1, 3, 5)
             .reshape(n * rows * cols, c, window * window))
    return (tiles.bmm(tiles.transpose(1, 2)) / (c * window * window)).reshape(n, rows * cols, c, c)


def teacher_style_loss(output_features, teacher_features, window_px=0):
    """Balanced Gram loss of each output against its teacher's output for the same frame:
    keeps what the teacher's painting looks like (its style statistics) without
    pinning where each stroke sits, which the temporal terms need to move.

    `window_px` > 0 takes the statistics tile by tile (tiles of that many input px at
    every layer), so they must also match where they are: a student may move a stroke
    within a tile but cannot pay for the light grout between the teacher's tiles with a
    pale band beside every dark shape, which a Gram over the whole crop cannot tell
    apart. Each layer's term is the tiles' summed squared distance over the teacher
    tiles' summed squared norm, so flat tiles (small Grams) do not dominate."""
    if not window_px:
        return sum(gram_term(gram(output_features[name]), gram(teacher_features[name]), "balanced")
                   for name in STYLE_LAYERS)
    total = 0.0
    for name in STYLE_LAYERS:
        window = max(1, window_px // STYLE_LAYER_STRIDE[name])
        # The tiles stacked as one (N, tiles * C, C) matrix per image: gram_term's balanced norm then
        # sums over every tile, relative to the teacher tiles' summed norm.
        g, t = windowed_gram(output_features[name], window), windowed_gram(teacher_features[name], window)
        total = total + gram_term(g.flatten(1, 2), t.flatten(1, 2), "balanced")
    return total


TEACHER_COLOUR_SIGMA = 4.0  # px at the training crop's size: a few strokes or tiles wide


def teacher_colour_loss(output, teacher_output, sigma=TEACHER_COLOUR_SIGMA):
    """Squared difference, 0-255 scale, of the local mean colour (luminance taken out,
    Gaussian blur of `sigma` px) of each output and its teacher's output. A student
    that cannot put the teacher's strokes or tiles where the teacher puts them is pulled
    by pixel distillation towards their average, a pale flat wash; this term asks only
    for the colour a few strokes average to, which it can match, and leaves the texture
    and the lightness to the other terms."""
    return _local_mean_distance(output - luminance(output), teacher_output - luminance(teacher_output), sigma)


def teacher_tone_loss(output, teacher_output, sigma=TEACHER_COLOUR_SIGMA):
    """Squared difference, 0-255 scale, of the local mean lightness (luminance, Gaussian
    blur of `sigma` px) of each output and its teacher's output: where the picture is
    light and where dark, a few strokes wide, not which stroke goes where. The Gram terms
    leave that free, and a student that cannot draw the teacher's texture where the
    teacher does can pay for the light-beside-dark it asks by a pale band beside every
    dark shape; this term sees the band (many px wide) and averages the strokes away."""
    return _local_mean_distance(luminance(output), luminance(teacher_output), sigma)


def _local_mean_distance(a, b, sigma):
    """Mean squared difference, 0-255 scale, of a's and b's Gaussian local means (the
    blur is linear: one blur of the difference)."""
    return 255.0 ** 2 * gaussian_blur(a - b, sigma).pow(2).mean()


def tv_loss(images):
    return ((images[:, :, 1:, :] - images[:, :, :-1, :]).abs().mean()
            + (images[:, :, :, 1:] - images[:, :, :, :-1]).abs().mean())


def masked_mean(values, mask):
    mask = mask.expand_as(values)
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


def output_temporal_loss(out_t, out_t1, in_t, in_t1, flow_bw, mask):
    """||(O_t1 - W(O_t)) - (Y(I_t1) - Y(W(I_t)))||^2 on non-occluded pixels."""
    out_change = out_t1 - warp(out_t, flow_bw)
    lum_change = luminance(in_t1) - luminance(warp(in_t, flow_bw))
    return masked_mean((out_change - lum_change).pow(2), mask)


def feature_temporal_loss(feat_t, feat_t1, flow_bw, mask):
    factor = flow_bw.shape[-1] // feat_t.shape[-1]
    small_flow = downscale_flow(flow_bw, factor)
    small_mask = downscale_mask(mask, factor)
    return masked_mean((feat_t1 - warp(feat_t, small_flow)).pow(2), small_mask)


def box_mean(x, r):
    """Mean over (2r+1)^2 windows, edges reflected, in O(1) per pixel (running sums);
    r is capped to what the image's size can reflect."""
    r = max(0, min(r, x.shape[-1] - 2, x.shape[-2] - 2))
    x = F.pad(x, (r + 1, r, r + 1, r), mode="reflect")
    x = x.cumsum(-1)
    x = x[..., 2 * r + 1:] - x[..., :-2 * r - 1]
    x = x.cumsum(-2)
    x = x[..., 2 * r + 1:, :] - x[..., :-2 * r - 1, :]
    return x / (2 * r + 1) ** 2


def gaussian_blur(x, sigma):
    radius = int(3 * sigma + 0.5)
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-t * t / (2 * sigma * sigma))
    k = k / k.sum()
    c = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1).contiguous(), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1).contiguous(), groups=c)


def unexplained_colour(inputs, outputs, r, eps):
    """outputs - (colour guided filter of outputs, guide inputs): what no local
    3x3 colour mapping of the input explains (the blob detector's residual,
    trainer/blob_detector.py, differentiable). (N, 3, H, W) each."""
    n, _, h, w = inputs.shape
    mean_i, mean_o = box_mean(inputs, r), box_mean(outputs, r)
    ii = box_mean((inputs[:, :, None] * inputs[:, None]).flatten(1, 2), r).view(n, 3, 3, h, w)
    io = box_mean((inputs[:, :, None] * outputs[:, None]).flatten(1, 2), r).view(n, 3, 3, h, w)
    cov_ii = ii - mean_i[:, :, None] * mean_i[:, None] + eps * torch.eye(3, dtype=inputs.dtype,
                                                                          device=inputs.device)[None, :, :, None, None]
    cov_io = io - mean_i[:, :, None] * mean_o[:, None]
    a = torch.linalg.solve(cov_ii.permute(0, 3, 4, 1, 2), cov_io.permute(0, 3, 4, 1, 2))  # (n, h, w, 3 in, 3 out)
    b = mean_o - torch.einsum("nihw,nhwij->njhw", mean_i, a)
    a_mean = box_mean(a.permute(0, 3, 4, 1, 2).flatten(1, 2), r).view(n, 3, 3, h, w)
    return outputs - (torch.einsum("nihw,nijhw->njhw", inputs, a_mean) + box_mean(b, r))


def blob_residual(outputs, inputs, scale=1.0):
    """The detector's residual magnitude (trainer/blob_detector.py), differentiable:
    unexplained colour smoothed past brush texture, (N, 1, H, W). `scale` is the
    images' height over 720: the window and the smoothing are meant at 720p and
    grow with the frame, so a 1080p frame is judged as the same picture at 720p."""
    residual = gaussian_blur(unexplained_colour(inputs, outputs, round(WINDOW_RADIUS * scale), EPSILON),
                             TEXTURE_SIGMA * scale)
    return residual.pow(2).sum(1, keepdim=True).add(1e-12).sqrt()


def input_local_std(inputs, scale=1.0):
    """Local std of the input's luminance in the detector's flatness window (meant at
    720p; `scale` = the images' height over 720), (N, 1, H, W)."""
    radius = round(FLAT_RADIUS * scale)
    with torch.no_grad():
        luma = luminance(inputs)
        mean = box_mean(luma, radius)
        return (box_mean(luma * luma, radius) - mean * mean).clamp(min=0).sqrt()


def blob_loss(outputs, inputs, margin, region=None, magnitude=None, local_std=None, flat_limit=FLAT_STD):
    """Penalty on the droplet artifact as docs/metrics.md defines it: output
    colour that no local colour mapping of the input explains (smoothed past
    brush texture), where the input is flat, beyond `margin`. Squared excess,
    averaged over all pixels. `region` (N, 1, H, W), if given, limits it to
    those pixels (e.g. the detector's own blobs, `blobs.blob_masks`).
    `magnitude` and `local_std` (blob_residual, input_local_std of this pair),
    if given, are used instead of computing them again. The penalty is full on
    flat input and fades linearly to 0 where the input's local std reaches
    `flat_limit` (the detector's own limit by default)."""
    if magnitude is None:
        magnitude = blob_residual(outputs, inputs)
    if local_std is None:
        local_std = input_local_std(inputs)
    with torch.no_grad():
        flat = (1 - local_std / flat_limit).clamp(min=0)
        if region is not None:
            flat = flat * region
    return (flat * F.relu(magnitude - margin).pow(2)).mean()


HALO_REACH = 16        # px at the network's own size (train --halo-reach); its last 6 px are the far background
HALO_FREE_PX = 2       # the edge itself may be a little softer or sharper than the input's
HALO_DARK_SIDE_HELP = ("what the halo penalty asks inside each dark shape: free (nothing, so a glow can move "
                       "inwards and lighten the shape) or teacher (its edge and 7 px in as far below the far "
                       "background as the teacher painted them, in the penalty's own units; needs a teacher)")
HALO_BACKGROUND_HELP = ("what the halo penalty may move: free (the rim and the far background it is measured "
                        "from, so it can pale the whole sky to match a pale rim) or fixed (the rim only)")


def halo_loss(outputs, inputs, reach=HALO_REACH, min_edges=20, target=None, free_px=HALO_FREE_PX,
              fixed_background=False, dark_side=None):
    """The systematic rim the network paints around dark shapes on flat backgrounds
    (trainer/artifacts.py, the `eval` halo measure, made a penalty): per image, the
    excess profile along each edge's normal averaged over its edges, squared beyond the
    first `free_px` px, mean over px and images. Averaged over edges before squaring,
    so brush texture near edges (which averages out) is not pushed towards smoothness;
    only a glow or dark rim that most edges share is. Images with too few such edges add 0.

    With `target` (a teacher's outputs for the same inputs) the profile is held to the
    target's own mean profile on the same edges instead of to none: a teacher that draws
    a dark line on the edge, where its student paints a pale band, asks for the line.

    The profile is measured from the far background (the last 6 px of `reach`). Left free,
    half of the gradient moves that background towards the rim: a pale glow is then
    "removed" by paling the whole sky. `fixed_background` holds it where it is, so only
    the rim moves.

    Held only outside, a glow can also move inwards: the dark shape lightens from its
    edge and the rim outside is gone. `dark_side` (a teacher's outputs for the same
    inputs) adds, in the same units, the edge and DARK_SIDE_PX - 1 px into each shape
    held to how far below its far background the teacher painted them."""
    total = outputs.new_zeros(())
    for i in range(outputs.shape[0]):
        with torch.no_grad():
            along, inside, _ = halo_samples(inputs[i:i + 1].detach(), reach, min_edges)
        if along is None:
            continue
        wanted = 0.0 if target is None else halo_excess(target[i:i + 1].detach(), along, inside).mean(dim=0)[free_px:]
        profile = halo_excess(outputs[i:i + 1], along, inside, fixed_background).mean(dim=0)
        total = total + ((profile[free_px:] - wanted) ** 2).mean()
        if dark_side is not None:
            held = dark_side_depth(dark_side[i:i + 1].detach(), along).mean(dim=0)
            depth = dark_side_depth(outputs[i:i + 1], along, fixed_background=fixed_background).mean(dim=0)
            total = total + ((depth - held) ** 2).mean()
    return total / outputs.shape[0]


def halo_band(inputs, reach=HALO_REACH, grow=2):
    """Where halo_loss looks, as a mask (N, 1, H, W): the background side of every
    dark-shape edge on a flat background out to `reach` px along its normal, grown by
    `grow` px; 1 there, 0 elsewhere. A teacher's rim lies in it, so distillation that
    leaves it out does not ask the student to paint the rim again."""
    n, _, h, w = inputs.shape
    band = inputs.new_zeros(n, 1, h, w)
    with torch.no_grad():
        for i in range(n):
            along, _, _ = halo_samples(inputs[i:i + 1], reach, min_edges=1)
            if along is None:
                continue
            xy = along.reshape(-1, 2).round().long()
            band[i, 0, xy[:, 1].clamp(0, h - 1), xy[:, 0].clamp(0, w - 1)] = 1
        return F.max_pool2d(band, 2 * grow + 1, stride=1, padding=grow)
