"""A vision transformer over a log-mel "image", in plain torch: mel `[B, 1, n_mels, frames]` → embedding `[B, E]`.

Architecture (Dosovitskiy et al., as used by the MuSiC paper):
1. Non-overlapping patches (a strided Conv2d) become tokens; a learned CLS token and learned position
   embeddings are added.
2. Pre-norm blocks: multi-head self-attention (written out with matmul/softmax so every exporter handles it)
   and a GELU MLP, each with a residual connection.
3. A final LayerNorm; the CLS token and the mean of the patch tokens are concatenated and projected to the
   song embedding.
Imported only where torch is available (model code, training, export).
"""

from __future__ import annotations

import math

import torch  # noqa: TID253 (torch-only module, imported lazily by its users)
from torch import nn  # noqa: TID253

from musicsim_gui.generation.vit_wavegan.config import FeatureConfig, ViTConfig


class Attention(nn.Module):
    """Multi-head self-attention over `[B, N, dim]` tokens."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"ViT width {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, dim = x.shape
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(dim // self.heads), dim=-1)
        return self.out((weights @ v).transpose(1, 2).reshape(batch, tokens, dim))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViTEncoder(nn.Module):
    """Log-mel image `[B, 1, n_mels, frames]` (normalized log power) → song embedding `[B, embedding]`."""

    def __init__(self, vit: ViTConfig, features: FeatureConfig) -> None:
        super().__init__()
        rows, cols = features.n_mels // vit.patch[0], features.frames // vit.patch[1]
        if rows * vit.patch[0] != features.n_mels or cols * vit.patch[1] != features.frames:
            raise ValueError(f"mel image {features.n_mels}x{features.frames} is not a multiple of patch {vit.patch}")
        self.patch = nn.Conv2d(1, vit.dim, kernel_size=vit.patch, stride=vit.patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, vit.dim))
        self.position = nn.Parameter(torch.randn(1, rows * cols + 1, vit.dim) * 0.02)
        self.blocks = nn.ModuleList(Block(vit.dim, vit.heads, vit.mlp_ratio) for _ in range(vit.depth))
        self.norm = nn.LayerNorm(vit.dim)
        self.project = nn.Linear(2 * vit.dim, vit.embedding)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        tokens = self.patch(mel).flatten(2).transpose(1, 2)
        cls = self.cls.expand(tokens.shape[0], -1, -1)
        x = torch.cat([cls, tokens], dim=1) + self.position
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        return self.project(torch.cat([x[:, 0], x[:, 1:].mean(dim=1)], dim=-1))
