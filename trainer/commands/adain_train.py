"""`adain-train`: fine-tune an arbitrary-style network over many paintings at once
with the coherent-video loss, its style encoder frozen: the AdaIN
decoder (`--network adain`) or Magenta's transfer network (`--network magenta`).

The pretrained decoder of the compact pair was trained only to reconstruct
(WCT), so it paints weakly. Here it learns to paint: each step takes a batch
of photo crops, their synthetic next frames (exact flow, occlusion mask), one
painting from the training set, and minimizes, as `train` does for ReCoNet,
content (VGG relu2_2) + balanced style (VGG Gram, per-layer normalized) + TV +
output temporal (with the luminance term) + feature temporal (on the decoder's
first upsampled feature map, the first trainable one: the AdaIN features come
from the frozen encoder and carry no gradient). Paintings named in
--held-out, and their crops/variants, are never seen, so the proof pair is
measured on paintings new to the network. Checkpoints resume like `train`.

`--distill-weight` adds the released painter, frozen, as a teacher (relu2_2
feature MSE + pixel MSE in the 0-255 scale, as `train --teacher`): the
fine-tune then learns to be steady while keeping what the released network
paints, instead of re-learning to paint under our style loss (which moved
some held-out paintings' style away from the released network's).
`--teacher-style-weight` adds a softer hold: a balanced Gram loss of each
output against the teacher's output for the same frame, which keeps the
released network's style statistics but lets strokes move where the temporal
terms want them.
"""
import copy
import os
import sys

import torch

from .. import THREADS_HELP, use_threads
from .. import arbitrary
from ..data import PhotoCrops, list_images, load_image
from ..flow import synthetic_pair
from ..losses import (CONTENT_LAYER, HALO_BACKGROUND_HELP, HALO_DARK_SIDE_HELP, HALO_REACH, STYLE_LAYERS, content_loss, distillation_loss, feature_temporal_loss,
                     halo_band, halo_loss, output_temporal_loss, style_loss, style_targets, teacher_style_loss, tv_loss)
from ..loop import TrainingLoop, pick_device, resolve_settings, resume_from, start_run
from ..vgg import load_tfjs, random_vgg

HELD_OUT = "candy.jpg,the_scream.jpg,starry_night.jpg,udnie.jpg"
DEFAULTS = dict(size=256, batch=2, steps=1000, lr=1e-4, content_weight=1.0, style_weight=8e4, tv_weight=10.0,
                temporal_weight=4e6, feature_temporal_weight=2e3, distill_weight=0.0, teacher_style_weight=0.0, style_size=512, seed=1,
                checkpoint_every=25, log_every=10)


def add_arguments(p):
    p.add_argument("--run", required=True, help="run directory (checkpoint, config, log); resumes if present")
    p.add_argument("--data", default=os.path.join("..", "shared", "data"))
    p.add_argument("--network", choices=["adain", "magenta"], default="adain")
    p.add_argument("--weights", help="the pretrained pair (default: DATA/weights/collab-distill-vgg19-16x or magenta-arbitrary-tflite)")
    p.add_argument("--held-out", default=HELD_OUT, help="paintings in DATA/styles never trained on (nor their variants)")
    p.add_argument("--random-vgg", action="store_true", help="TESTS ONLY: random VGG weights and no pretrained pair")
    p.add_argument("--no-temporal", action="store_true", help="set both temporal weights to 0 (the proof pair's baseline)")
    p.add_argument("--init", help="a new run starts from this painter: an adain-train checkpoint or a shipped contract-2 "
                                  "stylizer (models/ID.onnx) of the same network (a fresh optimizer; the teacher is "
                                  "the released painter unless --teacher init)")
    p.add_argument("--teacher", default="released", choices=["released", "init"],
                   help="the painter --distill-weight and --teacher-style-weight hold the output to: the released "
                        "network, or the --init painter as it starts (held to itself while a penalty removes a flaw)")
    p.add_argument("--halo-weight", type=float, default=0.0,
                   help="weight of the halo penalty (losses.halo_loss, as `train --halo-weight`): the mean rim the "
                        "painter draws round dark shapes on flat backgrounds; 0: off")
    p.add_argument("--halo-reach", type=int, default=HALO_REACH, help="px from each dark-shape edge the halo penalty looks along")
    p.add_argument("--halo-background", default="free", choices=["free", "fixed"], help=HALO_BACKGROUND_HELP)
    p.add_argument("--halo-dark-side", default="free", choices=["free", "teacher"], help=HALO_DARK_SIDE_HELP)
    p.add_argument("--edge-pick", type=int, default=1,
                   help="take each crop as the one of this many random ones with the most dark-shape edges on a flat "
                        "background (where the halo penalty acts)")
    p.add_argument("--distill-region", default="all", choices=["all", "outside-halos"],
                   help="where distillation holds the painter to its teacher: everywhere, or everywhere but the band "
                        "the halo penalty looks at (so it does not ask for the teacher's rim again)")
    for key, value in DEFAULTS.items():
        p.add_argument("--" + key.replace("_", "-"), type=type(value), default=value)
    p.add_argument("--keep-checkpoints", action="store_true",
                   help="also keep each checkpoint as stepN.pt (without the optimizer), to measure them after")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--threads", type=int, default=0, help=THREADS_HELP)


