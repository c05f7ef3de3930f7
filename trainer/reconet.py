"""ReCoNet (Gao et al., ACCV 2018): the feed-forward style network, and nothing else.

Input and output follow the model contract in docs/model-contract.md:
RGB float32 NCHW in [0, 1], height and width multiples of 4.
"""
import copy

import torch
from torch import nn


NORMS = ("instance", "demod", "hybrid")
DEMOD_INIT_STD = 0.3


class DemodConv2d(nn.Conv2d):
    """StyleGAN2's weight demodulation without a style input: each output
    channel's kernel is scaled to unit L2 norm (unit output variance for
    uncorrelated unit-variance inputs), then by a learned gain. Unlike instance
    norm it takes no statistics of the activations, so no spot in the picture
    can steer them (StyleGAN2's explanation of the "droplet" artifact). At
    export it folds into a plain Conv (`folded_conv`)."""

    def __init__(self, in_ch, out_ch, kernel, stride=1, padding=0, gain=1.0):
        super().__init__(in_ch, out_ch, kernel, stride, padding=padding)
        # Only the kernel's direction counts, so its scale sets how fast the optimiser turns
        # it (StyleGAN2's equalised learning rate keeps entries at unit scale). At PyTorch's
        # default scale (~0.02) one Adam step of 1e-3 saturated the output; 0.1 saturated it
        # within 6-15 steps; 0.3 and 1.0 trained stably, 0.3 a little faster (30-step probes, candy).
        nn.init.normal_(self.weight, std=DEMOD_INIT_STD)
        self.gain = nn.Parameter(torch.full((out_ch,), float(gain)))

    def demodulated_weight(self):
        scale = self.gain * torch.rsqrt(self.weight.pow(2).flatten(1).sum(1) + 1e-8)
        return self.weight * scale[:, None, None, None]

    def forward(self, x):
        return nn.functional.conv2d(x, self.demodulated_weight(), self.bias, self.stride, self.padding)

    def folded_conv(self):
        conv = nn.Conv2d(self.in_channels, self.out_channels, self.kernel_size, self.stride, padding=self.padding)
        with torch.no_grad():
            conv.weight.copy_(self.demodulated_weight())
            conv.bias.copy_(self.bias)
        return conv


def _conv(in_ch, out_ch, kernel, stride, padding, demod, gain=1.0):
    if demod:
        return DemodConv2d(in_ch, out_ch, kernel, stride, padding=padding, gain=gain)
    return nn.Conv2d(in_ch, out_ch, kernel, stride, padding=padding)


