"""Trainer tests: no ../shared needed (tiny inputs, a random VGG where noted)."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from trainer import reconet
from trainer.onnx_files import export_model, parity_check
from trainer.flow import inside_mask, invert_flow, luminance, occlusion_mask, synthetic_pair, warp, with_noise
from trainer.losses import (feature_temporal_loss, gram, output_temporal_loss, style_loss, style_targets,
                            teacher_colour_loss, teacher_tone_loss)
from trainer.vgg import WeightsMissing, load_tfjs, random_vgg

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODE_READY = shutil.which("node") and os.path.isdir(os.path.join(ROOT, "node_modules", "onnxruntime-node"))


def smooth_image(n=1, h=32, w=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 5, 6, generator=g)
    return torch.nn.functional.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True).clamp(0, 1)


def test_reconet_shapes_and_range():
    net = reconet.ReCoNet(width=8, blocks=2)
    x = torch.rand(2, 3, 36, 44)
    out, features = net.forward_with_features(x)
    assert out.shape == x.shape
    assert features.shape == (2, 32, 9, 11)  # encoder output: 4x width, 1/4 size
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    # The picture depends on the input (not a constant or a fixed pattern).
    assert float(out.std()) > 1e-3
    assert float((out[0] - out[1]).abs().mean()) > 1e-3
    assert reconet.build(net.config()).config() == {"arch": "reconet", "width": 8, "blocks": 2}


def test_zero_padding_variant_keeps_shapes_and_config():
    net = reconet.ReCoNet(width=4, blocks=1, padding="zeros")
    assert not any(isinstance(m, torch.nn.ReflectionPad2d) for m in net.modules())
    x = torch.rand(1, 3, 20, 24)
    assert net(x).shape == x.shape
    assert reconet.build(net.config()).config() == net.config() == {"arch": "reconet", "width": 4, "blocks": 1, "padding": "zeros"}
    with pytest.raises(ValueError):
        reconet.ReCoNet(padding="circular")


def test_default_reconet_matches_the_paper_layout():
    net = reconet.ReCoNet()
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs[:3]] == [
        (3, 48, 9, 1), (48, 96, 3, 2), (96, 192, 3, 2)]
    assert convs[-1].out_channels == 3 and convs[-1].kernel_size == (9, 9)
    assert sum(isinstance(m, reconet.ResidualBlock) for m in net.modules()) == 4


def test_warp_with_a_known_integer_flow_shifts_the_image():
    image = torch.arange(5 * 6, dtype=torch.float32).view(1, 1, 5, 6)
    flow = torch.zeros(1, 2, 5, 6)
    flow[:, 0] = 1.0  # each pixel comes from one to its right
    warped = warp(image, flow)
    assert torch.allclose(warped[..., :, :-1], image[..., :, 1:])
    mask = inside_mask(flow)
    assert mask[..., :, -1].sum() == 0 and mask[..., :, :-1].min() == 1


def test_zero_flow_is_the_identity():
    image = torch.rand(2, 3, 8, 10)
    assert torch.allclose(warp(image, torch.zeros(2, 2, 8, 10)), image, atol=1e-6)


def test_occlusion_mask_on_a_known_case():
    # Frame t+1 is frame t shifted left by 3 px: the 3 rightmost columns of t+1
    # were outside frame t (occluded); every other pixel is consistent.
    h, w = 10, 12
    flow_bw = torch.zeros(1, 2, h, w)
    flow_bw[:, 0] = 3.0
    flow_fw = torch.zeros(1, 2, h, w)
    flow_fw[:, 0] = -3.0
    mask = occlusion_mask(flow_bw, flow_fw)
    assert mask[..., :, w - 3:].sum() == 0
    assert mask[..., :, :w - 3].min() == 1
    # An inconsistent forward flow (a region that moved elsewhere) is masked out.
    bad_fw = flow_fw.clone()
    bad_fw[..., 2:5, 3:6] = 5.0
    assert occlusion_mask(flow_bw, bad_fw)[..., 2:5, 0:3].sum() == 0


def test_flow_inversion_of_a_smooth_motion():
    g = torch.Generator().manual_seed(3)
    pair = synthetic_pair(smooth_image(2, 48, 64), g)
    flow_bw = pair[2]
    flow_fw = invert_flow(flow_bw)
    round_trip = flow_bw + warp(flow_fw, flow_bw)
    inside = inside_mask(flow_bw)
    assert float((round_trip.abs() * inside).max()) < 0.05


def test_synthetic_pair_is_exact_up_to_the_brightness_change():
    g = torch.Generator().manual_seed(1)
    frames = smooth_image(2, 48, 64)
    in_t, in_t1, flow, mask = synthetic_pair(frames, g)
    assert mask.mean() > 0.7  # most pixels stay visible
    rewarped = warp(in_t, flow)
    ratio = (in_t1 + 1e-3) / (rewarped + 1e-3)
    # Same picture up to a per-channel gain: the ratio is nearly constant on valid pixels.
    valid = mask.expand_as(ratio) > 0
    spread = [float(ratio[i][valid[i]].std()) for i in range(2)]
    assert max(spread) < 0.05


def test_input_noise_is_drawn_anew_for_each_frame_and_stays_in_range():
    still = torch.full((2, 3, 64, 64), 0.5)
    assert with_noise(still, 0.0) is still
    noisy = with_noise(still, 0.03, torch.Generator().manual_seed(0))
    assert noisy.min() >= 0 and noisy.max() <= 1
    assert abs(float((noisy - still).std()) - 0.03) < 0.003
    # Two copies of one frame get different noise: it flickers, as a camera's does.
    difference = (noisy[0] - noisy[1]).abs().mean()
    assert abs(float(difference) - 0.03 * 2 / np.sqrt(np.pi)) < 0.003
    assert with_noise(torch.zeros(1, 3, 8, 8), 0.5).min() == 0  # clamped, not wrapped


def test_temporal_losses_zero_for_a_consistent_pair_and_positive_otherwise():
    g = torch.Generator().manual_seed(2)
    in_t, _, flow, mask = synthetic_pair(smooth_image(1, 48, 64), g)
    in_t1 = warp(in_t, flow)  # no brightness change: exactly consistent
    out_t = smooth_image(1, 48, 64, seed=5)
    out_t1 = warp(out_t, flow)
    assert float(output_temporal_loss(out_t, out_t1, in_t, in_t1, flow, mask)) < 1e-10
    flickering = (out_t1 + 0.05 * torch.rand(out_t1.shape, generator=g)).clamp(0, 1)
    assert float(output_temporal_loss(out_t, flickering, in_t, in_t1, flow, mask)) > 1e-5
    # The luminance term: an output that follows a global brightening of the input costs nothing.
    brighter_in = in_t1 + 0.1
    follows = out_t1 + luminance(brighter_in) - luminance(in_t1)
    assert float(output_temporal_loss(out_t, follows, in_t, brighter_in, flow, mask)) < 1e-10
    feats_t = smooth_image(1, 12, 16, seed=7).repeat(1, 4, 1, 1)
    assert float(feature_temporal_loss(feats_t, feats_t, torch.zeros(1, 2, 48, 64), torch.ones(1, 1, 48, 64))) < 1e-12
    assert float(feature_temporal_loss(feats_t, feats_t.flip(-1), torch.zeros(1, 2, 48, 64), torch.ones(1, 1, 48, 64))) > 0


def test_gram_and_pyramid_style_loss():
    f = torch.rand(2, 4, 5, 6)
    g = gram(f)
    assert g.shape == (2, 4, 4) and torch.allclose(g, g.transpose(1, 2))
    vgg = random_vgg()
    style = smooth_image(1, 64, 64)
    targets = style_targets(vgg, style, [1.0, 0.1])
    assert float(style_loss(vgg, style, targets, [1.0, 0.1])) < 1e-12
    assert float(style_loss(vgg, smooth_image(1, 64, 64, seed=9), targets, [1.0, 0.1])) > 0


def test_teacher_colour_loss_sees_the_local_mean_colour_not_the_strokes_or_the_lightness():
    teacher = smooth_image(1, 48, 48, seed=3)
    assert float(teacher_colour_loss(teacher, teacher)) < 1e-6
    # Lighter or darker by the same amount in every channel: the same colour.
    assert float(teacher_colour_loss((teacher + 0.1), teacher)) < 1e-6
    # A pale copy (half the chroma) is what the term is there to catch.
    grey = teacher.mean(dim=1, keepdim=True)
    pale = grey + 0.5 * (teacher - grey)
    assert float(teacher_colour_loss(pale, teacher)) > 1.0
    # Tiles of two colours that average to the teacher's flat colour cost far less
    # than a plain colour shift of the same size.
    flat = torch.full((1, 3, 48, 48), 0.5)
    tiles = flat.clone()
    tiles[:, 0, ::2, ::2] += 0.2
    tiles[:, 0, 1::2, 1::2] -= 0.2
    shifted = flat.clone()
    shifted[:, 0] += 0.2
    assert float(teacher_colour_loss(tiles, flat)) < 0.05 * float(teacher_colour_loss(shifted, flat))


def test_teacher_tone_loss_sees_a_pale_band_not_the_strokes_or_the_colour():
    teacher = smooth_image(1, 48, 48, seed=3)
    assert float(teacher_tone_loss(teacher, teacher)) < 1e-6
    # Another hue at the same lightness (redder, with as much less green as keeps the
    # luminance): the colour term's business, not this one's.
    recoloured = teacher + torch.tensor([0.1, -0.1 * 0.2126 / 0.7152, 0.0]).view(1, 3, 1, 1)
    assert float(teacher_tone_loss(recoloured, teacher)) < 1e-6
    assert float(teacher_tone_loss(teacher + 0.1, teacher)) > 1.0
    # Fine strokes that average to the teacher's flat grey cost far less than a pale band
    # 8 px wide of the same brightness.
    flat = torch.full((1, 3, 48, 48), 0.5)
    strokes = flat.clone()
    strokes[..., ::2, :] += 0.2
    strokes[..., 1::2, :] -= 0.2
    band = flat.clone()
    band[..., :, 20:28] += 0.2
    assert float(teacher_tone_loss(strokes, flat)) < 0.05 * float(teacher_tone_loss(band, flat))


def test_missing_vgg_weights_give_a_clear_error(tmp_path):
    with pytest.raises(WeightsMissing, match="VGG19 weights not found"):
        load_tfjs(str(tmp_path / "nowhere"))


def write_photos(folder, count=3, size=48):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        coarse = rng.random((4, 4, 3))
        img = Image.fromarray((coarse * 255).astype("uint8")).resize((size + 8, size), Image.BICUBIC)
        img.save(folder / f"photo{i}.png")


def run_trainer(*args):
    return subprocess.run([sys.executable, "-m", "trainer", *args], cwd=ROOT, capture_output=True, text=True)


def test_tiny_training_run_lowers_the_loss_and_resumes(tmp_path):
    """Uses a random VGG (clearly marked: the real weights live in ../shared)."""
    write_photos(tmp_path / "photos")
    Image.fromarray((np.random.default_rng(1).random((64, 64, 3)) * 255).astype("uint8")).save(tmp_path / "style.png")
    common = ["train", "--style", str(tmp_path / "style.png"), "--content", str(tmp_path / "photos"),
              "--random-vgg", "--run", str(tmp_path / "run"), "--size", "32", "--batch", "2",
              "--width", "4", "--blocks", "1", "--lr", "0.01", "--log-every", "5", "--checkpoint-every", "5",
              "--style-size", "32", "--threads", "1"]
    first = run_trainer(*common, "--steps", "30")
    assert first.returncode == 0, first.stderr
    state = torch.load(tmp_path / "run" / "checkpoint.pt")
    totals = [h["total"] for h in state["history"]]
    assert len(totals) == 30
    assert np.mean(totals[-5:]) < np.mean(totals[:5])
    resumed = run_trainer(*common, "--steps", "35")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout and "step 35/35" in resumed.stdout
    assert torch.load(tmp_path / "run" / "checkpoint.pt")["step"] == 35
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["width"] == 4 and config["random_vgg"] is True
    assert len((tmp_path / "run" / "command.txt").read_text().splitlines()) == 2


def test_a_decoder_only_run_changes_the_decoder_and_leaves_the_encoder_as_it_was(tmp_path):
    common, teacher = tiny_training_with_a_teacher(tmp_path)
    r = run_trainer(*common, "--run", str(tmp_path / "student"), "--steps", "3", "--lr", "0.01",
                    "--init", str(teacher), "--teacher", str(teacher), "--train-only", "decoder")
    assert r.returncode == 0, r.stderr
    before = torch.load(teacher)["model"]
    state = torch.load(tmp_path / "student" / "checkpoint.pt")
    after = state["model"]
    assert state["train_config"]["train_only"] == "decoder"
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("encoder."))
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("decoder."))
    bad = run_trainer(*common, "--run", str(tmp_path / "bad"), "--train-only", "head")
    assert bad.returncode != 0 and "--train-only" in bad.stderr


def tiny_training_with_a_teacher(tmp_path):
    """Photos, a painting and a one-step teacher run in tmp_path: (the train arguments they share, the teacher)."""
    write_photos(tmp_path / "photos")
    Image.fromarray((np.random.default_rng(1).random((32, 32, 3)) * 255).astype("uint8")).save(tmp_path / "style.png")
    common = ["train", "--style", str(tmp_path / "style.png"), "--content", str(tmp_path / "photos"),
              "--random-vgg", "--size", "32", "--batch", "1", "--width", "4", "--blocks", "1",
              "--style-size", "32", "--threads", "1", "--log-every", "1"]
    assert run_trainer(*common, "--run", str(tmp_path / "teacher"), "--steps", "1").returncode == 0
    return common, tmp_path / "teacher" / "checkpoint.pt"


def test_a_resumed_run_keeps_distilling_from_its_teacher(tmp_path):
    common, teacher = tiny_training_with_a_teacher(tmp_path)
    student = ["--run", str(tmp_path / "student")]
    first = run_trainer(*common, *student, "--teacher", str(teacher), "--distill-weight", "2", "--steps", "1")
    assert first.returncode == 0, first.stderr
    assert " distill " in first.stdout
    resumed = run_trainer(*common, *student, "--steps", "2")  # no --teacher: the run's own is kept
    assert resumed.returncode == 0, resumed.stderr
    assert f"distilling from {teacher} (weight 2.0)" in resumed.stdout
    assert " distill " in resumed.stdout.split("distilling from")[1]
    other = run_trainer(*common, *student, "--teacher", str(tmp_path / "student" / "checkpoint.pt"), "--steps", "3")
    assert other.returncode == 0 and "ignored on the command line (saved value kept): --teacher" in other.stdout
    teacher.unlink()
    gone = run_trainer(*common, *student, "--steps", "4")
    assert gone.returncode != 0 and "which is gone: put it back to resume the run" in gone.stderr
    assert len(gone.stderr.strip().splitlines()) == 1


def test_a_student_can_learn_its_teachers_style_without_the_painting(tmp_path):
    common, teacher = tiny_training_with_a_teacher(tmp_path)
    student = run_trainer(*common, "--run", str(tmp_path / "student"), "--teacher", str(teacher), "--style-weight", "0",
                          "--teacher-style-weight", "1e4", "--teacher-colour-weight", "100", "--distill-weight", "0.5",
                          "--teacher-tone-weight", "10", "--steps", "2")
    assert student.returncode == 0, student.stderr
    logged = student.stdout.split("step 2/2")[1].splitlines()[0]
    assert " teacher_style " in logged and " distill " in logged and " teacher_colour " in logged
    assert " teacher_tone " in logged
    assert " style " not in logged  # no painting: its style levels are not even computed
    config = json.loads((tmp_path / "student" / "config.json").read_text())
    assert config["teacher_style_weight"] == 1e4 and config["style_weight"] == 0
    alone = run_trainer(*common, "--run", str(tmp_path / "alone"), "--teacher-style-weight", "1e4", "--steps", "1")
    assert alone.returncode != 0 and "--teacher-style-weight needs --teacher" in alone.stderr
    assert len(alone.stderr.strip().splitlines()) == 1
    colour_alone = run_trainer(*common, "--run", str(tmp_path / "colour-alone"), "--teacher-colour-weight", "100",
                               "--steps", "1")
    assert colour_alone.returncode != 0 and "--teacher-colour-weight needs --teacher" in colour_alone.stderr
    tone_alone = run_trainer(*common, "--run", str(tmp_path / "tone-alone"), "--teacher-tone-weight", "10",
                             "--steps", "1")
    assert tone_alone.returncode != 0 and "--teacher-tone-weight needs --teacher" in tone_alone.stderr


def test_the_teachers_style_tile_by_tile(tmp_path):
    common, teacher = tiny_training_with_a_teacher(tmp_path)
    student = run_trainer(*common, "--run", str(tmp_path / "student"), "--teacher", str(teacher), "--style-weight", "0",
                          "--teacher-style-weight", "1e4", "--teacher-style-window", "8", "--steps", "2")
    assert student.returncode == 0, student.stderr
    assert " teacher_style " in student.stdout.split("step 2/2")[1].splitlines()[0]
    config = json.loads((tmp_path / "student" / "config.json").read_text())
    assert config["teacher_style_window"] == 8
    alone = run_trainer(*common, "--run", str(tmp_path / "alone"), "--teacher-style-window", "8", "--steps", "1")
    assert alone.returncode != 0 and "--teacher-style-window needs --teacher" in alone.stderr
    assert len(alone.stderr.strip().splitlines()) == 1
    negative = run_trainer(*common, "--run", str(tmp_path / "negative"), "--teacher", str(teacher),
                           "--teacher-style-weight", "1e4", "--teacher-style-window", "-8", "--steps", "1")
    assert negative.returncode != 0 and "is a tile size in px" in negative.stderr


def test_train_reports_a_missing_content_folder(tmp_path):
    r = run_trainer("train", "--style", "x.png", "--content", str(tmp_path / "none"), "--run", str(tmp_path / "r"),
                    "--random-vgg")
    assert r.returncode == 1
    assert "error:" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.skipif(not NODE_READY, reason="needs node and the project's onnxruntime-node (npm install)")
def test_export_parity_with_onnx_runtime(tmp_path):
    torch.manual_seed(0)
    net = reconet.ReCoNet(width=4, blocks=1)
    path, manifest = export_model(net, str(tmp_path), "probe", {"title": "Probe"})
    assert os.path.exists(path)
    assert manifest["export"]["parity_max_abs_diff"] < manifest["export"]["parity_tolerance"]
    saved = json.loads((tmp_path / "probe.json").read_text())
    assert saved["id"] == "probe" and saved["file"] == "probe.onnx" and saved["contract"] == 1
    # A different size than the export's dummy input works (dynamic H and W).
    assert parity_check(net, path, height=20, width=36) < 2e-4


def test_demodulated_network_has_unit_norm_kernels_times_gain_and_no_instance_norm():
    torch.manual_seed(0)
    net = reconet.ReCoNet(width=4, blocks=1, norm="demod")
    assert not any(isinstance(m, torch.nn.InstanceNorm2d) for m in net.modules())
    demods = [m for m in net.modules() if isinstance(m, reconet.DemodConv2d)]
    assert len(demods) == 3 + 2 + 3  # encoder, the block's two convs, decoder with its painting conv
    with torch.no_grad():
        demods[0].gain.fill_(3.0)
        norms = demods[0].demodulated_weight().flatten(1).norm(dim=1)
        # Scaling the raw kernel changes nothing: only its direction counts.
        before = net(smooth_image(h=24, w=32))
        demods[1].weight.mul_(7.0)
        after = net(smooth_image(h=24, w=32))
    assert torch.allclose(norms, torch.full_like(norms, 3.0), atol=1e-5)
    assert float((before - after).abs().max()) < 1e-5
    assert reconet.build(net.config()).config() == net.config()
    assert net.config()["norm"] == "demod" and "norm" not in reconet.ReCoNet(width=4, blocks=1).config()
    with pytest.raises(ValueError):
        reconet.ReCoNet(norm="batch")
    with pytest.raises(ValueError, match="instance-norm"):
        reconet.with_upscale(net)
    # hybrid: instance norm in the encoder, demodulation in the decoder only
    hybrid = reconet.ReCoNet(width=4, blocks=1, norm="hybrid")
    assert not any(isinstance(m, reconet.DemodConv2d) for m in hybrid.encoder.modules())
    assert not any(isinstance(m, torch.nn.InstanceNorm2d) for m in hybrid.decoder.modules())
    assert sum(isinstance(m, reconet.DemodConv2d) for m in hybrid.decoder.modules()) == 3
    assert reconet.build(hybrid.config()).config() == hybrid.config()


def test_an_instance_norm_network_converts_to_demod_or_hybrid_painting_the_same_on_its_calibration_image():
    torch.manual_seed(0)
    net = reconet.ReCoNet(width=4, blocks=1).eval()
    with torch.no_grad():  # trained-looking norms: a converted identity affine would prove little
        for m in net.modules():
            if isinstance(m, torch.nn.InstanceNorm2d):
                m.weight.uniform_(0.5, 2.0)
                m.bias.uniform_(-0.5, 0.5)
    x = smooth_image(h=32, w=40)
    other = torch.rand(1, 3, 32, 40)
    with torch.no_grad():
        for norm in ("demod", "hybrid"):
            twin = reconet.converted(net, norm, [x]).eval()
            assert twin.config()["norm"] == norm
            assert not any(isinstance(m, torch.nn.InstanceNorm2d) for m in twin.decoder.modules())
            assert float((twin(x) - net(x)).abs().max()) < 1e-4
            # frozen statistics are not instance norm: another image is painted differently
            assert float((twin(other) - net(other)).abs().max()) > 1e-3
        demod = reconet.converted(net, "demod", [x])
        kernels = [m.weight for m in demod.modules() if isinstance(m, reconet.DemodConv2d)]
        assert all(abs(float(k.pow(2).mean().sqrt()) - reconet.DEMOD_INIT_STD) < 1e-4 for k in kernels)
    with pytest.raises(ValueError, match="instance-norm"):
        reconet.converted(demod, "hybrid", [x])


def test_train_init_with_another_norm_converts_and_fine_tunes(tmp_path):
    write_photos(tmp_path / "photos")
    Image.fromarray((np.random.default_rng(1).random((32, 32, 3)) * 255).astype("uint8")).save(tmp_path / "style.png")
    torch.manual_seed(0)
    net = reconet.ReCoNet(width=4, blocks=1)
    torch.save({"net_config": net.config(), "model": net.state_dict()}, tmp_path / "init.pt")
    r = run_trainer("train", "--style", str(tmp_path / "style.png"), "--content", str(tmp_path / "photos"),
                    "--random-vgg", "--run", str(tmp_path / "ft"), "--size", "32", "--batch", "1", "--steps", "2",
                    "--style-size", "32", "--threads", "1", "--init", str(tmp_path / "init.pt"), "--norm", "hybrid")
    assert r.returncode == 0, r.stderr
    state = torch.load(tmp_path / "ft" / "checkpoint.pt")
    assert state["net_config"]["norm"] == "hybrid" and state["train_config"]["converted_to"] == "hybrid"
    assert state["step"] == 2
    # the recorded shape is the init's, not the --width/--blocks defaults
    assert (state["train_config"]["width"], state["train_config"]["blocks"]) == (4, 1)


@pytest.mark.skipif(not NODE_READY, reason="needs node and the project's onnxruntime-node (npm install)")
def test_demodulated_network_exports_as_plain_convs_and_loads_back(tmp_path):
    import onnx
    torch.manual_seed(0)
    net = reconet.ReCoNet(width=4, blocks=1, norm="demod").eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, reconet.DemodConv2d):
                m.gain.uniform_(0.5, 2.0)
    path, manifest = export_model(net, str(tmp_path), "demod", {})
    ops = {n.op_type for n in onnx.load(path).graph.node}
    assert "InstanceNormalization" not in ops and "Conv" in ops
    assert manifest["network"]["norm"] == "demod"
    assert parity_check(net, path, height=20, width=36) < 2e-4
    back, _ = reconet.load(path)
    x = smooth_image(h=28, w=36)
    with torch.no_grad():
        assert float((back.eval()(x) - net(x)).abs().max()) < 1e-5


def test_upscaled_network_starts_as_the_bilinear_enlargement_of_its_half_size_network(tmp_path):
    import torch.nn.functional as F
    torch.manual_seed(0)
    half = reconet.ReCoNet(width=4, blocks=1).eval()
    last = half.decoder[2].conv
    with torch.no_grad():
        for name, p in half.named_parameters():  # as trained (an export merges identical untrained norms)
            if ".norm" in name:
                p.add_(torch.rand_like(p) * 0.1)
        # taps that the enlargement would push past the kernel's edge: none
        last.weight[..., 0, :] = 0
        last.weight[..., -1, :] = 0
        last.weight[..., :, 0] = 0
        last.weight[..., :, -1] = 0
    upscaled = reconet.with_upscale(half).eval()
    x = torch.rand(1, 3, 40, 56)
    with torch.no_grad():
        halved = F.avg_pool2d(x, 2)
        enlarged = F.interpolate(half.decoder(half.encoder(halved)), scale_factor=2.0, mode="bilinear",
                                 align_corners=False)
        painted = upscaled.shuffle(upscaled.decoder(upscaled.encoder(halved)))
        # Multiples of 4 but not of 8 work too: the model pads and crops.
        assert upscaled(x[..., :36, :52]).shape == (1, 3, 36, 52)
        assert upscaled(x).shape == x.shape
    # The sub-pixel phases are the bilinear taps (away from the border, where
    # bilinear clamps and the conv reflects).
    assert float((painted - enlarged)[..., 2:-2, 2:-2].abs().max()) < 1e-4
    assert upscaled.config()["upscale"] == 2
    with pytest.raises(ValueError):
        reconet.with_upscale(upscaled)
    path, manifest = export_model(upscaled, str(tmp_path), "upscaled", {})
    assert manifest["network"]["upscale"] == 2
    assert parity_check(upscaled, path, height=20, width=36) < 2e-4
    loaded, _ = reconet.load(path)
    with torch.no_grad():
        assert float((loaded.eval()(x) - upscaled(x)).abs().max()) < 1e-5


def write_flo(path, flow):
    h, w, _ = flow.shape
    with open(path, "wb") as f:
        np.array([202021.25], "<f4").tofile(f)
        np.array([w, h], "<i4").tofile(f)
        flow.astype("<f4").tofile(f)


def test_read_flo_round_trip(tmp_path):
    from trainer.measures import read_flo
    flow = np.random.default_rng(0).random((5, 7, 2)).astype("float32")
    write_flo(tmp_path / "f.flo", flow)
    assert np.array_equal(read_flo(str(tmp_path / "f.flo")), flow)


@pytest.mark.skipif(not NODE_READY or shutil.which("ffmpeg") is None, reason="needs node + onnxruntime-node and ffmpeg")
def test_eval_report_on_tiny_synthetic_data(tmp_path):
    """A whole `eval` on data made here: a Middlebury-style pair with exact flow,
    a lavfi clip, photos, a style image; a tiny random model; a random VGG."""
    data = tmp_path / "data"
    scene = data / "flow" / "middlebury" / "Synthetic"
    scene.mkdir(parents=True)
    img = smooth_image(1, 40, 48, seed=4)
    shift = torch.zeros(1, 2, 40, 48)
    shift[:, 0] = 2.0  # frame11(p) = frame10(p - 2): forward flow 10->11 is +2 in x
    frame11 = warp(img, -shift)
    for name, t in (("frame10.png", img), ("frame11.png", frame11)):
        Image.fromarray((t[0].permute(1, 2, 0).numpy() * 255).round().astype("uint8")).save(scene / name)
    write_flo(scene / "flow10.flo", shift[0].permute(1, 2, 0).numpy())
    (data / "videos").mkdir()
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10", "-t", "3",
                    "-pix_fmt", "yuv420p", str(data / "videos" / "clip.mp4")], check=True)
    (data / "content").mkdir()
    write_photos(data / "content" / "samples", count=2, size=40)
    (data / "styles").mkdir()
    Image.fromarray((np.random.default_rng(2).random((48, 48, 3)) * 255).astype("uint8")).save(data / "styles" / "s.png")
    torch.manual_seed(0)
    export_model(reconet.ReCoNet(width=4, blocks=1), str(tmp_path / "m"), "tiny", {"title": "t"})
    out = tmp_path / "report.json"
    r = run_trainer("eval", "--model", str(tmp_path / "m" / "tiny.onnx"), "--data", str(data), "--style",
                    str(data / "styles" / "s.png"), "--clips", "clip.mp4", "--pairs", "3", "--clip-height", "64",
                    "--photo-size", "32", "--gap-size", "32", "--random-vgg", "--out", str(out), "--update-manifest")
    assert r.returncode == 0, r.stderr
    report = json.loads(out.read_text())
    m = report["metrics"]
    assert report["middlebury"]["Synthetic"]["valid_fraction"] > 0.8
    # The input pair is consistent under its exact flow: its own warping error is ~0.
    assert m["input_warping_error_middlebury"] < 1e-4
    # A network is not exactly equivariant to the flow: its warping error is above the input's ~0.
    assert 1e-6 < m["warping_error_middlebury"] < 1 and 1e-6 < m["warping_error_clips"] < 1
    assert m["warping_error_middlebury"] > 10 * m["input_warping_error_middlebury"]
    assert report["clips"]["clip.mp4"]["pairs"] == 3
    assert m["content_loss"] > 0 and m["style_loss"] > 0
    assert m["style_distance"] > 0 and m["style_gap_closed"] < 1
    assert set(report["style_gap"]["per_photo"]) == {"photo0.png", "photo1.png"}
    assert json.loads((tmp_path / "m" / "tiny.json").read_text())["metrics"]["style_loss"] == m["style_loss"]


def test_gatys_lowers_its_loss(tmp_path):
    write_photos(tmp_path / "p", count=1, size=32)
    Image.fromarray((np.random.default_rng(1).random((32, 32, 3)) * 255).astype("uint8")).save(tmp_path / "style.png")
    r = run_trainer("gatys", "--content", str(tmp_path / "p" / "photo0.png"), "--style", str(tmp_path / "style.png"),
                    "--out", str(tmp_path / "out.png"), "--size", "32", "--steps", "10", "--random-vgg",
                    "--style-weight", "1000", "--threads", "1")
    assert r.returncode == 0, r.stderr
    wrote = next(line for line in r.stdout.splitlines() if line.startswith("wrote "))
    before, after = [float(x) for x in wrote.split("loss ")[1].rstrip(")").split(" -> ")]
    assert "gatys: content loss" in r.stdout
    assert json.loads((tmp_path / "out.json").read_text())["gatys"]["style_loss"] > 0
    assert after < before
    assert Image.open(tmp_path / "out.png").size == (40, 32)


def test_pruned_network_is_physically_smaller_and_equals_the_masked_original():
    from trainer.commands.prune import build_pruned, channels_of, cost, groups, split
    torch.manual_seed(0)
    net = reconet.ReCoNet(width=8, blocks=2).eval()
    n_bits = sum(size for _, size in groups(net))
    assert [name for name, _ in groups(net)] == ["enc1", "enc2", "stream", "res0", "res1", "dec1", "dec2"]
    # Keeping everything reproduces the network exactly.
    full = build_pruned(net, split(torch.ones(n_bits, dtype=torch.bool), net))
    x = torch.rand(1, 3, 32, 40)
    assert torch.allclose(full(x), net(x), atol=1e-6)
    # Drop channels: the result has fewer parameters, follows its own config, and exports.
    genome = torch.ones(n_bits, dtype=torch.bool)
    genome[::3] = False
    masks = split(genome, net)
    small = build_pruned(net, masks)
    assert small.config()["channels"] == channels_of(masks)
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in net.parameters())
    assert small(x).shape == x.shape
    rebuilt = reconet.build(small.config())
    rebuilt.load_state_dict(small.state_dict())
    assert torch.allclose(rebuilt(x), small(x))
    macs, params = cost(channels_of(masks))
    full_macs, full_params = cost(channels_of(split(torch.ones(n_bits, dtype=torch.bool), net)))
    assert macs < full_macs and params < full_params
    assert full_params == sum(p.numel() for p in net.parameters())


def test_removed_channel_equals_zeroed_channel():
    """Physically removing an encoder channel gives the same output as zeroing
    that channel's activation in the original (what the mask means)."""
    from trainer.commands.prune import build_pruned, groups, split
    torch.manual_seed(1)
    net = reconet.ReCoNet(width=4, blocks=1).eval()
    genome = torch.ones(sum(size for _, size in groups(net)), dtype=torch.bool)
    genome[1] = False  # enc1, channel 1
    small = build_pruned(net, split(genome, net))
    hook = net.encoder[0].register_forward_hook(lambda m, i, o: o * torch.tensor([1, 0, 1, 1.0]).view(1, 4, 1, 1))
    x = torch.rand(1, 3, 24, 28)
    assert torch.allclose(small(x), net(x), atol=1e-5)
    hook.remove()


