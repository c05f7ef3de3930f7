"""What `--keep-colour` does to a style at 720p, measured through the real CLI: the
12 held-apart photos as 1280x720 frames (trainer.measures.frame_of), stylized by
`stylecast stylize --keep-colour K`, then the same style gap and colour measures as
`trainer eval --frames 720p` (docs/metrics.md).
  /usr/bin/python3 scripts/measure-keep-colour.py STYLE_ID PAINTING.jpg 0,0.5,1 [--data ../shared/data]
Needs `npm run build`. Prints one JSON line per value."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from trainer.commands.evaluate import list_images  # noqa: E402
from trainer.measures import frame_of, style_gap_at_frames  # noqa: E402
from trainer.vgg import load_tfjs  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("style")
parser.add_argument("painting", help="the painting's file name in DATA/styles")
parser.add_argument("values", help="keep-colour values, e.g. 0,0.5,1")
parser.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
args = parser.parse_args()

samples = list_images(os.path.join(args.data, "content", "samples"))
vgg = load_tfjs(os.path.join(args.data, "weights", "vgg19-tfjs"))
torch.set_grad_enabled(False)
with tempfile.TemporaryDirectory() as tmp:
    frames = os.path.join(tmp, "frames")
    os.makedirs(frames)
    names = []
    for i, path in enumerate(samples):
        frame = frame_of(path, 1280, 720)
        names.append(f"{i:02d}.png")
        Image.fromarray((frame.permute(1, 2, 0).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)).save(os.path.join(frames, names[-1]))
    for value in args.values.split(","):
        out = os.path.join(tmp, f"keep-{value}")
        subprocess.run(["node", os.path.join(ROOT, "dist", "cli", "main.js"), "stylize", frames, "-o", out, "--style", args.style,
                        "--preset", "quality", "--keep-colour", value, "-y", "-q"], check=True, capture_output=True)
        order = iter(names)

        def stylized(_frame):
            image = np.asarray(Image.open(os.path.join(out, next(order))).convert("RGB"), dtype=np.float32) / 255
            return torch.from_numpy(image).permute(2, 0, 1).unsqueeze(0)

        r = style_gap_at_frames(stylized, samples, os.path.join(args.data, "styles", args.painting), vgg, (1280, 720))
        print(json.dumps({"style": args.style, "keep_colour": float(value),
                          **{k: r[k] for k in ("style_gap_closed", "colour_chroma_kept", "colour_hue_shift_deg")}}), flush=True)
