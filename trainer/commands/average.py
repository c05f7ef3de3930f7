"""`average`: checkpoints of one run -> one checkpoint holding their mean weights.

A fine-tune at batch 2 wanders: one checkpoint paints a blob where the next does not,
and the blob detector flags a different image at each. Checkpoints of one run stay in
one basin, so the mean of their weights is a network too, and it keeps what they share
(the style) while their step-to-step noise cancels (weight averaging, as in SWA and in
StyleGAN's averaged generator). `train --keep-checkpoints` keeps the step<N>.pt files
this command reads."""
import os

import torch

from .. import reconet


def add_arguments(p):
    p.add_argument("checkpoints", nargs="+", help="two or more checkpoint .pt files of the same network")
    p.add_argument("--out", required=True, help="the averaged checkpoint (.pt), written atomically")


def average_states(states):
    """The mean of the floating-point tensors of `states` (state dicts of one network, as
    `run` checks); other tensors (counters) are taken from the first."""
    first = states[0]
    return {name: (sum(s[name].double() for s in states) / len(states)).to(tensor.dtype)
            if tensor.is_floating_point() else tensor.clone()
            for name, tensor in first.items()}


def _save(checkpoint, out):
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    torch.save(checkpoint, tmp)
    os.replace(tmp, out)


def average_painters(args):
    """`adain-train` checkpoints (the any-painting painter, key "decoder"): the mean of
    their painters' weights. Two fine-tunes of one released network that went separate
    ways (one steadier, one stronger on some paintings) average into a network between
    them, as checkpoints of one run do."""
    loaded = [torch.load(path, map_location="cpu") for path in args.checkpoints]
    networks = {s.get("config", {}).get("network", "adain") for s in loaded}
    if any("decoder" not in s for s in loaded) or len(networks) != 1:
        raise ValueError("the checkpoints are not all adain-train checkpoints of one network")
    if any(s["decoder"].keys() != loaded[0]["decoder"].keys() for s in loaded[1:]):
        raise ValueError("the checkpoints' painters have different layers: not the same network")
    last = max(loaded, key=lambda s: s.get("step", 0))
    _save({"decoder": average_states([s["decoder"] for s in loaded]),
           "config": dict(last["config"], averaged_from=[os.path.abspath(p) for p in args.checkpoints],
                          averaged_steps=[s.get("step") for s in loaded]),
           "paintings": last.get("paintings"), "step": last.get("step", 0), "history": last.get("history", [])},
          args.out)
    print(f"{args.out}: mean of {len(loaded)} painters ({networks.pop()}; steps "
          f"{', '.join(str(s.get('step')) for s in loaded)})")
    return 0


def run(args):
    if len(args.checkpoints) < 2:
        raise ValueError("average needs two or more checkpoints")
    if not args.out.endswith(".pt"):
        raise ValueError(f"--out must be a .pt file, not {args.out}")
    for path in args.checkpoints:
        if path.endswith(".onnx"):
            raise ValueError(f"{path}: average reads trainer checkpoints (.pt), not exported models")
    first = torch.load(args.checkpoints[0], map_location="cpu")
    if isinstance(first, dict) and "decoder" in first:
        return average_painters(args)
    loaded = []
    for path in args.checkpoints:
        _, state = reconet.load(path)
        loaded.append(state)
    configs = [s["net_config"] for s in loaded]
    if any(c != configs[0] for c in configs[1:]):
        raise ValueError("the checkpoints have different network configurations: not the same network")
    last = max(loaded, key=lambda s: s.get("step", 0))
    averaged = {
        "model": average_states([s["model"] for s in loaded]),
        "step": last.get("step", 0),
        "net_config": configs[0],
        "train_config": dict(last.get("train_config", {}),
                             averaged_from=[os.path.abspath(p) for p in args.checkpoints],
                             averaged_steps=[s.get("step") for s in loaded]),
        "history": last.get("history", []),
    }
    _save(averaged, args.out)
    print(f"{args.out}: mean of {len(loaded)} checkpoints (steps {', '.join(str(s.get('step')) for s in loaded)})")
    return 0
