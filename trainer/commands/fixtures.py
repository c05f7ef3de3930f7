"""`fixtures`: tiny models for the runtime's tests, from the trainer's own network
code with random weights (they stylize nothing; they exercise the contract).

Writes into --out (default test/fixtures/models):
  tiny.onnx/.json          ReCoNet width 4, 1 residual block, seed 0: valid
  tiny-b.onnx/.json        the same shape, seed 1: a second valid style (style switching)
  tiny-fast.onnx/.json     width 2: the "fast" variant of tiny (unlisted, runs at half size)
  tiny-subpixel.onnx/.json width 2 with a sub-pixel head (reconet.with_upscale): halves the frame
                           inside its graph, paints the full size (unlisted, model scale 1)
  tiny-colour.onnx + tiny-colour.style.onnx/.json   contract 2 (arbitrary style): AdaIN on the
                           pixels themselves, i.e. colour-statistics transfer, so its effect is known
  wrong-input.onnx/.json   a valid ONNX whose input is named `image`: must be rejected
  wrong-output.onnx/.json  right names, but the output is half the input's size: fails at run time (unlisted)
"""
import os

import torch
from torch import nn

from .. import arbitrary, reconet
from .. import manifest as manifests
from ..onnx_files import export_model

DEFAULT_OUT = os.path.join("test", "fixtures", "models")


class WrongInput(nn.Module):
    def forward(self, image):
        return image * 0.5


class HalfSizeOutput(nn.Module):
    def forward(self, x):
        return nn.functional.avg_pool2d(x, 2)


def add_arguments(p):
    p.add_argument("--out", default=DEFAULT_OUT)
    p.add_argument("--no-check", action="store_true")


def tiny_net(seed, width=4):
    torch.manual_seed(seed)
    net = reconet.ReCoNet(width=width, blocks=1)
    with torch.no_grad():  # random affine norms so the output is visibly not the input
        for m in net.modules():
            if isinstance(m, nn.InstanceNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    return net


def run(args):
    os.makedirs(args.out, exist_ok=True)
    for model_id, seed in (("tiny", 0), ("tiny-b", 1)):
        extra = {"title": f"Tiny test model ({model_id})",
                 "style": {"painting": "none (random weights)", "artist": "", "year": "",
                           "licence": "test fixture", "source": "python3 -m trainer fixtures"},
                 "training": {"random_weights": True, "seed": seed}}
        path, _ = export_model(tiny_net(seed), args.out, model_id, extra, check=not args.no_check)
        print(f"wrote {path}")
    fast_extra = {"title": "Tiny test model (fast variant)", "variant": "fast", "variantOf": "tiny", "listed": False,
                  "style": {"painting": "none (random weights)", "artist": "", "year": "", "licence": "test fixture",
                            "source": "python3 -m trainer fixtures"},
                  "training": {"random_weights": True, "seed": 2}, "runtime": {"modelScale": 0.5}}
    path, _ = export_model(tiny_net(2, width=2), args.out, "tiny-fast", fast_extra, check=not args.no_check)
    print(f"wrote {path}")
    subpixel_extra = {**fast_extra, "title": "Tiny test model (sub-pixel head)",
                      "training": {"random_weights": True, "seed": 3}, "runtime": {"modelScale": 1.0}}
    del subpixel_extra["variantOf"]  # a fast network of no listed style: chosen as it is by either preset
    path, _ = export_model(reconet.with_upscale(tiny_net(3, width=2)), args.out, "tiny-subpixel", subpixel_extra,
                           check=not args.no_check)
    print(f"wrote {path}")
    colour = arbitrary.ColourStatistics()
    path, _ = arbitrary.export_arbitrary(arbitrary.Stylizer(colour, colour), arbitrary.StyleEncoder(colour), args.out, "tiny-colour",
                                     {"title": "Tiny test model (colour statistics, any painting)",
                                      "training": {"random_weights": False, "note": "no weights: AdaIN on RGB"},
                                      "runtime": {"fastModelScale": 0.375}},
                                     painting_size=64, check=not args.no_check)
    print(f"wrote {path}")
    broken = [  # (module, id, title, input name, output axes, listed): valid ONNX that breaks the contract
        (WrongInput(), "wrong-input", "Wrong input name", "image", {2: "h", 3: "w"}, True),
        (HalfSizeOutput(), "wrong-output", "Output half the input's size", "input", {2: "h2", 3: "w2"}, False),
    ]
    for module, model_id, title, input_name, output_axes, listed in broken:
        path = os.path.join(args.out, f"{model_id}.onnx")
        torch.onnx.export(module, torch.rand(1, 3, 8, 8), path, input_names=[input_name], output_names=["output"],
                          opset_version=13, dynamic_axes={input_name: {2: "h", 3: "w"}, "output": output_axes})
        manifests.write({"id": model_id, "title": title, "contract": 1, "file": f"{model_id}.onnx", "listed": listed},
                        os.path.join(args.out, f"{model_id}.json"))
        print(f"wrote {path}")
    return 0
