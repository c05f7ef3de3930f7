"""python3 -m trainer <command> --help"""
import argparse
import importlib
import os
import sys

COMMANDS = {  # name -> (module, help). Modules are imported only when their command runs,
    # so a missing optional package (onnx for fp16) breaks only that command.
    "train": ("train", "train a style: style image + content folder -> checkpoints"),
    "average": ("average", "checkpoints of one run -> one checkpoint with the mean of their weights"),
    "export": ("export", "checkpoint -> models/<id>.onnx + manifest, checked against ONNX Runtime"),
    "fixtures": ("fixtures", "make the tiny random-weight test models (test/fixtures)"),
    "eval": ("evaluate", "model -> JSON report: style gap closed, warping error (Middlebury, real clips), "
                         "content and style loss"),
    "blobs": ("blobs", "model -> blob (droplet artifact) count at 720p on held-apart photos and clip frames"),
    "sheet": ("sheet", "models -> contact sheets: outputs at --height (720p, 1080p) on held-apart photos and real clip frames, 1:1 crops beside the painting"),
    "gatys": ("gatys", "optimization-based style transfer for one image pair (quality reference)"),
    "prune": ("prune", "evolutionary channel pruning of a trained model -> a smaller checkpoint to fine-tune"),
    "speed": ("speed", "PyTorch eager inference speed (the benchmark's baseline)"),
    "adain": ("adain", "arbitrary style (AdaIN, compact VGG19 pair): style gap, content loss and warping error; "
                       "or --export the contract-2 pair"),
    "recipe": ("recipe", "print the commands that rebuild a shipped model (trainer/recipes/<id>.json)"),
    "deep-fidelity": ("deep_fidelity", "how closely the compact VGG19's embedding heads reproduce VGG19 at "
                                       "relu1_1-relu3_1 (the check behind train --deep-style-weight)"),
    "adain-train": ("adain_train", "fine-tune the AdaIN decoder over many paintings with the coherent-video loss"),
}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python3 -m trainer", description="stylecast offline trainer")
    sub = parser.add_subparsers(dest="command", required=True)
    chosen = argv[0] if argv and argv[0] in COMMANDS else None
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            module = importlib.import_module(f"trainer.commands.{module_name}")
            module.add_arguments(p)
            p.set_defaults(module=module)
    args = parser.parse_args(argv)
    from .vgg import WeightsMissing
    try:
        return args.module.run(args)
    except (FileNotFoundError, RuntimeError, ValueError, WeightsMissing) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`... | head`): not an error of the command
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
