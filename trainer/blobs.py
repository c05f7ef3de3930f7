"""`blobs`: detector for the instance-norm "droplet" artifact (docs/metrics.md).

A droplet is a compact spot, roughly 15-60 px across at 720p, whose colour
departs strongly from its surroundings while the input at that place is flat
at that scale (sky, water, a wall, a thin cable). The detector compares the
band-pass (difference of Gaussians) energy of the output with the input's at
four scales: where the output has far more blob-scale energy than the input,
and the excess forms a round, solid component, it counts one blob.
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

SIGMAS = (4.0, 6.0, 9.0, 13.0)   # DoG inner sigmas (px at 720p): blob diameters ~15-60 px
SIGMA_RATIO = 1.6
INPUT_FACTOR = 2.0               # stylization may double band-pass energy without counting
EXCESS_THRESHOLD = 0.10          # excess DoG amplitude (RGB in [0, 1]) that marks a blob pixel
MIN_AREA_FACTOR = 1.5            # component area >= factor * sigma^2
MAX_ASPECT = 2.5                 # longer / shorter side of the component's box
MIN_FILL = 0.45                  # component area / box area: round and solid, not a stroke
FLAG_PER_MEGAPIXEL = 4.0         # an image with more blobs than this per MP is flagged


def _blur(x, sigma):
    import cv2
    return cv2.GaussianBlur(x, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)


def dog_energy(image, sigma):
    """image: (H, W, 3) float32. L2 over channels of G_sigma - G_{1.6 sigma}."""
    d = _blur(image, sigma) - _blur(image, sigma * SIGMA_RATIO)
    return np.sqrt((d * d).sum(-1))


def detect(input_image, output_image):
    """input_image, output_image: (H, W, 3) float32 in [0, 1], same size.
    Returns a list of blobs (x, y, w, h, sigma, peak excess) and the mask."""
    import cv2
    mask = np.zeros(output_image.shape[:2], np.uint8)
    blobs = []
    for sigma in SIGMAS:
        excess = dog_energy(output_image, sigma) - INPUT_FACTOR * dog_energy(input_image, sigma)
        hot = (excess > EXCESS_THRESHOLD).astype(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(hot, connectivity=8)
        for i in range(1, count):
            x, y, w, h, area = (int(v) for v in stats[i])
            if area < MIN_AREA_FACTOR * sigma * sigma:
                continue
            if max(w, h) > MAX_ASPECT * min(w, h) or area < MIN_FILL * w * h:
                continue
            if mask[y + h // 2, x + w // 2]:
                continue  # already counted at a finer scale
            mask[labels == i] = 1
            blobs.append({"x": x, "y": y, "w": w, "h": h, "sigma": sigma,
                          "peak": float(excess[labels == i].max())})
    return blobs, mask


def score(input_image, output_image):
    blobs, mask = detect(input_image, output_image)
    megapixels = input_image.shape[0] * input_image.shape[1] / 1e6
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


def add_arguments(p):
    p.add_argument("--model", required=True, help="models/<id>.onnx, or an id from models/")
    p.add_argument("--data", default=os.path.join("..", "shared", "data"), help="shared data folder")
    p.add_argument("--photos", type=int, default=6, help="how many held-apart photos (content/samples)")
    p.add_argument("--clips", default="mdn_friday.mp4,mdn_stream_of_water.webm,webrtc_mixed_content.webm,cutBunny.mp4")
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--overlays", help="write each output with its blobs outlined into this folder")
    p.add_argument("--out", help="write the JSON report here (default: stdout)")


def run(args):
    from .data import list_images
    from .evaluate import read_clip_frames, resolve_model, stylize
    model, manifest_path = resolve_model(args.model)
    if not os.path.exists(model):
        raise FileNotFoundError(f"model not found: {model}")
    manifest = json.load(open(manifest_path)) if os.path.exists(manifest_path) else {}
    scale = float(manifest.get("runtime", {}).get("modelScale", 1.0))
    images = frames_720(list_images(os.path.join(args.data, "content", "samples"))[:args.photos], args.height)
    for name in filter(None, args.clips.split(",")):
        path = os.path.join(args.data, "videos", name)
        if os.path.exists(path):
            images.append((name, read_clip_frames(path, args.height, 1.0, 1)))
    report, total, flagged = {}, 0, 0
    torch.set_grad_enabled(False)
    for name, frame in images:
        out = stylize(model, frame, scale)
        a = frame[0].permute(1, 2, 0).numpy().astype(np.float32)
        b = out[0].permute(1, 2, 0).numpy().astype(np.float32)
        result, _, mask = score(a, b)
        report[name] = result
        total += result["blobs"]
        flagged += int(result["flagged"])
        if args.overlays:
            from PIL import Image
            os.makedirs(args.overlays, exist_ok=True)
            Image.fromarray(overlay(b, mask)).save(os.path.join(args.overlays, os.path.splitext(name)[0] + ".png"))
    summary = {"model": model, "height": args.height, "images": len(images), "flagged_images": flagged,
               "blobs": total, "flagged": flagged > 0, "per_image": report}
    text = json.dumps(summary, indent=2)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    print(f"{os.path.basename(model)}: {total} blobs in {len(images)} images at {args.height}p, "
          f"{flagged} flagged -> {'FLAGGED' if flagged else 'clean'}")
    return 0
