"""`recipe`: print, or run, the commands that rebuild a shipped model from its
recipe (trainer/recipes/<id>.json; see lineage.py)."""
import os
import subprocess

from ..lineage import DEFAULT_DATA, commands, load, shell_lines

TRAINING = ("train", "adain-train")


def add_arguments(p):
    p.add_argument("id", help="a model id with a recipe in trainer/recipes (e.g. candy, magenta-steady)")
    p.add_argument("--data", default=DEFAULT_DATA, help="the data folder the commands read (default: ../shared/data)")
    p.add_argument("--execute", action="store_true",
                   help="run the stages in order from the repository root (training runs resume from their "
                        "checkpoints, so a stopped rebuild goes on where it stopped); the last stage exports "
                        "into models/")
    p.add_argument("--threads", type=int, help="with --execute: passed to each training stage")
    p.add_argument("--compare", metavar="CHECKPOINT",
                   help="how far a rebuilt network (a checkpoint or .onnx) lands from the shipped models/ID.onnx: "
                        "the relative distance of their weights, beside each from-git model's distance from the "
                        "shipped one (what one recipe step moves)")


def weight_distance(a, b):
    """sqrt(sum (a-b)^2 / sum b^2) over the weights both networks have."""
    import torch
    names = [n for n in b if n in a and a[n].shape == b[n].shape and b[n].is_floating_point()]
    num = sum(float(((a[n].double() - b[n].double()) ** 2).sum()) for n in names)
    den = sum(float((b[n].double() ** 2).sum()) for n in names)
    return (num / max(den, 1e-30)) ** 0.5, len(names), len(b)


def compare(recipe, checkpoint, root):
    from .. import reconet
    shipped_path = os.path.join(root, "models", f"{recipe['id']}.onnx")
    if not os.path.isfile(shipped_path):
        shipped_path = os.path.join(root, "models", "baselines", f"{recipe['id']}.onnx")
    shipped = reconet.load(shipped_path)[0].state_dict()
    rebuilt = reconet.load(checkpoint)[0].state_dict()
    distance, shared, total = weight_distance(rebuilt, shipped)
    print(f"{checkpoint} vs {os.path.relpath(shipped_path, root)}: relative weight distance {distance:.4g} "
          f"({shared} of {total} tensors)")
    for stage in recipe["stages"]:
        path = os.path.join(root, stage.get("to", ""))
        if stage["command"] == "from-git" and path.endswith(".onnx") and os.path.isfile(path):
            print(f"{stage['to']} vs the same: {weight_distance(reconet.load(path)[0].state_dict(), shipped)[0]:.4g}")
    return 0


def run(args):
    recipe = load(args.id)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if args.compare:
        return compare(recipe, args.compare, root)
    if not args.execute:
        for line in shell_lines(recipe, args.data):
            print(line)
        return 0
    stages = recipe["stages"]
    for number, (stage, argv) in enumerate(zip(stages, commands(recipe, args.data)), 1):
        if args.threads is not None and stage["command"] in TRAINING:
            argv = argv + ["--threads", str(args.threads)]
        print(f"stage {number}/{len(stages)}: {' '.join(argv[2:] if argv[0].endswith('python3') else argv)}", flush=True)
        if stage["command"] == "from-git":
            target = os.path.join(root, stage["to"])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shown = subprocess.run(argv, cwd=root, capture_output=True)
            if shown.returncode != 0:
                raise RuntimeError(f"stage {number}: {' '.join(argv)} failed: "
                                   f"{shown.stderr.decode(errors='replace').strip().splitlines()[-1:]}")
            with open(target + ".tmp", "wb") as f:
                f.write(shown.stdout)
            os.replace(target + ".tmp", target)
            continue
        code = subprocess.run(argv, cwd=root).returncode
        if code != 0:
            raise RuntimeError(f"stage {number} ({stage['command']}) exited with {code}; "
                               f"re-run the same command to go on from its checkpoint")
    print(f"rebuilt {args.id}")
    return 0
