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
import json
import os

import torch
from torch import nn
import torch.nn.functional as F

from . import magenta, microast

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
    """frame [1, 3, H, W] in [0, 1], style [1, 2C], strength [1] -> frame [1, 3, H, W].
    The frame is padded to a multiple of 8 (the encoder pools three times) by
    repeating its edges, and the output cropped back, inside the graph."""

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, frame, style, strength):
        h, w = frame.shape[-2], frame.shape[-1]
        padded = F.pad(frame, [0, (8 - w % 8) % 8, 0, (8 - h % 8) % 8], mode="replicate")
        return self.decoder(adain(self.encoder(padded), style, strength)).clamp(0, 1)[..., :h, :w]


class ColourStatistics(nn.Module):
    """The features are the pixels themselves: as the encoder and the decoder of a
    Stylizer, AdaIN becomes colour-statistics transfer (Reinhard et al. 2001). A
    baseline, and the runtime tests' fixture: its effect is known exactly (the
    output's per-channel mean moves to the painting's as strength goes to 1)."""

    def forward(self, x):
        return x + 0.0  # a node of its own, so the ONNX graph keeps distinct input and output names


# ---- export: the model contract's second form (docs/model-contract.md) -------------------

def _declare_image_output(path):
    """The in-graph crop leaves the output's declared shape to the exporter's guesses
    (a symbolic channel count); declare what it is: [1, 3, height, width]."""
    import onnx
    model = onnx.load(path)
    dims = model.graph.output[0].type.tensor_type.shape.dim
    dims[0].dim_value, dims[1].dim_value = 1, 3
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    onnx.checker.check_model(model)
    onnx.save(model, path)


def export_arbitrary(stylizer, style_encoder, out_dir, model_id, extra, painting_size=512, check=True):
    """models/<id>.onnx (frame, style, strength -> frame) + models/<id>.style.onnx
    (painting -> style) + a contract-2 manifest; both graphs checked against
    PyTorch through onnxruntime-node before the manifest is written."""
    import numpy as np
    from . import manifest as manifests
    from .onnx_files import OPSET, PARITY_TOLERANCE, count_params, ort_run, sha256
    os.makedirs(out_dir, exist_ok=True)
    stylizer, style_encoder = stylizer.eval(), style_encoder.eval()
    g = torch.Generator().manual_seed(0)
    painting = torch.rand(1, 3, 72, 88, generator=g)
    with torch.no_grad():
        style = style_encoder(painting)
    style_length = style.shape[1]
    stylizer_path = os.path.join(out_dir, f"{model_id}.onnx")
    encoder_path = os.path.join(out_dir, f"{model_id}.style.onnx")
    dims = {2: "height", 3: "width"}
    with torch.no_grad():
        torch.onnx.export(stylizer, (torch.rand(1, 3, 64, 96), style, torch.ones(1)), stylizer_path + ".tmp",
                          input_names=["input", "style", "strength"], output_names=["output"],
                          dynamic_axes={"input": dims, "output": dims}, opset_version=OPSET)
        torch.onnx.export(style_encoder, (painting,), encoder_path + ".tmp", input_names=["painting"],
                          output_names=["style"], dynamic_axes={"painting": dims}, opset_version=OPSET)
    _declare_image_output(stylizer_path + ".tmp")
    os.replace(stylizer_path + ".tmp", stylizer_path)
    os.replace(encoder_path + ".tmp", encoder_path)
    parity = None
    if check:
        frame = torch.rand(1, 3, 68, 124, generator=g)  # not a multiple of 8: the in-graph padding is exercised
        strength = torch.tensor([0.7])
        with torch.no_grad():
            expected_frame = stylizer(frame, style, strength).numpy()
        got_style = ort_run(encoder_path, painting.numpy(), out_shape=tuple(style.shape))
        got_frame = ort_run(stylizer_path, frame.numpy(), {"style": style.numpy(), "strength": strength.numpy()})
        parity = max(float(np.abs(style.numpy() - got_style).max() / max(1.0, float(style.abs().max()))),
                     float(np.abs(expected_frame - got_frame).max()))
        if parity > PARITY_TOLERANCE:
            for path in (stylizer_path, encoder_path):
                os.remove(path)
            raise RuntimeError(f"ONNX Runtime differs from PyTorch by {parity:.2e} (tolerance {PARITY_TOLERANCE:.0e}); export removed")
    manifest = {
        "id": model_id, "title": model_id, "contract": manifests.ARBITRARY_STYLE, "file": f"{model_id}.onnx",
        "sha256": sha256(stylizer_path), "listed": True,
        "arbitrary": {"encoder": f"{model_id}.style.onnx", "styleLength": int(style_length), "paintingSize": painting_size,
                      "encoderSha256": sha256(encoder_path)},
        "network": {"arch": "adain", "parameters": count_params(stylizer)},
        "export": {"opset": OPSET, "torch": torch.__version__, "precision": "fp32",
                   "parity_max_abs_diff": parity, "parity_tolerance": PARITY_TOLERANCE},
        "metrics": {},
    }
    manifest.update(extra)
    manifests.write(manifest, os.path.join(out_dir, f"{model_id}.json"))
    return stylizer_path, manifest


