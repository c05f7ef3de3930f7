"""stylecast offline trainer: ReCoNet with the coherent-video loss, ONNX export."""
