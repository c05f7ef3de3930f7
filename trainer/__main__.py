"""python3 -m trainer <train|export|eval|gatys|prune|fixtures|speed> --help"""
import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m trainer", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    from . import evaluate, export, fixtures, gatys, prune, quantize, speed, train
    from .vgg import WeightsMissing
    for name, module, help_text in (
        ("train", train, "train a style: style image + content folder -> checkpoints"),
        ("export", export, "checkpoint -> models/<id>.onnx + manifest, checked against ONNX Runtime"),
        ("fixtures", fixtures, "make the tiny random-weight test models (test/fixtures)"),
        ("eval", evaluate, "model -> JSON report: warping error (Middlebury, real clips), content and style loss"),
        ("gatys", gatys, "optimization-based style transfer for one image pair (quality reference)"),
        ("prune", prune, "evolutionary channel pruning of a trained model -> a smaller checkpoint to fine-tune"),
        ("quantize", quantize, "int8 (QDQ) variant of an exported model, calibrated on photos"),
        ("speed", speed, "PyTorch eager inference speed (the benchmark's baseline)"),
    ):
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
        p.set_defaults(module=module)
    args = parser.parse_args(argv)
    try:
        return args.module.run(args)
    except (FileNotFoundError, RuntimeError, ValueError, WeightsMissing) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
