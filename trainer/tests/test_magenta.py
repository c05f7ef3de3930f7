import torch

from trainer import magenta


class RecordingTransfer(torch.nn.Module):
    """Stands in for the TFLite transfer network: paints the frame with the vector's mean, records the vector."""

    def forward(self, frame, style):
        self.seen = style.flatten(1)
        return torch.sigmoid(style.mean() + 0 * frame)


def test_strength_zero_is_the_frame_one_is_the_painting_and_between_blends_both():
    transfer = RecordingTransfer()
    neutral = torch.zeros(1, 100)
    stylizer = magenta.Stylizer(transfer, neutral)
    frame = torch.rand(1, 3, 8, 12)
    style = torch.full((1, 100), 2.0)
    assert torch.equal(stylizer(frame, style, torch.zeros(1)), frame)
    assert torch.allclose(transfer.seen, neutral)
    painted = stylizer(frame, style, torch.ones(1))
    assert torch.allclose(transfer.seen, style)
    assert torch.allclose(painted, torch.sigmoid(torch.tensor(2.0)).expand_as(frame))
    half = stylizer(frame, style, torch.full((1,), 0.5))
    assert torch.allclose(transfer.seen, style / 2)  # the vector half way to the painting's
    assert torch.allclose(half, frame + (torch.sigmoid(torch.tensor(1.0)) - frame) * 0.5)  # and cross-faded half way


def test_style_encoder_reads_any_painting_size_at_the_predictor_size():
    class Predictor(torch.nn.Module):
        def forward(self, image):
            self.size = tuple(image.shape[-2:])
            return image.mean((2, 3), keepdim=True).repeat(1, 34, 1, 1)[:, :100]

    predictor = Predictor()
    vector = magenta.StyleEncoder(predictor)(torch.rand(1, 3, 300, 170))
    assert predictor.size == (magenta.PREDICTOR_SIZE, magenta.PREDICTOR_SIZE)
    assert vector.shape == (1, 100)
