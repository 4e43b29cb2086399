"""MuSiC Studio: a local composer that regenerates instrument stems similar to a reference song.

Importing the package is cheap on purpose: no Qt, torch, onnxruntime or librosa is imported here.
"""

__version__ = "0.1.0"
