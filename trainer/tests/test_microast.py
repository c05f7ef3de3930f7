import torch

from trainer import microast


def _random_pair(seed=0):
    torch.manual_seed(seed)
    encoder, style_encoder, modulator, decoder = microast.Encoder(), microast.Encoder(), microast.Modulator(), microast.Decoder()
    return microast.Stylizer(encoder, decoder).eval(), microast.StyleEncoder(style_encoder, modulator).eval()


def test_a_painting_becomes_one_vector_and_any_frame_size_comes_back_the_same_size():
    stylizer, style_encoder = _random_pair()
    with torch.no_grad():
        style = style_encoder(torch.rand(1, 3, 96, 80))
        assert style.shape == (1, microast.STYLE_LENGTH)
        for h, w in ((36, 64), (37, 65), (18, 30)):
            out = stylizer(torch.rand(1, 3, h, w), style, torch.ones(1))
            assert out.shape == (1, 3, h, w)
            assert float(out.min()) >= 0 and float(out.max()) <= 1


def test_strength_moves_the_picture_from_the_frame_statistics_to_the_painting():
    stylizer, style_encoder = _random_pair(1)
    frame = torch.rand(1, 3, 32, 48)
    with torch.no_grad():
        style = style_encoder(torch.rand(1, 3, 64, 64))
        full, none = stylizer(frame, style, torch.ones(1)), stylizer(frame, style, torch.zeros(1))
        half = stylizer(frame, style, torch.full((1,), 0.5))
        assert float((full - none).abs().mean()) > 1e-4
        # Halfway lies between: closer to each end than the ends are to each other.
        assert float((half - none).abs().mean()) < float((full - none).abs().mean())
