"""`eval`: a model (ONNX, run through ONNX Runtime as the runtime runs it) ->
JSON report. Metrics are defined in docs/metrics.md:

- warping error on Middlebury pairs with ground-truth flow
- warping error on real clips, flow estimated with OpenCV DIS
- content and style loss on held-apart photos
"""
import os

import numpy as np
import torch

from .. import manifest as manifests
from ..measures import (DATA, FRAME_SIZES, PHOTOMETRIC_THRESHOLD, frame_names, middlebury, open_model, photo_losses,
                       real_clips, runtime_runner, style_gap, style_gap_at_frames, write_report)
from ..data import list_images
from ..deep_style import DEFAULT_WEIGHTS as DEEP_WEIGHTS, load_compact_vgg, random_compact_vgg
from ..vgg import load_tfjs, random_vgg


def add_arguments(p):
    p.add_argument("--model", required=True, help="models/<id>.onnx, or an id from models/")
    p.add_argument("--data", default=DATA, help="shared data folder (default ../shared/data)")
    p.add_argument("--style", help="style image (default: the manifest's training.style in DATA/styles)")
    p.add_argument("--clips", default="mdn_friday.mp4,mdn_stream_of_water.webm,webrtc_mixed_content.webm,cutBunny.mp4")
    p.add_argument("--pairs", type=int, default=8, help="consecutive frame pairs per clip")
    p.add_argument("--clip-height", type=int, default=240)
    p.add_argument("--photo-size", type=int, default=256)
    p.add_argument("--gap-size", type=int, default=512, help="square size for the style gap measure (docs/metrics.md)")
    p.add_argument("--frames", default="720p,1080p",
                   help="also measure the style gap on whole frames of these sizes (720p, 1080p; 'none' to skip), "
                        "the model run as the runtime runs it (docs/metrics.md)")
    p.add_argument("--native-short-side", type=int, default=None,
                   help="run as if the manifest's runtime.nativeShortSide were this (0: none); default: the manifest's")
    p.add_argument("--stroke-scale", type=float, default=1.0, help="the runtime's --stroke-scale (default 1)")
    p.add_argument("--skip-warping", action="store_true", help="photos only (style gap, content, style loss)")
    p.add_argument("--frames-only", action="store_true", help="only the style gap on whole frames (--frames); "
                   "with --update-manifest only those figures change")
    p.add_argument("--out", help="write the JSON report here (default: stdout)")
    p.add_argument("--update-manifest", action="store_true", help="store the metrics in models/<id>.json")
    p.add_argument("--vgg", default=os.path.join(DATA, "weights", "vgg19-tfjs"))
    p.add_argument("--random-vgg", action="store_true", help="TESTS ONLY: random VGG (losses meaningless)")
    p.add_argument("--deep-levels", nargs="?", const=DEEP_WEIGHTS, default=None, metavar="DIR",
                   help="also take the frames' style gap at relu4_1/relu5_1 of the compact VGG19 encoder "
                        "(trainer/deep_style.py; DIR holds 5SE.pth, default ../shared/data/weights/collab-distill-vgg19-16x): "
                        "deep_gap_closed_<frame>, beside the balanced figure, which stops at relu3_4")

def working_settings(runtime, args):
    native = args.native_short_side if args.native_short_side is not None else runtime.get("nativeShortSide")
    return {"native_short_side": native or None, "stroke_scale": args.stroke_scale}



def run(args):
    model, manifest_path, manifest, scale = open_model(args.model)
    runtime = manifest.get("runtime", {})
    run_model = runtime_runner(model, runtime, args.native_short_side, args.stroke_scale)
    style = args.style or os.path.join(args.data, "styles", manifest.get("training", {}).get("style", ""))
    if not os.path.isfile(style):
        raise FileNotFoundError(f"style image not found: {style} (give --style)")
    vgg = random_vgg() if args.random_vgg else load_tfjs(args.vgg)
    torch.set_grad_enabled(False)
    mb = clips = {}
    if not (args.skip_warping or args.frames_only):
        mb = middlebury(run_model, os.path.join(args.data, "flow", "middlebury"))
        clips = real_clips(run_model, os.path.join(args.data, "videos"), args.clips.split(","), args.pairs,
                           args.clip_height)
    samples = list_images(os.path.join(args.data, "content", "samples"))
    if args.frames_only:
        photos = {"content_loss": None, "style_loss": None}
        gap = {"style_gap_closed": None, "style_distance": None}
    else:
        photos = photo_losses(run_model, samples, style, vgg, args.photo_size)
        gap = style_gap(run_model, samples, style, vgg, args.gap_size)
    deep = None
    if args.deep_levels:
        deep = random_compact_vgg() if args.random_vgg else load_compact_vgg(args.deep_levels)
    at_frames = {name: style_gap_at_frames(run_model, samples, style, vgg, FRAME_SIZES[name], deep=deep)
                 for name in frame_names(args.frames)}
    mean = lambda d, k: float(np.mean([v[k] for v in d.values()])) if d else None
    metrics = {
        "warping_error_middlebury": mean(mb, "warping_error"),
        "warping_error_clips": mean(clips, "warping_error"),
        "input_warping_error_middlebury": mean(mb, "input_warping_error"),
        "input_warping_error_clips": mean(clips, "input_warping_error"),
        "content_loss": photos["content_loss"],
        "style_loss": photos["style_loss"],
        "style_gap_closed": gap["style_gap_closed"],
        "style_distance": gap["style_distance"],
        **{f"style_gap_closed_{name}": g["style_gap_closed"] for name, g in at_frames.items()},
        **{f"deep_gap_closed_{name}": g["deep_gap_closed"] for name, g in at_frames.items() if deep is not None},
        **{f"{key}_{name}": g[key] for name, g in at_frames.items()
           for key in ("checkerboard_levels", "colour_chroma_kept", "colour_hue_shift_deg", "off_palette_share",
                       "halo_width_px", "edge_contrast_kept")},
    }
    report = {"model": model, "style_image": os.path.basename(style), "metrics": metrics,
              "middlebury": mb, "clips": clips, "photos": photos,
              "style_gap": gap, "style_gap_frames": at_frames,
              "settings": {"model_scale": scale, **working_settings(runtime, args), "clip_height": args.clip_height, "pairs": args.pairs, "photo_size": args.photo_size,
                           "gap_size": args.gap_size,
                           "flow": "OpenCV DIS medium", "photometric_threshold": PHOTOMETRIC_THRESHOLD}}
    write_report(report, args.out)
    if args.update_manifest and manifest:
        manifest.setdefault("metrics", {}).update({k: v for k, v in metrics.items() if v is not None})
        if args.frames_only:
            manifest["metrics"]["frames_settings"] = {"frames": frame_names(args.frames), "measure_size": 512,
                                                      "photos": "content/samples enlarged to cover the frame, centre-cropped",
                                                      "checkerboard": "at the size the model ran at",
                                                      "model_scale": scale,
                                                      **working_settings(runtime, args)}
        else:
            manifest["metrics"]["eval_settings"] = report["settings"]
        manifests.write(manifest, manifest_path)
    return 0
