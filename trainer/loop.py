"""What every training command here needs, written once: the device, the rule
that settles a run's settings, atomic checkpoints, a clean stop on SIGINT/SIGTERM,
a step that skips non-finite losses and gradients, one progress line, and the
loop that ties them together (`train`, `adain-train`)."""
import json
import os
import signal
import sys
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


def resolve_settings(defaults, chosen, saved=None):
    """The settings a run trains with, by one rule for every training command: a new run
    takes what was chosen (command line over defaults); a resumed run keeps its saved
    settings (one run, one recipe) except `steps`, which extends it, and takes the
    defaults for settings added since it was saved. Returns (settings, notes): each note
    names a command-line value that was set and ignored for the saved one."""
    if saved is None:
        return dict(chosen), []
    settings = {**defaults, **saved, "steps": chosen["steps"]}
    notes = [f"--{key.replace('_', '-')} {chosen[key]} (saved {saved[key]})" for key in defaults
             if key != "steps" and key in saved and key in chosen and chosen[key] != saved[key]
             and chosen[key] != defaults[key]]
    return settings, notes


def resume_from(state, trained, weights, optimizer, path, config, notes):
    """A resumed run's network, optimizer (slim checkpoints brought back from a GPU
    machine carry none), step and history from its checkpoint `state`, said in one
    line plus the command-line values it ignored. Returns (step, history)."""
    trained.load_state_dict(state[weights])
    if "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    print(f"resuming {path} at step {state['step']}/{config['steps']} with its saved settings", flush=True)
    if notes:
        print("  ignored on the command line (saved value kept): " + ", ".join(notes), flush=True)
    return state["step"], state.get("history", [])


def start_run(run, config, argv):
    """The run folder's record of what was asked: config.json (the settings in force)
    and command.txt (every command line that started or resumed it)."""
    with open(os.path.join(run, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(run, "command.txt"), "a") as f:
        f.write(" ".join([sys.executable, "-m", "trainer"] + argv) + "\n")


class TrainingLoop:
    """The one loop of `train` and `adain-train`: steps until `steps` or a signal, a step
    that skips non-finite losses, one progress line every `log_every`, and an atomic
    checkpoint every `checkpoint_every` and at the end (also `stepN.pt` without the
    optimizer with `keep_checkpoints`). A command gives it `losses(step)`, the loss terms
    of one step (a dict of tensors; `record` extras go into the history), and `state()`,
    what its checkpoint holds besides step, history and optimizer."""

    def __init__(self, run, config, trained, optimizer, state, step=0, history=None, keep_checkpoints=False):
        self.path = os.path.join(run, "checkpoint.pt")
        self.run_dir, self.config, self.trained, self.optimizer = run, config, trained, optimizer
        self.state, self.step, self.history = state, step, history if history is not None else []
        self.keep_checkpoints = keep_checkpoints

    def checkpoint(self):
        if not all_finite(self.trained):
            raise RuntimeError(f"weights not finite at step {self.step}: checkpoint not written "
                               f"({self.path} keeps the last good one)")
        state = {**self.state(), "step": self.step, "history": self.history}
        save_atomic({**state, "optimizer": self.optimizer.state_dict()}, self.path)
        if self.keep_checkpoints:
            save_atomic(state, os.path.join(self.run_dir, f"step{self.step}.pt"))

    def run(self, losses):
        steps, every = self.config["steps"], self.config
        started, started_step = time.time(), self.step
        stop = StopOnSignal()
        try:
            while self.step < steps and not stop.asked:
                terms, extras = losses(self.step)
                total = sum(terms.values())
                if not descend(self.optimizer, total):
                    print(f"step {self.step + 1}: loss or gradient not finite, step skipped", flush=True)
                self.step += 1
                record = {"step": self.step, **extras, "total": float(total), **{k: float(v) for k, v in terms.items()}}
                self.history.append(record)
                if self.step % every["log_every"] == 0 or self.step == steps:
                    print_progress(self.step, steps, record, started, started_step)
                if self.step % every["checkpoint_every"] == 0:
                    self.checkpoint()
        finally:
            self.checkpoint()
            stop.restore()
        print(f"checkpoint {self.path} at step {self.step}", flush=True)
        return 0 if not stop.asked else 130
