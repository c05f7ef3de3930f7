"""`prune`: evolutionary channel pruning of a trained ReCoNet, after Shu et al.,
"Co-Evolutionary Compression for Unpaired Image Translation" (ICCV 2019).

Genome: one bit per output channel of every prunable conv (1 keeps the channel
and its computation). Groups: encoder conv 1, encoder conv 2, the residual
stream (encoder conv 3 and every residual block's output share it, so it is one
group), the inner conv of each residual block, decoder convs 1 and 2. The last
conv (to RGB) is not prunable.

Fitness (lower is better) = perceptual error of the pruned network against the
original on held-apart photos (VGG relu1_2/relu2_2/relu3_1 feature MSE,
normalized by the original's feature energy) + gamma * its cost (FLOPs at
640x360 as a fraction of the original's).

Each generation keeps the best individual, then fills the population: with
probability S1 an individual chosen by tournament selection is kept, with
probability S2 a child is made by uniform crossover of two chosen parents, and
otherwise a chosen individual is mutated (each bit flips with probability pm).
The winner is rebuilt as a physically smaller network (channels removed, weights
copied) and saved as a checkpoint that `train --init` fine-tunes.
"""
import json
import os
import time

import torch
import torch.nn.functional as F

from .. import THREADS_HELP, reconet, use_threads
from ..data import centre_square, list_images
from ..vgg import load_tfjs, random_vgg

GROUPS_DOC = "enc1, enc2, stream, res0..resN, dec1, dec2"
FEATURE_LAYERS = ("relu1_2", "relu2_2", "relu3_1")


def add_arguments(p):
    p.add_argument("--checkpoint", required=True, help="trained checkpoint (train's checkpoint.pt)")
    p.add_argument("--out", required=True, help="folder for the search log and pruned.pt")
    p.add_argument("--photos", default=os.path.join("..", "shared", "data", "content", "samples"),
                   help="held-apart photos for the fitness (default: ../shared/data/content/samples)")
    p.add_argument("--photo-size", type=int, default=128)
    p.add_argument("--population", type=int, default=24)
    p.add_argument("--generations", type=int, default=30)
    p.add_argument("--s1", type=float, default=0.2, help="probability of keeping a selected individual")
    p.add_argument("--s2", type=float, default=0.5, help="probability of crossover")
    p.add_argument("--pm", type=float, default=0.05, help="per-bit mutation probability")
    p.add_argument("--gamma", type=float, default=1.0, help="weight of the cost term")
    p.add_argument("--cost", choices=["flops", "params"], default="flops")
    p.add_argument("--min-channels", type=int, default=4, help="channels kept at least in every group")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vgg", default=os.path.join("..", "shared", "data", "weights", "vgg19-tfjs"))
    p.add_argument("--random-vgg", action="store_true", help="TESTS ONLY: random VGG weights")
    p.add_argument("--threads", type=int, default=0, help=THREADS_HELP)


# ---- the genome ------------------------------------------------------------------

def groups(net):
    """(name, channel count) of every prunable group, in genome order."""
    enc = net.encoder
    out = [("enc1", enc[0].conv.out_channels), ("enc2", enc[1].conv.out_channels),
           ("stream", enc[2].conv.out_channels)]
    for i in range(net.blocks):
        out.append((f"res{i}", enc[3 + i].conv1.conv.out_channels))
    out += [("dec1", net.decoder[0].conv.conv.out_channels), ("dec2", net.decoder[1].conv.conv.out_channels)]
    return out


def split(genome, net):
    masks, offset = {}, 0
    for name, size in groups(net):
        masks[name] = genome[offset:offset + size]
        offset += size
    return masks


def channels_of(masks):
    res = sorted((k for k in masks if k.startswith("res")), key=lambda k: int(k[3:]))
    count = lambda k: int(masks[k].sum())
    return {"encoder": [count("enc1"), count("enc2"), count("stream")], "residual": [count(k) for k in res],
            "decoder": [count("dec1"), count("dec2")]}


# ---- cost ----------------------------------------------------------------------------

def conv_macs(cin, cout, k, h, w):
    return cin * cout * k * k * h * w


