"""Optical-flow helpers: backward warping, occlusion masks, synthetic video pairs.

Flow convention: a backward flow `flow` (N, 2, H, W) in pixels for frame t+1
says that pixel p of frame t+1 came from p + flow(p) in frame t, so
W(frame_t)(p) = frame_t(p + flow(p)) lines frame t up with frame t+1.
"""
import math

import torch
import torch.nn.functional as F


def _base_grid(n, h, w, device):
    ys, xs = torch.meshgrid(torch.arange(h, device=device, dtype=torch.float32),
                            torch.arange(w, device=device, dtype=torch.float32), indexing="ij")
    return torch.stack((xs, ys)).unsqueeze(0).expand(n, 2, h, w)


def warp(image, flow):
    """Backward-warp `image` (N, C, H, W) with `flow` (N, 2, H, W) in pixels (bilinear)."""
    n, _, h, w = image.shape
    pos = _base_grid(n, h, w, image.device) + flow
    gx = 2.0 * pos[:, 0] / max(w - 1, 1) - 1.0
    gy = 2.0 * pos[:, 1] / max(h - 1, 1) - 1.0
    grid = torch.stack((gx, gy), dim=-1)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)


def inside_mask(flow):
    """1 where p + flow(p) lands inside the frame (N, 1, H, W)."""
    n, _, h, w = flow.shape
    pos = _base_grid(n, h, w, flow.device) + flow
    ok = (pos[:, 0] >= 0) & (pos[:, 0] <= w - 1) & (pos[:, 1] >= 0) & (pos[:, 1] <= h - 1)
    return ok.unsqueeze(1).float()


def occlusion_mask(flow_bw, flow_fw):
    """Forward-backward consistency (Sundaram et al. 2010, as in Ruder et al. 2016).

    flow_bw: frame t+1 -> t (backward, as above); flow_fw: frame t -> t+1.
    A pixel p of frame t+1 is kept when following flow_bw to frame t and then
    flow_fw back returns close to p, and p + flow_bw(p) is inside frame t.
    Returns (N, 1, H, W) with 1 = valid (not occluded).
    """
    fw_at = warp(flow_fw, flow_bw)
    round_trip = (flow_bw + fw_at).pow(2).sum(1, keepdim=True)
    magnitude = flow_bw.pow(2).sum(1, keepdim=True) + fw_at.pow(2).sum(1, keepdim=True)
    consistent = (round_trip <= 0.01 * magnitude + 0.5).float()
    return consistent * inside_mask(flow_bw)


def invert_flow(flow_bw, iterations=20):
    """Forward flow from a smooth backward flow by fixed-point iteration:
    fw(q) = -bw(q + fw(q)). Exact enough for smooth synthetic motion."""
    fw = -flow_bw.clone()
    for _ in range(iterations):
        fw = -warp(flow_bw, fw)
    return fw


def luminance(rgb):
    return (0.2126 * rgb[:, 0:1] + 0.7152 * rgb[:, 1:2] + 0.0722 * rgb[:, 2:3])


def synthetic_flow(n, h, w, generator=None, strength=1.0):
    """A random backward flow: global motion (translation, rotation, zoom, a
    little perspective) plus a smooth local deformation. Scaled to the frame
    size so that the motion per frame looks like real video at 30 fps."""
    g = generator
    scale = min(h, w) / 160.0

    def uniform(lo, hi, *shape):
        return lo + (hi - lo) * torch.rand(*shape, generator=g)

    angle = uniform(-3, 3, n) * math.pi / 180 * strength
    zoom = 1 + uniform(-0.04, 0.04, n) * strength
    shift = uniform(-6, 6, n, 2) * scale * strength
    persp = uniform(-2e-4, 2e-4, n, 2) / scale * strength
    grid = _base_grid(n, h, w, "cpu")
    cx, cy = (w - 1) / 2, (h - 1) / 2
    x, y = grid[:, 0] - cx, grid[:, 1] - cy
    cos, sin = torch.cos(angle).view(n, 1, 1), torch.sin(angle).view(n, 1, 1)
    z = zoom.view(n, 1, 1)
    denom = 1 + persp[:, 0].view(n, 1, 1) * x + persp[:, 1].view(n, 1, 1) * y
    sx = (z * (cos * x - sin * y)) / denom + shift[:, 0].view(n, 1, 1)
    sy = (z * (sin * x + cos * y)) / denom + shift[:, 1].view(n, 1, 1)
    flow = torch.stack((sx - x, sy - y), dim=1)
    coarse = (torch.rand(n, 2, 4, 4, generator=g) * 2 - 1) * 2.0 * scale * strength
    local = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True)
    return flow + local


def synthetic_pair(frames, generator=None, strength=1.0):
    """From still photos (N, 3, H, W) in [0, 1], make the next frames with an
    exact flow. Returns (frame_t, frame_t1, flow_bw, mask) where
    frame_t1 = W(frame_t) with a brightness/colour change, and mask marks the
    pixels of frame t+1 that are visible in frame t."""
    n, _, h, w = frames.shape
    g = generator
    flow_bw = synthetic_flow(n, h, w, g, strength).to(frames.device)
    gain = (0.9 + 0.2 * torch.rand(n, 1, 1, 1, generator=g)) * (
        0.97 + 0.06 * torch.rand(n, 3, 1, 1, generator=g))
    next_frames = (warp(frames, flow_bw) * gain.to(frames.device)).clamp(0, 1)
    flow_fw = invert_flow(flow_bw)
    mask = occlusion_mask(flow_bw, flow_fw)
    return frames, next_frames, flow_bw, mask


def with_noise(frames, sigma, generator=None):
    """The frames as a camera or film would deliver them: Gaussian noise of
    standard deviation `sigma` per pixel and channel, drawn anew for every
    frame (so it does not follow the flow), clamped to [0, 1]. sigma 0 returns
    the frames themselves."""
    if not sigma:
        return frames
    noise = torch.randn(frames.shape, generator=generator).to(frames.device)
    return (frames + sigma * noise).clamp(0, 1)


def downscale_flow(flow, factor):
    small = F.avg_pool2d(flow, factor)
    return small / factor


def downscale_mask(mask, factor):
    return -F.max_pool2d(-mask, factor)  # a cell is valid only if all its pixels are