# ---- `python3 -m trainer adain`: measure AdaIN on the held-apart photos ------------------

def load_decoder(checkpoint, decoder):
    """A fine-tuned painter's weights into `decoder` (the AdaIN decoder or Magenta's transfer
    network; for `adain --decoder` and export)."""
    state = torch.load(checkpoint, map_location="cpu")
    decoder.load_state_dict(state["decoder"])
    return state


def add_arguments(p):
    from .measures import DATA
    p.add_argument("--network", choices=["adain", "magenta", "microast"], default="adain",
                   help="adain: AdaIN with the compact VGG19 pair; magenta: Ghiasi et al.'s pair rebuilt from TFLite; "
                        "microast: Wang et al.'s MicroAST (no VGG at run time)")
    p.add_argument("--weights", help="adain: folder with 4SE.pth and 4SD.pth (default DATA/weights/collab-distill-vgg19-16x); "
                   "magenta: folder with the two .tflite files and schema.fbs (default DATA/weights/magenta-arbitrary-tflite); "
                   "microast: folder with the four *_iter_160000.pth.tar files (default DATA/weights/microast)")
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
    p.add_argument("--export", metavar="ID", help="instead of measuring, export the pair as models/ID.onnx + ID.style.onnx "
                   "(contract 2). Made from the shared weights alone it repackages them: keep it out of git")
    p.add_argument("--out-dir", default="models", help="where --export writes")
    p.add_argument("--update-manifest", metavar="JSON", help="store the means of the measured figures in this contract-2 manifest's metrics")
    p.add_argument("--decoder", help="a fine-tuned painter (adain-train's checkpoint.pt: AdaIN decoder or Magenta transfer "
                   "network, matching --network) instead of the pretrained one")
    p.add_argument("--warping", action="store_true", help="also measure warping error (Middlebury, real clips) per painting")
    p.add_argument("--frames", default="720p,1080p",
                   help="also measure the style gap with the network run on whole frames of these sizes (720p, 1080p; 'none' "
                        "to skip), as `eval` does (docs/metrics.md)")
    p.add_argument("--native-short-side", type=int, default=None,
                   help="with --frames: run the network on whole frames at this short side (the runtime's working size, "
                        "runtime.nativeShortSide), enlarged to the frame as the runtime does; default: at the frame's size")
    p.add_argument("--stroke-scale", type=float, default=1.0, help="with --frames: the runtime's --stroke-scale")
    p.add_argument("--clips", default="mdn_friday.mp4,mdn_stream_of_water.webm,webrtc_mixed_content.webm,cutBunny.mp4",
                   help="clips in DATA/videos for --warping (the same as `eval`'s)")
    p.add_argument("--title", help="display name of the exported model")
    p.add_argument("--recipe", help="with --export: the recipe (trainer/recipes/ID.json) this model was built by, "
                   "recorded in its manifest as its lineage")
    p.add_argument("--baseline", metavar="JSON", help="a report of the released network (e.g. bench/results/magenta.json): "
                   "print the proof pair against it (style kept, warping cut), per painting")
    p.add_argument("--compare", metavar="JSON[,JSON]", help="with --baseline: judge these saved reports instead of measuring")


