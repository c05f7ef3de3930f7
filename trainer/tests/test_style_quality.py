"""Style strength measure, balanced style loss, blob detector, checkpoint loading."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from trainer import reconet
from trainer.blob_detector import detect, score
from trainer.losses import (STYLE_LAYERS, balanced_style_distance, gram, gram_term, teacher_style_loss,
                            windowed_gram)
from trainer.vgg import random_vgg

from .test_trainer import NODE_READY, ROOT, run_trainer, smooth_image, write_photos


def test_balanced_gram_term_ignores_each_layers_scale():
    torch.manual_seed(0)
    g, t = torch.rand(2, 8, 8), torch.rand(1, 8, 8)
    assert float(gram_term(t.expand(2, -1, -1), t, "balanced")) == 0
    for scale in (1e-2, 1.0, 1e3):  # relu1_1-sized and relu3_4-sized Grams weigh the same
        assert float(gram_term(g * scale, t * scale, "balanced")) == pytest.approx(
            float(gram_term(g, t, "balanced")), rel=1e-5)
    # The plain sum grows with the square of the Gram scale: that is what starved relu1_1.
    assert float(gram_term(g * 10, t * 10, "sum")) == pytest.approx(100 * float(gram_term(g, t, "sum")), rel=1e-5)


def test_balanced_style_distance_known_values():
    f = torch.rand(1, 4, 6, 6) + 0.1
    target = {k: gram(f) for k in STYLE_LAYERS}
    same = {k: f for k in STYLE_LAYERS}
    d, per_layer = balanced_style_distance(same, target)
    assert float(d) == pytest.approx(0, abs=1e-6)
    doubled = {k: f * np.sqrt(2.0) for k in STYLE_LAYERS}  # Gram doubles: ||2T - T|| / ||T|| = 1
    d, per_layer = balanced_style_distance(doubled, target)
    assert per_layer.shape == (1, len(STYLE_LAYERS))
    assert float(d) == pytest.approx(1.0, rel=1e-4)


def test_style_gap_is_zero_for_the_photo_and_one_for_the_painting(tmp_path):
    from PIL import Image

    from trainer.data import centre_square
    from trainer.measures import style_gap
    write_photos(tmp_path / "p", count=2, size=40)
    photos = sorted(str(p) for p in (tmp_path / "p").iterdir())
    painting = tmp_path / "style.png"
    Image.fromarray((np.random.default_rng(3).random((48, 48, 3)) * 255).astype("uint8")).save(painting)
    vgg = random_vgg()
    unchanged = style_gap(lambda x: x, photos, str(painting), vgg, 32)
    assert unchanged["style_gap_closed"] == pytest.approx(0, abs=1e-6)
    the_painting = centre_square(str(painting), 32).unsqueeze(0)
    perfect = style_gap(lambda x: the_painting.expand(len(x), -1, -1, -1), photos, str(painting), vgg, 32)
    assert perfect["style_gap_closed"] == pytest.approx(1, abs=1e-5)
    assert perfect["style_distance"] == pytest.approx(0, abs=1e-5)


def flat_frame(h=200, w=320, value=0.5):
    return np.full((h, w, 3), value, np.float32)


def spot(h, w, cy, cx, radius, colour):
    yy, xx = np.mgrid[0:h, 0:w]
    weight = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (radius / 2) ** 2))[..., None]
    return weight * (np.array(colour, np.float32) - 0.5)


def test_blob_detector_finds_droplets_on_flat_input():
    frame = flat_frame()
    out = frame + spot(200, 320, 60, 80, 14, (1.0, 0.95, 0.1)) + spot(200, 320, 140, 240, 20, (0.0, 0.0, 0.0))
    blobs, mask = detect(frame, out.clip(0, 1).astype(np.float32))
    assert len(blobs) == 2
    centres = sorted((b["y"] + b["h"] // 2, b["x"] + b["w"] // 2) for b in blobs)
    assert abs(centres[0][0] - 60) < 6 and abs(centres[0][1] - 80) < 6
    assert abs(centres[1][0] - 140) < 6 and abs(centres[1][1] - 240) < 6
    assert score(frame, out.clip(0, 1).astype(np.float32))[0]["flagged"]


def test_blob_detector_ignores_texture_strokes_and_input_structure():
    rng = np.random.default_rng(0)
    frame = flat_frame()
    textured = frame + (rng.random(frame.shape, dtype=np.float32) - 0.5) * 0.3  # fine brush texture
    stroke = frame.copy()
    stroke[98:102, 20:300] = (0.1, 0.1, 0.9)  # a long thin stroke, not a droplet
    assert detect(frame, textured.clip(0, 1))[0] == []
    assert detect(frame, stroke)[0] == []
    # A spot that is in the input too is content, not an artifact.
    with_spot = (frame + spot(200, 320, 100, 160, 16, (1, 1, 0))).clip(0, 1).astype(np.float32)
    assert detect(with_spot, with_spot)[0] == []
    # A dark patch painted over busy input (a style's stroke on machinery) is not a droplet...
    busy = (frame + (rng.random(frame.shape, dtype=np.float32) - 0.5) * 0.6).clip(0, 1).astype(np.float32)
    patch = (busy + spot(200, 320, 100, 160, 20, (0, 0, 0))).clip(0, 1).astype(np.float32)
    assert detect(busy, patch)[0] == []
    # ...and neither is a spot at the frame's edge (padding), while the same spot inside is.
    edge = (frame + spot(200, 320, 100, 2, 20, (0, 0, 0))).clip(0, 1).astype(np.float32)
    assert detect(frame, edge)[0] == []


def test_blob_detector_judges_a_1080p_frame_as_the_same_picture_at_720p():
    # A picture at a third of 720p (scale 1/3) and the same picture enlarged 1.5x (scale 1/2),
    # as a 512 px model's output is enlarged to 720p and to 1080p.
    h, w = 240, 320
    frame = flat_frame(h, w)
    out = (frame + spot(h, w, 80, 90, 16, (1, 0.95, 0.1)) + spot(h, w, 160, 230, 7, (0, 0, 0))
           + spot(h, w, 60, 250, 3, (0.9, 0.1, 0.9))).clip(0, 1).astype(np.float32)  # the last: below the minimum
    enlarge = lambda a: F.interpolate(torch.from_numpy(a).permute(2, 0, 1)[None], scale_factor=1.5, mode="bicubic",
                                      align_corners=False)[0].permute(1, 2, 0).clamp(0, 1).numpy().copy()
    small, large = score(frame, out, 1 / 3), score(enlarge(frame), enlarge(out), 1 / 2)
    assert small[0]["blobs"] == large[0]["blobs"] == 2
    assert small[0]["blobs_per_megapixel"] == pytest.approx(large[0]["blobs_per_megapixel"])
    # Sizes held in pixels would count the enlarged small spot at the larger size.
    assert len(detect(enlarge(frame), enlarge(out), scale=1 / 3)[0]) == 3


def test_blobs_scores_an_image_pair_made_elsewhere(tmp_path):
    """`blobs --pair`: another model's published output against its photo, at any size."""
    from PIL import Image
    import json
    frame = flat_frame()
    out = (frame + spot(200, 320, 60, 80, 14, (1.0, 0.95, 0.1)) + spot(200, 320, 140, 240, 20, (0, 0, 0))).clip(0, 1)
    Image.fromarray((frame * 255).round().astype(np.uint8)).save(tmp_path / "photo.png")
    # Published outputs are often another size than the photo: the detector scales the output to the input.
    Image.fromarray((out * 255).round().astype(np.uint8)).resize((640, 400)).save(tmp_path / "styled.png")
    r = run_trainer("blobs", "--pair", str(tmp_path / "photo.png"), str(tmp_path / "styled.png"),
                    "--height", "200", "--out", str(tmp_path / "report.json"))
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["blobs"] == 2 and report["flagged"]
    clean = run_trainer("blobs", "--pair", str(tmp_path / "photo.png"), str(tmp_path / "photo.png"), "--height", "200")
    assert clean.returncode == 0 and "0 blobs" in clean.stdout
    missing = run_trainer("blobs", "--pair", str(tmp_path / "nope.png"), str(tmp_path / "styled.png"))
    assert missing.returncode != 0 and "image not found" in missing.stderr and "Traceback" not in missing.stderr