class ConvLayer(nn.Module):
    """Padded conv, optionally followed by a normalisation + ReLU. Padding is
    reflection (the paper's) or the conv's own zeros (cheaper on a CPU: no
    separate Pad op, no layout changes around it). The normalisation is
    instance norm (the paper's) or weight demodulation of the conv itself."""

    def __init__(self, in_ch, out_ch, kernel, stride=1, norm_relu=True, padding="reflect", norm="instance"):
        super().__init__()
        demod = norm == "demod"
        if padding == "reflect":
            self.pad = nn.ReflectionPad2d(kernel // 2)
            conv_padding = 0
        else:
            self.pad = nn.Identity()
            conv_padding = kernel // 2
        # A ReLU halves the second moment: sqrt(2) keeps it through a demodulated stack (He
        # init's reason). The painting conv (no ReLU) starts at 0.5: tanh's input near unit scale.
        self.conv = _conv(in_ch, out_ch, kernel, stride, conv_padding, demod, gain=2 ** 0.5 if norm_relu else 0.5)
        self.norm = nn.InstanceNorm2d(out_ch, affine=True) if norm_relu and not demod else None
        self.relu = nn.ReLU() if norm_relu else None

    def forward(self, x):
        x = self.conv(self.pad(x))
        if self.norm is not None:
            x = self.norm(x)
        if self.relu is not None:
            x = self.relu(x)
        return x


class ResidualBlock(nn.Module):
    def __init__(self, ch, inner=None, padding="reflect", norm="instance"):
        super().__init__()
        inner = inner or ch
        demod = norm == "demod"
        self.conv1 = ConvLayer(ch, inner, 3, padding=padding, norm=norm)
        if padding == "reflect":
            self.pad = nn.ReflectionPad2d(1)
            self.conv2 = _conv(inner, ch, 3, 1, 0, demod)
        else:
            self.pad = nn.Identity()
            self.conv2 = _conv(inner, ch, 3, 1, 1, demod)
        self.norm2 = nn.Identity() if demod else nn.InstanceNorm2d(ch, affine=True)

    def forward(self, x):
        return x + self.norm2(self.conv2(self.pad(self.conv1(x))))


class UpsampleConv(nn.Module):
    """Nearest x2 upsample then conv; the conv sits between Upsample and
    InstanceNorm, which also avoids torch 1.13's export bug for that pair."""

    def __init__(self, in_ch, out_ch, padding="reflect", norm="instance"):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv = ConvLayer(in_ch, out_ch, 3, padding=padding, norm=norm)

    def forward(self, x):
        return self.conv(self.up(x))


class ReCoNet(nn.Module):
    """`channels` (optional) gives every layer's width explicitly, for pruned
    networks: {"encoder": [c1, c2, c3], "residual": [inner per block], "decoder": [d1, d2]}.

    `upscale` 2 makes a network meant to paint full size for the cost of a
    half-size one (shipped for five fast variants): the frame is halved (2x2
    average, after padding to a multiple of 8 by edge repetition), the network
    runs on it, and its last conv paints 4 sub-pixel phases (PixelShuffle)
    instead of one, so the output is full size with no full-size convolution
    at all. It keeps the model contract (same size in and out, any multiple of
    4: the output is cropped).

    `norm` "demod" puts weight demodulation (`DemodConv2d`) in place of every
    instance norm (a trainer option, tried against blob artifacts);
    "hybrid" keeps instance norm in the encoder (where the style's statistics
    are set) and demodulates the decoder (where the droplets are painted)."""

    def __init__(self, width=48, blocks=4, channels=None, padding="reflect", upscale=1, norm="instance"):
        super().__init__()
        if padding not in ("reflect", "zeros"):
            raise ValueError(f"padding must be reflect or zeros, not {padding!r}")
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {', '.join(NORMS)}, not {norm!r}")
        self.norm_kind = norm
        if upscale not in (1, 2):
            raise ValueError(f"upscale must be 1 or 2, not {upscale!r}")
        self.width, self.blocks, self.padding = width, blocks, padding
        self.upscale = int(upscale)
        if channels is None:
            channels = {"encoder": [width, width * 2, width * 4], "residual": [width * 4] * blocks,
                        "decoder": [width * 2, width]}
            self.explicit_channels = None
        else:
            self.explicit_channels = {k: [int(c) for c in v] for k, v in channels.items()}
            self.blocks = len(channels["residual"])
        c1, c2, c3 = channels["encoder"]
        d1, d2 = channels["decoder"]
        pad = padding
        enc_norm, dec_norm = ("instance", "demod") if norm == "hybrid" else (norm, norm)
        self.encoder = nn.Sequential(
            ConvLayer(3, c1, 9, padding=pad, norm=enc_norm),
            ConvLayer(c1, c2, 3, stride=2, padding=pad, norm=enc_norm),
            ConvLayer(c2, c3, 3, stride=2, padding=pad, norm=enc_norm),
            *[ResidualBlock(c3, inner, padding=pad, norm=enc_norm) for inner in channels["residual"]],
        )
        self.decoder = nn.Sequential(
            UpsampleConv(c3, d1, padding=pad, norm=dec_norm),
            UpsampleConv(d1, d2, padding=pad, norm=dec_norm),
            ConvLayer(d2, 3 * self.upscale ** 2, 9, norm_relu=False, padding=pad, norm=dec_norm),
        )
        self.shuffle = nn.PixelShuffle(self.upscale) if self.upscale > 1 else None

    def forward_with_features(self, x):
        if self.shuffle is not None:
            return self._forward_upscaled(x)
        features = self.encoder(x)
        out = (torch.tanh(self.decoder(features)) + 1) / 2
        return out, features

    @staticmethod
    def _halved(x):
        """The frame padded to a multiple of 8 by edge repetition and halved by 2x2 averaging
        (what the runtime's area shrink does for even sizes), with the padded full-size frame."""
        h, w = x.shape[-2:]
        padded = nn.functional.pad(x, (0, (8 - w % 8) % 8, 0, (8 - h % 8) % 8), mode="replicate")
        return nn.functional.avg_pool2d(padded, 2), padded

    def _forward_upscaled(self, x):
        h, w = x.shape[-2:]
        features = self.encoder(self._halved(x)[0])
        out = (torch.tanh(self.shuffle(self.decoder(features))) + 1) / 2
        return out[..., :h, :w], features

    def forward(self, x):
        return self.forward_with_features(x)[0]

    def config(self):
        config = {"arch": "reconet", "width": self.width, "blocks": self.blocks}
        if self.explicit_channels is not None:
            config["channels"] = self.explicit_channels
        if self.padding != "reflect":
            config["padding"] = self.padding
        if self.upscale != 1:
            config["upscale"] = self.upscale
        if self.norm_kind != "instance":
            config["norm"] = self.norm_kind
        return config


def build(config):
    if config.get("arch", "reconet") != "reconet":
        raise ValueError(f"unknown architecture {config.get('arch')!r}")
    return ReCoNet(width=int(config["width"]), blocks=int(config["blocks"]), channels=config.get("channels"),
                   padding=config.get("padding", "reflect"),
                   upscale=int(config.get("upscale", 1)), norm=config.get("norm", "instance"))


def folded(net):
    """A copy of `net` with every demodulated conv folded into a plain Conv (the
    same function; what export writes, so ONNX sees Conv + Relu only). A net
    without them is returned as is."""
    if not any(isinstance(m, DemodConv2d) for m in net.modules()):
        return net
    plain = copy.deepcopy(net)
    for module in list(plain.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, DemodConv2d):
                setattr(module, name, child.folded_conv())
    return plain


def _unfold_demod_state(net, weights):
    """An exported demodulated network's weights (folded: no gains) as its state
    dict: a gain equal to each folded kernel's norm demodulates back to that kernel."""
    state = dict(weights)
    for name, module in net.named_modules():
        if isinstance(module, DemodConv2d) and name + ".gain" not in state and name + ".weight" in state:
            state[name + ".gain"] = state[name + ".weight"].flatten(1).norm(dim=1)
    return state


def _bilinear_phase_kernels(weight, bias):
    """The last conv of a network whose output the runtime enlarges 2x bilinearly,
    rewritten as the 4 sub-pixel phases of a PixelShuffle(2) head: phase (i, j)
    paints full-size pixel (2y+i, 2x+j) as the bilinear blend (3/4, 1/4 per axis)
    of the half-size conv at y and its neighbour, before the tanh. The blend
    widens the kernel by one tap; that outermost tap (a quarter of an edge
    weight) is dropped to keep the kernel's size."""
    out_ch, in_ch, k, _ = weight.shape
    taps = {0: ((0, 0.75), (-1, 0.25)), 1: ((0, 0.75), (1, 0.25))}
    phases = torch.zeros(out_ch, 4, in_ch, k, k, dtype=weight.dtype)
    for i in (0, 1):
        for j in (0, 1):
            for dy, wy in taps[i]:
                for dx, wx in taps[j]:
                    # kernel tap t at offset d reads what tap t - d read before
                    shifted = torch.zeros_like(weight)
                    src_y = slice(max(0, -dy), k - max(0, dy))
                    dst_y = slice(max(0, dy), k - max(0, -dy))
                    src_x = slice(max(0, -dx), k - max(0, dx))
                    dst_x = slice(max(0, dx), k - max(0, -dx))
                    shifted[:, :, dst_y, dst_x] = weight[:, :, src_y, src_x]
                    phases[:, i * 2 + j] += wy * wx * shifted
    return phases.reshape(out_ch * 4, in_ch, k, k), bias.repeat_interleave(4)


def with_upscale(net):
    """`net` (a network the runtime runs at half size) as one that takes the full
    frame, halves it itself and paints the full size through a sub-pixel
    (PixelShuffle) head: full-size detail for the cost of 12 output channels
    instead of 3 in its last conv. It starts where the runtime's half-size run of
    `net` (area shrink, bilinear enlargement) is."""
    if net.upscale != 1:
        raise ValueError("with_upscale takes a plain network")
    if net.norm_kind != "instance":
        raise ValueError("with_upscale rewrites an instance-norm network's last conv; a demodulated one's is normalised")
    upscaled = build({**net.config(), "upscale": 2}).to(next(net.parameters()).device)
    state = dict(net.state_dict())
    last = "decoder.2.conv"
    with torch.no_grad():
        state[last + ".weight"], state[last + ".bias"] = _bilinear_phase_kernels(state[last + ".weight"],
                                                                                 state[last + ".bias"])
    upscaled.load_state_dict(state)
    return upscaled


def load(path, device="cpu"):
    """The one checkpoint loader: a trainer checkpoint (.pt: net_config + model)
    or an exported model (.onnx, whose initializers carry the state dict's
    names, with its manifest's "network" section). Returns (net, state) where
    state is the checkpoint dict (for .onnx: net_config and model only)."""
    import json
    import os
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if path.endswith(".onnx"):
        import onnx
        from onnx import numpy_helper
        manifest_path = path[:-5] + ".json"
        if not os.path.isfile(manifest_path):
            raise FileNotFoundError(f"{path}: its manifest {manifest_path} is missing (it holds the network shape)")
        network = json.load(open(manifest_path)).get("network", {})
        weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy())
                   for i in onnx.load(path).graph.initializer}
        state = {"net_config": network, "model": weights}
    else:
        state = torch.load(path, map_location=device)
    net = build(state["net_config"]).to(device)
    if path.endswith(".onnx"):
        state["model"] = _unfold_demod_state(net, state["model"])
    missing = set(net.state_dict()) - set(state["model"])
    if missing:
        raise ValueError(f"{path}: lacks weights {sorted(missing)[:3]}... (an ONNX export merges identical "
                         "initializers, e.g. untrained norms: load its .pt checkpoint instead)")
    net.load_state_dict(state["model"])
    return net, state


