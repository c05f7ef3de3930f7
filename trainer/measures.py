"""The measures of docs/metrics.md as a library: a model run as the runtime runs
it (working size, model scale, ONNX Runtime), warping error (Middlebury with
ground-truth flow, real clips with DIS flow), the style gap on crops and on
whole 720p/1080p frames, artifacts, content and style loss. `eval`, `blobs`,
`sheet` and `adain` are commands on top of it.
"""
import glob
import json
import os
import subprocess

import numpy as np
import torch
import torch.nn.functional as F

from .data import centre_square, load_image
from .deep_style import DEEP_LEVELS
from .onnx_files import ort_run
from .flow import luminance, occlusion_mask, warp, inside_mask
from .artifacts import (checkerboard_levels, colour_kept, edge_contrast_kept, frame_edges, halo_profile,
                        halo_width_px, off_palette_share, painting_palette, pooled_profile, pooled_ratio)
from .sizing import model_size, run_scaled, working_scale
from .losses import CONTENT_LAYER, STYLE_LAYERS, balanced_style_distance, gram

DATA = os.path.join("..", "shared", "data")
PHOTOMETRIC_THRESHOLD = 0.05  # luminance difference above which a GT-flow pixel counts as occluded



def read_flo(path):
    """A Middlebury .flo file as (H, W, 2) float32 (OpenCV's reader)."""
    import cv2
    flow = cv2.readOpticalFlow(path)
    if flow is None:
        raise ValueError(f"{path}: not a .flo file")
    return flow


def stylize(model, frames, scale=1.0):
    """frames: (N, 3, H, W) in [0, 1] with H, W multiples of 4 at scale 1. Below
    scale 1 the model runs as the runtime runs it (docs/model-contract.md,
    "Model scale"): shrunk by area averaging to even sizes, padded to multiples
    of 4 by edge repetition, its output enlarged bicubically."""
    return run_scaled(lambda x: torch.from_numpy(ort_run(model, x.numpy())), frames, scale)


def runtime_runner(model, runtime, native_short_side=None, stroke_scale=1.0):
    """frames -> output, the model run at the size the runtime picks for those frames:
    its manifest's `runtime` (modelScale, nativeShortSide) unless overridden."""
    scale = float(runtime.get("modelScale", 1.0))
    native = native_short_side if native_short_side is not None else runtime.get("nativeShortSide")

    def run_model(frames):
        h, w = frames.shape[-2:]
        return stylize(model, frames, working_scale(h, w, scale, native, stroke_scale))
    # Measures that must see the model's own pixels (a 2-px pattern enlarged is no longer 2 px) ask for its size.
    run_model.model_scale_for = lambda h, w: working_scale(h, w, scale, native, stroke_scale)
    return run_model


def at_model_size(run_model, image, out):
    """The frame and the output shrunk (area) to the size the model ran at, or as
    they are when it ran at the frame's size."""
    h, w = image.shape[-2:]
    scale = run_model.model_scale_for(h, w) if hasattr(run_model, "model_scale_for") else 1.0
    if scale >= 1:
        return image, out
    size = (model_size(h, scale), model_size(w, scale))
    return F.interpolate(image, size=size, mode="area"), F.interpolate(out, size=size, mode="area")


def crop4(t):
    h, w = t.shape[-2:]
    return t[..., : h - h % 4, : w - w % 4]


def masked_sq_error(a, b, mask):
    err = (a - b).pow(2).mean(1, keepdim=True)
    return float((err * mask).sum() / mask.sum().clamp(min=1))


def middlebury(run_model, folder):
    results = {}
    for flo in sorted(glob.glob(os.path.join(folder, "*", "flow10.flo"))):
        scene = os.path.dirname(flo)
        f10 = load_image(os.path.join(scene, "frame10.png")).unsqueeze(0)
        f11 = load_image(os.path.join(scene, "frame11.png")).unsqueeze(0)
        flow = torch.from_numpy(read_flo(flo).copy()).permute(2, 0, 1).unsqueeze(0)
        known = ((flow.abs() < 1e9).all(1, keepdim=True)).float()
        flow = flow * known
        f10, f11, flow, known = crop4(f10), crop4(f11), crop4(flow), crop4(known)
        out = run_model(torch.cat([f10, f11]))
        warped_in = warp(f11, flow)
        visible = (luminance(f10) - luminance(warped_in)).abs() < PHOTOMETRIC_THRESHOLD
        mask = known * inside_mask(flow) * visible.float()
        results[os.path.basename(scene)] = {
            "warping_error": masked_sq_error(out[0:1], warp(out[1:2], flow), mask),
            "input_warping_error": masked_sq_error(f10, warped_in, mask),
            "valid_fraction": float(mask.mean()),
        }
    return results


