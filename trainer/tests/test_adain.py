import pytest
import torch

from trainer import arbitrary
from trainer.commands import adain


def test_adain_gives_the_content_features_the_style_statistics():
    torch.manual_seed(0)
    content = torch.rand(2, arbitrary.FEATURES, 6, 10) * 3
    style = torch.cat([torch.rand(2, arbitrary.FEATURES), torch.rand(2, arbitrary.FEATURES) + 0.5], 1)
    out = arbitrary.adain(content, style, torch.ones(2))
    assert torch.allclose(arbitrary.mean_std(out), style, atol=1e-3)
    # Strength 0 leaves the features as they were; 0.5 lands half way in the statistics.
    assert torch.allclose(arbitrary.adain(content, style, torch.zeros(2)), content, atol=1e-4)
    half = arbitrary.mean_std(arbitrary.adain(content, style, torch.full((2,), 0.5)))
    assert torch.allclose(half, (arbitrary.mean_std(content) + style) / 2, atol=1e-3)


def test_encoder_decoder_shapes_and_the_stylizer_contract():
    torch.manual_seed(0)
    enc, dec = arbitrary.Encoder().eval(), arbitrary.Decoder().eval()
    with torch.no_grad():  # random weights: keep the last ReLU alive so the picture depends on its input
        dec.conv11.bias.fill_(0.5)
    frame = torch.rand(1, 3, 48, 64)  # multiples of 8: three poolings
    features = enc(frame)
    assert features.shape == (1, arbitrary.FEATURES, 6, 8)
    style = arbitrary.StyleEncoder(enc)(torch.rand(1, 3, 40, 56))
    assert style.shape == (1, 2 * arbitrary.FEATURES)
    out = arbitrary.Stylizer(enc, dec)(frame, style, torch.ones(1))
    assert out.shape == frame.shape
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    assert float(out.std()) > 0  # not a constant picture
    # A different painting changes the picture.
    other = style.clone()
    other[:, :arbitrary.FEATURES] += 1.0  # brighter features everywhere
    assert float((arbitrary.Stylizer(enc, dec)(frame, other, torch.ones(1)) - out).abs().mean()) > 1e-4


def test_stylizer_pads_inside_the_graph_for_any_size_and_crops_back():
    torch.manual_seed(0)
    enc, dec = arbitrary.Encoder().eval(), arbitrary.Decoder().eval()
    style = arbitrary.StyleEncoder(enc)(torch.rand(1, 3, 40, 56))
    with torch.no_grad():
        out = arbitrary.Stylizer(enc, dec)(torch.rand(1, 3, 36, 52), style, torch.ones(1))  # not multiples of 8
    assert out.shape == (1, 3, 36, 52)


def test_export_writes_the_contract_2_pair_checked_against_onnx_runtime(tmp_path):
    import json
    torch.manual_seed(0)
    enc, dec = arbitrary.Encoder(), arbitrary.Decoder()
    with torch.no_grad():
        dec.conv11.bias.fill_(0.5)
    path, manifest = arbitrary.export_arbitrary(arbitrary.Stylizer(enc, dec), arbitrary.StyleEncoder(enc), str(tmp_path), "any",
                                            {"title": "Any"}, painting_size=256)
    assert manifest["contract"] == 2
    assert manifest["arbitrary"]["encoder"] == "any.style.onnx" and manifest["arbitrary"]["styleLength"] == 2 * arbitrary.FEATURES
    assert manifest["export"]["parity_max_abs_diff"] < 2e-4
    assert (tmp_path / "any.style.onnx").exists()
    assert json.loads((tmp_path / "any.json").read_text())["title"] == "Any"
    import onnx
    out = onnx.load(path).graph.output[0].type.tensor_type.shape.dim
    assert [d.dim_value or d.dim_param for d in out] == [1, 3, "height", "width"]


def test_colour_statistics_moves_the_mean_colour_to_the_paintings():
    colour = arbitrary.ColourStatistics()
    frame = torch.rand(1, 3, 20, 28) * 0.5
    painting = torch.rand(1, 3, 16, 16) * 0.3 + 0.6
    style = arbitrary.StyleEncoder(colour)(painting)
    out = arbitrary.Stylizer(colour, colour)(frame, style, torch.ones(1))
    assert torch.allclose(out.mean((2, 3)), painting.mean((2, 3)), atol=0.02)


