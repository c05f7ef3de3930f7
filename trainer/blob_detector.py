"""The detector for the instance-norm "droplet" artifact (docs/metrics.md).

A droplet is a compact spot, roughly 20-100 px across at 720p, of one colour
(yellow, black, white) that nothing in the input explains: the photo is flat
or smoothly shaded there. The detector asks how much of the output a local
colour mapping of the input cannot explain: a colour guided filter (He et al.
2010) fits output = A(x) input + b(x) in 65x65 windows (losses.py: the same
code is the blob penalty's); what is left over,
smoothed to remove fine brush texture, marks a blob where it is strong and
forms a large, compact region.

The library under `blobs` (the count in a manifest), `sheet` (the overlays)
and `train` (the blob penalty's masks).
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

from .losses import FLAT_STD, blob_residual, input_local_std

RESIDUAL_THRESHOLD = 0.12   # unexplained colour (RGB distance, [0, 1] scale) that marks a blob pixel
MIN_AREA = 300              # px at 720p: about a 20 px disc
MAX_ASPECT = 4.0            # longer / shorter side of the component's box
MIN_FILL = 0.35             # component area / box area: solid, not a stroke or an outline
BORDER = 8                  # px at 720p: components touching the frame's edge (within this) do not count
FLAG_PER_MEGAPIXEL = 2.0    # an image with more blobs than this per megapixel at 720p is flagged
# Held-apart photos with large flat regions (sky, water, walls, skin), where droplets show.
DEFAULT_PHOTOS = ("adain_golden_gate.jpg", "adain_sailboat.jpg", "adain_chicago.jpg", "adain_newyork.jpg",
                  "adain_avril.jpg", "amber.jpg")
CLIPS = "mdn_friday.mp4,mdn_stream_of_water.webm,webrtc_mixed_content.webm,cutBunny.mp4"
CLIP_TIMES = (1.0,)
# A second set with nothing in common with the first (the other held-apart photos, later frames
# of the same clips): a checkpoint chosen for its count on the first is checked here.
CHECK_PHOTOS = ("adain_blonde_girl.jpg", "adain_brad_pitt.jpg", "adain_cornell.jpg", "adain_flowers.jpg",
                "adain_modern.jpg", "dancing_pytorch_tutorial.jpg")
CHECK_CLIP_TIMES = (2.0, 2.8)  # seconds; mdn_stream_of_water.webm is 3.1 s long
IMAGE_SETS = {"test": (DEFAULT_PHOTOS, CLIP_TIMES), "check": (CHECK_PHOTOS, CHECK_CLIP_TIMES)}


def scale_of(image_height):
    """How much larger than 720p an image is: every size in the detector is meant
    at 720p and grows with it, so a blob counts the same on a 720p and a 1080p
    frame of the same picture (a 1080p frame is watched on the same screen)."""
    return image_height / 720.0


def min_area_at(scale):
    """MIN_AREA (px at 720p) in pixels of an image `scale` times as large."""
    return max(8, int(MIN_AREA * scale ** 2))


def detect(input_image, output_image, min_area=None, scale=1.0):
    """input_image, output_image: (H, W, 3) float32 in [0, 1], same size.
    Returns a list of blobs (x, y, w, h, area, peak) and the blob mask.
    `scale`: the image's size over 720p (scale_of); `min_area`, in pixels of
    this image, defaults to MIN_AREA scaled by it.
    The residual and the flatness are the blob penalty's own code
    (losses.blob_residual, losses.input_local_std): one implementation measures
    and trains."""
    as_batch = lambda image: torch.from_numpy(np.ascontiguousarray(image, np.float32)).permute(2, 0, 1)[None]
    if min_area is None:
        min_area = min_area_at(scale)
    with torch.no_grad():
        guide, output = as_batch(input_image), as_batch(output_image)
        magnitude = blob_residual(output, guide, scale)[0, 0].numpy()
        local_std = input_local_std(guide, scale)[0, 0].numpy()
    return _components(magnitude, local_std, min_area, border=round(BORDER * scale))


def _components(magnitude, local_std, min_area, border=BORDER):
    """The blobs among the pixels whose residual `magnitude` passes the threshold:
    large, compact, away from the edge, on flat input (`local_std`). (H, W) each."""
    import cv2
    hot = (magnitude > RESIDUAL_THRESHOLD).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(hot, connectivity=8)
    mask = np.zeros_like(hot)
    blobs = []
    for i in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[i])
        if area < min_area or max(w, h) > MAX_ASPECT * min(w, h) or area < MIN_FILL * w * h:
            continue
        if x < border or y < border or x + w > hot.shape[1] - border or y + h > hot.shape[0] - border:
            continue  # the frame's edge (padding, letterbox bars): not a droplet
        region = labels == i
        flatness = float(local_std[region].mean())
        if flatness >= FLAT_STD:
            continue  # painted over input structure: a stroke of the style, not a droplet
        mask[region] = 1
        blobs.append({"x": x, "y": y, "w": w, "h": h, "area": area, "peak": float(magnitude[region].max()),
                      "input_std": flatness})
    return blobs, mask


def blob_masks(inputs, outputs, reference_height=720, magnitude=None, local_std=None):
    """The detector's blob mask for each image of a batch ((N, 3, H, W) tensors, any
    size), its minimum area scaled from 720p to the images' height: (N, 1, H, W) float.
    The residual and the flatness are the blob penalty's own torch code
    (losses.blob_residual, losses.input_local_std), run where the tensors are (the
    training GPU: the numpy filters took about 0.5 s per 320 px image on one core),
    or given already computed; only the labelling of components runs here."""
    h = inputs.shape[-2]
    min_area = min_area_at(h / reference_height)
    with torch.no_grad():
        if magnitude is None:
            magnitude = blob_residual(outputs.detach().float(), inputs.detach().float())
        if local_std is None:
            local_std = input_local_std(inputs.detach().float())
        magnitude, local_std = magnitude.detach()[:, 0].cpu().numpy(), local_std[:, 0].cpu().numpy()
    masks = [torch.from_numpy(_components(magnitude[i], local_std[i], min_area)[1].astype(np.float32))
             for i in range(inputs.shape[0])]
    return torch.stack(masks)[:, None].to(inputs.device)


def score(input_image, output_image, scale=1.0):
    """The blobs of one output and whether its image is flagged. `scale` (the
    frame's height over 720, scale_of) sizes the detector; the density is per
    megapixel of the picture at 720p, so the flag does not loosen at 1080p."""
    blobs, mask = detect(input_image, output_image, scale=scale)
    megapixels = input_image.shape[0] * input_image.shape[1] / 1e6 / scale ** 2
    per_mp = len(blobs) / megapixels
    return {"blobs": len(blobs), "blobs_per_megapixel": per_mp, "flagged": per_mp > FLAG_PER_MEGAPIXEL,
            "area_fraction": float(mask.mean())}, blobs, mask


def overlay(output_image, mask):
    """The output with detected blobs outlined in magenta (for looking)."""
    import cv2
    img = (output_image * 255).round().astype(np.uint8).copy()
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(img, contours, -1, (255, 0, 255), 2)
    return img


def frames_720(paths, height):
    """Photos scaled to `height` px high (multiples of 4), RGB float tensors."""
    from .data import load_image
    out = []
    for path in paths:
        img = load_image(path)
        h, w = img.shape[-2:]
        nw = int(round(w * height / h / 4)) * 4
        img = F.interpolate(img.unsqueeze(0), size=(height, nw), mode="bicubic", align_corners=False,
                            antialias=True).clamp(0, 1)
        out.append((os.path.basename(path), img))
    return out


def clip_frames(data, clips, height, times=CLIP_TIMES):
    """One frame at each of `times` (seconds) of each clip in DATA/videos that exists."""
    from .measures import read_clip_frames
    out = []
    for name in filter(None, clips.split(",")):
        path = os.path.join(data, "videos", name)
        if os.path.exists(path):
            for t in times:
                label = name if tuple(times) == CLIP_TIMES else f"{name}@{t:g}s"
                out.append((label, read_clip_frames(path, height, t, 1)))
    return out


def count_on_set(run_model, data, height, set_name="test", photos=None, clips=CLIPS, each=None):
    """The detector on a model's outputs over an image set (IMAGE_SETS) at `height`:
    (per-image results, total blobs, flagged images). `photos` (names in
    DATA/content/samples) replaces the set's photos; `each(name, frame, out, result,
    mask)` sees every output (overlays, further measures)."""
    set_photos, clip_times = IMAGE_SETS[set_name]
    names = photos if photos is not None else set_photos
    paths = [os.path.join(data, "content", "samples", n) for n in names if n]
    images = frames_720(paths, height) + clip_frames(data, clips, height, clip_times)
    report, total, flagged = {}, 0, 0
    for name, frame in images:
        out = run_model(frame)
        a = frame[0].permute(1, 2, 0).numpy().astype(np.float32)
        b = out[0].permute(1, 2, 0).numpy().astype(np.float32)
        result, _, mask = score(a, b, scale_of(height))
        if each is not None:
            each(name, frame, out, result, mask)
        report[name] = result
        total += result["blobs"]
        flagged += int(result["flagged"])
    return report, total, flagged
