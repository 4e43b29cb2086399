"""The built-in separation network (torch): a band-pooled temporal convolution network predicting 4 masks.

Architecture (input magnitude `[B, F, T]` of one channel, output masks `[B, S, F, T]`, softmax over S):
1. Band pooling: bins below `full_bins` (384 × 10.8 Hz ≈ 4.1 kHz with the default 4096-point STFT) stay
   individual, higher bins are averaged into roughly constant-Q bands: F = 2049 → K = 413 features per
   frame. Log-compressed and layer-normalised per frame, which makes the network blind to the input
   level (a gain adds a constant to every log band).
2. A linear encoder to `hidden` channels, then `blocks` residual blocks of a depthwise dilated temporal
   convolution (dilations 1, 2, 4, 8, kernel 5), a per-frame channel norm and a pointwise MLP. No batch
   statistics anywhere: batch norm's running averages did not match single songs at inference.
3. A linear decoder from (features, pooled input) to S × K logits, softmax across stems, and a gather that
   expands each band's mask back to its bins. The masks sum to 1, so the stems sum to the mix.
4. With `stereo_cue`, a second input `partner` `[B, F, T]` is the other channel's magnitude; the per-band
   level difference log(own / partner), clipped to ±`ILD_LIMIT`, enters the encoder through its own linear
   map. That map starts at zero, so a stereo-cue network made from mono weights starts as the mono network
   (`ILD_WEIGHT` is the only new tensor) and learns from there how far to trust the panning.
5. Temporal blocks may be added to trained weights (`grow_blocks`): a new block starts as an identity. The
   band-resolved path (item 7) may be widened the same way (`widen_local_path`).
6. With `decoder_hidden` > 0, a two-layer MLP (GELU) from the decoder's inputs adds to its logits. Its output
   layer starts at zero, so such a network made from weights without it starts as that network
   (`added_parameters` names what it may lack) and learns what a linear read-out of the context features
   cannot express. (The linear-decoder network scored as well on its training songs as on unseen ones: it
   lacked capacity rather than data.)
7. With `local_channels` > 0, a band-resolved path adds to the logits: a small 2-D convolution over the
   (band × frame) image of the normalised log bands and the level difference between the channels (a
   partial's shape, onset and decay, and its place in the stereo field, band by band), plus the frame's
   context features broadcast to every band and a learned per-band offset, through a GELU to a per-band
   read-out of one logit per stem. The per-frame encoder squeezes ~410 bands into
   `hidden` channels; this path keeps each band's own evidence. Its read-out starts at zero, so weights
   without it start the network where they were. `local_layers` residual convolutions over that hidden
   image (3 bands × 5 frames, dilated 4, 8, ... frames in time: up to 0.4 s, 0.8 s, ... of a note's attack
   and decay) start at zero as well, so a path without them grows them without a change in its output.
8. With `song_context`, the time average of the decoder's inputs over the whole input (a chunk of a song at
   inference, an example in training) is mapped linearly to one logit offset per stem and band, added at every
   frame. The temporal stack sees a few seconds either side; which piano-like or string-like voice a song
   uses is clearer over the whole chunk, and fitting one prior weight per stem and frequency region to each
   song separately was worth far more than one set for all songs. The map starts at zero.
9. The summary enters the logits through an affine map, so the offset of a song's average is the
   frame-weighted average of its chunks' offsets. `SongWideMaskNet` (same parameters) returns the logits
   without the offset and the chunk's offset instead of masks: the separator adds the whole song's offset
   to every chunk and takes the softmax itself, so the network hears the whole song in one pass over its
   chunks, with the memory of one chunk (`separation.builtin`).
STFT and iSTFT stay outside (see `stft.py`); the exported ONNX graph is exactly one of these two modules.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from musicsim_gui.separation.masknet_config import MaskNetConfig, band_index, band_pooling

ILD_LIMIT = 6.0
"""Clip of the log level difference between the channels (natural log: about ±52 dB)."""

ILD_WEIGHT = "ild_encoder.weight"
"""The one parameter a stereo-cue network has beyond the mono one."""

REFINE_PREFIX = "refine_"
"""Parameters of the nonlinear decoder branch (`decoder_hidden`) start with this."""

LOCAL_PREFIX = "local_"
"""Parameters of the band-resolved path (`local_channels`) start with this."""

SONG_PREFIX = "song_"
"""Parameters of the song-context offsets (`song_context`) start with this."""


def added_parameters(name: str) -> bool:
    """Whether parameter `name` belongs to an optional part that starts as a no-op (stereo cue, MLP decoder,
    band-resolved path, song context), so weights without it can start a network with it."""
    return name == ILD_WEIGHT or name.startswith((REFINE_PREFIX, LOCAL_PREFIX, SONG_PREFIX))


def grow_blocks(model: Any, state: dict[str, Any]) -> dict[str, Any]:
    """`state` (weights of a network with fewer temporal blocks, or as many) completed for `model`: every block
    the weights lack starts as an identity (its output projection at zero, so the residual passes its input
    through unchanged) and the network starts exactly as the shallower one did."""
    present = {int(name.split(".")[1]) for name in state if name.startswith("blocks.")}
    grown = dict(state)
    for name, value in model.state_dict().items():
        if not name.startswith("blocks.") or int(name.split(".")[1]) in present:
            continue
        grown[name] = value.new_zeros(value.shape) if ".project." in name else value
    return grown


def widen_local_path(model: Any, state: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """`state` (weights whose band-resolved path has fewer `local_channels`, or as many) completed for `model`
    (freshly built, not yet loaded), and the names of the tensors that grew. Each grown tensor is the model's
    initial value with the trained one
    in its leading slice: the new channels' input convolution and context map start random, their band offset,
    their share of the residual layers and their read-out at zero (those start at zero in a new path), so no
    new channel reaches the logits and the wider network starts exactly where the narrower one was."""
    widened = dict(state)
    grown = []
    for name, value in model.state_dict().items():
        old = state.get(name)
        if not name.startswith(LOCAL_PREFIX) or old is None or old.shape == value.shape:
            continue
        if old.dim() != value.dim() or any(o > n for o, n in zip(old.shape, value.shape, strict=True)):
            continue  # not a narrower copy of this tensor: loading reports the mismatch
        start = value.detach().clone()
        start[tuple(slice(0, size) for size in old.shape)] = old
        widened[name] = start
        grown.append(name)
    return widened, grown


@lru_cache(maxsize=1)
def _classes() -> Any:
    import torch
    from torch import nn

    class ChannelNorm(nn.Module):
        """Layer norm over the channels of each frame of `[B, C, T]` (no batch statistics)."""

        def __init__(self, channels: int) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(channels, 1))
            self.bias = nn.Parameter(torch.zeros(channels, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mean = x.mean(dim=1, keepdim=True)
            var = (x - mean).pow(2).mean(dim=1, keepdim=True)
            return (x - mean) * torch.rsqrt(var + 1e-5) * self.weight + self.bias

    class TemporalBlock(nn.Module):
        """Residual block: depthwise dilated conv over time, channel norm, GELU, pointwise MLP."""

        def __init__(self, channels: int, kernel: int, dilation: int) -> None:
            super().__init__()
            self.depthwise = nn.Conv1d(channels, channels, kernel, padding=dilation * (kernel // 2),
                                       dilation=dilation, groups=channels)
            self.norm = ChannelNorm(channels)
            self.expand = nn.Conv1d(channels, 2 * channels, 1)
            self.project = nn.Conv1d(2 * channels, channels, 1)
            self.act = nn.GELU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.act(self.norm(self.depthwise(x)))
            return x + self.project(self.act(self.expand(y)))

    class LocalPath(nn.Module):
        """Logits `[B, S, K, T]` from the band image `[B, 2, K, T]` (log bands, level difference) and the
        context features `[B, T, H]`; see item 7 of the module docstring. A hidden state per band and frame:
        a 3-band × 9-frame (dilated) view of the image plus the frame's context plus the band's own offset;
        `local_layers` residual convolutions (3 bands × 5 frames, dilated 4, 8, ... in time) refine it, and
        it is read out through a GELU to one logit per stem."""

        def __init__(self, config: MaskNetConfig, bands: int) -> None:
            super().__init__()
            channels = config.local_channels
            self.image = nn.Conv2d(2, channels, (3, 5), padding=(1, 4), dilation=(1, 2))
            self.context = nn.Linear(config.hidden, channels)
            self.band = nn.Parameter(torch.zeros(channels, bands, 1))
            # Residual layers, each seeing twice as far in time as the one before (17, 33, ... frames).
            self.layers = nn.ModuleList(
                nn.Conv2d(channels, channels, (3, 5), padding=(1, 8 << i), dilation=(1, 4 << i))
                for i in range(config.local_layers))
            for layer in self.layers:
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)
            self.out = nn.Conv2d(channels, len(config.stems), 1)
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)
            self.act = nn.GELU()

        def forward(self, image: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
            context = self.context(hidden).permute(0, 2, 1).unsqueeze(2)                   # [B, C, 1, T]
            state = self.image(image) + context + self.band
            for layer in self.layers:
                state = state + layer(self.act(state))
            return self.out(self.act(state))

    class MaskNet(nn.Module):
        """Magnitude `[B, F, T]` → masks `[B, S, F, T]` (softmax over the S stems)."""

        def __init__(self, config: MaskNetConfig) -> None:
            super().__init__()
            self.config = config
            pool = torch.from_numpy(band_pooling(config))
            bands = pool.shape[1]
            # Bins below full_bins are their own bands (the pooling matrix is the identity there): only the
            # upper bins go through a matrix product, a 20th of the dense one's work on the default STFT.
            self.register_buffer("pool_high", pool[config.full_bins:, config.full_bins:].contiguous(),
                                 persistent=False)
            self.register_buffer("expand_index", torch.from_numpy(band_index(config)), persistent=False)
            self.in_norm = nn.LayerNorm(bands)
            self.encoder = nn.Linear(bands, config.hidden)
            if config.stereo_cue:
                self.ild_encoder = nn.Linear(bands, config.hidden, bias=False)
                nn.init.zeros_(self.ild_encoder.weight)
            self.blocks = nn.Sequential(*[TemporalBlock(config.hidden, config.kernel, 2 ** (i % 4))
                                          for i in range(config.blocks)])
            self.decoder = nn.Linear(config.hidden + bands, len(config.stems) * bands)
            if config.decoder_hidden:
                self.refine_in = nn.Linear(config.hidden + bands, config.decoder_hidden)
                self.refine_out = nn.Linear(config.decoder_hidden, len(config.stems) * bands)
                nn.init.zeros_(self.refine_out.weight)
                nn.init.zeros_(self.refine_out.bias)
            if config.local_channels:
                self.local_path = LocalPath(config, bands)
            if config.song_context:
                self.song_offsets = nn.Linear(config.hidden + bands, len(config.stems) * bands)
                nn.init.zeros_(self.song_offsets.weight)
                nn.init.zeros_(self.song_offsets.bias)
            self.act = nn.GELU()

        def pool_bands(self, magnitude: torch.Tensor) -> torch.Tensor:
            """Band means `[B, K, T]` of magnitude `[B, F, T]`."""
            full = self.config.full_bins
            high = torch.matmul(magnitude[:, full:].transpose(1, 2), self.pool_high).transpose(1, 2)
            return torch.cat([magnitude[:, :full], high], dim=1)

        def band_masks(self, pooled: torch.Tensor, partner: torch.Tensor | None = None) -> torch.Tensor:
            """Masks per band `[B, S, K, T]` (softmax over S) from band means `[B, K, T]` (and the other
            channel's, `partner`, for a stereo-cue network; None reads as a centred, mono source)."""
            logits, song_offsets = self.band_logits(pooled, partner)
            if song_offsets is not None:
                logits = logits + song_offsets.unsqueeze(-1)
            return torch.softmax(logits, dim=1)

        def band_logits(self, pooled: torch.Tensor,
                        partner: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
            """Logits per band `[B, S, K, T]` without the song context, and the song context's offsets
            `[B, S, K]` for this input (None without `song_context`); see `band_masks`."""
            batch, frames = pooled.shape[0], pooled.shape[2]
            own = torch.log(pooled.transpose(1, 2) + 1e-5)                                  # [B, T, K]
            feats = self.in_norm(own)
            encoded = self.encoder(feats)
            ild = None
            if self.config.stereo_cue and partner is not None:
                ild = (own - torch.log(partner.transpose(1, 2) + 1e-5)).clamp(-ILD_LIMIT, ILD_LIMIT)
                encoded = encoded + self.ild_encoder(ild)
            hidden = self.act(encoded).transpose(1, 2)                                      # [B, H, T]
            hidden = self.blocks(hidden).transpose(1, 2)                                   # [B, T, H]
            decoder_input = torch.cat([hidden, feats], dim=-1)
            logits = self.decoder(decoder_input)                                           # [B, T, S*K]
            if self.config.decoder_hidden:
                logits = logits + self.refine_out(self.act(self.refine_in(decoder_input)))
            logits = logits.reshape(batch, frames, len(self.config.stems), -1).permute(0, 2, 3, 1)  # [B, S, K, T]
            song_offsets = None
            if self.config.song_context:
                summary = decoder_input.mean(dim=1)                                         # [B, H+K]
                song_offsets = self.song_offsets(summary).reshape(batch, len(self.config.stems), -1)
            if self.config.local_channels:
                image = torch.stack([feats, torch.zeros_like(feats) if ild is None else ild / ILD_LIMIT], dim=1)
                logits = logits + self.local_path(image.transpose(2, 3), hidden)
            return logits, song_offsets

        def expand(self, masks: torch.Tensor) -> torch.Tensor:
            """Band masks `[B, S, K, T]` → bin masks `[B, S, F, T]`."""
            return torch.index_select(masks, 2, self.expand_index)

        def pool_inputs(self, magnitude: torch.Tensor,
                        partner: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
            """Band means of the forward inputs: `magnitude` and, where given, its `partner`."""
            return self.pool_bands(magnitude), None if partner is None else self.pool_bands(partner)

        def forward(self, magnitude: torch.Tensor, partner: torch.Tensor | None = None) -> torch.Tensor:
            return self.expand(self.band_masks(*self.pool_inputs(magnitude, partner)))

    class SongWideMaskNet(MaskNet):
        """A song-context `MaskNet` whose output leaves the song context to the caller (item 9): magnitude
        `[B, F, T]` → (`band_logits` `[B, S, K, T]` without the context, `song_offsets` `[B, S, K]` of this
        input). The masks are `softmax(band_logits + offsets)` over S, expanded to the bins (`expand_index`),
        with the offsets of this input or the frame-weighted average over a whole song."""

        def __init__(self, config: MaskNetConfig) -> None:
            if not config.song_context:
                raise ValueError("a song-wide mask network needs song_context")
            super().__init__(config)

        def forward(self, magnitude: torch.Tensor,
                    partner: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
            return self.band_logits(*self.pool_inputs(magnitude, partner))

    return MaskNet, SongWideMaskNet


def build_masknet(config: MaskNetConfig | None = None, song_wide: bool = False) -> Any:
    """A freshly initialised `MaskNet` (torch `nn.Module`) for `config` (default sizes if None); with
    `song_wide`, its `SongWideMaskNet` form (item 9), which needs `song_context`."""
    masknet, song_wide_masknet = _classes()
    return (song_wide_masknet if song_wide else masknet)(config or MaskNetConfig())


def debug_config() -> MaskNetConfig:
    """A tiny configuration for tests and smoke runs (random weights, a few thousand parameters)."""
    return MaskNetConfig(n_fft=512, hop=128, full_bins=32, band_growth=0.25, hidden=16, blocks=2, kernel=3)
