"""Which instance norms paint the blobs? Freezes subsets of a model's instance norms
into fixed statistics (measured on content photos, as `reconet.converted` does) and
counts the blob detector's blobs at 720p with each subset frozen (PyTorch, no training).
  /usr/bin/python3 scripts/freeze-norms-probe.py --model models/candy.onnx [--data ../shared/data]
docs/training.md, "Session of 2026-11-24"."""
import argparse
import copy
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from trainer import blobs, reconet  # noqa: E402
from trainer.train import calibration_photos  # noqa: E402

SUBSETS = {
    "none": lambda name: False,
    "first conv": lambda name: name == "encoder.0.norm",
    "down-sampling convs": lambda name: name in ("encoder.0.norm", "encoder.1.norm", "encoder.2.norm"),
    "residual blocks": lambda name: name.startswith("encoder.") and int(name.split(".")[1]) >= 3,
    "decoder": lambda name: name.startswith("decoder."),
    "residual blocks + decoder": lambda name: not (name.startswith("encoder.") and int(name.split(".")[1]) < 3),
    "all": lambda name: True,
}


def frozen(net, subset, calibration):
    work = copy.deepcopy(net)
    reconet.freeze_instance_norms(work, set(subset), calibration)
    return work


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--data", default=os.path.join("..", "shared", "data"))
    args = p.parse_args()
    torch.set_grad_enabled(False)
    net = reconet.load(args.model)[0].eval()
    calibration = calibration_photos(os.path.join(args.data, "content", "bsds500"), "cpu")
    norm_names = [name for name, m in net.named_modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    photos = [os.path.join(args.data, "content", "samples", n) for n in blobs.DEFAULT_PHOTOS]
    images = blobs.frames_720(photos, 720) + blobs.clip_frames(args.data, blobs.CLIPS, 720)
    reference = [net(frame) for _, frame in images]
    for label, chosen in SUBSETS.items():
        subset = [name for name in norm_names if chosen(name)]
        work = frozen(net, subset, calibration)
        total, flagged, changes = 0, 0, []
        for (_, frame), ref in zip(images, reference):
            out = work(frame)
            changes.append(float((out - ref).abs().mean()))
            result, _, _ = blobs.score(frame[0].permute(1, 2, 0).numpy(), out[0].permute(1, 2, 0).numpy())
            total, flagged = total + result["blobs"], flagged + int(result["flagged"])
        print(f"{label}: {len(subset)} norms frozen, {total} blobs, {flagged} images flagged, "
              f"mean abs change {np.mean(changes):.3f}", flush=True)


if __name__ == "__main__":
    main()
