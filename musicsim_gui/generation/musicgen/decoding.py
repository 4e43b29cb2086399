"""Per-step control of MusicGen decoding: seeded per-take sampling, progress with ETA, and cancel.

Architecture:
1. `StepSampler` is a logits processor that runs once per decoding step. It applies classifier-free guidance
   (when the step sees the doubled conditional/unconditional batch), temperature, top-k and top-p, then samples
   every take's codebook rows from that take's own `torch.Generator`. It returns scores that are 0 at the chosen
   token and very negative elsewhere, so `generate(do_sample=False)` (greedy) keeps exactly that token. A take's
   tokens therefore depend only on its seed, not on which other takes share the batch.
2. The same call counts steps, reports `progress(fraction, message)` with an ETA from the measured step rate, and
   raises `CancelledError` as soon as `cancel()` says so: cancel takes effect within one step.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from musicsim_gui.core.errors import CancelledError

if TYPE_CHECKING:
    import torch

    from musicsim_gui.generation.base import CancelFn, ProgressFn

_REJECT = -1.0e9


@dataclass(frozen=True)
class SamplingSettings:
    """How each step picks a token: `temperature` 0 = greedy; `top_k` 0 / `top_p` 0 or 1 = off; CFG scale ≤ 1 = off."""

    temperature: float = 1.0
    top_k: int = 250
    top_p: float = 0.0
    guidance_scale: float = 3.0


@dataclass
class StepClock:
    """Counts steps over a whole job (several decoding windows) and formats progress with an ETA."""

    total_steps: int
    label: str = "MusicGen"
    done: int = 0
    started: float | None = None

    def tick(self) -> tuple[float, str]:
        """Record one finished step; return (fraction, message)."""
        now = time.perf_counter()
        if self.started is None:
            self.started = now
        self.done += 1
        rate = (now - self.started) / max(self.done - 1, 1)
        eta = rate * max(self.total_steps - self.done, 0)
        fraction = self.done / max(self.total_steps, 1)
        return fraction, f"{self.label}: step {self.done}/{self.total_steps}, about {eta:.0f} s left"


def filter_logits(logits: torch.Tensor, settings: SamplingSettings) -> torch.Tensor:
    """Temperature, top-k and top-p applied to `logits [rows, vocab]` (removed entries become -inf)."""
    import torch

    logits = logits / max(settings.temperature, 1e-5)
    vocab = logits.shape[-1]
    if 0 < settings.top_k < vocab:
        kth = torch.topk(logits, settings.top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if 0.0 < settings.top_p < 1.0:
        ordered, order = torch.sort(logits, dim=-1, descending=True)
        cumulative = ordered.softmax(dim=-1).cumsum(dim=-1)
        drop_sorted = (cumulative - ordered.softmax(dim=-1)) > settings.top_p  # keep the token that crosses top_p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


class StepSampler:
    """A `generate()` logits processor: seeded sampling per take, progress, ETA and cancel (see the module doc).

    Args:
        seeds: one seed per take; takes are batch rows `b * codebooks ... (b + 1) * codebooks - 1`.
        codebooks: codebook rows per take (the decoder's `num_codebooks`).
        settings: sampling settings.
        clock: the job's step clock (shared across windows).
        progress / cancel: the `Generator.generate` callbacks.
    """

    def __init__(self, seeds: Sequence[int], codebooks: int, settings: SamplingSettings, clock: StepClock,
                 progress: ProgressFn | None = None, cancel: CancelFn | None = None, device: str = "cpu") -> None:
        import torch

        self.codebooks = codebooks
        self.settings = settings
        self.clock = clock
        self.progress = progress
        self.cancel = cancel
        self.generators = [torch.Generator(device=device).manual_seed(int(seed)) for seed in seeds]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if self.cancel is not None and self.cancel():
            raise CancelledError("MusicGen generation")
        rows = len(self.generators) * self.codebooks
        logits = scores.float()
        if logits.shape[0] == 2 * rows:
            cond, uncond = logits[:rows], logits[rows:]
            logits = uncond + (cond - uncond) * self.settings.guidance_scale
        chosen = self._choose(logits)
        out = scores.new_full((rows, scores.shape[-1]), _REJECT)
        out.scatter_(1, chosen, 0.0)
        if scores.shape[0] == 2 * rows:
            out = out.repeat(2, 1)
        if self.progress is not None:
            self.progress(*self.clock.tick())
        else:
            self.clock.tick()
        return out

    def _choose(self, logits: torch.Tensor) -> torch.Tensor:
        """Token index per row `[rows, 1]`: argmax at temperature 0, else an inverse-CDF draw with one uniform
        per row from that row's take generator (one vectorised search for the whole batch)."""
        import torch

        if self.settings.temperature <= 0.0:
            return logits.argmax(dim=-1, keepdim=True)
        cdf = filter_logits(logits, self.settings).softmax(dim=-1).cumsum(dim=-1)
        uniforms = torch.cat([torch.rand(self.codebooks, generator=gen, device=gen.device)
                              for gen in self.generators]).to(cdf.dtype)
        picks = torch.searchsorted(cdf, (uniforms * cdf[:, -1])[:, None], right=True)
        return picks.clamp_max(cdf.shape[-1] - 1)