def training_paintings(styles_dir, held_out):
    """Every painting in the folder except the held-out ones and files named after
    them (starry_night_crop.jpg is starry_night.jpg; udnie_hr.jpg is udnie.jpg)."""
    stems = [os.path.splitext(name)[0] for name in held_out]
    return [p for p in list_images(styles_dir)
            if not any(os.path.basename(p).startswith(stem) for stem in stems)]


class PaintingDecoder(torch.nn.Module):
    """The Decoder, also returning its first upsampled feature map (for the feature temporal loss)."""

    def __init__(self, decoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, y):
        feature = None
        for layer in self.decoder.LAYERS:
            if layer == "up":
                y = torch.nn.functional.interpolate(y, scale_factor=2, mode="nearest")
            else:
                y = torch.relu(getattr(self.decoder, layer[0])(torch.nn.functional.pad(y, (1, 1, 1, 1), mode="reflect")))
                if layer[0] == "conv34":
                    feature = y
        return y, feature


# Settings a run records beside DEFAULTS; a resumed run older than one of them takes this value.
RECORDED = dict(held_out=HELD_OUT, no_temporal=False, random_vgg=False, network="adain", teacher="released",
                halo_weight=0.0, halo_reach=HALO_REACH, halo_background="free", halo_dark_side="free", edge_pick=1,
                distill_region="all")


def run(args):
    use_threads(args.threads)
    device = pick_device(args.device)
    os.makedirs(args.run, exist_ok=True)
    ckpt_path = os.path.join(args.run, "checkpoint.pt")
    chosen = {k: getattr(args, k) for k in DEFAULTS}
    chosen.update(held_out=args.held_out, no_temporal=args.no_temporal, random_vgg=args.random_vgg, network=args.network,
                  teacher=args.teacher, halo_weight=args.halo_weight, halo_reach=args.halo_reach,
                  halo_background=args.halo_background, halo_dark_side=args.halo_dark_side,
                  edge_pick=args.edge_pick, distill_region=args.distill_region)
    if args.teacher == "init" and not args.init:
        raise ValueError("--teacher init needs --init (the painter to hold the output to)")
    if args.no_temporal:
        chosen["temporal_weight"] = chosen["feature_temporal_weight"] = 0.0
    network = PaintingNetwork(args.network, args.weights or os.path.join(
        args.data, "weights", "collab-distill-vgg19-16x" if args.network == "adain" else "magenta-arbitrary-tflite"), args.random_vgg)
    network.to(device)
    decoder = network.trainable_part
    teacher = network.frozen_copy()  # before any checkpoint is loaded: the released painter
    resume = torch.load(ckpt_path, map_location=device) if os.path.exists(ckpt_path) else None
    if resume is not None and resume["config"].get("network", "adain") != args.network:
        raise ValueError(f"{ckpt_path} is a {resume['config'].get('network', 'adain')} run, not {args.network}")
    config, notes = resolve_settings({**DEFAULTS, **RECORDED}, chosen, resume["config"] if resume else None)
    optimizer = torch.optim.Adam(decoder.parameters(), lr=config["lr"])
    step, history = 0, []
    if config["teacher"] == "init":
        # The painter the run started from, also when resuming (its weights are loaded over it next).
        arbitrary.load_decoder(config["init"] if resume is not None else args.init, decoder)
        teacher = network.frozen_copy()
    if resume is not None:
        step, history = resume_from(resume, decoder, "decoder", optimizer, ckpt_path, config, notes)
    elif args.init:
        init = arbitrary.load_decoder(args.init, decoder)
        if init["config"].get("network", "adain") != args.network:
            raise ValueError(f"{args.init} is a {init['config'].get('network', 'adain')} run, not {args.network}")
        config.update(init=os.path.abspath(args.init), init_step=init["step"])
        print(f"starting from {args.init} (its step {init['step']})", flush=True)
    start_run(args.run, config, sys.argv[1:])

    vgg = (random_vgg() if config["random_vgg"] else load_tfjs(os.path.join(args.data, "weights", "vgg19-tfjs"))).to(device)
    paintings = training_paintings(os.path.join(args.data, "styles"), config["held_out"].split(","))
    if not paintings:
        raise FileNotFoundError("no training paintings left after the held-out ones")
    targets, styles = [], []
    with torch.no_grad():
        for path in paintings:
            image = load_image(path, config["style_size"]).unsqueeze(0).to(device)
            targets.append(style_targets(vgg, image, [1.0]))
            styles.append(network.style(image))
    print(f"training on {len(paintings)} paintings: {', '.join(os.path.basename(p) for p in paintings)}", flush=True)
    photos = PhotoCrops(list_images(os.path.join(args.data, "content", "bsds500")), config["size"])
    w = config

    def losses(step):
        g = torch.Generator().manual_seed(w["seed"] * 1_000_003 + step)
        which = int(torch.randint(len(paintings), (1,), generator=g))
        stills = photos.batch(w["batch"], g, edge_pick=w["edge_pick"], edge_reach=w["halo_reach"])
        in_t, in_t1, flow, mask = synthetic_pair(stills.to(device), g)
        both = torch.cat([in_t, in_t1])
        n = in_t.shape[0]
        with torch.no_grad():
            in_vgg = vgg(both, (CONTENT_LAYER,))
        out, feature = network.paint(both, styles[which])
        out_vgg = vgg(out, STYLE_LAYERS + (CONTENT_LAYER,))
        terms = {
            "content": w["content_weight"] * content_loss(out_vgg, in_vgg),
            "style": w["style_weight"] * style_loss(vgg, out, targets[which], [1.0], out_vgg, "balanced"),
            "tv": w["tv_weight"] * tv_loss(out),
        }
        if w["temporal_weight"]:
            terms["temporal"] = w["temporal_weight"] * output_temporal_loss(out[:n], out[n:], in_t, in_t1, flow, mask)
        if w["feature_temporal_weight"]:
            terms["feature_temporal"] = w["feature_temporal_weight"] * feature_temporal_loss(feature[:n], feature[n:], flow, mask)
        t_out = None
        if w["distill_weight"] or w["teacher_style_weight"] or w["halo_dark_side"] == "teacher":
            with torch.no_grad():
                t_out, _ = network.paint(both, styles[which], teacher)
                t_vgg = vgg(t_out, (STYLE_LAYERS if w["teacher_style_weight"] else ()) + (CONTENT_LAYER,))
            if w["distill_weight"]:
                keep = 1 - halo_band(both, w["halo_reach"]) if w["distill_region"] == "outside-halos" else None
                terms["distill"] = w["distill_weight"] * distillation_loss(out, out_vgg, t_out, t_vgg, keep)
            if w["teacher_style_weight"]:
                terms["teacher_style"] = w["teacher_style_weight"] * teacher_style_loss(out_vgg, t_vgg)
        if w["halo_weight"]:
            terms["halo"] = w["halo_weight"] * halo_loss(out, both, w["halo_reach"],
                                                         fixed_background=w["halo_background"] == "fixed",
                                                         dark_side=t_out if w["halo_dark_side"] == "teacher" else None)
        return terms, {"painting": which}

    loop = TrainingLoop(args.run, config, decoder, optimizer,
                        lambda: {"decoder": decoder.state_dict(), "config": config,
                                 "paintings": [os.path.basename(p) for p in paintings]},
                        step, history, args.keep_checkpoints)
    return loop.run(losses)


