"""What one MusicGen decoding window starts from, built exactly as transformers' `generate()` builds it: the
decoder's condition (text states, melody chroma, the null half of classifier-free guidance), the codebook
delay-pattern grid with the audio prompt placed, the start token, and the codec decoding of the finished codes.

Shapes: B rows (takes); K codebooks (stereo checkpoints interleave left/right codebooks); N = B, or 2B with
guidance (conditional rows first, then the same rows with the null condition); D the decoder width.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from musicsim_gui.generation.musicgen.conditioning import text_inputs

if TYPE_CHECKING:
    import torch

    from musicsim_gui.generation.musicgen.loading import MusicGenModel


@dataclass
class Condition:
    """One window's condition: `cross` states `[N, S, D]` and mask (MusicGen) or a `prefix` `[N, S, D]`
    (MusicGen-melody); `copies` is 2 with guidance (conditional rows, then null rows), else 1."""

    copies: int
    states: torch.Tensor | None = None
    mask: torch.Tensor | None = None
    prefix: torch.Tensor | None = None


def condition_window(loaded: MusicGenModel, texts: list[str | None], guidance: float,
                     chroma: torch.Tensor | None) -> Condition:
    """The decoder condition of one window, built as `generate()` builds it (see the module doc)."""
    import torch

    model = loaded.model
    kwargs = text_inputs(loaded, texts, guidance)
    copies = 2 if kwargs["guidance_scale"] > 1 else 1
    mask = kwargs["attention_mask"]
    with torch.no_grad():
        if "encoder_outputs" in kwargs:
            states = kwargs["encoder_outputs"][0]
        else:
            states = model.text_encoder(input_ids=kwargs["input_ids"], attention_mask=mask).last_hidden_state
        if _projects_text(model):
            states = model.enc_to_dec_proj(states)
        if copies == 2:
            states, mask = torch.cat([states, torch.zeros_like(states)]), torch.cat([mask, torch.zeros_like(mask)])
        states = states * mask[..., None]
        if not loaded.is_melody:
            return Condition(copies, states=states, mask=mask)
        return Condition(copies, prefix=torch.cat([_melody_states(model, chroma, copies), states], dim=1))


def _projects_text(model) -> bool:
    """Whether the model projects text states to the decoder width (as its `forward` decides)."""
    text, decoder = model.config.text_encoder.hidden_size, model.decoder.config.hidden_size
    if model.config.model_type == "musicgen_melody":
        return text != decoder
    return text != decoder and model.decoder.config.cross_attention_hidden_size is None


def _melody_states(model, chroma: torch.Tensor, copies: int) -> torch.Tensor:
    """Chroma states `[N, chroma_length, D]`: the null chroma (pitch class 0 on) for guidance rows, projected,
    looped or cut to `chroma_length`."""
    import math

    import torch

    if copies == 2:
        null = torch.zeros_like(chroma)
        null[:, :, 0] = 1
        chroma = torch.cat([chroma, null])
    if model.config.num_chroma != model.decoder.config.hidden_size:
        chroma = model.audio_enc_to_dec_proj(chroma)
    length = model.config.chroma_length
    if chroma.shape[1] < length:
        chroma = chroma.repeat(1, math.ceil(length / chroma.shape[1]), 1)
    return chroma[:, :length]


def delay_grid(prompt: torch.Tensor | None, rows: int, codebooks: int, channels: int, frames: int, start: int,
               device) -> tuple[torch.Tensor, torch.Tensor]:
    """The delay-pattern grid `[rows, K, frames + K // channels]` (start token everywhere, prompt frames
    `[rows * K, P]` placed) and a boolean `[K, positions]` marking the cells sampling fills."""
    import torch

    positions = frames + codebooks // channels
    grid = torch.full((rows, codebooks, positions), start, dtype=torch.long, device=device)
    free = torch.zeros((codebooks, positions), dtype=torch.bool, device=device)
    known = 0 if prompt is None else prompt.shape[-1]
    codes = None if prompt is None else prompt.reshape(rows, codebooks, known)
    for k in range(codebooks):
        first = 1 + k // channels
        free[k, first + known:first + frames] = True
        if known:
            grid[:, k, first:first + known] = codes[:, k]
    return grid, free


def grid_frames(grid: torch.Tensor, channels: int, frames: int) -> torch.Tensor:
    """Codec codes `[rows, K, frames]` read back out of a delay-pattern grid."""
    import torch

    return torch.stack([grid[:, k, 1 + k // channels:1 + k // channels + frames] for k in range(grid.shape[1])], 1)


def start_token(model) -> int:
    """The decoder start token, as `generate()` picks it (the start id, else the bos id)."""
    config = model.generation_config
    start = config.decoder_start_token_id
    return int(config.bos_token_id if start is None else start)


def decode_audio(loaded: MusicGenModel, codes: torch.Tensor) -> torch.Tensor:
    """Audio `[rows, C, frames * hop]` of codec codes `[rows, K, frames]` (stereo: interleaved left/right codebooks)."""
    import torch

    codec = loaded.model.audio_encoder
    scales = [None] * codes.shape[0]
    with torch.no_grad():
        if loaded.channels == 1:
            return codec.decode(codes[None], audio_scales=scales).audio_values
        left = codec.decode(codes[None, :, ::2], audio_scales=scales).audio_values
        right = codec.decode(codes[None, :, 1::2], audio_scales=scales).audio_values
    return torch.cat([left, right], dim=1)
