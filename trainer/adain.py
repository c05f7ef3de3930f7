"""`adain`: arbitrary style in one pass (Huang & Belongie 2017), at relu4_1 of
the compact VGG19 encoder/decoder pair of Wang et al. 2020 (collab-distill
`4SE.pth`/`4SD.pth`, MIT; read from --weights, never committed).

The encoder maps an RGB image in [0, 1] to 128 compact relu4_1 channels (its
first 1x1 conv holds the colour conversion of the Caffe VGG it was distilled
from). A style is the per-channel mean and standard deviation of the
painting's features (256 numbers); AdaIN gives the content features those
statistics and the decoder paints the result. Strength blends the
painting's statistics with the frame's own (1 = the painting, 0 = the photo).
"""
import os

import torch
from torch import nn
import torch.nn.functional as F

DEFAULT_WEIGHTS = os.path.join("..", "shared", "data", "weights", "collab-distill-vgg19-16x")
FEATURES = 128
EPS = 1e-5


def _conv(cin, cout):
    return nn.Conv2d(cin, cout, 3)


class Encoder(nn.Module):
    """Compact VGG19 to relu4_1 (16x fewer FLOPs than VGG19's 512 channels)."""

    LAYERS = [("conv11", 3, 16), ("conv12", 16, 16), "pool", ("conv21", 16, 32), ("conv22", 32, 32), "pool",
              ("conv31", 32, 64), ("conv32", 64, 64), ("conv33", 64, 64), ("conv34", 64, 64), "pool",
              ("conv41", 64, FEATURES)]

    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv2d(3, 3, 1)
        for layer in self.LAYERS:
            if layer != "pool":
                name, cin, cout = layer
                setattr(self, name, _conv(cin, cout))

    def forward(self, x):
        y = self.conv0(x)
        for layer in self.LAYERS:
            if layer == "pool":
                y = F.max_pool2d(y, 2)
            else:
                y = F.relu(getattr(self, layer[0])(F.pad(y, (1, 1, 1, 1), mode="reflect")))
        return y


class Decoder(nn.Module):
    """The mirror of Encoder: nearest upsampling where the encoder pooled."""

    LAYERS = [("conv41", FEATURES, 64), "up", ("conv34", 64, 64), ("conv33", 64, 64), ("conv32", 64, 64),
              ("conv31", 64, 32), "up", ("conv22", 32, 32), ("conv21", 32, 16), "up", ("conv12", 16, 16),
              ("conv11", 16, 3)]

    def __init__(self):
        super().__init__()
        for layer in self.LAYERS:
            if layer != "up":
                name, cin, cout = layer
                setattr(self, name, _conv(cin, cout))

    def forward(self, y):
        for layer in self.LAYERS:
            if layer == "up":
                y = F.interpolate(y, scale_factor=2, mode="nearest")
            else:
                y = F.relu(getattr(self, layer[0])(F.pad(y, (1, 1, 1, 1), mode="reflect")))
        return y


def load_pair(weights_dir=DEFAULT_WEIGHTS):
    """The pretrained encoder and decoder (the encoder's 1x1 `_aux` heads, used only
    to distil it, are dropped)."""
    enc, dec = Encoder(), Decoder()
    enc_state = torch.load(os.path.join(weights_dir, "4SE.pth"), map_location="cpu")["model"]
    enc.load_state_dict({k: v for k, v in enc_state.items() if not k.endswith(("_aux.weight", "_aux.bias"))})
    dec.load_state_dict(torch.load(os.path.join(weights_dir, "4SD.pth"), map_location="cpu")["model"])
    return enc.eval(), dec.eval()


def mean_std(features):
    """Per-channel mean and std over the picture: [N, 2C] (means first)."""
    flat = features.flatten(2)
    mean = flat.mean(2)
    std = (flat.var(2, unbiased=False) + EPS).sqrt()
    return torch.cat([mean, std], 1)


def adain(content, style, strength):
    """content [N, C, h, w]; style [N, 2C]; strength [N] or scalar in [0, 1]."""
    c = content.shape[1]
    own = mean_std(content)
    target = own + (style - own) * strength.view(-1, 1)
    normalized = (content - own[:, :c, None, None]) / own[:, c:, None, None]
    return normalized * target[:, c:, None, None] + target[:, :c, None, None]


class StyleEncoder(nn.Module):
    """painting [1, 3, H, W] in [0, 1] -> style [1, 256]."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, painting):
        return mean_std(self.encoder(painting))


class Stylizer(nn.Module):
    """frame [1, 3, H, W] in [0, 1] (H, W multiples of 8), style [1, 256], strength [1] -> frame."""

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, frame, style, strength):
        return self.decoder(adain(self.encoder(frame), style, strength)).clamp(0, 1)


# ---- `python3 -m trainer adain`: measure AdaIN on the held-apart photos ------------------

def add_arguments(p):
    from .evaluate import DATA
    p.add_argument("--weights", default=DEFAULT_WEIGHTS, help="folder with 4SE.pth and 4SD.pth (collab-distill-vgg19-16x)")
    p.add_argument("--data", default=DATA)
    p.add_argument("--styles", default="candy.jpg,mosaic.jpg,udnie.jpg,the_scream.jpg,picasso_self_portrait.jpg,starry_night.jpg",
                   help="paintings in DATA/styles, comma-separated")
    p.add_argument("--strength", type=float, default=1.0)
    p.add_argument("--style-size", type=int, default=512, help="the painting's short side when its statistics are taken")
    p.add_argument("--gap-size", type=int, default=512)
    p.add_argument("--photo-size", type=int, default=256)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--out", help="write the JSON report here (default: stdout)")
    p.add_argument("--vgg", default=None, help="VGG19 tfjs weights (default DATA/weights/vgg19-tfjs)")


def run(args):
    from .data import list_images, load_image
    from .evaluate import photo_losses, style_gap, write_report
    from .vgg import load_tfjs
    if args.threads:
        torch.set_num_threads(args.threads)
    enc, dec = load_pair(args.weights)
    stylizer, style_encoder = Stylizer(enc, dec).eval(), StyleEncoder(enc).eval()
    vgg = load_tfjs(args.vgg or os.path.join(args.data, "weights", "vgg19-tfjs"))
    photos = list_images(os.path.join(args.data, "content", "samples"))
    report = {"network": "AdaIN at compact relu4_1 (collab-distill 4SE/4SD), not fine-tuned", "strength": args.strength, "styles": {}}
    for name in args.styles.split(","):
        painting = os.path.join(args.data, "styles", name)
        with torch.no_grad():
            style = style_encoder(load_image(painting, args.style_size).unsqueeze(0))

        def run_model(batch):
            with torch.no_grad():
                h, w = batch.shape[-2:]
                padded = F.pad(batch, (0, (-w) % 8, 0, (-h) % 8), mode="replicate")
                return stylizer(padded, style.expand(len(batch), -1), torch.full((len(batch),), args.strength))[..., :h, :w]

        gap = style_gap(run_model, photos, painting, vgg, args.gap_size)
        losses = photo_losses(run_model, photos, painting, vgg, args.photo_size)
        report["styles"][name] = {"style_gap_closed": gap["style_gap_closed"], "content_loss": losses["content_loss"],
                                  "style_distance_per_layer": gap["style_distance_per_layer"]}
        print(f"{name}: style gap closed {gap['style_gap_closed']:.1%}, content loss {losses['content_loss']:.3g}")
    write_report(report, args.out)
    return 0