def test_prune_search_and_fine_tune_run_end_to_end(tmp_path):
    torch.manual_seed(0)
    net = reconet.ReCoNet(width=4, blocks=1)
    torch.save({"model": net.state_dict(), "net_config": net.config(), "step": 10, "train_config": {}}, tmp_path / "ckpt.pt")
    write_photos(tmp_path / "photos", count=2, size=32)
    r = run_trainer("prune", "--checkpoint", str(tmp_path / "ckpt.pt"), "--out", str(tmp_path / "prune"), "--photos",
                    str(tmp_path / "photos"), "--photo-size", "32", "--population", "6", "--generations", "3",
                    "--min-channels", "2", "--random-vgg", "--threads", "1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("generation ") == 3
    search = json.loads((tmp_path / "prune" / "search.json").read_text())
    assert search["macs_640x360"] <= search["original_macs_640x360"]
    best = [h["best_fitness"] for h in search["history"]]
    assert all(later <= earlier + 1e-12 for earlier, later in zip(best, best[1:]))  # elitism
    Image.fromarray((np.random.default_rng(1).random((32, 32, 3)) * 255).astype("uint8")).save(tmp_path / "style.png")
    ft = run_trainer("train", "--style", str(tmp_path / "style.png"), "--content", str(tmp_path / "photos"),
                     "--random-vgg", "--run", str(tmp_path / "ft"), "--size", "32", "--batch", "1", "--steps", "3",
                     "--style-size", "32", "--threads", "1", "--init", str(tmp_path / "prune" / "pruned.pt"),
                     "--teacher", str(tmp_path / "ckpt.pt"), "--log-every", "1", "--model-scale", "0.5")
    assert ft.returncode == 0, ft.stderr
    assert "distill" in ft.stdout
    state = torch.load(tmp_path / "ft" / "checkpoint.pt")
    assert state["net_config"].get("channels") == search["channels"]
    assert state["train_config"]["model_scale"] == 0.5


@pytest.mark.skipif(not NODE_READY, reason="needs node and the project's onnxruntime-node (npm install)")
def test_fp16_variant_follows_the_contract_and_matches(tmp_path):
    import onnx
    from trainer.onnx_files import export_fp16
    torch.manual_seed(0)
    net = reconet.ReCoNet(width=4, blocks=1)
    _, manifest = export_model(net, str(tmp_path), "m", {"title": "M"})
    path = export_fp16(net, str(tmp_path), "m", manifest)
    model = onnx.load(path)
    assert model.graph.input[0].name == "input" and model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert model.graph.output[0].name == "output" and model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    halves = [i for i in model.graph.initializer if i.data_type == onnx.TensorProto.FLOAT16]
    assert len(halves) > 10
    saved = json.loads((tmp_path / "m-fp16.json").read_text())
    assert saved["export"]["precision"] == "fp16" and saved["listed"] is False and saved["variantOf"] == "m"
    assert saved["export"]["parity_max_abs_diff"] < 2e-2
    assert os.path.getsize(path) < 0.8 * os.path.getsize(tmp_path / "m.onnx")  # weights halve; graph overhead stays


@pytest.mark.skipif(not NODE_READY, reason="needs node and the project's onnxruntime-node (npm install)")
def test_eval_runs_a_fast_variant_at_its_model_scale(tmp_path):
    from trainer import measures
    torch.manual_seed(0)
    export_model(reconet.ReCoNet(width=4, blocks=1), str(tmp_path), "m", {"title": "M"})
    frames = smooth_image(2, 36, 44)
    out = measures.stylize(str(tmp_path / "m.onnx"), frames, 0.5)
    full = measures.stylize(str(tmp_path / "m.onnx"), frames, 1.0)
    assert out.shape == frames.shape
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    # The half-scale run really ran at half scale: close to the full-scale picture, but not the same one.
    difference = float((out - full).abs().mean())
    assert 1e-4 < difference < 0.2


def test_descend_skips_a_step_whose_loss_or_gradient_is_not_finite():
    from trainer.loop import all_finite, descend
    layer = torch.nn.Linear(3, 1)
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.1)
    before = {k: v.clone() for k, v in layer.state_dict().items()}
    x = torch.ones(2, 3)
    assert descend(optimizer, layer(x).sum() * float("nan")) is False
    assert descend(optimizer, torch.sqrt(layer(x) * 0).sum()) is False  # finite loss, infinite gradient
    assert all(torch.equal(before[k], v) for k, v in layer.state_dict().items())
    assert descend(optimizer, layer(x).sum()) is True
    assert not torch.equal(before["weight"], layer.weight.detach())
    assert all_finite(layer)
    with torch.no_grad():
        layer.bias.fill_(float("inf"))
    assert not all_finite(layer)


