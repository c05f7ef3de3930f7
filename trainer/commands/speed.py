"""`speed`: PyTorch eager inference speed of a ReCoNet, the baseline that
`npm run bench` compares ONNX Runtime against. Prints one JSON line."""
import json
import time

import torch

from .. import reconet


def add_arguments(p):
    p.add_argument("--net-width", type=int, default=48, help="ReCoNet base width")
    p.add_argument("--blocks", type=int, default=4)
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--frames", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)


def run(args):
    torch.set_num_threads(args.threads)
    net = reconet.ReCoNet(width=args.net_width, blocks=args.blocks).eval()
    x = torch.rand(1, 3, args.height, args.width)
    with torch.inference_mode():
        net(x)  # warm-up
        started = time.perf_counter()
        for _ in range(args.frames):
            net(x)
        seconds = time.perf_counter() - started
    print(json.dumps({"fps": args.frames / seconds, "ms_per_frame": 1000 * seconds / args.frames,
                      "frames": args.frames, "threads": args.threads, "torch": torch.__version__}))
    return 0