def test_the_check_set_of_blob_images_shares_nothing_with_the_test_set(tmp_path):
    """A checkpoint chosen for its count on the test set is judged on images the choice never saw."""
    from trainer.blob_detector import IMAGE_SETS, clip_frames
    (test_photos, test_times), (check_photos, check_times) = IMAGE_SETS["test"], IMAGE_SETS["check"]
    assert not set(test_photos) & set(check_photos) and not set(test_times) & set(check_times)
    videos = tmp_path / "videos"
    videos.mkdir()
    # A moving test pattern 3 s long, as the shortest real clip (3.1 s).
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=10:duration=3",
                    "-pix_fmt", "yuv420p", str(videos / "pattern.mp4")], check=True)
    (name, frame), = clip_frames(str(tmp_path), "pattern.mp4,absent.mp4", 72, test_times)
    later = clip_frames(str(tmp_path), "pattern.mp4", 72, check_times)
    assert name == "pattern.mp4" and [n for n, _ in later] == ["pattern.mp4@2s", "pattern.mp4@2.8s"]
    assert frame.shape[-2] == 72 and all(f.shape == frame.shape for _, f in later)
    assert (later[0][1] - later[1][1]).abs().mean() > 0.01 and (frame - later[0][1]).abs().mean() > 0.01


