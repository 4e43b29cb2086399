"""Spleeter's published U-Net separators, re-implemented in torch and loaded from TensorFlow checkpoints.

Modules: `config` (the released model variants), `unet` (the network), `spectral` (Spleeter's STFT and
mask application in NumPy), `tfbundle` (the TensorFlow checkpoint reader, no TensorFlow needed),
`convert` (checkpoint → safetensors + manifest), `separator` (the `Separator` implementation).
"""
