"""The deeper style levels (compact VGG19 through its embedding heads): shapes,
the fidelity measure, and the train/eval options, all on random weights."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from trainer import reconet
from trainer.deep_style import DEEP_LEVELS, WeightsMissing, fidelity, load_compact_vgg, random_compact_vgg
from trainer.onnx_files import export_model

from .test_trainer import run_trainer, smooth_image, write_photos


def test_deep_levels_have_vgg19_widths_and_strides():
    net = random_compact_vgg()
    out = net(smooth_image(2, 64, 96))
    assert set(out) == set(DEEP_LEVELS)
    assert tuple(out["relu4_1"].shape) == (2, 512, 8, 12)
    assert tuple(out["relu5_1"].shape) == (2, 512, 4, 6)
    assert all(float(v.min()) >= 0 for v in out.values())  # rectified, as VGG's relu levels are


def test_deep_levels_see_luminance_only():
    """Two pictures of one luminance and different colours have the same deep features."""
    net = random_compact_vgg()
    grey = smooth_image(1, 48, 48, seed=3).mean(1, keepdim=True)
    tinted = grey.repeat(1, 3, 1, 1) + torch.tensor([0.0722, 0.0, -0.2126]).view(1, 3, 1, 1) * 0.3  # Y unchanged
    level = ("relu2_1",)  # random weights leave the deepest levels nearly dead; the rule is the same
    a, b = net(grey.repeat(1, 3, 1, 1), level)["relu2_1"], net(tinted, level)["relu2_1"]
    assert float(a.abs().max()) > 0 and torch.allclose(a, b, atol=1e-5)
    assert not torch.allclose(net(grey.repeat(1, 3, 1, 1), level, colour=True)["relu2_1"],
                              net(tinted, level, colour=True)["relu2_1"], atol=1e-5)


def test_fidelity_is_one_for_the_same_features_and_minus_one_for_their_negation():
    compact = random_compact_vgg()
    photos = [smooth_image(1, 32, 40, seed=s) for s in range(2)]
    same = fidelity(compact, lambda x, wanted: compact(x, wanted, colour=True), photos, levels=("relu2_1",))
    assert same["relu2_1"]["median_r"] == pytest.approx(1.0, abs=1e-4)
    negated = fidelity(compact, lambda x, wanted: {k: -v for k, v in compact(x, wanted, colour=True).items()}, photos,
                       levels=("relu2_1",))
    assert negated["relu2_1"]["median_r"] == pytest.approx(-1.0, abs=1e-4)


def test_missing_encoder_gives_a_clear_error(tmp_path):
    with pytest.raises(WeightsMissing, match="5SE.pth is missing"):
        load_compact_vgg(str(tmp_path))


def test_training_with_deep_levels_adds_their_term_and_needs_the_balanced_norm(tmp_path):
    write_photos(tmp_path / "photos")
    Image.fromarray((np.random.default_rng(1).random((64, 64, 3)) * 255).astype("uint8")).save(tmp_path / "style.png")
    common = ["train", "--style", str(tmp_path / "style.png"), "--content", str(tmp_path / "photos"),
              "--random-vgg", "--size", "32", "--batch", "1", "--width", "4", "--blocks", "1",
              "--style-size", "32", "--threads", "1", "--steps", "2", "--deep-style-weight", "1"]
    refused = run_trainer(*common, "--run", str(tmp_path / "sum"))
    assert refused.returncode != 0 and "--style-norm balanced" in refused.stderr
    done = run_trainer(*common, "--run", str(tmp_path / "deep"), "--style-norm", "balanced")
    assert done.returncode == 0, done.stderr
    state = torch.load(tmp_path / "deep" / "checkpoint.pt")
    assert state["train_config"]["deep_style_weight"] == 1.0
    assert all(h["deep_style"] > 0 for h in state["history"])


def test_eval_reports_the_deep_gap_beside_the_balanced_one(tmp_path):
    data = tmp_path / "data"
    (data / "content").mkdir(parents=True)
    write_photos(data / "content" / "samples", count=2, size=40)
    Image.fromarray((np.random.default_rng(2).random((48, 48, 3)) * 255).astype("uint8")).save(tmp_path / "s.png")
    torch.manual_seed(0)
    export_model(reconet.ReCoNet(width=4, blocks=1), str(tmp_path / "m"), "tiny", {"title": "t"})
    out = tmp_path / "report.json"
    r = run_trainer("eval", "--model", str(tmp_path / "m" / "tiny.onnx"), "--data", str(data), "--style",
                    str(tmp_path / "s.png"), "--frames", "720p", "--frames-only", "--deep-levels", "--random-vgg",
                    "--out", str(out))
    assert r.returncode == 0, r.stderr
    metrics = json.loads(out.read_text())["metrics"]
    assert np.isfinite(metrics["deep_gap_closed_720p"]) and metrics["deep_gap_closed_720p"] < 1
    assert np.isfinite(metrics["style_gap_closed_720p"])
    # Noise photos have no dark shape on a flat sky: the rim figures are reported, and empty.
    assert metrics["halo_width_px_720p"] is None and metrics["edge_contrast_kept_720p"] is None