def _norm_pairs(net):
    """(conv name, instance-norm name or None) for every conv of `net`, in forward order."""
    pairs = []
    for name, module in net.named_modules():
        if isinstance(module, ConvLayer):
            pairs.append((f"{name}.conv", f"{name}.norm" if module.norm is not None else None))
        elif isinstance(module, ResidualBlock):
            pairs.append((f"{name}.conv2", f"{name}.norm2" if isinstance(module.norm2, nn.InstanceNorm2d) else None))
    # named_modules lists a residual block before its conv1; its conv2 runs after it
    position = {name: i for i, (name, _) in enumerate(net.named_modules())}
    return sorted(pairs, key=lambda pair: position[pair[0]])


class _FixedAffine(nn.Module):
    def __init__(self, scale, shift):
        super().__init__()
        self.register_buffer("scale", scale[None, :, None, None])
        self.register_buffer("shift", shift[None, :, None, None])

    def forward(self, x):
        return x * self.scale + self.shift


def freeze_instance_norms(net, norm_names, calibration):
    """Replaces, in place and in forward order, each instance norm of `net` named in
    `norm_names` by the fixed affine map it applies on average over `calibration`
    (a list of 1x3xHxW images): the mean over images of each image's channel mean,
    and the root mean of each image's channel variance. Later layers are measured
    with the earlier ones already frozen. Returns {norm name: (scale, shift)}."""
    affines = {}
    with torch.no_grad():
        for conv_name, norm_name in _norm_pairs(net):
            if norm_name not in norm_names:
                continue
            conv, instance_norm = net.get_submodule(conv_name), net.get_submodule(norm_name)
            captured = []
            handle = conv.register_forward_hook(lambda _m, _i, out: captured.append(out))
            for image in calibration:
                net(image)
            handle.remove()
            mean = torch.stack([c.mean(dim=(0, 2, 3)) for c in captured]).mean(0)
            variance = torch.stack([c.var(dim=(2, 3), unbiased=False).mean(0) for c in captured]).mean(0)
            scale = instance_norm.weight / torch.sqrt(variance + instance_norm.eps)
            shift = instance_norm.bias - scale * mean
            parent_name, _, child = norm_name.rpartition(".")
            setattr(net.get_submodule(parent_name), child, _FixedAffine(scale, shift))
            affines[norm_name] = (scale, shift)
    return affines