def read_clip_frames(path, height, start, count):
    """Decodes `count` frames from `start` (seconds) at the given height with ffmpeg."""
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=width,height", "-of", "csv=p=0", path], capture_output=True, text=True, check=True)
    w0, h0 = [int(x) for x in probe.stdout.strip().split(",")[:2]]
    width = int(round(w0 * height / h0 / 4)) * 4
    raw = subprocess.run(["ffmpeg", "-v", "error", "-ss", str(start), "-i", path, "-frames:v", str(count),
                          "-vf", f"scale={width}:{height}", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
                         capture_output=True, check=True).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)
    return torch.from_numpy(frames.copy()).permute(0, 3, 1, 2).float() / 255


def dis_flow(a, b):
    """OpenCV DIS flow from frame a to frame b: b(p + flow(p)) ~ a(p)."""
    import cv2
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    ga = (luminance(a.unsqueeze(0))[0, 0].numpy() * 255).astype(np.uint8)
    gb = (luminance(b.unsqueeze(0))[0, 0].numpy() * 255).astype(np.uint8)
    return torch.from_numpy(dis.calc(ga, gb, None)).permute(2, 0, 1).unsqueeze(0)


def real_clips(run_model, folder, names, pairs, height):
    results = {}
    for name in names:
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            continue
        frames = read_clip_frames(path, height, 1.0, pairs + 1)
        out = run_model(frames)
        errs, input_errs = [], []
        for t in range(len(frames) - 1):
            fw = dis_flow(frames[t], frames[t + 1])
            bw = dis_flow(frames[t + 1], frames[t])
            mask = occlusion_mask(fw, bw)
            errs.append(masked_sq_error(out[t:t + 1], warp(out[t + 1:t + 2], fw), mask))
            input_errs.append(masked_sq_error(frames[t:t + 1], warp(frames[t + 1:t + 2], fw), mask))
        results[name] = {"warping_error": float(np.mean(errs)), "input_warping_error": float(np.mean(input_errs)),
                         "pairs": len(errs)}
    return results


def style_gap(run_model, photos, style_path, vgg, size):
    """Style gap closed (docs/metrics.md): 1 - d(output, s) / d(photo, s) with d
    the balanced style distance, per photo, then averaged."""
    batch = torch.stack([centre_square(p, size) for p in photos])
    out = torch.cat([run_model(batch[i:i + 4]) for i in range(0, len(batch), 4)])
    style = centre_square(style_path, size).unsqueeze(0)
    with torch.no_grad():
        target = {k: gram(v) for k, v in vgg(style, STYLE_LAYERS).items()}
        d_in, _ = balanced_style_distance(vgg(batch, STYLE_LAYERS), target)
        d_out, per_layer = balanced_style_distance(vgg(out, STYLE_LAYERS), target)
    closed = 1 - d_out / d_in
    return {
        "style_gap_closed": float(closed.mean()),
        "style_distance": float(d_out.mean()),
        "style_distance_input": float(d_in.mean()),
        "style_distance_per_layer": {k: float(v) for k, v in zip(STYLE_LAYERS, per_layer.mean(0))},
        "per_photo": {os.path.basename(p): float(c) for p, c in zip(photos, closed)},
        "size": size,
    }


FRAME_SIZES = {"360p": (640, 360), "720p": (1280, 720), "1080p": (1920, 1080)}  # what users watch (docs/metrics.md)


def frame_of(path, width, height):
    """A photo as a width x height video frame of the same scene: enlarged (bicubic) to cover
    the frame, centre-cropped. Sizes are even, as the runtime's frames are."""
    image = load_image(path)
    _, h, w = image.shape
    scale = max(width / w, height / h)
    size = (max(height, round(h * scale)), max(width, round(w * scale)))
    image = F.interpolate(image.unsqueeze(0), size=size, mode="bicubic", align_corners=False).clamp(0, 1)[0]
    y, x = (size[0] - height) // 2, (size[1] - width) // 2
    return image[:, y:y + height, x:x + width]


def to_short_side(image, size):
    """(N, 3, H, W) scaled by area averaging so that its short side is `size`."""
    h, w = image.shape[-2:]
    scale = size / min(h, w)
    return F.interpolate(image, size=(round(h * scale), round(w * scale)), mode="area")


def _distance_to(grams, target):
    """d(x, s) of docs/metrics.md from x's Gram matrices (one image), over the target's levels."""
    return float(np.mean([float((grams[k] - target[k]).norm() / target[k].norm().clamp(min=1e-12)) for k in target]))


_frame_grams = {}


def _measured_grams(network, image, measure_size, levels=STYLE_LAYERS):
    """Gram matrices at `levels` of `network` (the VGG, or the deep levels' CompactVGG) on the image at measure size."""
    with torch.no_grad():
        return {k: gram(v)[0] for k, v in network(to_short_side(image, measure_size), levels).items()}