def test_blobs_keeps_the_manifest_count_to_the_test_set():
    r = run_trainer("blobs", "--model", "models/absent.onnx", "--set", "check", "--update-manifest")
    assert r.returncode != 0 and "--update-manifest stores the count on the test set" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.skipif(not NODE_READY, reason="needs node and the project's onnxruntime-node (npm install)")
def test_load_reads_an_exported_model_back(tmp_path):
    from trainer.onnx_files import export_model
    torch.manual_seed(0)
    net = reconet.ReCoNet(width=4, blocks=1)
    with torch.no_grad():  # trained-like values: the exporter merges identical initializers (fresh norms)
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    path, _ = export_model(net, str(tmp_path), "probe", {"title": "Probe"})
    loaded, state = reconet.load(path)
    x = smooth_image(1, 24, 32)
    with torch.no_grad():
        assert torch.allclose(net.eval()(x), loaded.eval()(x), atol=1e-6)
    assert state["net_config"]["width"] == 4
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        reconet.load(str(tmp_path / "missing.pt"))


def test_commands_that_do_not_need_onnx_run_without_it():
    """python3-onnx missing on a fresh machine once broke every command."""
    code = ("import sys; sys.modules['onnx'] = None; from trainer.__main__ import main; "
            "sys.exit(main(['train', '--help']))")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "--style-norm" in r.stdout


def test_resume_names_the_command_line_settings_it_ignores(tmp_path):
    write_photos(tmp_path / "photos")
    from PIL import Image
    Image.fromarray((np.random.default_rng(1).random((32, 32, 3)) * 255).astype("uint8")).save(tmp_path / "s.png")
    common = ["train", "--style", str(tmp_path / "s.png"), "--content", str(tmp_path / "photos"), "--random-vgg",
              "--run", str(tmp_path / "run"), "--size", "32", "--width", "4", "--blocks", "1", "--style-size", "32",
              "--threads", "1", "--style-norm", "balanced", "--sizes", "24,32"]
    assert run_trainer(*common, "--steps", "2").returncode == 0
    r = run_trainer(*common, "--steps", "3", "--style-weight", "7")
    assert r.returncode == 0, r.stderr
    assert "ignored on the command line" in r.stdout and "--style-weight 7.0 (saved 0.01)" in r.stdout