def test_train_with_the_blob_penalty_on_detected_blobs_runs_and_logs_it(tmp_path):
    write_photos(tmp_path / "photos")
    Image.fromarray((np.random.default_rng(1).random((32, 32, 3)) * 255).astype("uint8")).save(tmp_path / "style.png")
    common = ["train", "--style", str(tmp_path / "style.png"), "--content", str(tmp_path / "photos"),
              "--random-vgg", "--size", "32", "--batch", "1", "--steps", "2", "--width", "4", "--blocks", "1",
              "--style-size", "32", "--threads", "1", "--log-every", "1", "--blob-weight", "1e6"]
    r = run_trainer(*common, "--run", str(tmp_path / "run"), "--blob-target", "detected", "--input-noise", "0.02")
    assert r.returncode == 0, r.stderr
    assert " blob " in r.stdout
    assert json.loads((tmp_path / "run" / "config.json").read_text())["input_noise"] == 0.02
    bad = run_trainer(*common, "--run", str(tmp_path / "bad"), "--blob-target", "everywhere")
    assert bad.returncode != 0 and "--blob-target must be flat or detected" in bad.stderr


def test_masked_distillation_ignores_only_the_pixels_it_frees():
    from trainer.losses import CONTENT_LAYER, distillation_loss
    torch.manual_seed(0)
    out, teacher = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    f_out, f_teacher = {CONTENT_LAYER: torch.rand(2, 8, 8, 8)}, {CONTENT_LAYER: torch.rand(2, 8, 8, 8)}
    whole = distillation_loss(out, f_out, teacher, f_teacher)
    assert torch.allclose(distillation_loss(out, f_out, teacher, f_teacher, torch.ones(2, 1, 16, 16)), whole)
    # The student differs from its teacher only inside a freed square: no loss.
    same = teacher.clone()
    same[:, :, 4:8, 4:8] += 0.5
    keep = torch.ones(2, 1, 16, 16)
    keep[:, :, 4:8, 4:8] = 0
    f_same = {CONTENT_LAYER: f_teacher[CONTENT_LAYER].clone()}
    assert float(distillation_loss(same, f_same, teacher, f_teacher, keep)) == 0.0
    assert float(distillation_loss(same, f_same, teacher, f_teacher)) > 0.0