def build_pair(args):
    """(stylizer, style encoder, description, manifest network entry, fine-tune checkpoint or None) for --network."""
    if args.network == "microast":
        if args.decoder:
            raise ValueError("--decoder: MicroAST is measured as released (no fine-tune of it exists yet)")
        stylizer, style_encoder = microast.load_pair(args.weights or os.path.join(args.data, "weights", "microast"))
        network = {"arch": "microast", "parameters": sum(p.numel() for p in stylizer.parameters()),
                   "weights": "MicroAST (Wang et al., AAAI 2023, MIT), released iteration 160000, as released"}
        return stylizer, style_encoder, "MicroAST (Wang et al. 2023), as released", network, None
    if args.network == "magenta":
        predictor, transfer = magenta.load_pair(args.weights or os.path.join(args.data, "weights", "magenta-arbitrary-tflite"))
        fine_tune = None
        if args.decoder:
            fine_tune = load_decoder(args.decoder, transfer)
        from .data import centre_square, list_images
        photos = [centre_square(p, magenta.PREDICTOR_SIZE) for p in list_images(os.path.join(args.data, "content", "samples"))]
        stylizer = magenta.Stylizer(transfer, magenta.photo_vector(predictor, photos)).eval()
        network = {"arch": "magenta", "parameters": sum(p.numel() for p in stylizer.parameters()),
                   "weights": "Magenta arbitrary image stylization, TFLite release (Ghiasi et al. 2017, Apache-2.0), "
                              "style predictor int8 (run in float), frozen",
                   "transfer": ("fine-tuned here with the coherent-video loss" if fine_tune else "the released fp16 transfer network"),
                   "strength": "blends with the mean vector of the 12 sample photos (fixed, not per frame)"}
        description = "Magenta (Ghiasi et al.) rebuilt from TFLite, " + (
            f"transfer network fine-tuned ({args.decoder}, step {fine_tune['step']})" if fine_tune else "as released")
        return stylizer, magenta.StyleEncoder(predictor).eval(), description, network, fine_tune
    enc, dec = load_pair(args.weights or os.path.join(args.data, "weights", "collab-distill-vgg19-16x"))
    fine_tune = None
    if args.decoder:
        fine_tune = load_decoder(args.decoder, dec)
    stylizer = Stylizer(enc, dec).eval()
    network = {"arch": "adain", "level": "compact relu4_1", "parameters": sum(p.numel() for p in stylizer.parameters()),
               "encoder": "collab-distill-vgg19-16x 4SE (Wang et al. 2020, MIT), frozen",
               "decoder": ("fine-tuned here from 4SD with the coherent-video loss" if fine_tune
                           else "collab-distill-vgg19-16x 4SD (MIT), not fine-tuned")}
    description = "AdaIN at compact relu4_1 (collab-distill 4SE/4SD), " + (
        f"decoder fine-tuned ({args.decoder}, step {fine_tune['step']})" if fine_tune else "not fine-tuned")
    return stylizer, StyleEncoder(enc).eval(), description, network, fine_tune


MAGENTA_CREDITS = [
    {"part": "style encoder", "work": "Magenta arbitrary image stylization: style predictor (TensorFlow Lite release, "
     "style_predict_quantized_256.tflite), run in float", "authors": "Ghiasi, Lee, Kudlur, Dumoulin, Shlens (Google), 2017",
     "licence": "Apache-2.0", "licenceFile": "LICENSES/Apache-2.0.txt",
     "source": "tensorflow.org/lite/models/style_transfer, through github.com/terryky/tflite_gles_app (MIT)",
     "changes": "rebuilt in PyTorch from the TFLite graph and exported to ONNX (fp32); otherwise unchanged"},
    {"part": "stylizer", "work": "Magenta arbitrary image stylization: style transfer network (style_transfer_f16_384.tflite)",
     "authors": "Ghiasi, Lee, Kudlur, Dumoulin, Shlens (Google), 2017", "licence": "Apache-2.0",
     "licenceFile": "LICENSES/Apache-2.0.txt",
     "source": "tensorflow.org/lite/models/style_transfer, through github.com/terryky/tflite_gles_app (MIT)",
     "changes": "rebuilt in PyTorch and exported to ONNX (fp32); strength blends with a fixed mean vector"},
]
ADAIN_CREDITS = [
    {"part": "style encoder and stylizer", "work": "Collaborative distillation, compact VGG19 encoder/decoder to relu4_1 (4SE, 4SD)",
     "authors": "Wang, Li, Wang, Wang (CVPR 2020)", "licence": "MIT", "licenceFile": "LICENSES/MIT-collaborative-distillation.txt",
     "source": "github.com/MingSun-Tse/Collaborative-Distillation", "changes": "exported to ONNX with AdaIN between them"},
]