def test_adain_train_runs_resumes_and_never_sees_the_held_out_paintings(tmp_path):
    import subprocess
    import sys
    from trainer.commands import adain_train
    styles, photos = tmp_path / "styles", tmp_path / "content" / "bsds500"
    styles.mkdir(parents=True)
    photos.mkdir(parents=True)
    for name, colour in (("red", "red"), ("red_crop", "red"), ("blue", "blue"), ("green", "green")):
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c={colour}:size=72x56,noise=alls=30:allf=u",
                        "-frames:v", "1", str(styles / f"{name}.png")], check=True)
    for i in range(2):
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=96x80", "-ss", f"0.{i + 1}",
                        "-frames:v", "1", str(photos / f"p{i}.png")], check=True)
    names = [p.split("/")[-1] for p in adain_train.training_paintings(str(styles), ["red.png"])]
    assert names == ["blue.png", "green.png"]
    run = tmp_path / "run"
    base = [sys.executable, "-m", "trainer", "adain-train", "--run", str(run), "--data", str(tmp_path), "--random-vgg",
            "--held-out", "red.png", "--size", "48", "--style-size", "48", "--threads", "1", "--log-every", "1"]
    first = subprocess.run(base + ["--steps", "2"], capture_output=True, text=True, cwd=adain.__file__.rsplit("/trainer/", 1)[0])
    assert first.returncode == 0, first.stderr
    assert "training on 2 paintings: blue.png, green.png" in first.stdout
    second = subprocess.run(base + ["--steps", "3"], capture_output=True, text=True, cwd=adain.__file__.rsplit("/trainer/", 1)[0])
    assert second.returncode == 0, second.stderr
    assert "resuming" in second.stdout and "at step 2/3" in second.stdout
    state = torch.load(run / "checkpoint.pt")
    assert state["step"] == 3 and len(state["history"]) == 3


