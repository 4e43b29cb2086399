"""`Finishing`: every step a ViT+WaveGAN model folder names for turning its heads' windows into takes.

The heads make short model-rate windows; a model folder's manifest may add, under `config`, the steps that
make them into a stem: the bandwidth extension (`bandwidth_extension`), the tone match (`tone_match`), the
temporal smoothing (`temporal_smoothing`), the reference match (`reference_match`), the spectral floor
(`spectral_floor`), the low cut (`low_cut`), the band dynamics (`band_dynamics`), the harmony following
(`harmony`) and the rests (`rests`). They are read together
here, so loading, the generator and the fitting commands pass one value; a missing key leaves its step out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from musicsim_gui.generation.vit_wavegan.band_dynamics import BandDynamics
from musicsim_gui.generation.vit_wavegan.bandwidth import BandwidthExtension
from musicsim_gui.generation.vit_wavegan.harmony import HarmonyFollow
from musicsim_gui.generation.vit_wavegan.low_cut import LowCut
from musicsim_gui.generation.vit_wavegan.reference_match import ReferenceMatch
from musicsim_gui.generation.vit_wavegan.rests import PartRests
from musicsim_gui.generation.vit_wavegan.smoothing import TemporalSmoothing
from musicsim_gui.generation.vit_wavegan.spectral_floor import SpectralFloor
from musicsim_gui.generation.vit_wavegan.tone import ToneMatch

_STEPS = {"bandwidth": ("bandwidth_extension", BandwidthExtension), "tone": ("tone_match", ToneMatch),
          "smoothing": ("temporal_smoothing", TemporalSmoothing), "reference_match": ("reference_match", ReferenceMatch),
          "spectral_floor": ("spectral_floor", SpectralFloor), "low_cut": ("low_cut", LowCut),
          "band_dynamics": ("band_dynamics", BandDynamics), "harmony": ("harmony", HarmonyFollow),
          "rests": ("rests", PartRests)}
"""Field → (its manifest `config` key, the step's class, read with `from_dict`)."""


@dataclass(frozen=True)
class Finishing:
    """The finishing steps of one model (None: the step is left out).

    bandwidth: the band above the model's Nyquist frequency, rebuilt per instrument.
    tone: the equaliser to the training stems' spectral shape.
    smoothing: the temporal smoothing of sustained instruments (switched off with `params["smoothing"]`).
    reference_match: how takes follow the reference's stems in tone, band dynamics and contour.
    spectral_floor: the floor between partials cleared (switched with the smoothing).
    low_cut: the infrasonic rumble of the heads removed.
    band_dynamics: how far each band's level moves about its mean, widened or narrowed per instrument.
    harmony: how far the loop copies follow the chords of the reference's part.
    rests: where takes fall silent because the reference's part rests.
    """

    bandwidth: BandwidthExtension | None = None
    tone: ToneMatch | None = None
    smoothing: TemporalSmoothing | None = None
    reference_match: ReferenceMatch | None = None
    spectral_floor: SpectralFloor | None = None
    low_cut: LowCut | None = None
    band_dynamics: BandDynamics | None = None
    harmony: HarmonyFollow | None = None
    rests: PartRests | None = None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Finishing:
        """The steps a manifest's `config` names; raises KeyError, TypeError or ValueError for a malformed one."""
        return cls(**{field: kind.from_dict(config[key]) for field, (key, kind) in _STEPS.items() if config.get(key)})

    @property
    def follows_stems(self) -> bool:
        """Whether takes use the reference's separated stems (a reference match, a harmony or rests)."""
        return self.reference_match is not None or self.harmony is not None or bool(self.rests and self.rests.settings)
