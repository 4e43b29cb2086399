"""Spleeter's per-instrument U-Net and the ratio masks it yields, in torch (NCHW), exportable to ONNX.

Architecture (one U-Net per instrument, all reading the same mixture magnitude `[B, 2, T, F]`):
1. Encoder: six 5×5 stride-2 convolutions (16…512 channels) with TensorFlow "same" padding (one row
   before, two after, on even sizes), each followed by batch norm (eps 1e-3) and the encoder activation.
   The skip connections carry the *raw* convolution outputs; the sixth layer's norm exists in the
   checkpoint but its output is unused, exactly as in the original graph.
2. Decoder: six 5×5 stride-2 transposed convolutions (cropped one before / two after to double the size),
   each followed by the decoder activation and batch norm, concatenated with the matching skip; the last
   one has a single channel. A 4×4 convolution with dilation 2 gives two channels: a sigmoid mask, or
   logits that a softmax across instruments turns into masks (`softmax=True`, the 5-stem models).
3. Each instrument's estimate is mask × mixture; ratio masks are estimate^p / Σ estimate^p (p = 2,
   with Spleeter's epsilon terms). Dropout is inactive at inference and omitted.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from musicsim_gui.separation.spleeter.config import SpleeterConfig

BN_EPS = 1e-3
EPSILON = 1e-10


@lru_cache(maxsize=1)
def _classes() -> Any:
    """The torch modules, defined on first use so importing this module does not import torch."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    class UNet(nn.Module):
        """One instrument's U-Net: magnitude `[B, 2, T, F]` → mask or logits `[B, 2, T, F]`.

        T and F must be multiples of 64 (six halvings).
        """

        def __init__(self, config: SpleeterConfig) -> None:
            super().__init__()
            filters, channels = list(config.filters), config.channels
            ins = [channels, *filters[:-1]]
            self.encoder = nn.ModuleList(nn.Conv2d(i, o, 5, stride=2) for i, o in zip(ins, filters, strict=True))
            self.encoder_norm = nn.ModuleList(nn.BatchNorm2d(o, eps=BN_EPS) for o in filters)
            outs = [*filters[-2::-1], 1]
            dec_ins = [filters[-1]] + [2 * o for o in outs[:-1]]
            self.decoder = nn.ModuleList(nn.ConvTranspose2d(i, o, 5, stride=2)
                                         for i, o in zip(dec_ins, outs, strict=True))
            self.decoder_norm = nn.ModuleList(nn.BatchNorm2d(o, eps=BN_EPS) for o in outs)
            self.final = nn.Conv2d(1, channels, 4, dilation=2, padding=3)
            self.enc_act = activation(config.conv_activation)
            self.dec_act = activation(config.deconv_activation)
            self.logits = config.softmax

        def forward(self, magnitude: torch.Tensor) -> torch.Tensor:
            skips, x = [], magnitude
            for index, (conv, norm) in enumerate(zip(self.encoder, self.encoder_norm, strict=True)):
                raw = conv(F.pad(x, (1, 2, 1, 2)))
                skips.append(raw)
                x = self.enc_act(norm(raw)) if index < len(self.encoder) - 1 else raw
            for index, (deconv, norm) in enumerate(zip(self.decoder, self.decoder_norm, strict=True)):
                up = deconv(x)
                up = up[:, :, 1:up.shape[2] - 2, 1:up.shape[3] - 2]
                x = norm(self.dec_act(up))
                skip = len(skips) - 2 - index
                if skip >= 0:
                    x = torch.cat([skips[skip], x], dim=1)
            out = self.final(x)
            return out if self.logits else torch.sigmoid(out)


    class SpleeterNet(nn.Module):
        """All instruments' U-Nets: `magnitude [B, 2, T, F]` → ratio masks `[B, S, 2, T, F]` (S = instruments)."""

        def __init__(self, config: SpleeterConfig, estimates: bool = False) -> None:
            super().__init__()
            self.config = config
            self.unets = nn.ModuleList(UNet(config) for _ in config.instruments)
            self.with_estimates = estimates

        def forward(self, magnitude: torch.Tensor) -> torch.Tensor:
            raw = torch.stack([unet(magnitude) for unet in self.unets], dim=1)     # [B, S, 2, T, F]
            masks = torch.softmax(raw, dim=1) if self.config.softmax else raw
            estimates = masks * magnitude[:, None]
            exponent = self.config.separation_exponent
            power = estimates * estimates if exponent == 2 else estimates ** exponent
            total = power.sum(dim=1, keepdim=True) + EPSILON
            ratio = (power + EPSILON / len(self.unets)) / total
            return (ratio, estimates) if self.with_estimates else ratio

    return UNet, SpleeterNet


def activation(name: str) -> Any:
    """The activation layer called `name` ("leaky_relu" with slope 0.2, "relu" or "elu")."""
    from torch import nn

    layers = {"leaky_relu": lambda: nn.LeakyReLU(0.2), "elu": nn.ELU, "relu": nn.ReLU}
    if name not in layers:
        raise ValueError(f"unknown activation {name!r}")
    return layers[name]()


def build_spleeter(config: SpleeterConfig, estimates: bool = False) -> Any:
    """A `SpleeterNet` in inference mode (random weights until a state dict is loaded).

    With `estimates`, forward returns `(masks, estimates)`: the per-instrument magnitude estimates
    `[B, S, 2, T, F]` the multichannel Wiener filter starts from.
    """
    return _classes()[1](config, estimates).eval()
