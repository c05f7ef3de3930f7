"""`adain`: measure an arbitrary-style network (the AdaIN pair, Magenta's, MicroAST)
on the held-apart photos (style gap, content loss, warping error), or --export it
as a contract-2 pair (stylizer + style encoder). The networks are in arbitrary.py.
"""
import json
import os

import torch

from .. import magenta, microast
from ..arbitrary import StyleEncoder, Stylizer, export_arbitrary, load_decoder, load_pair


def add_arguments(p):
    from ..measures import DATA
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
                        "runtime.nativeShortSide), enlarged to the frame as the runtime does; default: at the frame's size. "
                        "With --export: written to the manifest as runtime.nativeShortSide")
    p.add_argument("--blobs", action="store_true",
                   help="with --frames: also count blobs (docs/metrics.md) per painting on the 10 test images at each frame height")
    p.add_argument("--stroke-scale", type=float, default=1.0, help="with --frames: the runtime's --stroke-scale")
    p.add_argument("--clips", default="mdn_friday.mp4,mdn_stream_of_water.webm,webrtc_mixed_content.webm,cutBunny.mp4",
                   help="clips in DATA/videos for --warping (the same as `eval`'s)")
    p.add_argument("--title", help="display name of the exported model")
    p.add_argument("--recipe", help="with --export: the recipe (trainer/recipes/ID.json) this model was built by, "
                   "recorded in its manifest as its lineage")
    p.add_argument("--baseline", metavar="JSON", help="a report of the released network (e.g. bench/results/magenta.json): "
                   "print the proof pair against it (style kept, warping cut), per painting")
    p.add_argument("--compare", metavar="JSON[,JSON]", help="with --baseline: judge these saved reports instead of measuring "
                   "(with --update-manifest: store their means)")


# What --frames measures at each frame size, per painting (docs/metrics.md); the manifest keeps their means.
FRAME_FIGURES = ("style_gap_closed", "halo_width_px", "edge_contrast_kept", "colour_chroma_kept", "checkerboard_levels")


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
        from ..data import centre_square, list_images
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
        if args.update_manifest:
            store_means(args.update_manifest, after, ",".join(after), args.strength)
        return 0
    from ..data import list_images, load_image
    from ..blob_detector import count_on_set
    from ..measures import FRAME_SIZES, frame_names, photo_losses, style_gap, style_gap_at_frames, write_report
    from ..sizing import run_scaled, working_scale
    from ..vgg import load_tfjs
    if args.threads:
        torch.set_num_threads(args.threads)
    stylizer, style_encoder, description, network, fine_tune = build_pair(args)
    if args.export:
        extra = {"title": args.title or args.export, "network": network,
                 # fast preset without a fast variant: keeps 640x360 at >= 30 fps end to end on 2 cores (docs/arbitrary-style.md)
                 "runtime": {"fastModelScale": {"adain": 0.375, "microast": 1.0}.get(args.network, 0.5),
                             **({"nativeShortSide": args.native_short_side} if args.native_short_side else {})},
                 "credits": credits_for(args.network, fine_tune)}
        if fine_tune:
            extra["training"] = {**fine_tune["config"], "steps_done": fine_tune["step"], "paintings": fine_tune.get("paintings")}
        if args.recipe:
            from .. import lineage
            built_by = lineage.load(args.recipe)
            extra["lineage"] = lineage.lineage(built_by)
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
            at_frame = style_gap_at_frames(run_at_working_size, photos, painting, vgg, FRAME_SIZES[frame])
            for key in FRAME_FIGURES + ("halo_profile_levels",):
                entry[f"{key}_{frame}"] = at_frame[key]
            if args.blobs:
                per_image, total, flagged = count_on_set(run_at_working_size, args.data, FRAME_SIZES[frame][1])
                entry[f"blobs_{frame}"], entry[f"blobs_flagged_images_{frame}"] = total, flagged
                entry[f"blobs_per_image_{frame}"] = {name: r["blobs"] for name, r in per_image.items()}
        if args.warping:
            from ..measures import middlebury, real_clips
            with torch.no_grad():
                mb = middlebury(run_model, os.path.join(args.data, "flow", "middlebury"))
                clips = real_clips(run_model, os.path.join(args.data, "videos"), args.clips.split(","), 8, 240)
            mean = lambda d: sum(v["warping_error"] for v in d.values()) / max(len(d), 1)
            entry.update(warping_error_middlebury=mean(mb), warping_error_clips=mean(clips))
        report["styles"][name] = entry
        warping = (f", warping error {entry['warping_error_middlebury']:.5f} (Middlebury) / {entry['warping_error_clips']:.5f} (clips)"
                   if args.warping else "")
        frames = "".join(f", at {f} {entry[f'style_gap_closed_{f}']:.1%} (halo {entry[f'halo_width_px_{f}']} px, "
                         f"edge contrast {entry[f'edge_contrast_kept_{f}'] or float('nan'):.2f}"
                         + (f", {entry[f'blobs_{f}']} blobs in {entry[f'blobs_flagged_images_{f}']} flagged images"
                            if args.blobs else "") + ")"
                         for f in frame_names(args.frames))
        print(f"{name}: style gap closed {gap['style_gap_closed']:.1%}{frames}, content loss {losses['content_loss']:.3g}{warping}", flush=True)
    write_report(report, args.out)
    if args.baseline:
        print_proof_pair(report["styles"], json.load(open(args.baseline))["styles"])
    if args.update_manifest:
        store_means(args.update_manifest, report["styles"], args.styles, args.strength)
    return 0


def store_means(manifest_path, styles, paintings, strength):
    """The means over the measured paintings, in a contract-2 manifest's metrics."""
    from ..measures import FRAME_SIZES
    from .. import manifest as manifests
    measured = styles.values()
    keys = ["style_gap_closed", "content_loss", "warping_error_middlebury", "warping_error_clips"] + [
        f"{key}_{frame}" for frame in FRAME_SIZES for key in FRAME_FIGURES + ("blobs",)]
    means = {key: sum(m[key] for m in measured) / len(measured) for key in keys
             if all(m.get(key) is not None for m in measured)}
    # One flagged image under any painting is a flag, as for a trained style.
    for frame in FRAME_SIZES:
        if all(f"blobs_flagged_images_{frame}" in m for m in measured):
            means[f"blobs_flagged_paintings_{frame}"] = sum(m[f"blobs_flagged_images_{frame}"] > 0 for m in measured)
    with open(manifest_path) as f:
        metrics = dict(json.load(f).get("metrics", {}), **means, metrics_paintings=paintings, metrics_strength=strength)
    manifests.update(manifest_path, metrics=metrics)
    print(f"stored {', '.join(means)} in {manifest_path}")
