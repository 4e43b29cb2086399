"""Spleeter's published U-Net separators, re-implemented in torch and loaded from TensorFlow checkpoints.

Modules: `config` (the released variants), `unet` (the network, torch), `spectral` (Spleeter's STFT, segments,
mask extension and inverse STFT in NumPy), `tfbundle` + `crc32c` (the TensorFlow checkpoint reader, no
TensorFlow needed), `convert` (variable names → our parameters), `install` (model folder: safetensors, ONNX,
manifest) and `separator` (the `Separator` implementation and its registry loader).
"""