def test_setup_check_catches_an_import_setup_does_not_install(tmp_path):
    """The fault a fresh machine once showed: the trainer imported onnx, setup.sh lacked python3-onnx."""
    script = os.path.join(ROOT, "scripts", "check-setup.py")
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "m.py").write_text("import os\nimport torch\n\ndef f():\n    import onnx\n")
    (tmp_path / "setup.sh").write_text("APT_PACKAGES=(ffmpeg python3-torch)\n")
    r = subprocess.run([sys.executable, script, str(tmp_path / "t"), str(tmp_path / "setup.sh")],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "does not install python3-onnx" in r.stderr
    (tmp_path / "setup.sh").write_text("APT_PACKAGES=(ffmpeg python3-torch python3-onnx)\n")
    ok = subprocess.run([sys.executable, script, str(tmp_path / "t"), str(tmp_path / "setup.sh")],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert subprocess.run([sys.executable, script], capture_output=True).returncode == 0  # the project itself


def _shaded_frame(h=96, w=112):
    """A smoothly shaded, flat-looking frame (a sky): (1, 3, H, W)."""
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    return torch.stack([0.3 + 0.2 * xx, 0.5 + 0.1 * yy, 0.8 - 0.2 * xx * yy])[None]


def test_blob_penalty_spares_colour_mappings_and_finds_a_droplet():
    from trainer.losses import blob_loss
    frame = _shaded_frame()
    mix = torch.tensor([[0.6, 0.3, 0.1], [0.1, 0.2, 0.7], [0.5, 0.1, 0.1]])
    recoloured = (torch.einsum("ij,njhw->nihw", mix, frame) + 0.1).clamp(0, 1)
    # A global recolouring is explained; the same output with a yellow droplet is not.
    assert float(blob_loss(recoloured, frame, 0.06)) < 1e-8
    yy, xx = torch.meshgrid(torch.arange(96.0), torch.arange(112.0), indexing="ij")
    disc = (((yy - 48) ** 2 + (xx - 56) ** 2) < 12 ** 2).float()
    with_drop = (recoloured * (1 - disc) + torch.tensor([1.0, 0.9, 0.1])[None, :, None, None] * disc)
    with_drop.requires_grad_(True)
    penalty = blob_loss(with_drop, frame, 0.06)
    assert float(penalty) > 1e-5
    penalty.backward()
    grad = with_drop.grad.abs().sum(1)[0]
    # the gradient acts around the droplet (the filter's window spreads it), not across the frame
    assert float(grad[40:57, 48:65].mean()) > 10 * float(grad[:8, :8].mean())


def test_blob_penalty_on_detected_blobs_spares_a_long_stroke_on_flat_input():
    from trainer.blob_detector import blob_masks
    from trainer.losses import blob_loss
    frame = _shaded_frame(h=192, w=224)
    yy, xx = torch.meshgrid(torch.arange(192.0), torch.arange(224.0), indexing="ij")
    yellow = torch.tensor([1.0, 0.9, 0.1])[None, :, None, None]
    disc = (((yy - 96) ** 2 + (xx - 60) ** 2) < 14 ** 2).float()
    stroke = ((yy - 100).abs() < 4).float() * ((xx > 110) & (xx < 200)).float()  # long and thin
    with_disc = frame * (1 - disc) + yellow * disc
    with_stroke = frame * (1 - stroke) + yellow * stroke
    # blob_masks scales the detector's minimum area from 720p to these 192 rows
    disc_region, stroke_region = blob_masks(frame, with_disc), blob_masks(frame, with_stroke)
    assert float(disc_region[0, 0, 96, 60]) == 1 and float(stroke_region.sum()) == 0
    assert float(blob_loss(with_disc, frame, 0.06, disc_region)) > 1e-5
    assert float(blob_loss(with_stroke, frame, 0.06)) > 1e-5  # the flat-input penalty hits the stroke too
    assert float(blob_loss(with_stroke, frame, 0.06, stroke_region)) == 0


def test_blob_masks_on_tensors_agree_with_the_numpy_detector():
    from trainer.blob_detector import MIN_AREA, blob_masks
    frame = flat_frame(h=360, w=480)
    out = (frame + spot(360, 480, 100, 120, 18, (1.0, 0.95, 0.1)) + spot(360, 480, 250, 330, 24, (0, 0, 0))
           + spot(360, 480, 200, 40, 12, (0.9, 0.1, 0.9))).clip(0, 1).astype(np.float32)
    blobs, expected = detect(frame, out, max(8, int(MIN_AREA * (360 / 720) ** 2)))
    assert len(blobs) >= 2
    to_tensor = lambda a: torch.from_numpy(a).permute(2, 0, 1)[None]
    found = blob_masks(torch.cat([to_tensor(frame)] * 2), torch.cat([to_tensor(out), to_tensor(frame)]))
    assert found.shape == (2, 1, 360, 480)
    mask = found[0, 0].numpy() > 0
    iou = (mask & (expected > 0)).sum() / (mask | (expected > 0)).sum()
    assert iou > 0.95
    assert float(found[1].sum()) == 0  # the input itself as output: nothing unexplained


def test_blob_penalty_reaches_half_flat_input_only_with_a_wider_flat_limit():
    from trainer.losses import blob_loss, input_local_std
    # A dark panel with faint texture (local std about 0.04, under the detector's 0.05) and a grey fill on it.
    g = torch.Generator().manual_seed(0)
    panel = (0.15 + 0.08 * (torch.rand(1, 1, 96, 112, generator=g) - 0.5)).expand(1, 3, 96, 112).contiguous()
    panel = torch.nn.functional.avg_pool2d(panel, 3, stride=1, padding=1, count_include_pad=False)
    texture = float(input_local_std(panel)[..., 20:-20, 20:-20].mean())
    assert 0.005 < texture < 0.05
    yy, xx = torch.meshgrid(torch.arange(96.0), torch.arange(112.0), indexing="ij")
    fill = (((yy - 48) ** 2 + (xx - 56) ** 2) < 14 ** 2).float()
    filled = panel * (1 - fill) + 0.5 * fill
    at_detector_limit = float(blob_loss(filled, panel, 0.06))
    wider = float(blob_loss(filled, panel, 0.06, flat_limit=0.1))
    assert wider > at_detector_limit > 0
    # On perfectly flat input the limit changes nothing: the penalty is full either way.
    flat = torch.full((1, 3, 96, 112), 0.15)
    on_flat = flat * (1 - fill) + 0.5 * fill
    full, at_limit = float(blob_loss(on_flat, flat, 0.06, flat_limit=0.1)), float(blob_loss(on_flat, flat, 0.06))
    assert at_limit > 0 and abs(full - at_limit) < 0.01 * at_limit  # (float rounding leaves a std of about 1e-4)


def test_the_checkerboard_measure_sees_a_2px_pattern_on_flat_input_and_not_smooth_shading():
    from trainer.artifacts import checkerboard_levels
    frame = torch.full((1, 3, 64, 64), 0.5)
    ys, xs = torch.meshgrid(torch.arange(64), torch.arange(64), indexing="ij")
    ramp = (xs.float() / 64).expand(1, 3, 64, 64)
    pattern = ((ys + xs) % 2).float().expand(1, 3, 64, 64) * (2 / 255)  # 2 levels peak to peak
    assert checkerboard_levels(frame, ramp) < 1e-3
    assert abs(checkerboard_levels(frame, ramp * 0.5 + pattern) - 1.0) < 0.05
    assert checkerboard_levels(torch.rand(1, 3, 64, 64), ramp) is None  # nothing flat to judge


def test_colour_kept_sees_a_red_flower_turn_grey_and_a_hue_turn():
    from trainer.artifacts import colour_kept
    frame = torch.full((1, 3, 32, 32), 0.5)
    frame[:, :, 8:24, 8:24] = torch.tensor([0.8, 0.1, 0.1]).view(1, 3, 1, 1)
    assert colour_kept(frame, frame) == (1.0, 0.0)
    grey = frame.mean(dim=1, keepdim=True).expand(1, 3, 32, 32)
    kept, _ = colour_kept(frame, grey)
    assert kept < 0.05
    green = frame.clone()
    green[:, :, 8:24, 8:24] = torch.tensor([0.1, 0.6, 0.1]).view(1, 3, 1, 1)
    assert colour_kept(frame, green)[1] > 90
    assert colour_kept(torch.full((1, 3, 8, 8), 0.4), grey[..., :8, :8]) == (None, None)


def test_the_checkerboard_is_measured_at_the_size_the_model_ran_at():
    """A model run at half size and enlarged 2x paints its 2-px pattern 4 px wide:
    at the output's size the measure misses it, at the model's size it sees it."""
    import torch.nn.functional as F
    from trainer.artifacts import checkerboard_levels
    from trainer.measures import at_model_size
    frame = torch.full((1, 3, 128, 128), 0.5)
    ys, xs = torch.meshgrid(torch.arange(64), torch.arange(64), indexing="ij")
    small = 0.5 + (1 - 2 * ((ys + xs) % 2)).float() * (4 / 255)
    out = F.interpolate(small.expand(1, 3, 64, 64), scale_factor=2, mode="nearest")

    def run_model(frames):
        return out
    run_model.model_scale_for = lambda h, w: 0.5
    assert checkerboard_levels(frame, out) < 0.1
    assert checkerboard_levels(*at_model_size(run_model, frame, out)) > 3.5
    del run_model.model_scale_for
    assert at_model_size(run_model, frame, out)[1] is out  # a model run at the frame's size is measured there


def _dark_disc(size=240, radius=50):
    """A dark disc on a flat bright background, its edge softened as an enlarged photo's is."""
    import torch.nn.functional as F
    ys, xs = torch.meshgrid(torch.arange(size).float(), torch.arange(size).float(), indexing="ij")
    r = ((xs - size / 2) ** 2 + (ys - size / 2) ** 2).sqrt()
    frame = torch.full((1, 3, size, size), 0.8)
    frame[:, :, r < radius] = 0.1
    return F.avg_pool2d(F.pad(frame, (1, 1, 1, 1), mode="replicate"), 3, 1), r, radius


def _descended(picture, loss, lr, steps):
    """`picture` after `steps` of plain gradient descent on `loss(picture)`: what a
    penalty alone does to an output it can move pixel by pixel."""
    out = picture.detach().clone().requires_grad_(True)
    optimizer = torch.optim.SGD([out], lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss(out).backward()
        optimizer.step()
    return out.detach()


def test_the_halo_measure_finds_a_rim_of_the_width_painted_around_a_dark_shape():
    from trainer.artifacts import halo_profile, halo_width_px
    torch.manual_seed(0)
    frame, r, radius = _dark_disc()
    for width in (0, 4, 8):
        out = frame.clone()
        out[:, :, (r >= radius) & (r < radius + width)] += 0.12  # a glow of 30 levels
        out = (out + 0.05 * torch.randn_like(out)).clamp(0, 1)  # brush texture: it averages out
        profile, edges = halo_profile(frame, out, reach=16)
        assert edges >= 50
        assert halo_width_px(profile) == width
    dark_rim = frame.clone()
    dark_rim[:, :, (r >= radius) & (r < radius + 5)] -= 0.1
    assert halo_width_px(halo_profile(frame, dark_rim, reach=16)[0]) == 5


def test_the_halo_measure_takes_a_softer_edge_for_at_most_2_px_and_needs_a_flat_background():
    import torch.nn.functional as F
    from trainer.artifacts import halo_profile, halo_width_px
    frame, _, _ = _dark_disc()
    softer = F.avg_pool2d(F.pad(frame, (1, 1, 1, 1), mode="replicate"), 3, 1)
    assert halo_width_px(halo_profile(frame, softer, reach=16)[0]) <= 2  # the goal allows 2 px
    busy = frame + 0.2 * torch.rand(1, 1, *frame.shape[-2:])  # no flat background anywhere
    assert halo_profile(busy, busy, reach=16) == (None, halo_profile(busy, busy, reach=16)[1])
    assert halo_width_px(None) is None


def test_the_halo_penalty_pulls_a_painted_rim_back_and_is_zero_without_dark_shapes():
    from trainer.artifacts import halo_profile, halo_width_px
    from trainer.losses import halo_loss
    frame, r, radius = _dark_disc(size=160, radius=35)
    rim = ((r >= radius) & (r < radius + 6)).float() * 0.12
    assert halo_width_px(halo_profile(frame, frame + rim, reach=16)[0]) == 6
    first = float(halo_loss(frame + rim, frame))
    out = _descended(frame + rim, lambda o: halo_loss(o, frame), 2e3, 20)
    assert float(halo_loss(out, frame)) < 0.1 * first
    assert halo_width_px(halo_profile(frame, out, reach=16)[0]) <= 2
    flat = torch.full((2, 3, 64, 64), 0.5, requires_grad=True)
    assert float(halo_loss(flat, flat.detach())) == 0.0


def test_the_halo_penalty_held_to_a_teacher_draws_its_line_and_is_zero_on_the_teacher_itself():
    # A student painting a pale band, a teacher a dark line on the edge: held to the
    # teacher's profile from the edge on, the band goes and the line comes.
    from trainer.artifacts import halo_profile
    from trainer.losses import halo_loss
    frame, r, radius = _dark_disc(size=160, radius=35)
    line = frame - ((r >= radius) & (r < radius + 2)).float() * 0.15
    student = frame + ((r >= radius) & (r < radius + 6)).float() * 0.12
    assert float(halo_loss(line, frame, target=line, free_px=0)) == 0.0
    first = float(halo_loss(student, frame, target=line, free_px=0))
    student = _descended(student, lambda o: halo_loss(o, frame, target=line, free_px=0), 2e3, 40)
    assert float(halo_loss(student, frame, target=line, free_px=0)) < 0.1 * first
    got, _ = halo_profile(frame, student, reach=16)
    wanted, _ = halo_profile(frame, line, reach=16)
    assert got[0] < -10 and max(abs(a - b) for a, b in zip(got, wanted)) < 4  # levels


def test_the_halo_penalty_removes_a_far_band_only_when_its_reach_extends_past_it():
    # The last 6 px of the reach are the far background the rim is measured against: a
    # band there is taken for the background, and the penalty lifts the pixels between
    # it and the edge to match it (a wider glow) instead of taking the band away.
    from trainer.artifacts import halo_profile, halo_width_px
    from trainer.losses import halo_loss
    frame, r, radius = _dark_disc(size=200, radius=30)
    band = frame + ((r >= radius + 11) & (r < radius + 16)).float() * 0.06  # 15 levels, 11-15 px out
    assert 15 <= halo_width_px(halo_profile(frame, band, reach=30)[0]) <= 16
    widths = {}
    for reach in (16, 30):
        out = _descended(band, lambda o: halo_loss(o, frame, reach=reach), 5e2, 100)
        widths[reach] = halo_width_px(halo_profile(frame, out, reach=30)[0])
    assert widths[16] >= 11
    assert widths[30] <= 2


def test_the_halo_band_covers_the_rim_beside_a_dark_shape_and_next_to_nothing_on_a_busy_frame():
    # outside-halos distillation leaves this band out, so a teacher's rim is not a target.
    from trainer.losses import halo_band
    frame, r, radius = _dark_disc(size=200, radius=40)
    band = halo_band(frame, reach=16)[0, 0].bool()
    rim = (r >= radius + 1) & (r < radius + 8)
    assert float(band[rim].float().mean()) > 0.95
    assert not band[r < radius - 4].any()  # the shape itself is still distilled
    assert not band[r > radius + 16 + 4].any()
    # No flat background: at most a few stray edges where the noise happens to be flat.
    torch.manual_seed(0)
    busy = frame + 0.2 * torch.rand(1, 1, *frame.shape[-2:])
    assert float(halo_band(busy, reach=16).mean()) < 0.1 * float(halo_band(frame, reach=16).mean())


def test_blob_overlays_keep_each_clip_frames_time_in_its_file_name(tmp_path):
    from trainer.commands.blobs import save_overlay
    image = np.full((8, 8, 3), 0.5, dtype=np.float32)
    mask = np.zeros((8, 8), dtype=np.uint8)
    for name in ("photo.jpg", "clip.mp4@2s", "clip.mp4@2.8s"):
        save_overlay(str(tmp_path), name, image, mask)
    assert sorted(os.listdir(tmp_path)) == ["clip.mp4@2.8s.png", "clip.mp4@2s.png", "photo.png"]


def _ochre_painting():
    # A painting of ochres and browns only, with some near-grey pixels.
    rng = np.random.default_rng(0)
    base = np.array([0.78, 0.58, 0.25]) * rng.uniform(0.3, 1.0, (64, 64, 1))
    return torch.from_numpy(np.clip(base + rng.normal(0, 0.02, (64, 64, 3)), 0, 1)).permute(2, 0, 1).float()


def test_the_off_palette_measure_counts_green_on_an_ochre_painting_and_spares_the_inputs_own_colour():
    from trainer.artifacts import off_palette_share, painting_palette
    palette = painting_palette(_ochre_painting())
    grey = torch.full((1, 3, 40, 40), 0.5)
    ochre = torch.tensor([0.7, 0.5, 0.2]).view(1, 3, 1, 1).expand(1, 3, 40, 40).clone()
    assert off_palette_share(grey, ochre, palette) == 0.0      # the painting's own colour
    assert off_palette_share(grey, grey * 0.9, palette) == 0.0  # grey belongs to any palette
    patched = ochre.clone()
    patched[..., :10, :10] = torch.tensor([0.31, 0.38, 0.05]).view(1, 3, 1, 1)  # olive green, as picasso paints it
    assert off_palette_share(grey, patched, palette) == pytest.approx(100 / 1600)
    # A green input kept green is the photo's colour, not the model's invention.
    green_input = grey.clone()
    green_input[..., :10, :10] = torch.tensor([0.2, 0.6, 0.2]).view(1, 3, 1, 1)
    assert off_palette_share(green_input, patched, palette) == 0.0


def test_recolouring_moves_only_invented_colours_into_the_palette_and_keeps_their_lightness():
    from trainer.artifacts import _lab, off_palette_share, painting_palette, recoloured
    palette = painting_palette(_ochre_painting())
    grey = torch.full((3, 20, 20), 0.5)
    out = torch.tensor([0.7, 0.5, 0.2]).view(3, 1, 1).expand(3, 20, 20).clone()
    out[:, :5, :5] = torch.tensor([0.31, 0.38, 0.05]).view(3, 1, 1)
    fixed = recoloured(grey, out, palette)
    assert off_palette_share(grey[None], out[None], palette) > 0
    assert off_palette_share(grey[None], fixed[None], palette) == 0.0
    assert torch.allclose(fixed[:, 5:, 5:], out[:, 5:, 5:], atol=1e-4)  # the painting's own colour is left
    lightness_before, lightness_after = _lab(out[:, :5, :5])[0], _lab(fixed[:, :5, :5])[0]
    assert torch.allclose(lightness_before, lightness_after, atol=0.5)
    # The photo's own green stays green: it is not an invention.
    green_photo = grey.clone()
    green_photo[:, :5, :5] = torch.tensor([0.2, 0.6, 0.2]).view(3, 1, 1)
    assert torch.allclose(recoloured(green_photo, out, palette), out, atol=1e-4)


@pytest.mark.skipif(not NODE_READY, reason="needs node and the project's onnxruntime-node (npm install)")
def test_blobs_reports_colours_the_painting_lacks_beside_the_count(tmp_path):
    import json
    from trainer.onnx_files import export_model
    torch.manual_seed(0)
    net = reconet.ReCoNet(width=4, blocks=1)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    path, _ = export_model(net, str(tmp_path), "probe", {"title": "Probe"})
    manifest_path = path[:-5] + ".json"
    manifest = json.load(open(manifest_path)) if os.path.exists(manifest_path) else {}
    manifest.setdefault("training", {})["style"] = "ochre.png"
    json.dump(manifest, open(manifest_path, "w"))
    (tmp_path / "styles").mkdir()
    from PIL import Image
    Image.fromarray((_ochre_painting().permute(1, 2, 0).numpy() * 255).astype("uint8")).save(tmp_path / "styles" / "ochre.png")
    write_photos_to = tmp_path / "content" / "samples"
    write_photos_to.mkdir(parents=True)
    rng = np.random.default_rng(3)
    Image.fromarray((rng.random((60, 80, 3)) * 255).astype("uint8")).save(write_photos_to / "noise.png")
    r = run_trainer("blobs", "--model", path, "--data", str(tmp_path), "--photos", "noise.png", "--clips", "",
                    "--height", "72", "--out", str(tmp_path / "report.json"))
    assert r.returncode == 0, r.stderr
    report = json.load(open(tmp_path / "report.json"))
    share = report["off_palette_share"]
    assert 0.0 <= share <= 1.0 and report["per_image"]["noise.png"]["off_palette_share"] == share
    assert "off-palette colour" in r.stdout


def test_the_teachers_style_tile_by_tile_sees_where_the_light_strokes_are():
    # The teacher paints a light patch at the left of the crop, the student the same patch
    # at the right (a pale band in the wrong place): one Gram over the crop cannot tell
    # them apart, Grams over 16 px tiles can.
    def features(column):
        out = {}
        for name, stride in (("relu1_1", 1), ("relu2_1", 2), ("relu3_1", 4), ("relu3_4", 4)):
            size = 64 // stride
            f = torch.full((1, 4, size, size), 0.1)
            f[:, 0, :, column // stride:(column + 16) // stride] = 1.0
            out[name] = f
        return out
    teacher, student = features(0), features(48)
    assert float(teacher_style_loss(student, teacher)) < 1e-9
    assert float(teacher_style_loss(student, teacher, window_px=16)) > 0.5
    assert float(teacher_style_loss(teacher, teacher, window_px=16)) == 0.0
    # One tile as large as the map is the plain Gram.
    f = torch.rand(2, 3, 8, 8)
    assert torch.allclose(windowed_gram(f, 8)[:, 0], gram(f))
    assert windowed_gram(torch.rand(1, 3, 10, 17), 4).shape == (1, 2 * 4, 3, 3)
    with pytest.raises(ValueError, match="does not fit"):
        windowed_gram(torch.rand(1, 3, 4, 4), 8)


def test_the_halo_penalty_with_a_fixed_background_moves_the_rim_and_leaves_the_background():
    # Left free, half of the penalty's pull lands on the far background it measures the
    # rim from: a pale rim is then partly "removed" by paling everything beyond it.
    # Fixed, only the rim moves.
    from trainer.artifacts import halo_profile, halo_width_px
    from trainer.losses import halo_loss
    frame, r, radius = _dark_disc(size=160, radius=35)
    rim = frame + ((r >= radius) & (r < radius + 6)).float() * 0.12
    far = (r >= radius + 11) & (r < radius + 16)  # the last 6 px of a 16 px reach
    pulls = {}
    for background in (False, True):
        out = rim.clone().requires_grad_(True)
        halo_loss(out, frame, fixed_background=background).backward()
        pulls[background] = float(out.grad[:, :, far].abs().sum())
    assert pulls[False] > 0 and pulls[True] == 0.0
    moved = {}
    for background in (False, True):
        out = _descended(rim, lambda o: halo_loss(o, frame, fixed_background=background), 2e3, 40)
        assert halo_width_px(halo_profile(frame, out, reach=16)[0]) <= 2
        moved[background] = 255 * float((out - rim)[:, :, far].mean())
    # Free, the background rose about 3 levels towards the rim; fixed, it stays within 0.1.
    assert moved[False] > 2 and abs(moved[True]) < 0.1


def test_a_glow_moved_into_the_dark_shape_narrows_the_halo_and_is_caught_by_the_edge_contrast_and_the_dark_side_hold():
    # Rims measured only outside can be "removed" by lightening the shape from its edge
    # inwards: the halo width falls, the shape's step down from the sky falls with it.
    from trainer.artifacts import edge_contrast_kept, halo_profile, halo_width_px
    from trainer.losses import halo_loss
    frame, r, radius = _dark_disc(size=160, radius=35)
    teacher = frame + ((r >= radius) & (r < radius + 6)).float() * 0.12  # a glow outside, the shape kept
    assert halo_width_px(halo_profile(frame, teacher, reach=16)[0]) == 6
    assert abs(edge_contrast_kept(frame, teacher, reach=16)[0] - 1) < 0.05
    moved_in = frame + ((r >= radius - 8) & (r < radius)).float() * 0.3  # the shape lightened 8 px in
    assert halo_width_px(halo_profile(frame, moved_in, reach=16)[0]) <= 2
    kept, edges = edge_contrast_kept(frame, moved_in, reach=16)
    assert edges >= 50 and kept < 0.7
    # The rim penalty alone does not mind the lighter shape; held to the teacher's dark side, it does.
    assert float(halo_loss(moved_in, frame, fixed_background=True)) < 1e-4
    held = float(halo_loss(moved_in, frame, fixed_background=True, dark_side=teacher))
    assert held > 1e-3
    restored = _descended(moved_in, lambda o: halo_loss(o, frame, fixed_background=True, dark_side=teacher), 2e3, 40)
    assert edge_contrast_kept(frame, restored, reach=16)[0] > 0.9
    assert halo_width_px(halo_profile(frame, restored, reach=16)[0]) <= 2
