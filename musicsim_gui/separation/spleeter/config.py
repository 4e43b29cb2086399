"""Settings of Spleeter's released models (2, 4 and 5 stems; 11 kHz and 16 kHz bandwidth).

All variants share the STFT (4096-sample Hann frames, hop 1024, at 44.1 kHz, stereo) and 512-frame
segments; they differ in the instruments, the number of frequency bins the network sees (`F`: 1024 bins
≈ 11 kHz, 1536 bins ≈ 16.5 kHz; higher bins get a zero mask), the activations, and whether per-stem
masks are normalised by a softmax across instruments (`softmax`, the 5-stem models).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from musicsim_gui.core.errors import ModelError


@dataclass(frozen=True)
class SpleeterConfig:
    """One Spleeter variant.

    Attributes:
        instruments: output stems in the checkpoint's layer order.
        sample_rate: Hz. frame_length / frame_step: STFT window and hop in samples.
        T: frames per segment fed to the network. F: frequency bins fed to the network.
        channels: audio channels the network takes (2).
        conv_activation: "leaky_relu" (slope 0.2), "relu" or "elu" after each encoder layer.
        deconv_activation: the same choices, after each decoder layer.
        softmax: masks are a softmax over instruments of per-instrument logits.
        separation_exponent: power applied to each estimate before ratio masking.
        mask_extension: "zeros" or "average": the mask above bin F.
        filters: encoder channel counts.
        wiener: refine the stems with Spleeter's multichannel Wiener filter (its "MWF" option).
    """

    instruments: tuple[str, ...]
    F: int = 1024
    conv_activation: str = "leaky_relu"
    deconv_activation: str = "relu"
    softmax: bool = False
    sample_rate: int = 44100
    frame_length: int = 4096
    frame_step: int = 1024
    T: int = 512
    channels: int = 2
    separation_exponent: float = 2.0
    mask_extension: str = "zeros"
    filters: tuple[int, ...] = field(default=(16, 32, 64, 128, 256, 512))
    wiener: bool = False

    @property
    def bins(self) -> int:
        """Bins of the full one-sided spectrum (frame_length / 2 + 1)."""
        return self.frame_length // 2 + 1

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["instruments"] = list(self.instruments)
        data["filters"] = list(self.filters)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpleeterConfig:
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in known}
        values["instruments"] = tuple(values.get("instruments", ()))
        if "filters" in values:
            values["filters"] = tuple(values["filters"])
        try:
            return cls(**values)
        except TypeError as error:
            raise ModelError(f"malformed Spleeter configuration ({error})") from error


_STEMS = {
    2: ("vocals", "accompaniment"),
    4: ("vocals", "drums", "bass", "other"),
    5: ("vocals", "piano", "drums", "bass", "other"),
}


def preset(stems: int, sixteen_khz: bool = False) -> SpleeterConfig:
    """The released `{stems}stems[-16kHz]` variant (stems: 2, 4 or 5)."""
    if stems not in _STEMS:
        raise ModelError(f"Spleeter was released with 2, 4 or 5 stems, not {stems}")
    activation = ("leaky_relu", "relu") if stems == 2 else ("elu", "elu")
    return SpleeterConfig(instruments=_STEMS[stems], F=1536 if sixteen_khz else 1024,
                          conv_activation=activation[0], deconv_activation=activation[1], softmax=stems == 5)


def variant_name(config: SpleeterConfig) -> str:
    """The release name of a configuration, e.g. "5stems-16kHz"."""
    return f"{len(config.instruments)}stems" + ("-16kHz" if config.F == 1536 else "")