def test_adain_train_distills_from_the_released_painter_even_after_a_resume(tmp_path):
    import subprocess
    import sys
    styles, photos = tmp_path / "styles", tmp_path / "content" / "bsds500"
    styles.mkdir(parents=True)
    photos.mkdir(parents=True)
    for name, colour in (("blue", "blue"), ("green", "green")):
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c={colour}:size=72x56,noise=alls=30:allf=u",
                        "-frames:v", "1", str(styles / f"{name}.png")], check=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=96x80", "-frames:v", "1",
                    str(photos / "p0.png")], check=True)
    run = tmp_path / "run"
    base = [sys.executable, "-m", "trainer", "adain-train", "--run", str(run), "--data", str(tmp_path), "--random-vgg",
            "--held-out", "none.png", "--size", "48", "--style-size", "48", "--threads", "1", "--lr", "1e-2",
            "--distill-weight", "1", "--teacher-style-weight", "1"]
    root = adain.__file__.rsplit("/trainer/", 1)[0]
    for steps in ("2", "3"):
        done = subprocess.run(base + ["--steps", steps], capture_output=True, text=True, cwd=root)
        assert done.returncode == 0, done.stderr
    history = torch.load(run / "checkpoint.pt")["history"]
    # The first step's student is the teacher; after training and a resume they differ,
    # so the teacher was not rebuilt from the checkpoint.
    assert history[0]["distill"] < 1e-6 and history[0]["teacher_style"] < 1e-6
    assert history[2]["distill"] > 1e-3 and history[2]["teacher_style"] > 1e-6
    # A new run started from this one (--init) paints as it does from its first step,
    # while still distilling from the released painter, not from the run it started from.
    forked = tmp_path / "forked"
    done = subprocess.run(base[:5] + [str(forked)] + base[6:] + ["--steps", "1", "--init", str(run / "checkpoint.pt")],
                          capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stderr
    state = torch.load(forked / "checkpoint.pt")
    assert state["step"] == 1 and state["config"]["init_step"] == 3
    assert state["history"][0]["distill"] > 1e-3


def test_a_shipped_stylizer_loads_back_as_its_painter(tmp_path):
    import json
    import shutil
    torch.manual_seed(0)
    enc, dec = arbitrary.Encoder(), arbitrary.Decoder()
    training = {"network": "adain", "lr": 1e-4, "steps_done": 7, "paintings": ["blue.png"]}
    path, _ = arbitrary.export_arbitrary(arbitrary.Stylizer(enc, dec), arbitrary.StyleEncoder(enc), str(tmp_path), "any",
                                         {"title": "Any", "training": training}, painting_size=64)
    torch.manual_seed(1)
    fresh = arbitrary.Decoder()
    state = arbitrary.load_decoder(path, fresh)
    for name, value in dec.state_dict().items():
        assert torch.equal(fresh.state_dict()[name], value), name
    assert state["step"] == 7 and state["paintings"] == ["blue.png"]
    assert state["config"] == {"network": "adain", "lr": 1e-4}
    # The style encoder's file holds no painter: refused in words, not loaded half.
    shutil.copy(tmp_path / "any.json", tmp_path / "any.style.json")
    with pytest.raises(ValueError, match="lacks this painter's weights"):
        arbitrary.load_decoder(str(tmp_path / "any.style.onnx"), arbitrary.Decoder())
    json.loads((tmp_path / "any.json").read_text())  # the manifest is left as it was


def test_adain_train_holds_a_shipped_painter_to_itself_under_the_halo_penalty(tmp_path):
    import subprocess
    import sys
    styles, photos = tmp_path / "styles", tmp_path / "content" / "bsds500"
    styles.mkdir(parents=True)
    photos.mkdir(parents=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=blue:size=72x56,noise=alls=30:allf=u",
                    "-frames:v", "1", str(styles / "blue.png")], check=True)
    # A dark square on a flat grey: edges where the halo penalty looks.
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0xb0b0b0:size=96x96",
                    "-vf", "drawbox=x=30:y=30:w=36:h=36:color=black:t=fill", "-frames:v", "1", str(photos / "p0.png")],
                   check=True)
    torch.manual_seed(0)
    enc, dec = arbitrary.Encoder(), arbitrary.Decoder()
    with torch.no_grad():
        dec.conv11.bias.fill_(0.3)  # not the released painter
    shipped, _ = arbitrary.export_arbitrary(arbitrary.Stylizer(enc, dec), arbitrary.StyleEncoder(enc), str(tmp_path), "any",
                                            {"title": "Any", "training": {"network": "adain", "steps_done": 5}},
                                            painting_size=64)
    run = tmp_path / "run"
    base = [sys.executable, "-m", "trainer", "adain-train", "--run", str(run), "--data", str(tmp_path), "--random-vgg",
            "--held-out", "none.png", "--size", "64", "--style-size", "48", "--threads", "1", "--lr", "1e-2",
            "--init", shipped, "--teacher", "init", "--distill-weight", "1", "--distill-region", "outside-halos",
            "--halo-weight", "1e3", "--halo-reach", "8", "--edge-pick", "2", "--halo-dark-side", "teacher"]
    root = adain.__file__.rsplit("/trainer/", 1)[0]
    for steps in ("2", "3"):
        done = subprocess.run(base + ["--steps", steps], capture_output=True, text=True, cwd=root)
        assert done.returncode == 0, done.stderr
    state = torch.load(run / "checkpoint.pt")
    history = state["history"]
    assert state["config"]["teacher"] == "init" and state["config"]["init_step"] == 5
    assert state["config"]["halo_dark_side"] == "teacher"
    # The first step's student is the painter it started from, which is also its teacher;
    # after a resume the teacher is still that painter, so the two have drifted apart.
    assert history[0]["distill"] < 1e-6
    assert history[2]["distill"] > 1e-3
    assert all("halo" in h for h in history)
    with pytest.raises(subprocess.CalledProcessError):
        subprocess.run(base[:5] + [str(tmp_path / "other")] + base[6:base.index("--init")] + ["--teacher", "init", "--steps", "1"],
                       capture_output=True, text=True, cwd=root, check=True)


def test_proof_pair_per_painting():
    before = {"a.jpg": {"style_gap_closed": 0.6, "warping_error_middlebury": 1.0, "warping_error_clips": 2.0},
              "b.jpg": {"style_gap_closed": 0.2, "warping_error_middlebury": 1.0, "warping_error_clips": 1.0}}
    after = {"a.jpg": {"style_gap_closed": 0.58, "warping_error_middlebury": 0.6, "warping_error_clips": 1.2},
             "b.jpg": {"style_gap_closed": 0.3, "warping_error_middlebury": 0.5, "warping_error_clips": 0.75}}
    rows, met = adain.proof_pair(after, before)
    # a: distance (1-0.58)/(1-0.6) = 1.05 (+5%), warping -40% / -40%: met.
    assert rows[0]["met"] and abs(rows[0]["style_distance_change"] - 0.05) < 1e-9
    # b: style better, Middlebury -50%, but clips only -25%: not met, so the pair is not met.
    assert not rows[1]["met"] and abs(rows[1]["warping_change_clips"] + 0.25) < 1e-9
    assert not met
    after["b.jpg"]["warping_error_clips"] = 0.7
    assert adain.proof_pair(after, before)[1]
    after["a.jpg"]["style_gap_closed"] = 0.55  # distance +12.5%: over the 10% allowed
    assert not adain.proof_pair(after, before)[1]