def style_gap_at_frames(run_model, photos, style_path, vgg, frame, measure_size=512, deep=None):
    """Style gap closed with the model run on whole frames of `frame` = (width, height),
    one frame at a time, as the runtime runs it; the output, the frame and the painting
    are then scaled to `measure_size` on their short side for the balanced distance, so
    strokes too fine to show at the size users watch do not count (docs/metrics.md).
    With `deep` (deep_style.CompactVGG) the same gap is also taken at its levels
    relu4_1 and relu5_1, where motifs of 100-200 px live: `deep_gap_closed`."""
    width, height = frame
    measure_size = min(measure_size, width, height)  # a 360p frame is measured at its own size, never enlarged
    painting = load_image(style_path, measure_size).unsqueeze(0)
    target = _measured_grams(vgg, painting, measure_size)
    closed, checker, chroma, hue, deep_closed, halos, contrasts, off_palette = [], [], [], [], [], [], [], []
    palette = painting_palette(load_image(style_path))
    deep_target = _measured_grams(deep, painting, measure_size, DEEP_LEVELS) if deep is not None else None
    with torch.no_grad():
        for path in photos:
            image = frame_of(path, width, height).unsqueeze(0)
            key = (path, width, height, measure_size, id(vgg))
            if key not in _frame_grams:  # the same frames for every model and painting measured in one process
                _frame_grams[key] = _measured_grams(vgg, image, measure_size)
            d_in = _distance_to(_frame_grams[key], target)
            out = run_model(image)
            d_out = _distance_to(_measured_grams(vgg, out, measure_size), target)
            closed.append(1 - d_out / d_in)
            if deep is not None:
                deep_in = _distance_to(_measured_grams(deep, image, measure_size, DEEP_LEVELS), deep_target)
                deep_closed.append(1 - _distance_to(_measured_grams(deep, out, measure_size, DEEP_LEVELS), deep_target) / deep_in)
            # At the model's own size: enlarged, its 2-px pattern would escape a 2-px measure.
            checker.append(checkerboard_levels(*at_model_size(run_model, image, out)))
            # At the output's size: a rim is as wide as users see it.
            edges = frame_edges(image)
            halos.append(halo_profile(image, out, edges=edges))
            contrasts.append(edge_contrast_kept(image, out, edges=edges))
            chroma_kept, hue_shift = colour_kept(image, out)
            chroma.append(chroma_kept)
            hue.append(hue_shift)
            off_palette.append(off_palette_share(image, out, palette))
    mean = lambda values: float(np.mean([v for v in values if v is not None])) if any(v is not None for v in values) else None
    rim = pooled_profile(halos)
    return {"style_gap_closed": float(np.mean(closed)), "frame": f"{width}x{height}", "measure_size": measure_size,
            "checkerboard_levels": mean(checker), "colour_chroma_kept": mean(chroma), "colour_hue_shift_deg": mean(hue),
            "off_palette_share": mean(off_palette),
            "deep_gap_closed": float(np.mean(deep_closed)) if deep_closed else None,
            "halo_width_px": halo_width_px(rim), "halo_edges": sum(n for p, n in halos if p is not None),
            "halo_profile_levels": [round(v, 2) for v in rim or []],
            "edge_contrast_kept": pooled_ratio(contrasts),
            "per_photo": {os.path.basename(p): c for p, c in zip(photos, closed)}}


def photo_losses(run_model, photos, style_path, vgg, size):
    batch = torch.stack([centre_square(p, size) for p in photos])
    out = run_model(batch)
    style = load_image(style_path, size).unsqueeze(0)
    with torch.no_grad():
        target = {k: gram(v) for k, v in vgg(style, STYLE_LAYERS).items()}
        fo = vgg(out, STYLE_LAYERS + (CONTENT_LAYER,))
        fi = vgg(batch, (CONTENT_LAYER,))
        content = float(F.mse_loss(fo[CONTENT_LAYER], fi[CONTENT_LAYER]))
        style_loss = float(sum(F.mse_loss(gram(fo[k]), target[k].expand(len(batch), -1, -1)) for k in STYLE_LAYERS))
    return {"content_loss": content, "style_loss": style_loss, "photos": len(batch)}


def frame_names(text):
    """--frames: 'none' or comma-separated names from FRAME_SIZES."""
    names = [] if text in ("", "none") else text.split(",")
    for name in names:
        if name not in FRAME_SIZES:
            raise ValueError(f"unknown frame size {name!r}: use {', '.join(FRAME_SIZES)} or none")
    return names


def write_report(report, out=None):
    """A JSON report to `out`, or to stdout when no path is given."""
    text = json.dumps(report, indent=2)
    if out:
        with open(out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)



def open_model(arg):
    """models/<id>.onnx or an id -> (onnx path, manifest path, manifest or {}, runtime model scale)."""
    if arg.endswith(".onnx"):
        model, manifest_path = arg, arg[:-5] + ".json"
    else:
        model, manifest_path = os.path.join("models", f"{arg}.onnx"), os.path.join("models", f"{arg}.json")
    if not os.path.exists(model):
        raise FileNotFoundError(f"model not found: {model}")
    manifest = json.load(open(manifest_path)) if os.path.exists(manifest_path) else {}
    return model, manifest_path, manifest, float(manifest.get("runtime", {}).get("modelScale", 1.0))
