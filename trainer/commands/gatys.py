"""`gatys`: the optimization method of Gatys et al. (2016) for one content/style
pair: the image itself is optimized (L-BFGS) so its VGG Gram matrices match the
painting's while its relu2_2 features match the photo's. Our quality reference."""
import json
import os
import time

import torch
from torchvision.utils import save_image

from .. import THREADS_HELP, use_threads
from ..data import load_image
from ..losses import CONTENT_LAYER, STYLE_LAYERS, content_loss, gram, style_loss, style_targets, tv_loss
from ..vgg import DEFAULT_WEIGHTS, load_tfjs, random_vgg


def add_arguments(p):
    p.add_argument("--content", required=True, help="content photo")
    p.add_argument("--style", required=True, help="style image")
    p.add_argument("--out", required=True, help="output image (.png/.jpg)")
    p.add_argument("--size", type=int, default=256, help="short side of the content (and style) image")
    p.add_argument("--steps", type=int, default=200, help="L-BFGS iterations")
    p.add_argument("--content-weight", type=float, default=1.0)
    p.add_argument("--style-weight", type=float, default=0.05)
    p.add_argument("--tv-weight", type=float, default=10.0)
    p.add_argument("--style-scales", default="1.0,0.3")
    p.add_argument("--vgg", default=DEFAULT_WEIGHTS)
    p.add_argument("--random-vgg", action="store_true", help="TESTS ONLY: random VGG weights")
    p.add_argument("--threads", type=int, default=0, help=THREADS_HELP)
    p.add_argument("--compare-model", help="also score this .onnx model's output on the same photo (eval's definitions)")


def run(args):
    use_threads(args.threads)
    vgg = random_vgg() if args.random_vgg else load_tfjs(args.vgg)
    content = load_image(args.content, args.size).unsqueeze(0)
    style = load_image(args.style, args.size).unsqueeze(0)
    scales = [float(s) for s in args.style_scales.split(",")]
    targets = style_targets(vgg, style, scales)
    with torch.no_grad():
        content_feats = vgg(content, (CONTENT_LAYER,))
    # Optimize in logit space so the image stays in (0, 1) without clamping.
    logits = torch.logit(content.clamp(0.02, 0.98)).requires_grad_(True)
    optimizer = torch.optim.LBFGS([logits], lr=1.0, max_iter=1, history_size=20)
    history = []
    started = time.time()

    def closure():
        optimizer.zero_grad()
        image = torch.sigmoid(logits)
        feats = vgg(image, STYLE_LAYERS + (CONTENT_LAYER,))
        loss_c = args.content_weight * content_loss(feats, content_feats)
        loss_s = args.style_weight * style_loss(vgg, image, targets, scales, feats)
        loss = loss_c + loss_s + args.tv_weight * tv_loss(image)
        loss.backward()
        history.append((float(loss), float(loss_c), float(loss_s)))
        return loss

    for step in range(1, args.steps + 1):
        optimizer.step(closure)
        if step % 20 == 0 or step == args.steps:
            total, c, s = history[-1]
            print(f"step {step}/{args.steps} total {total:.4g} content {c:.4g} style {s:.4g} "
                  f"| {step / (time.time() - started):.2f} it/s", flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp" + os.path.splitext(args.out)[1]
    save_image(torch.sigmoid(logits.detach()), tmp)
    os.replace(tmp, args.out)
    print(f"wrote {args.out} (loss {history[0][0]:.4g} -> {history[-1][0]:.4g})")
    report = {"gatys": score(vgg, torch.sigmoid(logits.detach()), content, style)}
    if args.compare_model:
        from ..onnx_files import ort_run
        h, w = content.shape[-2] - content.shape[-2] % 4, content.shape[-1] - content.shape[-1] % 4
        crop = content[..., :h, :w]
        out = torch.from_numpy(ort_run(args.compare_model, crop.numpy())).clamp(0, 1)
        report[os.path.basename(args.compare_model)] = score(vgg, out, crop, style)
    for name, r in report.items():
        print(f"{name}: content loss {r['content_loss']:.4g}, style loss {r['style_loss']:.4g} (eval's definitions)")
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump(report, f, indent=2)
    return 0


def score(vgg, image, content, style):
    """Unweighted single-scale losses, as `eval` defines them (docs/metrics.md)."""
    with torch.no_grad():
        target = {k: gram(v) for k, v in vgg(style, STYLE_LAYERS).items()}
        fo = vgg(image, STYLE_LAYERS + (CONTENT_LAYER,))
        fi = vgg(content, (CONTENT_LAYER,))
        return {"content_loss": float(torch.nn.functional.mse_loss(fo[CONTENT_LAYER], fi[CONTENT_LAYER])),
                "style_loss": float(sum(torch.nn.functional.mse_loss(gram(fo[k]), target[k]) for k in STYLE_LAYERS))}
