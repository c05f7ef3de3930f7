"""The runtime's size rules, shared by training and measuring so that what is
optimized and measured is what runs (docs/model-contract.md, "Model scale" and
"Working size"; src/pipeline/sizing.ts holds the same rules, checked against
one table in both test suites)."""
import math

import torch.nn.functional as F

MIN_STROKE_SCALE = 0.25
MAX_STROKE_SCALE = 4.0


def model_size(dim, scale):
    """One side of the model size: even, at least 16 (src/pipeline/sizing.ts modelSizeFor;
    halves round up there, as here, not to even as Python's round does)."""
    return max(16, math.floor(dim * scale / 2 + 0.5) * 2)


def working_scale(height, width, model_scale=1.0, native_short_side=None, stroke_scale=1.0):
    """The fraction of the output size the model runs at: the manifest's model scale
    times the working-size factor. A model whose strokes were made for
    `native_short_side` px runs with that short side divided by the stroke scale
    (larger strokes: a smaller working size), never larger than the output."""
    if not MIN_STROKE_SCALE <= stroke_scale <= MAX_STROKE_SCALE:
        raise ValueError(f"stroke scale must be between {MIN_STROKE_SCALE} and {MAX_STROKE_SCALE}, got {stroke_scale}")
    short = min(height, width)
    native = native_short_side or short
    return model_scale * min(1.0, native / (stroke_scale * short))


def run_scaled(run, frames, scale):
    """`run` (N, 3, h, w) -> (N, 3, h, w) applied as the runtime applies a model at a
    scale below 1: the frame shrunk by area averaging to the model size, padded to
    multiples of 4 by edge repetition, the output cropped and enlarged bicubically
    with half-pixel centres. At scale 1 the frames must already be multiples of 4."""
    if scale >= 1:
        return run(frames).clamp(0, 1)
    h, w = frames.shape[-2:]
    sh, sw = model_size(h, scale), model_size(w, scale)
    small = F.interpolate(frames, size=(sh, sw), mode="area").clamp(0, 1)
    padded = F.pad(small, (0, (-sw) % 4, 0, (-sh) % 4), mode="replicate")
    out = run(padded)[..., :sh, :sw]
    return F.interpolate(out, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)