@pytest.mark.parametrize("region, penalty", [("outside-blobs", ["--blob-weight", "1e6", "--blob-target", "detected"]),
                                             ("outside-halos", ["--halo-weight", "1e6", "--halo-reach", "12"]),
                                             ("outside-halos", ["--halo-weight", "1e6", "--halo-reach", "12",
                                                                "--halo-target", "teacher", "--halo-free-px", "0",
                                                                "--halo-dark-side", "teacher"])])
def test_self_distillation_outside_artifacts_starts_at_zero_and_runs(tmp_path, region, penalty):
    torch.manual_seed(0)
    net = reconet.ReCoNet(width=4, blocks=1)
    torch.save({"model": net.state_dict(), "net_config": net.config(), "step": 10, "train_config": {}}, tmp_path / "ckpt.pt")
    write_photos(tmp_path / "photos")
    Image.fromarray((np.random.default_rng(1).random((32, 32, 3)) * 255).astype("uint8")).save(tmp_path / "style.png")
    r = run_trainer("train", "--style", str(tmp_path / "style.png"), "--content", str(tmp_path / "photos"),
                    "--random-vgg", "--run", str(tmp_path / "run"), "--size", "32", "--batch", "1", "--steps", "3",
                    "--style-size", "32", "--threads", "1", "--log-every", "1", "--init", str(tmp_path / "ckpt.pt"),
                    "--teacher", str(tmp_path / "ckpt.pt"), "--distill-region", region, *penalty)
    assert r.returncode == 0, r.stderr
    state = torch.load(tmp_path / "run" / "checkpoint.pt")
    assert state["train_config"]["distill_region"] == region
    history = state["history"]
    assert history[0]["distill"] < 1e-6  # the student starts as its teacher
    assert history[-1]["distill"] > 0.0
    bad = run_trainer("train", "--style", str(tmp_path / "style.png"), "--content", str(tmp_path / "photos"),
                      "--random-vgg", "--run", str(tmp_path / "bad"), "--distill-region", "inside")
    assert bad.returncode != 0 and "--distill-region" in bad.stderr
    if "--halo-target" in penalty:
        assert state["train_config"]["halo_target"] == "teacher" and state["train_config"]["halo_free_px"] == 0
        alone = run_trainer("train", "--style", str(tmp_path / "style.png"), "--content", str(tmp_path / "photos"),
                            "--random-vgg", "--run", str(tmp_path / "alone"), "--halo-target", "teacher")
        assert alone.returncode != 0 and "--halo-target teacher needs --teacher" in alone.stderr
        assert state["train_config"]["halo_dark_side"] == "teacher"
        alone = run_trainer("train", "--style", str(tmp_path / "style.png"), "--content", str(tmp_path / "photos"),
                            "--random-vgg", "--run", str(tmp_path / "alone"), "--halo-dark-side", "teacher")
        assert alone.returncode != 0 and "--halo-dark-side teacher needs --teacher" in alone.stderr


