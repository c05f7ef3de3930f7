"""`train`: style image + content folder -> resumable checkpoints."""
import os
import sys

import torch
import torch.nn.functional as F

from .. import THREADS_HELP, reconet, use_threads
from ..artifacts import painting_palette, recoloured
from ..blob_detector import blob_masks
from ..deep_style import DEEP_LEVELS, DEFAULT_WEIGHTS as DEEP_WEIGHTS, load_compact_vgg, random_compact_vgg
from ..data import PhotoCrops, list_images, load_image
from ..flow import synthetic_pair, with_noise
from ..loop import TrainingLoop, pick_device, resolve_settings, resume_from, start_run
from ..sizing import model_size
from ..losses import (CONTENT_LAYER, HALO_BACKGROUND_HELP, HALO_DARK_SIDE_HELP, HALO_FREE_PX, HALO_REACH, STYLE_LAYERS, blob_loss, blob_residual, content_loss, distillation_loss,
                     feature_temporal_loss, gram, gram_term, halo_band, halo_loss, input_local_std, output_temporal_loss, style_loss,
                     style_targets, teacher_colour_loss, teacher_style_loss, teacher_tone_loss, tv_loss)
from ..vgg import load_tfjs, random_vgg

DEFAULTS = dict(
    width=48, blocks=4, size=160, batch=2, steps=2000, lr=1e-3,
    content_weight=1.0, style_weight=0.01, tv_weight=10.0,
    temporal_weight=2e6, feature_temporal_weight=1e3,
    style_scales="1.0,0.1", style_size=256, style_norm="sum", sizes="", seed=1, checkpoint_every=50, log_every=10,
    blob_weight=0.0, blob_margin=0.06, blob_target="flat", blob_flat_limit=0.05, input_noise=0.0, photo_size=0,
    halo_weight=0.0, halo_reach=HALO_REACH, halo_target="none", halo_free_px=HALO_FREE_PX, halo_background="free",
    halo_dark_side="free",
    flat_pick=1, edge_pick=1, soft_share=0.0,
    train_only="all",
)

HELP = {
    "style_size": "the painting's short side when its Gram targets are taken: it sets how large the network "
                  "paints the painting's shapes (the style gap measure compares at 512; each shipped model's "
                  "manifest records the size it was trained at)",
    "style_norm": "per-layer Gram loss: sum (plain MSE, relu3_4 dominates) or balanced (each layer relative "
                  "to its target's norm; use style weights around 5e4)",
    "blob_weight": "weight of the blob penalty (losses.blob_loss: colour no local mapping of the input "
                   "explains, on flat input, beyond --blob-margin; the droplet detector's residual); 0: off",
    "blob_target": "where the blob penalty acts: flat (all flat input) or detected (only inside the blobs "
                   "the detector finds on this step's output, dilated: strokes and swirls are left alone)",
    "blob_flat_limit": "input local std (luminance, 31 px window) at which the blob penalty fades to 0, "
                       "linearly from full on flat input. The detector counts a blob whose input std "
                       "averages under 0.05, so at 0.05 the penalty is weak on the half-flat input (std "
                       "0.03-0.05: dark panels, shaded walls) where the detector still counts; 0.1 covers it",
    "halo_weight": "weight of the halo penalty (losses.halo_loss: the mean rim around dark shapes on flat "
                   "backgrounds beyond 2 px from the edge, the `eval` halo measure made a loss); 0: off",
    "halo_reach": "px from each dark-shape edge the halo penalty looks along, at the network's output size. "
                  "The last 6 are the far background the rim is measured against, so a band that far out "
                  "is not penalised: reach past it (30 in the fast variants trained with it)",
    "halo_target": "the edge profile the halo penalty holds the output to: none (no rim at all: the output as "
                   "flat as the input beside each edge) or teacher (the teacher's own mean profile on the same "
                   "edges, e.g. a dark lead line on the edge where the student paints a pale band; needs --teacher)",
    "halo_background": HALO_BACKGROUND_HELP,
    "halo_dark_side": HALO_DARK_SIDE_HELP,
    "halo_free_px": "px next to each edge the halo penalty leaves alone (the edge itself may be softer or sharper "
                    "than the input's); 0 with --halo-target teacher holds the lead line too",
    "train_only": "which weights the run changes: all, or decoder (the encoder and residual blocks frozen: "
                  "the features that carry the painting's content and the feature-temporal term stay as they "
                  "are while the penalties reshape how the decoder paints them)",
    "blob_margin": "residual (RGB distance) the blob penalty tolerates; the detector marks 0.12",
    "input_noise": "standard deviation (on [0, 1]) of Gaussian noise added to each frame the network sees, "
                   "drawn anew for each frame of a pair (sensor noise, film grain); every loss compares "
                   "against the clean frames, so the network learns not to paint the noise or let it "
                   "flicker; 0: off",
    "photo_size": "short side (px) the content photos are scaled to before cropping; 0: 1.15 x the "
                  "largest crop, so a crop shows most of the scene. 720 shows scenes at 720p video's pixel "
                  "scale: flat walls and skies as wide as the runtime meets them (where blobs appear)",
    "flat_pick": "take each crop as the flattest of this many random ones (the largest share of sky, wall "
                 "or backdrop by the blob detector's flatness): the blob penalty acts there, so it sees "
                 "droplets in more steps (it does not add dark-shape edges for the halo penalty); "
                 "1: plain random crops",
    "edge_pick": "take each crop as the one of this many random ones with the most edges of a dark shape "
                 "on a flat background (where the halo penalty looks; about a third of plain crops have "
                 "enough for it to act): the halo penalty acts in more steps; not with --flat-pick; "
                 "1: plain random crops",
    "soft_share": "share of crops turned into soft footage (grey half the time, blurred 0.8-2 px, contrast scaled "
                  "by 0.6-1: old film, low-light webcams, small clips enlarged), where the blob detector counts "
                  "strokes painted on smooth input as droplets; 0: off",
    "sizes": "comma-separated crop sizes to cycle through, one per step (multi-scale training); "
             "default: --size only",
}


