"""`DemucsSeparator`: a Demucs model (or bag of models) behind the `Separator` interface, on torch.

Architecture:
1. The clip is resampled to the model rate; stereo goes in as is, other channel counts are separated
   channel by channel (each duplicated to stereo). Like Demucs' own API, the mix is normalised by the
   mean and standard deviation of its mono sum, and the stems are scaled back.
2. `demucs.apply.apply_model` does the work with Demucs' definitions of chunking (the model's segment,
   25 % overlap, triangular cross-fade weights) and random shifts (averaged; seeded, so a clip always
   gives the same stems). Its per-chunk callback reports progress and raises CancelledError on cancel.
3. Sources map onto the studio's stems: drums, bass, piano by name; other = other + guitar;
   vocals is returned as an extra "vocals" stem; a source the model lacks is silence.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.errors import CancelledError, ModelError
from musicsim_gui.runtime.backend import choose_backend
from musicsim_gui.runtime.manifest import Manifest, load_manifest
from musicsim_gui.runtime.registry import ModelEntry
from musicsim_gui.separation.base import STEMS, CancelFn, ProgressFn
from musicsim_gui.separation.demucs.checkpoint import build_model, load_package
from musicsim_gui.separation.resample import resample_samples

INTO_OTHER = ("other", "guitar")
SHIFT_SEED = 0


def map_sources(sources: dict[str, np.ndarray], like: np.ndarray) -> dict[str, np.ndarray]:
    """Demucs sources `{name: [C, T]}` → `{bass, drums, piano, other, vocals}`."""
    out = {stem: sources.get(stem, np.zeros_like(like)) for stem in ("bass", "drums", "piano")}
    out["other"] = sum((sources[s] for s in INTO_OTHER if s in sources), np.zeros_like(like))
    out["vocals"] = sources.get("vocals", np.zeros_like(like))
    return out


class DemucsSeparator:
    """Runs a Demucs model or bag on torch; see the module docstring."""

    def __init__(self, manifest: Manifest, model: Any, device: str) -> None:
        self.id, self.version = manifest.name, manifest.version
        self.config = manifest.config
        self.model, self.device = model, device
        self.backend_name = f"torch:{device}"
        self.fallback_reason: str | None = None
        self.shifts = int(self.config.get("shifts", 1))
        self.overlap = float(self.config.get("overlap", 0.25))

    def _chunks(self, length: int) -> int:
        """How many model calls `apply_model` makes for `length` samples (for progress)."""
        extra = int(0.5 * self.model.samplerate) if self.shifts else 0
        total = 0
        for model in getattr(self.model, "models", [self.model]):
            stride = int((1 - self.overlap) * int(float(model.segment) * model.samplerate))
            total += max(self.shifts, 1) * math.ceil((length + extra) / stride)
        return total

    def _run(self, stereo: np.ndarray, report: ProgressFn, cancel: CancelFn | None) -> np.ndarray:
        """`[2, T]` → sources `[S, 2, T]`."""
        import torch
        from demucs.apply import apply_model

        wav = torch.from_numpy(np.ascontiguousarray(stereo))
        ref = wav.mean(0)
        mean, std = ref.mean(), ref.std() + 1e-8
        total, done = self._chunks(wav.shape[-1]), [0]

        def callback(info: dict) -> None:
            if cancel is not None and cancel():
                raise CancelledError("the separation")
            if info.get("state") == "end":
                done[0] += 1
                report(min(done[0] / total, 1.0), f"chunk {done[0]} of about {total}")

        state = random.getstate()
        random.seed(SHIFT_SEED)
        try:
            with torch.inference_mode():
                out = apply_model(self.model, ((wav - mean) / std)[None], shifts=self.shifts, split=True,
                                  overlap=self.overlap, device=self.device, callback=callback)
        finally:
            random.setstate(state)
        return (out[0] * std + mean).cpu().numpy()

    def separate(self, clip: AudioClip, progress: ProgressFn | None = None,
                 cancel: CancelFn | None = None) -> dict[str, AudioClip]:
        """Stems `{bass, drums, piano, other, vocals}` at the clip's rate, channels and length."""
        rate = int(self.model.samplerate)
        samples = resample_samples(clip.samples, clip.sample_rate, rate)
        parts = [samples] if samples.shape[0] == 2 else [np.repeat(c[None], 2, axis=0) for c in samples]
        outs = []
        for index, part in enumerate(parts):
            def report(fraction: float, message: str, index: int = index) -> None:
                if progress is not None:
                    progress((index + fraction) / len(parts), message)

            result = self._run(part, report, cancel)
            outs.append(result if samples.shape[0] == 2 else result[:, :1])
        sources = dict(zip(self.model.sources, np.concatenate(outs, axis=1), strict=True))
        stems = map_sources(sources, samples)
        return {stem: AudioClip(resample_samples(stems[stem], rate, clip.sample_rate, clip.frames),
                                clip.sample_rate, f"{clip.source} ({stem})") for stem in (*STEMS, "vocals")}


def _model(model_dir: Path, manifest: Manifest) -> Any:
    models = [build_model(load_package(model_dir / f), model_dir / f) for f in manifest.config["models"]]
    if len(models) == 1 and manifest.config.get("segment") is None:
        return models[0]
    from demucs.apply import BagOfModels

    return BagOfModels(models, manifest.config.get("weights"), manifest.config.get("segment"))


def open_demucs(model_dir: Path, backend: str = "auto", device: str = "auto") -> DemucsSeparator:
    """Load the Demucs model folder `model_dir` (hashes verified) on torch."""
    if backend == "onnx":
        raise ModelError(f"{model_dir}: Demucs models run on torch only; use --backend torch or auto")
    manifest = load_manifest(model_dir, verify=True)
    choice = choose_backend("torch", device)
    return DemucsSeparator(manifest, _model(model_dir, manifest), choice.device)


def load_demucs_separator(entry: ModelEntry, backend: str, device: str) -> DemucsSeparator:
    """Registry loader for the "demucs" family."""
    return open_demucs(entry.path, backend, device)
