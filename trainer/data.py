"""Content photos for training: any folder of images, loaded once, random crops."""
import os

import torch
from PIL import Image
from torchvision.transforms import functional as TF

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def list_images(folder):
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"content folder not found: {folder}")
    paths = sorted(os.path.join(root, n) for root, _, names in os.walk(folder)
                   for n in names if n.lower().endswith(IMAGE_EXTENSIONS))
    if not paths:
        raise FileNotFoundError(f"no images (.jpg/.png/...) in content folder {folder}")
    return paths


def load_image(path, short_side=None):
    image = Image.open(path).convert("RGB")
    if short_side:
        image = TF.resize(image, short_side)
    return TF.to_tensor(image)


class PhotoCrops:
    """Random square crops from photos scaled so their short side is `size * 1.15`."""

    def __init__(self, paths, size, limit=None):
        self.size = size
        short = int(round(size * 1.15))
        self.images = [load_image(p, short) for p in paths[:limit]]

    def batch(self, n, generator):
        out = []
        for _ in range(n):
            img = self.images[int(torch.randint(len(self.images), (1,), generator=generator))]
            _, h, w = img.shape
            y = int(torch.randint(h - self.size + 1, (1,), generator=generator))
            x = int(torch.randint(w - self.size + 1, (1,), generator=generator))
            crop = img[:, y:y + self.size, x:x + self.size]
            if torch.rand(1, generator=generator) < 0.5:
                crop = crop.flip(-1)
            out.append(crop)
        return torch.stack(out)