def add_arguments(p):
    p.add_argument("--style", required=True, help="style image (a painting)")
    p.add_argument("--content", default=os.path.join("..", "shared", "data", "content", "bsds500"),
                   help="folder of content photos (default: ../shared/data/content/bsds500)")
    p.add_argument("--vgg", default=os.path.join("..", "shared", "data", "weights", "vgg19-tfjs"),
                   help="VGG19 tfjs weights directory")
    p.add_argument("--random-vgg", action="store_true",
                   help="TESTS ONLY: random VGG weights (losses are meaningless)")
    p.add_argument("--run", required=True, help="run directory (checkpoint, config, log); resumes if present")
    for key, value in DEFAULTS.items():
        if key in HELP:
            p.add_argument("--" + key.replace("_", "-"), type=type(value), default=value, help=HELP[key])
        else:
            p.add_argument("--" + key.replace("_", "-"), type=type(value), default=value)
    p.add_argument("--deep-style-weight", type=float, default=0.0,
                   help="weight of two deeper style levels, relu4_1 and relu5_1 (receptive fields of about 100 "
                        "and 200 px: tiles, swirls, large shapes), taken from the compact VGG19 encoder through "
                        "its embedding heads (trainer/deep_style.py), each as heavy as one of the loss "
                        "network's levels at 1; needs --style-norm balanced; 0: off")
    p.add_argument("--deep-encoder", default=DEEP_WEIGHTS,
                   help="folder with the compact encoder 5SE.pth (default ../shared/data/weights/collab-distill-vgg19-16x)")
    p.add_argument("--no-temporal", action="store_true", help="set both temporal weights to 0")
    p.add_argument("--content-limit", type=int, default=None, help="use only the first N photos")
    p.add_argument("--init", help="start from this checkpoint's network and weights (e.g. prune's pruned.pt)")
    p.add_argument("--upscale", action="store_true",
                   help="with --init: run the init's network at half size inside the model and give it a sub-pixel "
                        "head that paints the full size (reconet.with_upscale; it starts as the runtime's bilinear "
                        "enlargement of the init's output)")
    p.add_argument("--teacher", help="distil from this trained checkpoint (fine-tuning a pruned network)")
    p.add_argument("--distill-weight", type=float, default=1.0,
                   help="weight of the distillation loss: relu2_2 feature MSE + pixel MSE in the 0-255 scale")
    p.add_argument("--teacher-style-weight", type=float, default=0.0,
                   help="weight of the teacher's style: the balanced Gram distance of each output to the teacher's "
                        "output for the same frame (relu1_1-relu3_4). Keeps the texture a pruned student cannot "
                        "place stroke for stroke, where the pixel term alone averages it into a pale wash; 0: off")
    p.add_argument("--teacher-style-window", type=int, default=0,
                   help="px (at the crop's size) of the tiles the teacher's style is taken over, tile by tile "
                        "(losses.teacher_style_loss): the statistics must match where they are, so a student "
                        "cannot trade the teacher's light strokes in one place for a pale band beside every dark "
                        "shape; 0: one Gram over the whole crop")
    p.add_argument("--teacher-colour-weight", type=float, default=0.0,
                   help="weight of the teacher's colour: the squared difference of each output's local mean colour "
                        "(luminance out, Gaussian blur of 4 px) from its teacher's (losses.teacher_colour_loss). "
                        "The colour a few of the teacher's strokes average to, without their placement")
    p.add_argument("--teacher-tone-weight", type=float, default=0.0,
                   help="weight of the teacher's tone: the squared difference of each output's local mean "
                        "lightness (luminance, Gaussian blur of 4 px) from its teacher's (losses.teacher_tone_loss). "
                        "Where the teacher is light and where dark a few strokes wide, without its strokes: a pale "
                        "band a small student paints beside dark shapes for the Gram terms shows in it; 0: off")
    p.add_argument("--distill-region", default="all", choices=["all", "outside-blobs", "outside-halos"],
                   help="where the distillation holds the student to its teacher: everywhere; everywhere but "
                        "the blobs the detector finds on either one's output (dilated by 8 px); or everywhere but "
                        "the band beside dark shapes on flat backgrounds where the halo penalty looks "
                        "(--halo-reach px, grown by 2). With the teacher the network being fine-tuned and the "
                        "blob or halo penalty on, it keeps the painting as it was while the penalty removes the "
                        "droplets or the rim the teacher itself paints")
    p.add_argument("--recolour-teacher", action="store_true",
                   help="distil from the teacher's output with the colours the painting lacks (and the input did "
                        "not have there) moved to the nearest the painting holds, at their own lightness "
                        "(artifacts.recoloured; the `eval` off-palette measure): holding a network to itself, it "
                        "keeps everything but such colours, e.g. green fringes on a painting of ochres")
    p.add_argument("--model-scale", type=float, default=1.0,
                   help="train as the runtime runs a fast variant: the net sees the crop scaled by this factor, "
                        "its output is scaled back up (bilinear) and every loss is computed at full size")
    p.add_argument("--norm", default=None, choices=list(reconet.NORMS),
                   help="the network's normalisation: instance norm (default), weight demodulation in its place "
                        "(StyleGAN2's remedy for blob artifacts), or hybrid (instance norm in the encoder, "
                        "demodulation in the decoder). With --init of an instance-norm network, demod or hybrid "
                        "converts it (its norms frozen into the convs, measured on content photos) to fine-tune; "
                        "a resumed run keeps its own")
    p.add_argument("--keep-checkpoints", action="store_true",
                   help="also keep each periodic checkpoint as step<N>.pt, without the optimizer state "
                        "(for `trainer average`)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--threads", type=int, default=0, help=THREADS_HELP)


