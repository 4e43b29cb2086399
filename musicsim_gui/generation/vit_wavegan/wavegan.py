"""WaveGAN generator heads and discriminator (Donahue et al. 2019), one per instrument, run as grouped convolutions.

Architecture:
1. Generator head (per instrument h): dense `[embedding ‖ tempo ‖ z] → start × 16d`, reshape to `[16d, start]`,
   ReLU, then `layers` transposed convolutions (kernel 25, stride 4) dividing channels by 2 (16d → … → d → 1)
   with ReLU between, tanh at the end: `start · 4**layers` samples (Donahue et al.: start = 16).
   An optional fixed FIR filter per instrument follows (the post-processing filter Donahue et al. propose
   against transposed-convolution artifacts; here fitted after training, see `training.vit_wavegan.postfilter`).
2. All instruments run in ONE batched call: the heads' weights are stacked and every convolution uses
   `groups=H`, so channel block h belongs to instrument h only. Output `[B, H, T]`.
3. Discriminator (per instrument, grouped the same way): `layers` strided convolutions (kernel 25, stride 4)
   with LeakyReLU(0.2) and phase shuffle (±n samples, reflect padding) between, then a linear critic score plus
   a projection term `<features, P(embedding)>` so the critic judges "this stem for this song". WGAN-GP loss.
"""

from __future__ import annotations

import torch  # noqa: TID253 (torch-only module, imported lazily by its users)
from torch import nn  # noqa: TID253
from torch.nn import functional as F  # noqa: TID253

from musicsim_gui.generation.vit_wavegan.config import HeadConfig

TEMPO_FEATURES = 1
"""Extra conditioning inputs next to the embedding: beats per output window (divided by 2)."""


def tempo_feature(tempo_bpm: torch.Tensor, window_seconds: float) -> torch.Tensor:
    """`[B]` tempo in BPM → `[B, 1]` beats per window / 2 (≈ 1 at 120 BPM for a 1 s window)."""
    return (tempo_bpm * window_seconds / 120.0).reshape(-1, 1).to(torch.float32)


class GroupedLinear(nn.Module):
    """`H` independent linear maps: `[B, H, in]` → `[B, H, out]`."""

    def __init__(self, groups: int, features_in: int, features_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(groups, features_in, features_out) / features_in**0.5)
        self.bias = nn.Parameter(torch.zeros(groups, features_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.unsqueeze(2) @ self.weight).squeeze(2) + self.bias


def _channels(head: HeadConfig) -> list[int]:
    """Per-head channel counts from the dense output down to 1 (`layers + 1` entries)."""
    return [head.model_size * 2 ** (head.layers - 1 - i) for i in range(head.layers)] + [1]


class WaveGANHeads(nn.Module):
    """`H` WaveGAN generators: embedding `[B, E]`, tempo feature `[B, 1]`, z `[B, H, Z]` → audio `[B, H, T]`."""

    def __init__(self, head: HeadConfig, embedding: int, instruments: int) -> None:
        super().__init__()
        self.config, self.groups = head, instruments
        channels = _channels(head)
        self.start_channels = channels[0]
        self.dense = GroupedLinear(instruments, embedding + TEMPO_FEATURES + head.latent, head.start * channels[0])
        self.ups = nn.ModuleList(
            nn.ConvTranspose1d(instruments * c_in, instruments * c_out, head.kernel, stride=4,
                               padding=head.kernel // 2 - 1, output_padding=1, groups=instruments)
            for c_in, c_out in zip(channels[:-1], channels[1:], strict=True))
        if head.post_filter:
            identity = torch.zeros(instruments, 1, head.post_filter)
            identity[:, 0, head.post_filter // 2] = 1.0
            self.register_buffer("post_filter", identity)

    def forward(self, embedding: torch.Tensor, tempo: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        batch = z.shape[0]
        cond = torch.cat([embedding, tempo], dim=-1).unsqueeze(1).expand(-1, self.groups, -1)
        x = self.dense(torch.cat([cond, z], dim=-1))
        x = torch.relu(x.reshape(batch, self.groups * self.start_channels, self.config.start))
        for index, up in enumerate(self.ups):
            x = up(x)
            x = torch.relu(x) if index < len(self.ups) - 1 else torch.tanh(x)
        if self.config.post_filter:
            x = F.conv1d(x, self.post_filter, padding=self.config.post_filter // 2, groups=self.groups)
        return x


def phase_shuffle(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Shift each example of `[B, C, T]` by a random integer in [-radius, radius] samples (reflect padding)."""
    if radius <= 0:
        return x
    batch, channels, length = x.shape
    shifts = torch.randint(-radius, radius + 1, (batch, 1, 1), device=x.device)
    padded = F.pad(x, (radius, radius), mode="reflect")
    index = (torch.arange(length, device=x.device).view(1, 1, -1) + radius - shifts).expand(batch, channels, -1)
    return padded.gather(2, index)


class WaveGANCritic(nn.Module):
    """`H` WaveGAN critics: audio `[B, H, T]` and embedding `[B, E]` → scores `[B, H]` (WGAN, unbounded)."""

    def __init__(self, head: HeadConfig, embedding: int, instruments: int) -> None:
        super().__init__()
        self.config, self.groups = head, instruments
        channels = list(reversed(_channels(head)))
        self.downs = nn.ModuleList(
            nn.Conv1d(instruments * c_in, instruments * c_out, head.kernel, stride=4, padding=head.kernel // 2,
                      groups=instruments)
            for c_in, c_out in zip(channels[:-1], channels[1:], strict=True))
        self.features = head.start * channels[-1]
        self.score = GroupedLinear(instruments, self.features, 1)
        self.project = nn.Linear(embedding, instruments * self.features)

    def forward(self, audio: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        x = audio
        for index, down in enumerate(self.downs):
            x = F.leaky_relu(down(x), 0.2)
            if index < len(self.downs) - 1:
                x = phase_shuffle(x, self.config.phase_shuffle)
        feats = x.reshape(x.shape[0], self.groups, -1)
        projection = self.project(embedding).reshape(x.shape[0], self.groups, -1)
        return self.score(feats).squeeze(-1) + (feats * projection).sum(-1) / self.features**0.5
