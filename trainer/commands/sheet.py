"""`sheet`: contact sheets to look at what users see. For each model, its
outputs at --height (720p, 1080p) on held-apart photos and one frame of each
real clip, run as the runtime runs them (working size, model scale), laid out
in a grid (each cell scaled to --cell-width), labelled; below, 1:1 crops of
two outputs beside a 1:1 crop of the painting enlarged to the frame's height
(the scale its strokes should have on screen) when the painting is public
domain. Written as JPEG."""
import os

import numpy as np
import torch
from PIL import Image, ImageDraw

from ..blob_detector import CLIPS, DEFAULT_PHOTOS, clip_frames, frames_720, scale_of, score


def add_arguments(p):
    p.add_argument("--models", required=True, help="comma-separated models/<id>.onnx paths or ids")
    p.add_argument("--data", default=os.path.join("..", "shared", "data"), help="shared data folder")
    p.add_argument("--photos", default=",".join(DEFAULT_PHOTOS), help="held-apart photos (content/samples)")
    p.add_argument("--clips", default=CLIPS)
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--cell-width", type=int, default=640)
    p.add_argument("--columns", type=int, default=2)
    p.add_argument("--crop", type=int, default=360, help="side of the 1:1 crops (0: none)")
    p.add_argument("--crop-images", default="adain_golden_gate.jpg,mdn_friday.mp4",
                   help="the images whose outputs are shown at 1:1")
    p.add_argument("--stroke-scale", type=float, default=1.0, help="the runtime's --stroke-scale")
    p.add_argument("--out-dir", required=True, help="writes <id>-<height>p.jpg per model here")


def to_image(t):
    return Image.fromarray((t[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))


def centre_crop(img, size):
    x, y = max(0, (img.width - size) // 2), max(0, (img.height - size) // 2)
    return img.crop((x, y, x + size, y + size))


def painting_at_frame_scale(data, manifest, height):
    """The model's painting enlarged so its short side is the frame's height, or None when
    it is not public domain (sheets are committed; paintings of unknown licence are not)."""
    style = manifest.get("style", {})
    name = manifest.get("training", {}).get("style")
    path = os.path.join(data, "styles", name) if name else None
    if style.get("licence") != "public domain" or not path or not os.path.exists(path):
        return None
    img = Image.open(path).convert("RGB")
    scale = height / min(img.size)
    return img.resize((round(img.width * scale), round(img.height * scale)), Image.BICUBIC)


def label(img, text):
    ImageDraw.Draw(img).text((6, 4), text, fill=(255, 255, 255), stroke_width=2, stroke_fill=(0, 0, 0))
    return img


def run(args):
    from ..measures import open_model, runtime_runner
    images = frames_720([os.path.join(args.data, "content", "samples", n) for n in args.photos.split(",") if n],
                        args.height)
    images += clip_frames(args.data, args.clips, args.height)
    os.makedirs(args.out_dir, exist_ok=True)
    torch.set_grad_enabled(False)
    for name in args.models.split(","):
        model, _, manifest, _ = open_model(name)
        run_model = runtime_runner(model, manifest.get("runtime", {}), stroke_scale=args.stroke_scale)
        cells, crops = [], []
        for image_name, frame in images:
            out = run_model(frame)
            found = score(frame[0].permute(1, 2, 0).numpy(), out[0].permute(1, 2, 0).numpy(),
                          scale_of(args.height))[0]["blobs"]
            full = to_image(out)
            if args.crop and image_name in args.crop_images.split(","):
                crops.append(label(centre_crop(full, args.crop), f"{image_name} 1:1"))
            img = full.resize((args.cell_width, round(full.height * args.cell_width / full.width)), Image.LANCZOS)
            cells.append(label(img, f"{image_name}  blobs: {found}"))
        painting = painting_at_frame_scale(args.data, manifest, args.height) if args.crop else None
        if painting is not None:
            crops.insert(0, label(centre_crop(painting, args.crop), "painting, same scale, 1:1"))
        rows = [cells[i:i + args.columns] for i in range(0, len(cells), args.columns)]
        heights = [max(c.height for c in row) for row in rows]
        crop_row = args.crop if crops else 0
        width = max(args.cell_width * args.columns, args.crop * len(crops))
        sheet = Image.new("RGB", (width, sum(heights) + crop_row), (24, 24, 24))
        y = 0
        for row, h in zip(rows, heights):
            for i, cell in enumerate(row):
                sheet.paste(cell, (i * args.cell_width, y))
            y += h
        for i, crop in enumerate(crops):
            sheet.paste(crop, (i * args.crop, y))
        model_id = os.path.splitext(os.path.basename(model))[0]
        path = os.path.join(args.out_dir, f"{model_id}-{args.height}p.jpg")
        sheet.save(path + ".tmp.jpg", quality=85)
        os.replace(path + ".tmp.jpg", path)
        print(f"wrote {path}", flush=True)
    return 0
