"""Content photos for training: any folder of images, loaded once, random crops."""
import os

import torch
from PIL import Image
from torchvision.transforms import functional as TF

from .artifacts import halo_samples
from .losses import FLAT_STD, HALO_REACH, input_local_std

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


def centre_square(path, size):
    """The image scaled to `size` on its short side, centre-cropped to size x size."""
    img = load_image(path, size)
    _, h, w = img.shape
    y, x = (h - size) // 2, (w - size) // 2
    return img[:, y:y + size, x:x + size]


def softened(image, generator):
    """A (3, H, W) crop as soft footage delivers it: old film, a low-light webcam, a
    small clip enlarged. Half the time grey (luminance in every channel), always
    blurred (a Gaussian of 0.8-2 px) and with its contrast lowered to 60-100% about
    its mean. Such input is smooth almost everywhere, so the blob detector counts as
    a droplet any stroke the network paints on it; sharp photos rarely show it."""
    draw = lambda low, high: low + (high - low) * float(torch.rand(1, generator=generator))
    if torch.rand(1, generator=generator) < 0.5:
        luma = 0.2126 * image[0] + 0.7152 * image[1] + 0.0722 * image[2]
        image = luma.expand(3, -1, -1)
    sigma = draw(0.8, 2.0)
    kernel = 2 * int(3 * sigma + 0.5) + 1
    image = TF.gaussian_blur(image.unsqueeze(0), [kernel, kernel], [sigma, sigma])[0]
    mean = image.mean()
    return (mean + draw(0.6, 1.0) * (image - mean)).clamp(0, 1)


def flat_share(image):
    """Share of a (3, H, W) image's pixels where its luminance is flat by the blob
    detector's measure (local std under FLAT_STD): how much of it is sky, wall or backdrop."""
    return float((input_local_std(image.unsqueeze(0)) < FLAT_STD).float().mean())


def dark_edge_count(image, reach=HALO_REACH):
    """How many edge pixels of a dark shape on a flat background a (3, H, W) image holds,
    by the halo measure's rule (artifacts.halo_samples): where the halo penalty looks."""
    return halo_samples(image.unsqueeze(0), reach, min_edges=1)[2]


class PhotoCrops:
    """Random square crops from photos scaled so their short side is `photo_size`
    (default `size * 1.15`: a crop shows most of the scene). A larger photo size
    shows the scene at the pixel scale the runtime meets (720 for 720p video):
    a wall or a sky is as many pixels wide as it will be there.
    `batch(..., size=s)` with s < size takes a square of a random side between s
    and the photo's short side and scales it to s, so smaller crops also show
    the scene at other scales. `flat_pick=k` takes each crop as the flattest of k
    random candidates (the largest share of pixels whose luminance varies less than
    FLAT_STD in a 31 px window): where droplets appear, so that the blob penalty
    sees some in more steps. `edge_pick=k` takes each crop as the one of k with the most
    edges of a dark shape on a flat background (dark_edge_count): the halo penalty only
    acts where a crop has enough of them, which plain crops of photos have about a third
    of the time. `soft_share=p` turns each picked crop into soft footage (`softened`)
    with probability p. Photos are held as bytes
    (4x less memory than floats; the same values once divided by 255)."""

    def __init__(self, paths, size, limit=None, photo_size=None):
        self.size = size
        short = int(photo_size or round(size * 1.15))
        if short < size:
            raise ValueError(f"photo size {short} is smaller than the crop size {size}")
        self.images = [TF.pil_to_tensor(TF.resize(Image.open(p).convert("RGB"), short)) for p in paths[:limit]]

    def batch(self, n, generator, size=None, flat_pick=1, edge_pick=1, edge_reach=HALO_REACH, soft_share=0.0):
        if flat_pick > 1 and edge_pick > 1:
            raise ValueError("pick crops by flatness or by dark-shape edges, not both")
        size = size or self.size
        pick, score = (edge_pick, lambda c: dark_edge_count(c, edge_reach)) if edge_pick > 1 else (flat_pick, flat_share)
        out = []
        for _ in range(n):
            candidates = [self._crop(generator, size) for _ in range(max(1, pick))]
            crop = max(candidates, key=score) if len(candidates) > 1 else candidates[0]
            if soft_share and float(torch.rand(1, generator=generator)) < soft_share:
                crop = softened(crop, generator)
            out.append(crop)
        return torch.stack(out)

    def _crop(self, generator, size):
        img = self.images[int(torch.randint(len(self.images), (1,), generator=generator))]
        _, h, w = img.shape
        side = size if size >= self.size else int(torch.randint(size, min(h, w) + 1, (1,), generator=generator))
        y = int(torch.randint(h - side + 1, (1,), generator=generator))
        x = int(torch.randint(w - side + 1, (1,), generator=generator))
        crop = img[:, y:y + side, x:x + side].float() / 255
        if side != size:
            crop = torch.nn.functional.interpolate(crop.unsqueeze(0), size=(size, size), mode="bilinear",
                                                   align_corners=False, antialias=True)[0].clamp(0, 1)
        if torch.rand(1, generator=generator) < 0.5:
            crop = crop.flip(-1)
        return crop
