"""The network's ceiling on a CUDA GPU, without the runtime: a shipped model's
weights loaded into the trainer's PyTorch ReCoNet and timed with CUDA events,
fp32 and fp16, channels-last, at several sizes and batch sizes, frames already
on the GPU. What a native path could reach; the Node figures (gpu-check.sh)
are read against it.
  python3 scripts/torch-ceiling.py models/candy.onnx [--sizes 640x360,1280x720,1920x1080] [--batch 1,8] [--seconds 2]
"""
import argparse
import sys
import time

import torch

sys.path.insert(0, ".")
from trainer import reconet  # noqa: E402


def timed(net, x, seconds):
    with torch.no_grad():
        for _ in range(3):
            net(x)
        torch.cuda.synchronize()
        runs, start = 0, time.perf_counter()
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        begin.record()
        while time.perf_counter() - start < seconds:
            net(x)
            runs += 1
            if runs % 10 == 0:
                torch.cuda.synchronize()
        end.record()
        torch.cuda.synchronize()
        return runs * x.shape[0] / (begin.elapsed_time(end) / 1000)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--sizes", default="640x360,1280x720,1920x1080")
    p.add_argument("--batch", default="1,8")
    p.add_argument("--seconds", type=float, default=2.0)
    args = p.parse_args()
    net, _ = reconet.load(args.model, "cuda")
    net.eval()
    torch.backends.cudnn.benchmark = True
    print(f"{torch.cuda.get_device_name()} torch {torch.__version__} model {args.model}")
    print("size       batch  precision  fps")
    for size in args.sizes.split(","):
        w, h = map(int, size.split("x"))
        for batch in map(int, args.batch.split(",")):
            for name, dtype in (("fp32", torch.float32), ("fp16", torch.float16)):
                model = net.to(dtype=dtype, memory_format=torch.channels_last)
                x = torch.rand(batch, 3, h, w, device="cuda", dtype=dtype).contiguous(memory_format=torch.channels_last)
                try:
                    fps = timed(model, x, args.seconds)
                    print(f"{size:10} {batch:5}  {name:9}  {fps:8.1f}", flush=True)
                except Exception as error:  # one failed row must not end the table
                    print(f"{size:10} {batch:5}  {name:9}  failed: {str(error).splitlines()[0]}", flush=True)


if __name__ == "__main__":
    main()
