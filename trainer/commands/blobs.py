"""`blobs`: count the droplet artifact (docs/metrics.md) in a model's output at
720p or 1080p on held-apart photos and clip frames, with overlays; the detector
is blob_detector.py."""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

from ..blob_detector import CLIPS, IMAGE_SETS, count_on_set, frames_720, overlay, scale_of, score


def add_arguments(p):
    p.add_argument("--model", help="models/<id>.onnx, or an id from models/")
    p.add_argument("--pair", nargs=2, metavar=("INPUT", "OUTPUT"),
                   help="score one stylized image made elsewhere (another model's published output) against "
                        "its input photo, in place of --model: both scaled to --height, the output to the input's size")
    p.add_argument("--data", default=os.path.join("..", "shared", "data"), help="shared data folder")
    p.add_argument("--set", default="test", choices=sorted(IMAGE_SETS),
                   help="test: the 10 images every figure in docs is counted on (6 photos, 1 s of each clip); "
                        "check: 14 others (6 photos, 2 and 2.8 s of each clip), to check a checkpoint chosen on test")
    p.add_argument("--photos", help="held-apart photos (in DATA/content/samples), in place of the set's")
    p.add_argument("--clips", default=CLIPS, help="real clips (in DATA/videos): the set's frames of each")
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--overlays", help="write each output with its blobs outlined into this folder")
    p.add_argument("--out", help="write the JSON report here")
    p.add_argument("--update-manifest", action="store_true",
                   help="store blobs_720p and blobs_flagged_images in the model's manifest")


def save_overlay(folder, name, output_image, mask):
    """OUTPUT with its blobs outlined, as FOLDER/<name without extension>.png. A clip
    frame's name (clip.mp4@2.8s) is kept whole: its time tells the frames apart."""
    from PIL import Image
    os.makedirs(folder, exist_ok=True)
    stem = name if "@" in name else os.path.splitext(name)[0]
    Image.fromarray(overlay(output_image, mask)).save(os.path.join(folder, stem + ".png"))


def write_json(path, report):
    with open(path, "w") as f:
        f.write(json.dumps(report, indent=2) + "\n")


def score_pair(input_path, output_path, height):
    """The detector on an (input photo, stylized output) pair made elsewhere."""
    from ..data import load_image
    for path in (input_path, output_path):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"image not found: {path}")
    (name, frame), = frames_720([input_path], height)
    out = load_image(output_path).unsqueeze(0)
    out = F.interpolate(out, size=frame.shape[-2:], mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)
    a = frame[0].permute(1, 2, 0).numpy().astype(np.float32)
    b = out[0].permute(1, 2, 0).numpy().astype(np.float32)
    return score(a, b, scale_of(height)), b


def run_pair(args):
    (result, _, mask), out = score_pair(args.pair[0], args.pair[1], args.height)
    if args.overlays:
        save_overlay(args.overlays, os.path.basename(args.pair[1]), out, mask)
    if args.out:
        write_json(args.out, {"input": args.pair[0], "output": args.pair[1], "height": args.height, **result})
    print(f"{os.path.basename(args.pair[1])}: {result['blobs']} blobs at {args.height}p "
          f"({result['blobs_per_megapixel']:.1f} per megapixel) -> {'FLAGGED' if result['flagged'] else 'clean'}")
    return 0


def run(args):
    if args.pair:
        if args.model or args.update_manifest:
            raise ValueError("--pair scores an image pair: leave out --model and --update-manifest")
        return run_pair(args)
    if not args.model:
        raise ValueError("give --model (a model to run) or --pair INPUT OUTPUT (an image pair to score)")
    if args.update_manifest and (args.set != "test" or args.photos):
        raise ValueError("--update-manifest stores the count on the test set: leave out --set check and --photos")
    from ..artifacts import off_palette_share, painting_palette
    from ..data import load_image
    from ..measures import open_model, runtime_runner
    model, manifest_path, manifest, _ = open_model(args.model)
    run_model = runtime_runner(model, manifest.get("runtime", {}))
    # The same outputs measured for colours the painting lacks (docs/metrics.md, "off palette"):
    # the clip frames here include black-and-white film, where any colour is the model's.
    painting = os.path.join(args.data, "styles", manifest.get("training", {}).get("style", ""))
    palette = painting_palette(load_image(painting)) if os.path.isfile(painting) else None
    off_palette = []
    torch.set_grad_enabled(False)

    def each(name, frame, out, result, mask):
        if palette is not None:
            result["off_palette_share"] = off_palette_share(frame, out, palette)
            off_palette.append(result["off_palette_share"])
        if args.overlays:
            save_overlay(args.overlays, name, out[0].permute(1, 2, 0).numpy().astype(np.float32), mask)

    report, total, flagged = count_on_set(run_model, args.data, args.height, args.set,
                                          args.photos.split(",") if args.photos else None, args.clips, each)
    summary = {"model": model, "height": args.height, "set": args.set, "images": len(report), "flagged_images": flagged,
               "blobs": total, "flagged": flagged > 0,
               "off_palette_share": float(np.mean(off_palette)) if off_palette else None, "per_image": report}
    if args.out:
        write_json(args.out, summary)
    if args.update_manifest and manifest:
        from .. import manifest as manifests
        # 720p keeps its historic names; other heights get their own (blobs_1080p, blobs_flagged_images_1080p).
        suffix = "" if args.height == 720 else f"_{args.height}p"
        manifest.setdefault("metrics", {}).update({f"blobs_{args.height}p": total, f"blobs_flagged_images{suffix}": flagged})
        manifests.write(manifest, manifest_path)
    print(f"{os.path.basename(model)}: {total} blobs in {len(report)} images at {args.height}p, "
          f"{flagged} flagged -> {'FLAGGED' if flagged else 'clean'}"
          + (f"; off-palette colour {100 * summary['off_palette_share']:.2f}% of pixels" if off_palette else ""))
    return 0