MICROAST_CREDITS = [
    {"part": "style encoder and stylizer", "work": "MicroAST: content encoder, style encoder, modulator, decoder "
     "(models/*_iter_160000.pth.tar)", "authors": "Wang, Zhao, Chen, Zuo, Li, Lu (AAAI 2023)", "licence": "MIT",
     "licenceFile": "LICENSES/MIT-MicroAST.txt", "source": "github.com/EndyWon/MicroAST (commit 5a6c905)",
     "changes": "rebuilt in PyTorch (trainer/microast.py), the painting's effect gathered into one 512-number vector, "
                "exported to ONNX"},
]


def credits_for(network, fine_tune, recipe=None):
    """The manifest's credits for an exported pair: whose weights, their licence, what was changed."""
    credits = [dict(c) for c in {"magenta": MAGENTA_CREDITS, "microast": MICROAST_CREDITS}.get(network, ADAIN_CREDITS)]
    if recipe:
        steps = sum(s["args"].get("steps", 0) for s in recipe["stages"] if s["command"].endswith("train"))
        credits[-1]["changes"] += (f"; fine-tuned by stylecast with the coherent-video loss ({steps} steps in "
                                   f"{len(recipe['stages']) - 1} stages: trainer/recipes/{recipe['id']}.json)")
    elif fine_tune:
        credits[-1]["changes"] += f"; fine-tuned by stylecast with the coherent-video loss ({fine_tune['step']} steps)"
    return credits


PROOF_WARPING_DROP = 0.30  # warping error at least 30% lower (Middlebury and clips)
PROOF_STYLE_SLACK = 0.10  # style distance at most 10% higher


def proof_pair(after, before):
    """The proof pair of a steady fine-tune, per painting in `after` (report["styles"] of the fine-tune,
    `before` the released network's): the style distance change is
    (1 - gap after) / (1 - gap before) - 1, the mean distance being (1 - gap) times the
    photos' own. Returns (rows, every painting met)."""
    rows = []
    for name, a in after.items():
        if name not in before:
            raise ValueError(f"the baseline has no figures for {name}")
        b = before[name]
        row = {"painting": name, "gap_before": b["style_gap_closed"], "gap_after": a["style_gap_closed"],
               "style_distance_change": (1 - a["style_gap_closed"]) / (1 - b["style_gap_closed"]) - 1}
        for key in ("middlebury", "clips"):
            k = "warping_error_" + key
            if k not in a or k not in b:
                raise ValueError(f"{name}: warping error missing (measure with --warping)")
            row["warping_change_" + key] = a[k] / b[k] - 1
        row["met"] = (row["style_distance_change"] <= PROOF_STYLE_SLACK
                      and row["warping_change_middlebury"] <= -PROOF_WARPING_DROP
                      and row["warping_change_clips"] <= -PROOF_WARPING_DROP)
        rows.append(row)
    return rows, bool(rows) and all(r["met"] for r in rows)


def print_proof_pair(after, before):
    rows, met = proof_pair(after, before)
    for r in rows:
        print(f"  {r['painting']}: style gap {r['gap_before']:.1%} -> {r['gap_after']:.1%}, style distance "
              f"{r['style_distance_change']:+.1%}, warping {r['warping_change_middlebury']:+.1%} (Middlebury) / "
              f"{r['warping_change_clips']:+.1%} (clips): {'met' if r['met'] else 'not met'}")
    print(f"proof pair (warping -{PROOF_WARPING_DROP:.0%} on both sets, style distance at most +{PROOF_STYLE_SLACK:.0%}, "
          f"every painting): {'met' if met else 'not met'} (met on {sum(r['met'] for r in rows)} of {len(rows)} paintings)")
    return met


