"""`deep-fidelity`: the check behind `train --deep-style-weight`. The deeper
style levels come from the compact VGG19 encoder through its embedding heads;
where the loss network's VGG19 has the same levels (relu1_1, relu2_1,
relu3_1), this prints, per level, the median over channels of the correlation
between head and VGG19 over every pixel of the photos (trainer/deep_style.py)."""
import json
import os

import torch

from .. import THREADS_HELP, use_threads
from ..data import list_images, load_image
from ..deep_style import DEFAULT_WEIGHTS, fidelity, load_compact_vgg
from ..vgg import load_tfjs


def add_arguments(p):
    p.add_argument("--photos", default=os.path.join("..", "shared", "data", "content", "bsds500"),
                   help="folder of photos (default ../shared/data/content/bsds500)")
    p.add_argument("--count", type=int, default=6, help="photos taken, evenly spaced through the folder")
    p.add_argument("--size", type=int, default=256, help="their short side (px)")
    p.add_argument("--deep-encoder", default=DEFAULT_WEIGHTS, help="folder with 5SE.pth")
    p.add_argument("--vgg", default=os.path.join("..", "shared", "data", "weights", "vgg19-tfjs"))
    p.add_argument("--threads", type=int, default=0, help=THREADS_HELP)


def run(args):
    use_threads(args.threads)
    paths = list_images(args.photos)
    if not paths:
        raise FileNotFoundError(f"no photos in {args.photos}")
    picked = [paths[i * len(paths) // args.count] for i in range(min(args.count, len(paths)))]
    photos = []
    for path in picked:
        image = load_image(path, args.size).unsqueeze(0)
        photos.append(image[..., :image.shape[-2] // 8 * 8, :image.shape[-1] // 8 * 8])
    result = fidelity(load_compact_vgg(args.deep_encoder), load_tfjs(args.vgg), photos)
    print(json.dumps({"photos": len(photos), "short_side": args.size, "levels": result}, indent=1))
    return 0