def cost(channels, height=360, width=640):
    """(MACs, parameters) of a ReCoNet with these channels at height x width."""
    c1, c2, c3 = channels["encoder"]
    d1, d2 = channels["decoder"]
    h2, w2, h4, w4 = height // 2, width // 2, height // 4, width // 4
    layers = [(3, c1, 9, height, width), (c1, c2, 3, h2, w2), (c2, c3, 3, h4, w4)]
    for inner in channels["residual"]:
        layers += [(c3, inner, 3, h4, w4), (inner, c3, 3, h4, w4)]
    layers += [(c3, d1, 3, h2, w2), (d1, d2, 3, height, width), (d2, 3, 9, height, width)]
    macs = sum(conv_macs(*layer) for layer in layers)
    params = sum(cin * cout * k * k + cout for cin, cout, k, _, _ in layers)
    norms = 2 * (c1 + c2 + c3 + sum(channels["residual"]) + c3 * len(channels["residual"]) + d1 + d2)
    return macs, params + norms


# ---- physical pruning ----------------------------------------------------------------

def _copy_conv(dst, src, out_idx, in_idx):
    dst.weight.data.copy_(src.weight.data[out_idx][:, in_idx])
    dst.bias.data.copy_(src.bias.data[out_idx])


def _copy_norm(dst, src, idx):
    dst.weight.data.copy_(src.weight.data[idx])
    dst.bias.data.copy_(src.bias.data[idx])


def build_pruned(net, masks):
    """A new, smaller ReCoNet holding the kept channels' weights."""
    channels = channels_of(masks)
    small = reconet.ReCoNet(width=net.width, blocks=net.blocks, channels=channels)
    idx = {k: torch.nonzero(v, as_tuple=False).flatten() for k, v in masks.items()}
    rgb = torch.arange(3)
    e, se = net.encoder, small.encoder
    for layer, (out_key, in_idx) in enumerate([("enc1", rgb), ("enc2", idx["enc1"]), ("stream", idx["enc2"])]):
        _copy_conv(se[layer].conv, e[layer].conv, idx[out_key], in_idx)
        _copy_norm(se[layer].norm, e[layer].norm, idx[out_key])
    for i in range(net.blocks):
        block, sblock, inner = e[3 + i], se[3 + i], idx[f"res{i}"]
        _copy_conv(sblock.conv1.conv, block.conv1.conv, inner, idx["stream"])
        _copy_norm(sblock.conv1.norm, block.conv1.norm, inner)
        _copy_conv(sblock.conv2, block.conv2, idx["stream"], inner)
        _copy_norm(sblock.norm2, block.norm2, idx["stream"])
    d, sd = net.decoder, small.decoder
    _copy_conv(sd[0].conv.conv, d[0].conv.conv, idx["dec1"], idx["stream"])
    _copy_norm(sd[0].conv.norm, d[0].conv.norm, idx["dec1"])
    _copy_conv(sd[1].conv.conv, d[1].conv.conv, idx["dec2"], idx["dec1"])
    _copy_norm(sd[1].conv.norm, d[1].conv.norm, idx["dec2"])
    _copy_conv(sd[2].conv, d[2].conv, rgb, idx["dec2"])
    return small


# ---- the search ----------------------------------------------------------------------

class Fitness:
    def __init__(self, net, vgg, photos, gamma, cost_kind):
        self.net, self.vgg, self.photos, self.gamma, self.cost_kind = net, vgg, photos, gamma, cost_kind
        with torch.no_grad():
            self.teacher = vgg(net(photos), FEATURE_LAYERS)
        self.energy = {k: float(v.pow(2).mean()) for k, v in self.teacher.items()}
        self.full_cost = self.cost_of(channels_of(split(torch.ones(sum(s for _, s in groups(net)), dtype=torch.bool), net)))
        self.cache = {}

    def cost_of(self, channels):
        macs, params = cost(channels)
        return macs if self.cost_kind == "flops" else params

    def __call__(self, genome):
        key = genome.numpy().tobytes()
        if key not in self.cache:
            masks = split(genome, self.net)
            with torch.no_grad():
                out = build_pruned(self.net, masks)(self.photos)
                feats = self.vgg(out, FEATURE_LAYERS)
            error = sum(F.mse_loss(feats[k], self.teacher[k]).item() / self.energy[k] for k in FEATURE_LAYERS) / len(FEATURE_LAYERS)
            ratio = self.cost_of(channels_of(masks)) / self.full_cost
            self.cache[key] = (error + self.gamma * ratio, error, ratio)
        return self.cache[key]


