"""What every training loop here needs, written once: the device, atomic
checkpoints, a clean stop on SIGINT/SIGTERM, a step that skips non-finite
losses and gradients, and one progress line (`train`, `adain-train`)."""
import os
import signal
import time

import torch


def pick_device(name):
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda asked for, but torch sees no CUDA device")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        torch.backends.cudnn.benchmark = True  # a few crop sizes, each tuned once
    return torch.device(name)


def save_atomic(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


class StopOnSignal:
    """From creation until restore(), SIGINT/SIGTERM ask the training loop to stop
    after the current step (`asked`), so the caller can write its checkpoint and exit 130."""

    def __init__(self):
        self.asked = False
        self._old = signal.signal(signal.SIGINT, self._on_signal), signal.signal(signal.SIGTERM, self._on_signal)

    def _on_signal(self, signum, _frame):
        self.asked = True
        print(f"signal {signum}: saving checkpoint and stopping", flush=True)

    def restore(self):
        signal.signal(signal.SIGINT, self._old[0])
        signal.signal(signal.SIGTERM, self._old[1])


def descend(optimizer, total):
    """One optimizer step on `total`, unless the loss or a gradient is not finite: then the
    weights stay as they are and False is returned. (Two GPU runs of the painter fine-tune
    went NaN at the same step and every later checkpoint carried NaN weights.)"""
    optimizer.zero_grad(set_to_none=True)
    if not torch.isfinite(total):
        return False
    total.backward()
    grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    if not bool(torch.stack([g.isfinite().all() for g in grads]).all()):
        optimizer.zero_grad(set_to_none=True)
        return False
    optimizer.step()
    return True


def all_finite(module):
    return all(bool(t.isfinite().all()) for t in module.state_dict().values() if t.is_floating_point())


def print_progress(step, steps, record, started, started_step):
    """One log line: the step, every loss of `record` (numbers only), speed and ETA."""
    rate = (step - started_step) / max(time.time() - started, 1e-9)
    eta = (steps - step) / max(rate, 1e-9)
    parts = " ".join(f"{k} {v:.4g}" for k, v in record.items() if k not in ("step", "painting"))
    print(f"step {step}/{steps} {parts} | {rate:.2f} it/s ETA {eta / 60:.1f} min", flush=True)