def test_self_distillation_from_a_recoloured_teacher(tmp_path):
    torch.manual_seed(0)
    net = reconet.ReCoNet(width=4, blocks=1)
    torch.save({"model": net.state_dict(), "net_config": net.config(), "step": 10, "train_config": {}}, tmp_path / "ckpt.pt")
    write_photos(tmp_path / "photos")
    # A one-colour painting: whatever else the network paints is off its palette, so the
    # recoloured teacher differs from the student that starts as that teacher.
    Image.fromarray(np.full((32, 32, 3), (200, 150, 60), dtype="uint8")).save(tmp_path / "ochre.png")
    common = ("--content", str(tmp_path / "photos"), "--random-vgg", "--size", "32", "--batch", "1", "--steps", "1",
              "--threads", "1", "--log-every", "1", "--init", str(tmp_path / "ckpt.pt"), "--teacher",
              str(tmp_path / "ckpt.pt"), "--style-weight", "0")
    plain = run_trainer("train", "--style", str(tmp_path / "ochre.png"), "--run", str(tmp_path / "plain"), *common)
    assert plain.returncode == 0, plain.stderr
    assert torch.load(tmp_path / "plain" / "checkpoint.pt")["history"][0]["distill"] < 1e-6
    r = run_trainer("train", "--style", str(tmp_path / "ochre.png"), "--run", str(tmp_path / "recoloured"), *common,
                    "--recolour-teacher")
    assert r.returncode == 0, r.stderr
    state = torch.load(tmp_path / "recoloured" / "checkpoint.pt")
    assert state["train_config"]["recolour_teacher"] is True
    assert state["history"][0]["distill"] > 1e-3
    bad = run_trainer("train", "--style", str(tmp_path / "ochre.png"), "--content", str(tmp_path / "photos"),
                      "--random-vgg", "--run", str(tmp_path / "bad"), "--recolour-teacher")
    assert bad.returncode != 0 and "--recolour-teacher needs --teacher" in bad.stderr


