"""`SpleeterSeparator`: runs a converted Spleeter model behind the `Separator` interface.

Architecture:
1. The clip is resampled to 44.1 kHz. Stereo clips go through the network as they are; any other
   channel count is separated channel by channel, each channel duplicated to the stereo the network takes.
2. `spectral.separate_waveform` does Spleeter's STFT, segmenting, masking and inverse STFT (or, with
   `config.wiener`, `wiener.separate_waveform_wiener` applies Spleeter's multichannel Wiener filter); the
   network runs on ONNX Runtime when the folder has `model.onnx` and ONNX is chosen, else on torch.
3. Spleeter's stems map onto the studio's: bass, drums, piano, other by name ("accompaniment" → other);
   a stem the variant lacks (piano in 4 stems) is silence; vocals are returned as an extra "vocals" stem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.errors import ModelError
from musicsim_gui.runtime.backend import Backend, OnnxBackend, TorchBackend, choose_backend
from musicsim_gui.runtime.manifest import Manifest, load_manifest
from musicsim_gui.runtime.registry import ModelEntry
from musicsim_gui.separation.base import STEMS, CancelFn, ProgressFn
from musicsim_gui.separation.resample import resample_samples
from musicsim_gui.separation.spleeter.config import SpleeterConfig
from musicsim_gui.separation.spleeter.install import ONNX_FILE, WEIGHTS_FILE
from musicsim_gui.separation.spleeter.spectral import separate_waveform
from musicsim_gui.separation.spleeter.wiener import separate_waveform_wiener

STEM_MAP = {"accompaniment": "other", "vocals": "vocals"}


def load_torch_spleeter(weights: Path, config: SpleeterConfig) -> Any:
    """A `SpleeterNet` with the weights of a safetensors file."""
    from safetensors.torch import load_file

    from musicsim_gui.separation.spleeter.unet import build_spleeter

    model = build_spleeter(config, estimates=True)
    try:
        model.load_state_dict(load_file(str(weights)))
    except Exception as error:  # safetensors and torch raise several types for bad files
        raise ModelError(f"{weights}: cannot load the Spleeter weights ({error})") from error
    return model.eval()


class SpleeterSeparator:
    """A converted Spleeter model on a backend; see the module docstring."""

    def __init__(self, manifest: Manifest, backend: Backend) -> None:
        self.config = SpleeterConfig.from_dict(manifest.config)
        self.id, self.version = manifest.name, manifest.version
        self.backend = backend
        self.backend_name = backend.name
        self.fallback_reason: str | None = None

    def masks(self, magnitude: np.ndarray) -> np.ndarray:
        """Ratio masks `[1, S, 2, T, F]` for magnitude `[1, 2, T, F]`."""
        return self.backend.run({"magnitude": magnitude})["masks"]

    def estimates(self, magnitude: np.ndarray) -> np.ndarray:
        """Magnitude estimates `[1, S, 2, T, F]` for magnitude `[1, 2, T, F]` (the Wiener filter's input)."""
        return self.backend.run({"magnitude": magnitude})["estimates"]

    def _separate_stereo(self, part: np.ndarray, progress: ProgressFn, cancel: CancelFn | None) -> dict:
        if self.config.wiener:
            return separate_waveform_wiener(part, self.estimates, self.config, progress, cancel)
        return separate_waveform(part, self.masks, self.config, progress, cancel)

    def _stereo_parts(self, samples: np.ndarray) -> list[np.ndarray]:
        if samples.shape[0] == 2:
            return [samples]
        return [np.repeat(channel[None], 2, axis=0) for channel in samples]

    def separate(self, clip: AudioClip, progress: ProgressFn | None = None,
                 cancel: CancelFn | None = None) -> dict[str, AudioClip]:
        """Stems `{bass, drums, piano, other, vocals}` at the clip's rate, channels and length."""
        rate = self.config.sample_rate
        samples = resample_samples(clip.samples, clip.sample_rate, rate)
        parts = self._stereo_parts(samples)
        results: dict[str, list[np.ndarray]] = {}
        for index, part in enumerate(parts):
            def report(fraction: float, message: str, index: int = index) -> None:
                if progress is not None:
                    progress((index + fraction) / len(parts), message)

            for name, audio in self._separate_stereo(part, report, cancel).items():
                results.setdefault(name, []).append(audio if samples.shape[0] == 2 else audio[:1])
        stems = {STEM_MAP.get(name, name): np.concatenate(chunks, axis=0) for name, chunks in results.items()}
        out = {}
        for stem in (*STEMS, "vocals"):
            audio = stems.get(stem)
            if audio is None:
                out[stem] = AudioClip(np.zeros_like(clip.samples), clip.sample_rate, f"{clip.source} ({stem})")
                continue
            back = resample_samples(audio, rate, clip.sample_rate, clip.frames)
            out[stem] = AudioClip(back, clip.sample_rate, f"{clip.source} ({stem})")
        return out


def open_spleeter(model_dir: Path, backend: str = "auto", device: str = "auto") -> SpleeterSeparator:
    """Load the Spleeter model folder `model_dir` (hashes verified) on the chosen backend."""
    manifest = load_manifest(model_dir, verify=True)
    choice = choose_backend(backend, device)
    if choice.kind == "onnx" and ONNX_FILE in manifest.files:
        runner: Backend = OnnxBackend(model_dir / ONNX_FILE, device=choice.device)
    else:
        if backend == "onnx":
            raise ModelError(f"{model_dir}: this Spleeter model has no ONNX export; use --backend torch "
                             "or re-import it with --onnx")
        config = SpleeterConfig.from_dict(manifest.config)
        device_name = choice.device if choice.kind == "torch" else "auto"
        runner = TorchBackend(load_torch_spleeter(model_dir / WEIGHTS_FILE, config), device_name,
                              output_names=("masks", "estimates"))
    return SpleeterSeparator(manifest, runner)


def load_spleeter_separator(entry: ModelEntry, backend: str, device: str) -> SpleeterSeparator:
    """Registry loader for the "spleeter" family."""
    return open_spleeter(entry.path, backend, device)
