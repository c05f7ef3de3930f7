"""stylecast offline trainer: ReCoNet with the coherent-video loss, ONNX export."""

THREADS_HELP = "CPU threads (default 0: one per core; Debian's torch 1.13 would start with one)"


def use_threads(count):
    """Debian's torch 1.13 starts with a single thread on this machine, so the
    trainer sets the count itself: `count` or, when 0, one per core."""
    import os

    import torch

    torch.set_num_threads(count or os.cpu_count() or 1)