def run_scaled(net, frames, scale):
    """The net on frames scaled by `scale` exactly as the runtime runs a fast
    variant (docs/model-contract.md, "Model scale"): the model size rounded to
    even sizes, the frame shrunk by area averaging and padded to multiples of 4
    by edge repetition, the output cropped and enlarged bicubically.
    Returns (output at full size, encoder features)."""
    if scale >= 1:
        return net.forward_with_features(frames)
    h, w = frames.shape[-2:]
    sh, sw = model_size(h, scale), model_size(w, scale)
    small = F.interpolate(frames, size=(sh, sw), mode="area")
    padded = F.pad(small, (0, (-sw) % 4, 0, (-sh) % 4), mode="replicate")
    out, feats = net.forward_with_features(padded)
    out = out[..., :sh, :sw]
    return F.interpolate(out, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1), feats


CALIBRATION_PHOTOS = 16


def calibration_photos(content, device, count=CALIBRATION_PHOTOS, short_side=256):
    """Whole photos, evenly spaced through the content folder, for `reconet.converted`."""
    paths = list_images(content)
    picked = [paths[i * len(paths) // count] for i in range(min(count, len(paths)))]
    return [load_image(p, short_side).unsqueeze(0).to(device) for p in picked]


# Settings a run records beside DEFAULTS; a resumed run older than one of them takes this value.
RECORDED = dict(no_temporal=False, random_vgg=False, model_scale=1.0, distill_weight=1.0, distill_region="all",
                recolour_teacher=False,
                deep_style_weight=0.0, teacher_style_weight=0.0, teacher_style_window=0, teacher_colour_weight=0.0,
                teacher_tone_weight=0.0)


def run(args):
    use_threads(args.threads)
    device = pick_device(args.device)
    os.makedirs(args.run, exist_ok=True)
    ckpt_path = os.path.join(args.run, "checkpoint.pt")
    chosen = {k: getattr(args, k) for k in DEFAULTS}
    chosen.update(style=os.path.abspath(args.style), content=os.path.abspath(args.content),
                  no_temporal=args.no_temporal, random_vgg=args.random_vgg, model_scale=args.model_scale,
                  deep_style_weight=args.deep_style_weight)
    if args.no_temporal:
        chosen["temporal_weight"] = chosen["feature_temporal_weight"] = 0.0
    if chosen["deep_style_weight"] and chosen["style_norm"] != "balanced":
        raise ValueError("--deep-style-weight needs --style-norm balanced (its levels weigh like the others only then)")
    if chosen["flat_pick"] > 1 and chosen["edge_pick"] > 1:
        raise ValueError("--flat-pick and --edge-pick both choose each crop: use one of them")
    if chosen["halo_target"] not in ("none", "teacher"):
        raise ValueError(f"--halo-target must be none or teacher, not {chosen['halo_target']!r}")
    if chosen["halo_background"] not in ("free", "fixed"):
        raise ValueError(f"--halo-background must be free or fixed, not {chosen['halo_background']!r}")
    if chosen["halo_dark_side"] not in ("free", "teacher"):
        raise ValueError(f"--halo-dark-side must be free or teacher, not {chosen['halo_dark_side']!r}")
    if chosen["train_only"] not in ("all", "decoder"):
        raise ValueError(f"--train-only must be all or decoder, not {chosen['train_only']!r}")
    if chosen["blob_target"] not in ("flat", "detected"):
        raise ValueError(f"--blob-target must be flat or detected, not {chosen['blob_target']!r}")

    resume = torch.load(ckpt_path, map_location=device) if os.path.exists(ckpt_path) else None
    if resume is not None:
        net = reconet.build(resume["net_config"]).to(device)
    elif args.init:
        net, init = reconet.load(args.init, device)
        chosen["init"] = os.path.abspath(args.init)
        chosen["pruned"] = init.get("pruned")
        chosen.update(width=net.width, blocks=net.blocks)  # the init's shape, not the --width/--blocks defaults
        if args.upscale:
            net = reconet.with_upscale(net)  # its model scale is checked below, for new and resumed runs alike
        if args.norm and args.norm != net.norm_kind:
            net = reconet.converted(net, args.norm, calibration_photos(args.content, device))
            chosen["converted_to"] = args.norm
    elif args.upscale:
        raise ValueError("--upscale needs --init (the half-size network it gives a sub-pixel head)")
    else:
        net = reconet.ReCoNet(width=args.width, blocks=args.blocks, norm=args.norm or "instance").to(device)
    if args.teacher:
        chosen.update(teacher=os.path.abspath(args.teacher), distill_weight=args.distill_weight,
                      distill_region=args.distill_region, teacher_style_weight=args.teacher_style_weight,
                      teacher_style_window=args.teacher_style_window,
                      teacher_colour_weight=args.teacher_colour_weight, teacher_tone_weight=args.teacher_tone_weight,
                      recolour_teacher=args.recolour_teacher)
    elif args.teacher_style_weight:
        raise ValueError("--teacher-style-weight needs --teacher")
    elif args.teacher_style_window:
        raise ValueError("--teacher-style-window needs --teacher")
    elif args.teacher_colour_weight:
        raise ValueError("--teacher-colour-weight needs --teacher")
    elif args.teacher_tone_weight:
        raise ValueError("--teacher-tone-weight needs --teacher")
    elif args.recolour_teacher:
        raise ValueError("--recolour-teacher needs --teacher")
    if args.teacher_style_window < 0:
        raise ValueError(f"--teacher-style-window is a tile size in px (0: off), not {args.teacher_style_window}")
    saved = resume["train_config"] if resume is not None else None
    config, notes = resolve_settings({**DEFAULTS, **RECORDED}, chosen, saved)
    if saved is not None:
        # A resumed run distils from the teacher it started with (none if it had none).
        if args.teacher and os.path.abspath(args.teacher) != saved.get("teacher"):
            notes.append(f"--teacher {args.teacher} (saved {saved.get('teacher') or 'none'})")
        if config.get("teacher") and not os.path.exists(config["teacher"]):
            raise ValueError(f"this run distils from {config['teacher']}, which is gone: put it back to resume the run")
    teacher = None
    if config.get("teacher"):
        teacher, _ = reconet.load(config["teacher"], device)
        teacher.eval().requires_grad_(False)
    if config["halo_target"] == "teacher" and teacher is None:
        raise ValueError("--halo-target teacher needs --teacher")
    if config["halo_dark_side"] == "teacher" and teacher is None:
        raise ValueError("--halo-dark-side teacher needs --teacher")
    if config["train_only"] == "decoder":
        net.encoder.requires_grad_(False)
    optimizer = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=config["lr"])
    step, history = 0, []
    if resume is not None:
        step, history = resume_from(resume, net, "model", optimizer, ckpt_path, config, notes)
        if teacher is not None:
            print(f"  distilling from {config['teacher']} (weight {config['distill_weight']})", flush=True)
    if net.upscale != 1 and config["model_scale"] != 1.0:
        raise ValueError("this network halves the frame itself (upscale): its run needs --model-scale 1")
    start_run(args.run, config, sys.argv[1:])

    vgg = (random_vgg() if config["random_vgg"] else load_tfjs(args.vgg)).to(device)
    scales = [float(s) for s in config["style_scales"].split(",")]
    style_image = load_image(args.style, config["style_size"]).unsqueeze(0).to(device)
    targets = style_targets(vgg, style_image, scales)
    palette = None
    if config.get("recolour_teacher"):
        # The painting's colours from the whole painting at its own size, as `eval` takes them.
        palette = painting_palette(load_image(args.style))
    deep = deep_targets = None
    if config["deep_style_weight"] and config["style_weight"]:
        deep = (random_compact_vgg() if config["random_vgg"] else load_compact_vgg(args.deep_encoder)).to(device)
        with torch.no_grad():
            deep_targets = {k: gram(v) for k, v in deep(style_image).items()}
    sizes = [int(x) for x in str(config["sizes"] or config["size"]).split(",")]
    photos = PhotoCrops(list_images(args.content), max(sizes), args.content_limit, config["photo_size"] or None)
    w = config

    def losses(step):
        generator = torch.Generator().manual_seed(w["seed"] * 1_000_003 + step)
        stills = photos.batch(w["batch"], generator, sizes[step % len(sizes)], w["flat_pick"],
                              w["edge_pick"], w["halo_reach"], w["soft_share"]).to(device)
        in_t, in_t1, flow, mask = synthetic_pair(stills, generator)
        both = torch.cat([in_t, in_t1])
        seen = with_noise(both, w["input_noise"], generator)
        out, feats = run_scaled(net, seen, w["model_scale"])
        n = in_t.shape[0]
        with torch.no_grad():
            in_vgg = vgg(both, (CONTENT_LAYER,))
        # With no style weight (a pure distillation from a teacher that already paints the
        # style) the loss network stops at the content level: about a third of the step's cost.
        painting = w["style_weight"] > 0
        styled = painting or (teacher is not None and w["teacher_style_weight"] > 0)
        out_vgg = vgg(out, (STYLE_LAYERS if styled else ()) + (CONTENT_LAYER,))
        terms = {
            "content": w["content_weight"] * content_loss(out_vgg, in_vgg),
            "tv": w["tv_weight"] * tv_loss(out),
        }
        if painting:
            terms["style"] = w["style_weight"] * style_loss(vgg, out, targets, scales, out_vgg, w["style_norm"])
        if deep is not None:
            deep_out = deep(out)
            terms["deep_style"] = w["style_weight"] * w["deep_style_weight"] * sum(
                gram_term(gram(deep_out[name]), deep_targets[name], "balanced") for name in DEEP_LEVELS)
        # The detector's residual and masks on this step's output, computed once for the
        # penalty and the distillation region.
        residual = flatness = student_blobs = None
        if w["blob_weight"]:
            residual, flatness = blob_residual(out, both), input_local_std(both)
        if (w["blob_weight"] and w["blob_target"] == "detected") or (
                teacher is not None and w["distill_region"] == "outside-blobs"):
            student_blobs = blob_masks(both, out, magnitude=residual, local_std=flatness)
        if w["blob_weight"]:
            region = None
            if w["blob_target"] == "detected":
                region = F.max_pool2d(student_blobs, 9, stride=1, padding=4)  # dilated by 4 px
            terms["blob"] = w["blob_weight"] * blob_loss(out, both, w["blob_margin"], region, residual, flatness,
                                                         w["blob_flat_limit"])
        if w["temporal_weight"]:
            terms["temporal"] = w["temporal_weight"] * output_temporal_loss(out[:n], out[n:], in_t, in_t1, flow, mask)
        if teacher is not None:
            with torch.no_grad():
                t_out = teacher(both)
                if w["recolour_teacher"]:
                    t_out = torch.stack([recoloured(both[i], t_out[i], palette)
                                         for i in range(len(both))])
                t_vgg = vgg(t_out, (STYLE_LAYERS if w["teacher_style_weight"] else ()) + (CONTENT_LAYER,))
            keep = None
            if w["distill_region"] == "outside-blobs":
                found = torch.maximum(student_blobs, blob_masks(both, t_out))
                keep = 1 - F.max_pool2d(found, 17, stride=1, padding=8)
            elif w["distill_region"] == "outside-halos":
                keep = 1 - halo_band(both, w["halo_reach"])
            terms["distill"] = w["distill_weight"] * distillation_loss(out, out_vgg, t_out, t_vgg, keep)
            if w["teacher_style_weight"]:
                terms["teacher_style"] = w["teacher_style_weight"] * teacher_style_loss(out_vgg, t_vgg, w["teacher_style_window"])
            if w["teacher_colour_weight"]:
                terms["teacher_colour"] = w["teacher_colour_weight"] * teacher_colour_loss(out, t_out)
            if w["teacher_tone_weight"]:
                terms["teacher_tone"] = w["teacher_tone_weight"] * teacher_tone_loss(out, t_out)
        if w["halo_weight"]:
            target = t_out if w["halo_target"] == "teacher" else None
            terms["halo"] = w["halo_weight"] * halo_loss(out, both, w["halo_reach"], target=target,
                                                         fixed_background=w["halo_background"] == "fixed",
                                                         free_px=w["halo_free_px"],
                                                         dark_side=t_out if w["halo_dark_side"] == "teacher" else None)
        if w["feature_temporal_weight"]:
            # The loss derives its downscale factor from the feature map's size (any model scale).
            terms["feature_temporal"] = w["feature_temporal_weight"] * feature_temporal_loss(
                feats[:n], feats[n:], flow, mask)
        return terms, {}

    loop = TrainingLoop(args.run, config, net, optimizer,
                        lambda: {"model": net.state_dict(), "net_config": net.config(), "train_config": config},
                        step, history, args.keep_checkpoints)
    return loop.run(losses)