class PaintingNetwork:
    """The frozen style encoder and the trainable painter of one arbitrary-style network."""

    def __init__(self, kind, weights, random_weights=False):
        self.kind = kind
        if kind == "magenta":
            from .. import magenta
            self.predictor, self.transfer = magenta.load_pair(weights)
            self.predictor.requires_grad_(False)
            self.trainable_part = self.transfer.trainable().train()
        else:
            if random_weights:
                torch.manual_seed(0)
                self.encoder, decoder = arbitrary.Encoder(), arbitrary.Decoder()
            else:
                self.encoder, decoder = arbitrary.load_pair(weights)
            self.encoder.eval().requires_grad_(False)
            self.trainable_part = decoder.train()
            self.painter = PaintingDecoder(decoder)

    def to(self, device):
        for module in (getattr(self, "predictor", None), getattr(self, "transfer", None), getattr(self, "encoder", None), self.trainable_part):
            if module is not None:
                module.to(device)

    def frozen_copy(self):
        """The painter as it is now, frozen (the distillation teacher)."""
        module = self.transfer if self.kind == "magenta" else self.painter
        return copy.deepcopy(module).eval().requires_grad_(False)

    def style(self, image):
        if self.kind == "magenta":
            from .. import magenta
            return magenta.predict(self.predictor, image)
        return arbitrary.StyleEncoder(self.encoder)(image)

    def paint(self, frames, style, painter=None):
        """(output, the feature map the feature temporal loss compares) at strength 1,
        by the trainable painter or by `painter` (a frozen_copy())."""
        if self.kind == "magenta":
            return (painter or self.transfer)(frames, style.view(1, -1, 1, 1).expand(len(frames), -1, -1, -1), with_feature=True)
        with torch.no_grad():
            features = arbitrary.adain(self.encoder(frames), style.expand(len(frames), -1), torch.ones(len(frames), device=frames.device))
        return (painter or self.painter)(features)
