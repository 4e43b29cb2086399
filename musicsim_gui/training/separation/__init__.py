"""Training the built-in separator: corpus sampling with augmentation, the resumable loop, ONNX export."""