def run(args):
    if args.compare:
        if not args.baseline:
            raise ValueError("--compare needs --baseline")
        before = json.load(open(args.baseline))["styles"]
        after = {}
        for path in args.compare.split(","):
            after.update(json.load(open(path))["styles"])
        print_proof_pair(after, before)
        return 0
    from .data import list_images, load_image
    from .measures import FRAME_SIZES, frame_names, photo_losses, style_gap, style_gap_at_frames, write_report
    from .sizing import run_scaled, working_scale
    from .vgg import load_tfjs
    if args.threads:
        torch.set_num_threads(args.threads)
    stylizer, style_encoder, description, network, fine_tune = build_pair(args)
    if args.export:
        extra = {"title": args.title or args.export, "network": network,
                 # fast preset without a fast variant: keeps 640x360 at >= 30 fps end to end on 2 cores (docs/arbitrary-style.md)
                 "runtime": {"fastModelScale": {"adain": 0.375, "microast": 1.0}.get(args.network, 0.5)},
                 "credits": credits_for(args.network, fine_tune)}
        if fine_tune:
            extra["training"] = {**fine_tune["config"], "steps_done": fine_tune["step"], "paintings": fine_tune.get("paintings")}
        if args.recipe:
            from . import recipe
            built_by = recipe.load(args.recipe)
            extra["lineage"] = recipe.lineage(built_by)
            extra["credits"] = credits_for(args.network, fine_tune, built_by)
        painting_size = magenta.PREDICTOR_SIZE if args.network == "magenta" else args.style_size
        path, _ = export_arbitrary(stylizer, style_encoder, args.out_dir, args.export, extra, painting_size=painting_size)
        print(f"exported {path} and its style encoder (contract 2)")
        return 0
    vgg = load_tfjs(args.vgg or os.path.join(args.data, "weights", "vgg19-tfjs"))
    photos = list_images(os.path.join(args.data, "content", "samples"))
    report = {"network": description, "strength": args.strength, "styles": {},
              "frames_settings": {"native_short_side": args.native_short_side, "stroke_scale": args.stroke_scale}}
    for name in args.styles.split(","):
        painting = os.path.join(args.data, "styles", name)
        with torch.no_grad():
            style = style_encoder(load_image(painting, args.style_size).unsqueeze(0))

        def run_model(batch):
            with torch.no_grad():
                return stylizer(batch, style.expand(len(batch), -1), torch.full((len(batch),), args.strength))

        gap = style_gap(run_model, photos, painting, vgg, args.gap_size)
        losses = photo_losses(run_model, photos, painting, vgg, args.photo_size)
        entry = {"style_gap_closed": gap["style_gap_closed"], "content_loss": losses["content_loss"],
                 "style_distance_per_layer": gap["style_distance_per_layer"]}
        def run_at_working_size(frames):
            h, w = frames.shape[-2:]
            return run_scaled(run_model, frames, working_scale(h, w, 1.0, args.native_short_side, args.stroke_scale))

        for frame in frame_names(args.frames):
            entry[f"style_gap_closed_{frame}"] = style_gap_at_frames(run_at_working_size, photos, painting, vgg,
                                                                      FRAME_SIZES[frame])["style_gap_closed"]
        if args.warping:
            from .measures import middlebury, real_clips
            with torch.no_grad():
                mb = middlebury(run_model, os.path.join(args.data, "flow", "middlebury"))
                clips = real_clips(run_model, os.path.join(args.data, "videos"), args.clips.split(","), 8, 240)
            mean = lambda d: sum(v["warping_error"] for v in d.values()) / max(len(d), 1)
            entry.update(warping_error_middlebury=mean(mb), warping_error_clips=mean(clips))
        report["styles"][name] = entry
        warping = (f", warping error {entry['warping_error_middlebury']:.5f} (Middlebury) / {entry['warping_error_clips']:.5f} (clips)"
                   if args.warping else "")
        frames = "".join(f", at {f} {entry[f'style_gap_closed_{f}']:.1%}" for f in frame_names(args.frames))
        print(f"{name}: style gap closed {gap['style_gap_closed']:.1%}{frames}, content loss {losses['content_loss']:.3g}{warping}", flush=True)
    write_report(report, args.out)
    if args.baseline:
        print_proof_pair(report["styles"], json.load(open(args.baseline))["styles"])
    if args.update_manifest:
        from . import manifest as manifests
        measured = report["styles"].values()
        means = {key: sum(m[key] for m in measured) / len(measured)
                 for key in ("style_gap_closed", "style_gap_closed_720p", "style_gap_closed_1080p", "content_loss",
                             "warping_error_middlebury", "warping_error_clips")
                 if all(key in m for m in measured)}
        with open(args.update_manifest) as f:
            metrics = dict(json.load(f).get("metrics", {}), **means,
                           metrics_paintings=args.styles, metrics_strength=args.strength)
        manifests.update(args.update_manifest, metrics=metrics)
        print(f"stored {', '.join(means)} in {args.update_manifest}")
    return 0