def test_average_takes_the_mean_of_two_painters(tmp_path):
    """`trainer average` on adain-train checkpoints: the painters' weights averaged, the newest run's config kept."""
    import subprocess
    import sys
    from .test_trainer import ROOT
    decoder = arbitrary.Decoder()
    a = {k: torch.full_like(v, 1.0) for k, v in decoder.state_dict().items()}
    b = {k: torch.full_like(v, 3.0) for k, v in decoder.state_dict().items()}
    torch.save({"decoder": a, "config": {"network": "adain", "temporal_weight": 8e6}, "step": 50}, tmp_path / "a.pt")
    torch.save({"decoder": b, "config": {"network": "adain", "temporal_weight": 4e6}, "step": 300,
                "paintings": ["x.jpg"]}, tmp_path / "b.pt")
    run = lambda *args: subprocess.run([sys.executable, "-m", "trainer", "average", *args], cwd=ROOT,
                                       capture_output=True, text=True)
    done = run(str(tmp_path / "a.pt"), str(tmp_path / "b.pt"), "--out", str(tmp_path / "mean.pt"))
    assert done.returncode == 0, done.stderr
    mean = torch.load(tmp_path / "mean.pt")
    assert all(torch.allclose(v, torch.full_like(v, 2.0)) for v in mean["decoder"].values())
    assert mean["config"]["temporal_weight"] == 4e6 and mean["config"]["averaged_steps"] == [50, 300]
    assert mean["paintings"] == ["x.jpg"]
    arbitrary.Decoder().load_state_dict(mean["decoder"])  # loads as a painter
    torch.save({"decoder": b, "config": {"network": "magenta"}, "step": 1}, tmp_path / "c.pt")
    mixed = run(str(tmp_path / "a.pt"), str(tmp_path / "c.pt"), "--out", str(tmp_path / "bad.pt"))
    assert mixed.returncode == 1 and "one network" in mixed.stderr and not (tmp_path / "bad.pt").exists()


def test_saved_reports_store_their_means_in_a_manifest(tmp_path):
    """`adain --baseline B --compare R1,R2 --update-manifest M`: figures measured in earlier runs
    (one painting per report) become the manifest's means; its other metrics stay."""
    import json
    import subprocess
    import sys
    from .test_trainer import ROOT
    figures = {"a.jpg": {"style_gap_closed": 0.5, "style_gap_closed_720p": 0.4, "warping_error_middlebury": 2.0, "warping_error_clips": 1.0,
                         "halo_width_px_720p": 10, "blobs_720p": 4, "blobs_flagged_images_720p": 0},
               "b.jpg": {"style_gap_closed": 0.7, "style_gap_closed_720p": 0.6, "warping_error_middlebury": 4.0, "warping_error_clips": 3.0,
                         "halo_width_px_720p": 20, "blobs_720p": 8, "blobs_flagged_images_720p": 2}}
    paths = []
    for name, entry in figures.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"styles": {name: entry}}))
        paths.append(str(path))
    baseline = tmp_path / "released.json"
    baseline.write_text(json.dumps({"styles": {n: dict(e, warping_error_middlebury=9.0, warping_error_clips=9.0) for n, e in figures.items()}}))
    manifest = tmp_path / "magenta-steady.json"
    shipped = json.load(open(f"{ROOT}/models/magenta-steady.json"))
    manifest.write_text(json.dumps(dict(shipped, metrics={"cpu_fps_640x360": 13.9, "style_gap_closed": 0.1})))
    done = subprocess.run([sys.executable, "-m", "trainer", "adain", "--baseline", str(baseline), "--compare", ",".join(paths),
                           "--update-manifest", str(manifest)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    metrics = json.loads(manifest.read_text())["metrics"]
    assert abs(metrics["style_gap_closed"] - 0.6) < 1e-9 and abs(metrics["style_gap_closed_720p"] - 0.5) < 1e-9
    assert metrics["warping_error_clips"] == 2.0 and metrics["cpu_fps_640x360"] == 13.9
    assert metrics["metrics_paintings"] == "a.jpg,b.jpg"
    # Artifacts: the mean per painting, and how many paintings flag an image.
    assert metrics["halo_width_px_720p"] == 15 and metrics["blobs_720p"] == 6
    assert metrics["blobs_flagged_paintings_720p"] == 1 and "halo_width_px_1080p" not in metrics