def test_kept_checkpoints_average_to_the_mean_of_their_weights_and_export(tmp_path):
    write_photos(tmp_path / "photos")
    Image.fromarray((np.random.default_rng(1).random((64, 64, 3)) * 255).astype("uint8")).save(tmp_path / "style.png")
    run = tmp_path / "run"
    trained = run_trainer("train", "--style", str(tmp_path / "style.png"), "--content", str(tmp_path / "photos"),
                          "--random-vgg", "--run", str(run), "--size", "32", "--batch", "2", "--width", "4",
                          "--blocks", "1", "--lr", "0.01", "--steps", "10", "--checkpoint-every", "5",
                          "--style-size", "32", "--threads", "1", "--keep-checkpoints")
    assert trained.returncode == 0, trained.stderr
    five, ten = torch.load(run / "step5.pt"), torch.load(run / "step10.pt")
    assert (five["step"], ten["step"]) == (5, 10) and "optimizer" not in five
    name = next(k for k, v in five["model"].items() if v.is_floating_point() and v.numel() > 1)
    assert not torch.equal(five["model"][name], ten["model"][name])

    averaged = run_trainer("average", str(run / "step5.pt"), str(run / "step10.pt"), "--out", str(tmp_path / "avg.pt"))
    assert averaged.returncode == 0, averaged.stderr
    mean = torch.load(tmp_path / "avg.pt")
    assert torch.allclose(mean["model"][name], (five["model"][name] + ten["model"][name]) / 2, atol=1e-7)
    assert mean["train_config"]["averaged_steps"] == [5, 10] and mean["step"] == 10

    exported = run_trainer("export", "--checkpoint", str(tmp_path / "avg.pt"), "--id", "avg", "--out",
                           str(tmp_path / "models"), "--unlisted")
    assert exported.returncode == 0, exported.stderr
    manifest = json.loads((tmp_path / "models" / "avg.json").read_text())
    assert manifest["training"]["averaged_from"] == ["run/step5.pt", "run/step10.pt"]

    torch.save({"model": reconet.ReCoNet(width=8, blocks=1).state_dict(), "step": 3,
                "net_config": reconet.ReCoNet(width=8, blocks=1).config()}, tmp_path / "other.pt")
    mismatched = run_trainer("average", str(run / "step5.pt"), str(tmp_path / "other.pt"), "--out", str(tmp_path / "x.pt"))
    assert mismatched.returncode == 1 and mismatched.stderr.startswith("error: ")
    assert "not the same network" in mismatched.stderr and not (tmp_path / "x.pt").exists()


