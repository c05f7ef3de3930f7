import torch

from trainer import adain


def test_adain_gives_the_content_features_the_style_statistics():
    torch.manual_seed(0)
    content = torch.rand(2, adain.FEATURES, 6, 10) * 3
    style = torch.cat([torch.rand(2, adain.FEATURES), torch.rand(2, adain.FEATURES) + 0.5], 1)
    out = adain.adain(content, style, torch.ones(2))
    assert torch.allclose(adain.mean_std(out), style, atol=1e-3)
    # Strength 0 leaves the features as they were; 0.5 lands half way in the statistics.
    assert torch.allclose(adain.adain(content, style, torch.zeros(2)), content, atol=1e-4)
    half = adain.mean_std(adain.adain(content, style, torch.full((2,), 0.5)))
    assert torch.allclose(half, (adain.mean_std(content) + style) / 2, atol=1e-3)


def test_encoder_decoder_shapes_and_the_stylizer_contract():
    torch.manual_seed(0)
    enc, dec = adain.Encoder().eval(), adain.Decoder().eval()
    with torch.no_grad():  # random weights: keep the last ReLU alive so the picture depends on its input
        dec.conv11.bias.fill_(0.5)
    frame = torch.rand(1, 3, 48, 64)  # multiples of 8: three poolings
    features = enc(frame)
    assert features.shape == (1, adain.FEATURES, 6, 8)
    style = adain.StyleEncoder(enc)(torch.rand(1, 3, 40, 56))
    assert style.shape == (1, 2 * adain.FEATURES)
    out = adain.Stylizer(enc, dec)(frame, style, torch.ones(1))
    assert out.shape == frame.shape
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    assert float(out.std()) > 0  # not a constant picture
    # A different painting changes the picture.
    other = style.clone()
    other[:, :adain.FEATURES] += 1.0  # brighter features everywhere
    assert float((adain.Stylizer(enc, dec)(frame, other, torch.ones(1)) - out).abs().mean()) > 1e-4