def repair(genome, net, min_channels, g):
    """Every group keeps at least `min_channels` channels (random ones are restored)."""
    offset = 0
    for _, size in groups(net):
        part = genome[offset:offset + size]
        missing = min(min_channels, size) - int(part.sum())
        if missing > 0:
            off = torch.nonzero(~part, as_tuple=False).flatten()
            part[off[torch.randperm(len(off), generator=g)[:missing]]] = True
        offset += size
    return genome


def evolve(fitness, net, args, log):
    g = torch.Generator().manual_seed(args.seed)
    n_bits = sum(size for _, size in groups(net))
    population = [torch.ones(n_bits, dtype=torch.bool)]
    while len(population) < args.population:
        keep = 0.3 + 0.6 * float(torch.rand(1, generator=g))
        population.append(repair(torch.rand(n_bits, generator=g) < keep, net, args.min_channels, g))

    def tournament(scored):
        a, b = torch.randint(len(scored), (2,), generator=g).tolist()
        return scored[min(a, b)][1]  # scored is sorted: the lower index is fitter

    history = []
    for generation in range(1, args.generations + 1):
        started = time.time()
        scored = sorted(((fitness(ind), ind) for ind in population), key=lambda x: x[0][0])
        (best_fit, best_err, best_cost), best = scored[0]
        record = {"generation": generation, "best_fitness": best_fit, "best_error": best_err, "best_cost": best_cost,
                  "channels": channels_of(split(best, net)), "seconds": round(time.time() - started, 2)}
        history.append(record)
        log(f"generation {generation}/{args.generations}: best fitness {best_fit:.4f} (error {best_err:.4f}, "
            f"cost {best_cost:.3f} of the original) channels {record['channels']}")
        next_population = [best.clone()]
        while len(next_population) < args.population:
            r = float(torch.rand(1, generator=g))
            if r < args.s1:
                child = tournament(scored).clone()
            elif r < args.s1 + args.s2:
                a, b = tournament(scored), tournament(scored)
                child = torch.where(torch.rand(n_bits, generator=g) < 0.5, a, b)
            else:
                child = tournament(scored) ^ (torch.rand(n_bits, generator=g) < args.pm)
            next_population.append(repair(child, net, args.min_channels, g))
        population = next_population
    return best, history


def run(args):
    use_threads(args.threads)
    torch.set_grad_enabled(False)
    net, state = reconet.load(args.checkpoint)
    if net.norm_kind != "instance":
        raise ValueError(f"{args.checkpoint}: pruning ranks channels of instance-norm networks; this one is {net.norm_kind}")
    net.eval()
    vgg = random_vgg() if args.random_vgg else load_tfjs(args.vgg)
    photos = torch.stack([centre_square(path, args.photo_size) for path in list_images(args.photos)])
    os.makedirs(args.out, exist_ok=True)
    log_path = os.path.join(args.out, "search.log")

    def log(line):
        print(line, flush=True)
        with open(log_path, "a") as f:
            f.write(line + "\n")

    fitness = Fitness(net, vgg, photos, args.gamma, args.cost)
    best, history = evolve(fitness, net, args, log)
    masks = split(best, net)
    small = build_pruned(net, masks)
    channels = channels_of(masks)
    macs, params = cost(channels)
    full_macs, full_params = cost(channels_of(split(torch.ones_like(best), net)))
    settings = {k: getattr(args, k) for k in ("population", "generations", "s1", "s2", "pm", "gamma", "cost",
                                              "min_channels", "seed", "photo_size")}
    summary = {"pruned_from": os.path.abspath(args.checkpoint), "source_net": net.config(), "channels": channels,
               "macs_640x360": macs, "params": params, "original_macs_640x360": full_macs, "original_params": full_params,
               "search": settings, "history": history}
    with open(os.path.join(args.out, "search.json"), "w") as f:
        json.dump(summary, f, indent=2)
    torch.save({"model": small.state_dict(), "net_config": small.config(), "step": 0,
                "pruned": {k: v for k, v in summary.items() if k != "history"},
                "train_config": state.get("train_config", {})}, os.path.join(args.out, "pruned.pt"))
    log(f"pruned network: {channels}; MACs at 640x360 {macs / 1e9:.2f} G of {full_macs / 1e9:.2f} G "
        f"({macs / full_macs:.1%}), parameters {params} of {full_params}; saved {os.path.join(args.out, 'pruned.pt')}")
    return 0