def test_a_larger_photo_size_shows_the_scene_at_a_larger_pixel_scale(tmp_path):
    from trainer.data import PhotoCrops
    # A photo of two flat halves: at the default photo size a 32 px crop nearly always holds the
    # edge between them; scaled to 128 on its short side, most crops fall inside one flat half.
    image = np.zeros((40, 60, 3), dtype=np.uint8)
    image[:, 30:] = 200
    Image.fromarray(image).save(tmp_path / "halves.png")
    paths = [str(tmp_path / "halves.png")]
    default = PhotoCrops(paths, 32)
    large = PhotoCrops(paths, 32, photo_size=128)
    assert min(default.images[0].shape[1:]) == round(32 * 1.15) and min(large.images[0].shape[1:]) == 128
    assert default.images[0].dtype == torch.uint8

    def flat_fraction(crops):
        g = torch.Generator().manual_seed(0)
        batch = crops.batch(64, g)
        assert batch.dtype == torch.float32 and batch.shape == (64, 3, 32, 32)
        assert float(batch.min()) >= 0 and float(batch.max()) <= 1
        return float((batch.flatten(1).std(1) < 0.01).float().mean())

    assert flat_fraction(default) < 0.1
    assert flat_fraction(large) > 0.5
    # Bytes held, the same values as the float photo: 200 reads back as 200 / 255.
    assert torch.isclose(large.batch(1, torch.Generator().manual_seed(3)).max(), torch.tensor(200 / 255))
    with pytest.raises(ValueError, match="smaller than the crop size"):
        PhotoCrops(paths, 32, photo_size=16)


def test_the_flat_pick_takes_the_flattest_of_its_candidate_crops(tmp_path):
    from trainer.data import PhotoCrops, flat_share
    # Left half noise, right half flat grey: a 32 px crop is mostly one or the other.
    rng = np.random.default_rng(0)
    image = np.full((48, 96, 3), 120, dtype=np.uint8)
    image[:, :48] = (rng.random((48, 48, 3)) * 255).astype(np.uint8)
    Image.fromarray(image).save(tmp_path / "half.png")
    crops = PhotoCrops([str(tmp_path / "half.png")], 32, photo_size=48)
    assert flat_share(crops.images[0][:, :, 60:92].float() / 255) > 0.99
    assert flat_share(crops.images[0][:, :, :32].float() / 255) < 0.01

    def mean_flat_share(pick):
        batch = crops.batch(32, torch.Generator().manual_seed(1), flat_pick=pick)
        assert batch.shape == (32, 3, 32, 32)
        return sum(flat_share(c) for c in batch) / len(batch)

    plain, picked = mean_flat_share(1), mean_flat_share(4)
    assert plain < 0.6 and picked > plain + 0.25


