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


def run(args):
    if len(args.checkpoints) < 2:
        raise ValueError("average needs two or more checkpoints")
    if not args.out.endswith(".pt"):
        raise ValueError(f"--out must be a .pt file, not {args.out}")
    loaded = []
    for path in args.checkpoints:
        if path.endswith(".onnx"):
            raise ValueError(f"{path}: average reads trainer checkpoints (.pt), not exported models")
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
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    torch.save(averaged, tmp)
    os.replace(tmp, args.out)
    print(f"{args.out}: mean of {len(loaded)} checkpoints (steps {', '.join(str(s.get('step')) for s in loaded)})")
    return 0