def converted(net, norm, calibration):
    """An instance-norm `net` as a network of norm `norm` ("demod" or "hybrid")
    that paints nearly as it does, for fine-tuning instead of training from
    scratch. Every instance norm to be removed is frozen into fixed statistics
    (`freeze_instance_norms`); that affine map folds into the conv before it,
    which becomes a demodulated conv whose gain is the folded kernel's norm. On
    one calibration image the result equals `net` on that image."""
    if net.norm_kind != "instance":
        raise ValueError(f"converted takes an instance-norm network, not {net.norm_kind!r}")
    if norm not in ("demod", "hybrid"):
        raise ValueError(f"norm must be demod or hybrid, not {norm!r}")
    work = copy.deepcopy(net).eval()
    target = build({**net.config(), "norm": norm}).to(next(net.parameters()).device)
    new_modules = dict(target.named_modules())
    pairs = [pair for pair in _norm_pairs(work) if isinstance(new_modules[pair[0]], DemodConv2d)]
    affines = freeze_instance_norms(work, {norm_name for _, norm_name in pairs if norm_name}, calibration)
    state = dict(net.state_dict())
    with torch.no_grad():
        for conv_name, norm_name in pairs:
            conv = work.get_submodule(conv_name)
            weight, bias = conv.weight.clone(), conv.bias.clone()
            if norm_name is not None:
                scale, shift = affines[norm_name]
                weight, bias = weight * scale[:, None, None, None], bias * scale + shift
                for suffix in (".weight", ".bias", ".running_mean", ".running_var", ".num_batches_tracked"):
                    state.pop(norm_name + suffix, None)
            norms = weight.flatten(1).norm(dim=1)
            rms = norms / weight[0].numel() ** 0.5
            # direction only counts; entries at DEMOD_INIT_STD keep Adam's step as a new net's
            state[conv_name + ".weight"] = weight * (DEMOD_INIT_STD / rms.clamp_min(1e-12))[:, None, None, None]
            state[conv_name + ".bias"] = bias
            state[conv_name + ".gain"] = norms
    target.load_state_dict(state)
    return target
