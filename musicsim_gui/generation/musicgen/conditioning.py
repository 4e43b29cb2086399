"""Model inputs for one decoding window: audio prompt codes, text (or null text) and melody chroma.

Shapes: a batch has B rows (one per take); audio is `[B, C, T]` float32 at the codec rate; prompt codes are
`[B * codebooks, frames]` (stereo checkpoints interleave left/right codebooks, as the decoder expects).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from musicsim_gui.generation.musicgen.chroma import melody_conditioning

if TYPE_CHECKING:
    import torch

    from musicsim_gui.generation.musicgen.loading import MusicGenModel


def encode_prompt(loaded: MusicGenModel, audio: np.ndarray) -> torch.Tensor:
    """Codec codes of `audio [B, C, T]` as decoder prompt ids `[B * codebooks, T // hop]`."""
    import torch

    codec = loaded.model.audio_encoder
    wave = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).to(loaded.device)
    with torch.no_grad():
        channels = [codec.encode(wave[:, c:c + 1]).audio_codes[0] for c in range(loaded.channels)]  # [B, K, F]
    if loaded.channels == 1:
        codes = channels[0]
    else:
        codes = torch.stack(channels, dim=2).reshape(wave.shape[0], -1, channels[0].shape[-1])
    frames = audio.shape[-1] // loaded.hop
    return codes[..., :frames].reshape(-1, min(frames, codes.shape[-1]))


def text_inputs(loaded: MusicGenModel, texts: Sequence[str | None], guidance_scale: float) -> dict[str, Any]:
    """`generate()` keyword arguments for one text per row (None = no text), and the guidance scale to use.

    Rows without text get a fully masked (null) text condition. A plain MusicGen model with no text anywhere
    gets the null condition directly and no guidance (there is nothing to guide towards).
    """
    import torch

    device = loaded.device
    if all(text is None for text in texts) and not loaded.is_melody:
        hidden = loaded.model.config.text_encoder.hidden_size
        states = torch.zeros((len(texts), 1, hidden), device=device, dtype=loaded.model.dtype)
        return {"encoder_outputs": (states,), "attention_mask": torch.zeros((len(texts), 1), dtype=torch.long,
                                                                            device=device), "guidance_scale": 1.0}
    batch = loaded.tokenizer([text or "" for text in texts], return_tensors="pt", padding=True)
    mask = batch["attention_mask"].clone()
    for row, text in enumerate(texts):
        if text is None:
            mask[row] = 0
    return {"input_ids": batch["input_ids"].to(device), "attention_mask": mask.to(device),
            "guidance_scale": guidance_scale}


def chroma_inputs(loaded: MusicGenModel, sources: np.ndarray, start: int, stop: int) -> torch.Tensor:
    """Melody features `[B, frames, 12]` of `sources [B, C, T]` between samples `start` and `stop`.

    Sources shorter than `stop` are looped, so a take longer than its source keeps following its harmony.
    """
    import torch

    rate, n_fft, hop_length, num_chroma = loaded.chroma
    mono = sources.mean(axis=1)
    span = np.arange(start, max(stop, start + 1)) % mono.shape[-1]
    segment = mono[:, span]
    if rate != loaded.sample_rate:
        from musicsim_gui.audio.clip import AudioClip
        from musicsim_gui.audio.dsp import resample

        segment = np.stack([resample(AudioClip(row[None], loaded.sample_rate), rate).samples[0] for row in segment])
    wave = torch.from_numpy(np.ascontiguousarray(segment, dtype=np.float32)).to(loaded.device)
    return melody_conditioning(wave, rate, n_fft, hop_length, num_chroma)