def test_the_edge_pick_takes_the_crop_with_the_most_dark_shape_edges(tmp_path):
    from trainer.data import PhotoCrops, dark_edge_count
    # Left half a dark disc on a flat light background, right half seeded noise.
    rng = np.random.default_rng(0)
    image = np.full((96, 192, 3), 200, dtype=np.uint8)
    yy, xx = np.mgrid[:96, :96]
    image[:, :96][(yy - 48) ** 2 + (xx - 48) ** 2 < 12 ** 2] = 20
    image[:, 96:] = (rng.random((96, 96, 3)) * 255).astype(np.uint8)
    Image.fromarray(image).save(tmp_path / "disc.png")
    crops = PhotoCrops([str(tmp_path / "disc.png")], 64, photo_size=96)
    disc, noise = crops.images[0][:, 16:80, 16:80].float() / 255, crops.images[0][:, 16:80, 112:176].float() / 255
    assert dark_edge_count(disc, reach=12) > 20 and dark_edge_count(noise, reach=12) == 0

    def mean_edges(pick):
        batch = crops.batch(32, torch.Generator().manual_seed(1), edge_pick=pick, edge_reach=12)
        assert batch.shape == (32, 3, 64, 64)
        return sum(dark_edge_count(c, 12) for c in batch) / len(batch)

    plain, picked = mean_edges(1), mean_edges(4)
    assert picked > plain * 1.5
    with pytest.raises(ValueError, match="not both"):
        crops.batch(2, torch.Generator().manual_seed(1), flat_pick=2, edge_pick=2)


def test_the_soft_share_turns_crops_into_soft_footage(tmp_path):
    from trainer.data import PhotoCrops, softened
    # Seeded colour noise: every crop is sharp and colourful until it is softened.
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((64, 64, 3)) * 255).astype(np.uint8)).save(tmp_path / "noise.png")
    crops = PhotoCrops([str(tmp_path / "noise.png")], 32, photo_size=64)

    def sharpness(image):  # mean absolute step between neighbouring pixels
        return float((image[:, :, 1:] - image[:, :, :-1]).abs().mean())

    sharp = crops.batch(16, torch.Generator().manual_seed(1))
    soft = crops.batch(16, torch.Generator().manual_seed(1), soft_share=1.0)
    assert soft.shape == sharp.shape == (16, 3, 32, 32) and float(soft.min()) >= 0 and float(soft.max()) <= 1
    assert all(sharpness(s) < 0.5 * sharpness(c) for s, c in zip(soft, sharp))
    grey = [bool(torch.allclose(s[0], s[1]) and torch.allclose(s[1], s[2])) for s in soft]
    assert 0 < sum(grey) < len(grey)  # about half grey, the rest keep their colour
    mixed = crops.batch(64, torch.Generator().manual_seed(2), soft_share=0.5)
    softened_count = sum(sharpness(c) < 0.5 * sharpness(sharp[0]) for c in mixed)
    assert 16 < softened_count < 48
    g = torch.Generator().manual_seed(3)
    one = softened(sharp[0], g)
    assert one.shape == sharp[0].shape and float(one.std()) < float(sharp[0].std())


def test_a_recipe_runs_from_a_model_in_git_to_an_exported_model_that_records_its_lineage(tmp_path, monkeypatch, capsys):
    """`trainer recipe ID --execute`: a model taken from git, two training steps keeping
    their checkpoints, their mean, the export; then --compare measures the result."""
    from argparse import Namespace
    from trainer import lineage
    from trainer.commands import recipe
    write_photos(tmp_path / "photos")
    Image.fromarray((np.random.default_rng(1).random((32, 32, 3)) * 255).astype("uint8")).save(tmp_path / "style.png")
    run = str(tmp_path / "run")
    init = str(tmp_path / "inits" / "tiny")
    planted = {"id": "tiny", "stages": [
        {"command": "from-git", "commit": "HEAD", "path": "test/fixtures/models/tiny.onnx", "to": init + ".onnx"},
        {"command": "from-git", "commit": "HEAD", "path": "test/fixtures/models/tiny.json", "to": init + ".json"},
        {"command": "train", "run": run, "args": {
            "style": str(tmp_path / "style.png"), "content": str(tmp_path / "photos"), "init": init + ".onnx",
            "random-vgg": True, "size": 32, "batch": 1, "steps": 2, "checkpoint-every": 1, "keep-checkpoints": True,
            "style-size": 32}},
        {"command": "average", "positional": [run + "/step1.pt", run + "/step2.pt"], "args": {"out": run + "/mean.pt"}},
        {"command": "export", "args": {"checkpoint": run + "/mean.pt", "id": "tiny", "out": str(tmp_path / "models"),
                                       "no-check": True}},
    ]}
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "tiny.json").write_text(json.dumps(planted))
    monkeypatch.setattr(lineage, "RECIPES", str(tmp_path / "recipes"))
    assert recipe.run(Namespace(id="tiny", data="unused", execute=True, threads=1, compare=None)) == 0
    out = capsys.readouterr().out
    assert "stage 5/5: trainer export" in out and out.rstrip().endswith("rebuilt tiny")
    exported = json.loads((tmp_path / "models" / "tiny.json").read_text())
    assert exported["training"]["averaged_steps"] == [1, 2]
    averaged = reconet.load(str(tmp_path / "models" / "tiny.onnx"))[0].state_dict()
    assert recipe.weight_distance(averaged, averaged)[0] == 0
    assert 0 < recipe.weight_distance(averaged, reconet.load(init + ".onnx")[0].state_dict())[0] < 1
    broken = dict(planted, stages=[dict(planted["stages"][0], path="test/fixtures/models/no-such.onnx")])
    (tmp_path / "recipes" / "tiny.json").write_text(json.dumps(broken))
    with pytest.raises(RuntimeError, match="stage 1: git show HEAD:test/fixtures/models/no-such.onnx failed"):
        recipe.run(Namespace(id="tiny", data="unused", execute=True, threads=None, compare=None))
    assert not os.path.exists(init + ".onnx.tmp")


def test_a_resumed_run_keeps_its_saved_settings_extends_its_steps_and_takes_defaults_it_predates():
    from trainer.loop import resolve_settings
    defaults = {"steps": 100, "lr": 1e-3, "style_weight": 1e4, "blob_weight": 0.0}
    chosen = {"steps": 300, "lr": 3e-4, "style_weight": 1e4, "blob_weight": 0.0}
    assert resolve_settings(defaults, chosen) == (chosen, [])
    saved = {"steps": 100, "lr": 1e-3, "style_weight": 5e4}  # saved before blob_weight existed
    settings, notes = resolve_settings(defaults, chosen, saved)
    assert settings == {"steps": 300, "lr": 1e-3, "style_weight": 5e4, "blob_weight": 0.0}
    assert notes == ["--lr 0.0003 (saved 0.001)"]  # style_weight was left at its default: nothing was asked
