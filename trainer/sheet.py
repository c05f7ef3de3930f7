"""`sheet`: contact sheets to look at what users see. For each model, its
outputs at 720p on held-apart photos and one frame of each real clip, laid out
in a grid (each cell scaled to --cell-width), labelled, written as JPEG."""
import os

import numpy as np
import torch
from PIL import Image, ImageDraw

from .blobs import CLIPS, DEFAULT_PHOTOS, clip_frames, frames_720, score


def add_arguments(p):
    p.add_argument("--models", required=True, help="comma-separated models/<id>.onnx paths or ids")
    p.add_argument("--data", default=os.path.join("..", "shared", "data"), help="shared data folder")
    p.add_argument("--photos", default=",".join(DEFAULT_PHOTOS), help="held-apart photos (content/samples)")
    p.add_argument("--clips", default=CLIPS)
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--cell-width", type=int, default=640)
    p.add_argument("--columns", type=int, default=2)
    p.add_argument("--out-dir", required=True, help="writes <id>.jpg per model here")


def to_image(t):
    return Image.fromarray((t[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))


def run(args):
    from .evaluate import open_model, runtime_runner
    images = frames_720([os.path.join(args.data, "content", "samples", n) for n in args.photos.split(",") if n],
                        args.height)
    images += clip_frames(args.data, args.clips, args.height)
    os.makedirs(args.out_dir, exist_ok=True)
    torch.set_grad_enabled(False)
    for name in args.models.split(","):
        model, _, manifest, _ = open_model(name)
        run_model = runtime_runner(model, manifest.get("runtime", {}))
        cells = []
        for label, frame in images:
            out = run_model(frame)
            found = score(frame[0].permute(1, 2, 0).numpy(), out[0].permute(1, 2, 0).numpy())[0]["blobs"]
            img = to_image(out)
            img = img.resize((args.cell_width, round(img.height * args.cell_width / img.width)), Image.LANCZOS)
            ImageDraw.Draw(img).text((6, 4), f"{label}  blobs: {found}", fill=(255, 255, 255),
                                     stroke_width=2, stroke_fill=(0, 0, 0))
            cells.append(img)
        rows = [cells[i:i + args.columns] for i in range(0, len(cells), args.columns)]
        heights = [max(c.height for c in row) for row in rows]
        sheet = Image.new("RGB", (args.cell_width * args.columns, sum(heights)), (24, 24, 24))
        y = 0
        for row, h in zip(rows, heights):
            for i, cell in enumerate(row):
                sheet.paste(cell, (i * args.cell_width, y))
            y += h
        model_id = os.path.splitext(os.path.basename(model))[0]
        path = os.path.join(args.out_dir, f"{model_id}.jpg")
        sheet.save(path + ".tmp.jpg", quality=85)
        os.replace(path + ".tmp.jpg", path)
        print(f"wrote {path}", flush=True)
    return 0
