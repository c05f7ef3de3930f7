"""Magenta's arbitrary-style pair (Ghiasi et al. 2017), rebuilt from its TensorFlow
Lite release in the shared data (Apache-2.0; read from --weights, never
committed): a MobileNet-v2 style predictor (painting -> 100 numbers) and a
transfer network whose conditional instance norms take their scales and
shifts from those numbers.

As the model contract's form 2 (docs/model-contract.md):
- StyleEncoder: painting (any size) -> scaled to 256x256 -> predictor -> [1, 100];
- Stylizer: frame + style + strength -> frame. Magenta blends the painting's
  vector with the content image's own one; per video frame that would run the
  predictor on every frame (a fixed ~20 ms on 2 cores, the bottleneck of the
  fast preset) and let the mix jitter with the frame. Here the painting's vector
  is blended with one fixed "photo" vector instead (the mean of the
  predictor's vectors of real photos, computed once at export:
  `photo_vector`), and the result is cross-faded with the frame by the same
  strength, so strength 0 is exactly the frame and 1 exactly the painting.
"""
import os

import torch
import torch.nn.functional as F
from torch import nn

from .tflite_graph import TFLiteGraph

DEFAULT_WEIGHTS = os.path.join("..", "shared", "data", "weights", "magenta-arbitrary-tflite")
PREDICTOR_SIZE = 256


def load_pair(weights_dir=DEFAULT_WEIGHTS):
    schema = os.path.join(weights_dir, "schema.fbs")
    predictor = TFLiteGraph(os.path.join(weights_dir, "style_predict_quantized_256.tflite"), schema)
    transfer = TFLiteGraph(os.path.join(weights_dir, "style_transfer_f16_384.tflite"), schema)
    return predictor.eval(), transfer.eval()


def predict(predictor, image):
    """[N, 3, H, W] in [0, 1] -> [N, 100]."""
    small = F.interpolate(image, size=(PREDICTOR_SIZE, PREDICTOR_SIZE), mode="bilinear", align_corners=False)
    return predictor(small).flatten(1)


class StyleEncoder(nn.Module):
    def __init__(self, predictor):
        super().__init__()
        self.predictor = predictor

    def forward(self, painting):
        return predict(self.predictor, painting)


def photo_vector(predictor, photos):
    """The mean style vector of real photos ([1, 100]): strength 0's target."""
    with torch.no_grad():
        return torch.cat([predict(predictor, p.unsqueeze(0)) for p in photos]).mean(0, keepdim=True)


class Stylizer(nn.Module):
    """frame [1, 3, H, W] (H, W multiples of 4: the network halves twice and doubles twice),
    style [1, 100], strength [1] -> frame."""

    def __init__(self, transfer, neutral):
        super().__init__()
        self.transfer = transfer
        self.register_buffer("neutral", neutral.reshape(1, -1))

    def forward(self, frame, style, strength):
        s = strength.view(-1, 1)
        mixed = self.neutral + (style - self.neutral) * s
        painted = self.transfer(frame, mixed.view(-1, mixed.shape[1], 1, 1))
        return (frame + (painted - frame) * s.view(-1, 1, 1, 1)).clamp(0, 1)
