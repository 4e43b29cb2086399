"""Decoding one window with the decoder step on ONNX Runtime (text and audio-prompt conditioning).

The text encoder (T5) and the codec (EnCodec) still run in torch; the per-step decoder, where the time goes,
runs as the exported graph (`onnx_decoder`). The loop reproduces MusicGen's delay pattern: codebook k of codec
frame f sits at position 1 + f + k of the token grid, position 0 holds the start token, and positions outside
a codebook's frames hold the pad token. Audio-prompt frames are forced into the grid; the positions they fully
determine are run in one prefill call, then one call per remaining position.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from musicsim_gui.core.errors import ModelError
from musicsim_gui.generation.musicgen.onnx_decoder import cross_cache, empty_past

if TYPE_CHECKING:
    import torch

    from musicsim_gui.generation.musicgen.decoding import StepSampler
    from musicsim_gui.generation.musicgen.loading import MusicGenModel


def condition_states(loaded: MusicGenModel, texts: list[str | None], guidance: float):
    """Decoder-width text states `[N, S, D]` and mask `[N, S]`; N = 2 × rows with guidance (null rows after)."""
    import torch

    model = loaded.model
    batch = loaded.tokenizer([text or "" for text in texts], return_tensors="pt", padding=True)
    mask = batch["attention_mask"].clone()
    mask[[i for i, text in enumerate(texts) if text is None]] = 0
    with torch.no_grad():
        states = model.text_encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        if getattr(model, "enc_to_dec_proj", None) is not None:
            states = model.enc_to_dec_proj(states)
    if guidance > 1:
        states, mask = torch.cat([states, torch.zeros_like(states)]), torch.cat([mask, torch.zeros_like(mask)])
    return states, mask


def token_grid(prompt: torch.Tensor | None, rows: int, codebooks: int, frames: int, pad: int):
    """The delay-pattern grid `[rows, K, 1 + frames + K - 1]` (pad everywhere, prompt frames placed) and a
    boolean `[K, positions]` marking the cells that sampling may fill."""
    import torch

    positions = frames + codebooks
    grid = torch.full((rows, codebooks, positions), pad, dtype=torch.long)
    free = torch.zeros((codebooks, positions), dtype=torch.bool)
    known = 0 if prompt is None else prompt.shape[-1]
    for k in range(codebooks):
        free[k, 1 + k + known:1 + k + frames] = True
        if known:
            grid[:, k, 1 + k:1 + k + known] = prompt[:, k]
    return grid, free


def onnx_window_codes(loaded: MusicGenModel, runner, texts: list[str | None], prompt: torch.Tensor | None,
                      new_frames: int, sampler: StepSampler) -> torch.Tensor:
    """Codec codes `[rows, K, prompt + new_frames]` of one window, decoded step by step on ONNX Runtime."""
    import torch

    if loaded.is_melody or loaded.channels != 1:
        raise ModelError("the ONNX decoder path supports mono MusicGen checkpoints (not melody or stereo); "
                         "use the torch backend")
    rows, codebooks = len(texts), loaded.codebooks
    guidance = sampler.settings.guidance_scale if any(text is not None for text in texts) else 1.0
    sampler.settings = dataclasses.replace(sampler.settings, guidance_scale=guidance)
    states, mask = condition_states(loaded, texts, guidance)
    cross, bias = (t.numpy() for t in cross_cache(loaded.model, states, mask))
    copies = 2 if guidance > 1 else 1
    known = 0 if prompt is None else prompt.shape[-1]
    pad = int(loaded.model.generation_config.pad_token_id)
    grid, free = token_grid(None if prompt is None else prompt.reshape(rows, codebooks, -1), rows, codebooks,
                            known + new_frames, pad)
    start = known + 1  # positions 0 .. known are fully determined: one prefill call
    past = empty_past(loaded.model, rows * copies).numpy()
    feed = grid[:, :, :start]
    for position in range(start, grid.shape[-1]):
        logits, past = runner.run(np.concatenate([feed.numpy()] * copies), past, cross, bias)
        scores = torch.from_numpy(logits[:, :, -1]).reshape(rows * copies * codebooks, -1)
        chosen = sampler(None, scores)[: rows * codebooks].argmax(-1).reshape(rows, codebooks)
        grid[:, :, position] = torch.where(free[:, position], chosen, grid[:, :, position])
        feed = grid[:, :, position:position + 1]
    frames = known + new_frames
    return torch.stack([grid[:, k, 1 + k:1 + k + frames] for k in range(codebooks)], dim=1)


def decode_codes(loaded: MusicGenModel, codes: torch.Tensor) -> np.ndarray:
    """Audio `[rows, 1, frames * hop]` of codec codes `[rows, K, frames]`."""
    import torch

    with torch.no_grad():
        audio = loaded.model.audio_encoder.decode(codes[None], [None]).audio_values
    return audio.float().numpy()
