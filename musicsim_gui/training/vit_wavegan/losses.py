"""Losses for ViT+WaveGAN: reconstruction objectives and the WGAN-GP adversarial terms.

Two reconstruction objectives (`OBJECTIVES`):
- `stft`: log- and linear-magnitude L1 at four STFT sizes, frame by frame against the target window. Our
  first addition to the paper's purely adversarial objective. Its weakness: the target is another section of
  the song, which the heads cannot predict note for note, so a frame-aligned loss is lowest for the *average*
  of the possible targets, a smeared, noise-like spectrogram.
- `sliced`: alignment-free. The target says which spectra occur, not when, so the generated window is asked to
  contain the same *set* of spectral frames: the sliced Wasserstein-1 distance between the two sets of
  log-magnitude frames (projections on random directions and on every bin, sorted over time and compared) at
  two STFT sizes. Frames stay sharp (a kick frame must look like a kick frame) while their order is free. A
  light frame-aligned term on the log energy of three broad bands keeps the timing the loops rely on (the
  window starts on a beat, so where the hits fall is predictable; their exact spectra are not).
Tensors: audio `[B, H, T]` float32 in [-1, 1]; critic scores `[B, H]`.
"""

from __future__ import annotations

import torch  # noqa: TID253 (training-only module, imported lazily by its users)

RESOLUTIONS = ((1024, 256), (512, 128), (256, 64), (2048, 512))
"""(n_fft, hop) pairs at the model rate; 16 kHz: 64 ms … 16 ms windows plus one 128 ms for bass pitch."""


def _magnitude(audio: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    flat = audio.reshape(-1, audio.shape[-1])
    window = torch.hann_window(n_fft, device=audio.device)
    spectrum = torch.stft(flat, n_fft, hop, window=window, return_complex=True, center=True)
    return spectrum.abs()


def _log_magnitude(audio: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """`[B, H, T]` → log(|STFT| + 1e-3) `[B·H, bins, frames]`."""
    return torch.log(_magnitude(audio, n_fft, hop) + 1e-3)


def stft_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean over resolutions of L1(log(|F|+ε), log(|R|+ε)) + L1(|F|, |R|) / frame-energy scale."""
    total = fake.new_zeros(())
    for n_fft, hop in RESOLUTIONS:
        fake_mag, real_mag = _magnitude(fake, n_fft, hop), _magnitude(real, n_fft, hop)
        log_term = (torch.log(fake_mag + 1e-3) - torch.log(real_mag + 1e-3)).abs().mean()
        linear_term = (fake_mag - real_mag).abs().mean() / (real_mag.mean() + 1e-2)
        total = total + log_term + linear_term
    return total / len(RESOLUTIONS)


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
    """WGAN-GP: mean over (example, instrument) of (‖∇ critic(x̂)‖₂ − 1)², x̂ between real and fake."""
    mix = torch.rand(real.shape[0], 1, 1, device=real.device)
    interpolated = (mix * real + (1.0 - mix) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(interpolated, embedding).sum(), interpolated, create_graph=True)
    return ((grad.norm(dim=-1) - 1.0) ** 2).mean()


def critic_loss(critic, real: torch.Tensor, fake: torch.Tensor, embedding: torch.Tensor,
                gp_weight: float) -> tuple[torch.Tensor, float, float]:
    """WGAN-GP critic loss (fake − real + λ·GP; GP skipped when λ = 0) → (loss, Wasserstein estimate, GP)."""
    real_score, fake_score = critic(real, embedding).mean(), critic(fake, embedding).mean()
    loss = fake_score - real_score
    penalty = 0.0
    if gp_weight > 0:
        gp = gradient_penalty(critic, real, fake, embedding)
        loss = loss + gp_weight * gp
        penalty = float(gp.detach())
    return loss, float((real_score - fake_score).detach()), penalty


def generator_adversarial_loss(critic, fake: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
    """The generator's WGAN term: −mean critic score of its output."""
    return -critic(fake, embedding).mean()


SLICED_RESOLUTIONS = ((1024, 256), (256, 64))
"""(n_fft, hop) pairs of the sliced objective: pitch and timbre (85 ms at 12 kHz), and transients (21 ms)."""

ENVELOPE_EDGES = (0.0, 1 / 32, 1 / 4, 1.0)
"""Band edges (fractions of the Nyquist frequency) of the frame-aligned envelope term of `sliced`: at 12 kHz
below 190 Hz (kick, bass), 190 Hz–1.5 kHz (snare body, chords), above 1.5 kHz (hats, attacks). Broad on
purpose: they carry when things happen, not which notes."""


def sliced_wasserstein(fake_frames: torch.Tensor, real_frames: torch.Tensor, projections: int = 64) -> torch.Tensor:
    """Sliced Wasserstein-1 distance between two equal-size sets of frames `[N, D, frames]` (one set per row).

    Directions: `projections` random unit vectors plus every coordinate axis (the per-bin marginals); each
    set is projected, sorted over frames and compared by mean absolute difference.
    """
    dims = fake_frames.shape[1]
    directions = torch.randn(dims, projections, device=fake_frames.device)
    directions = directions / directions.norm(dim=0, keepdim=True)
    fake_proj = torch.einsum("ndt,dp->npt", fake_frames, directions).sort(dim=-1).values
    real_proj = torch.einsum("ndt,dp->npt", real_frames, directions).sort(dim=-1).values
    random_term = (fake_proj - real_proj).abs().mean()
    marginal_term = (fake_frames.sort(dim=-1).values - real_frames.sort(dim=-1).values).abs().mean()
    return random_term + marginal_term


def _band_envelope(log_magnitude: torch.Tensor) -> torch.Tensor:
    """Log energy `[N, bands, frames]` in the `ENVELOPE_EDGES` bands of a log-magnitude `[N, bins, frames]`."""
    bins = log_magnitude.shape[1]
    power = torch.exp(2 * log_magnitude)
    edges = [round(edge * bins) for edge in ENVELOPE_EDGES]
    rows = [power[:, lo:max(hi, lo + 1)].mean(dim=1) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    return torch.log(torch.stack(rows, dim=1) + 1e-6)


def sliced_loss(fake: torch.Tensor, real: torch.Tensor, envelope_weight: float = 0.5) -> torch.Tensor:
    """The `sliced` objective (see the module docstring): mean over resolutions of the sliced Wasserstein
    distance of log-magnitude frames, plus `envelope_weight` × the L1 of the aligned broad-band envelopes."""
    total = fake.new_zeros(())
    for n_fft, hop in SLICED_RESOLUTIONS:
        fake_log, real_log = _log_magnitude(fake, n_fft, hop), _log_magnitude(real, n_fft, hop)
        total = total + sliced_wasserstein(fake_log, real_log)
        total = total + envelope_weight * (_band_envelope(fake_log) - _band_envelope(real_log)).abs().mean()
    return total / len(SLICED_RESOLUTIONS)


DIVERSITY_STFT = (1024, 256)
"""(n_fft, hop) of the spectra `diversity_loss` compares: 85 ms frames at 12 kHz, which notes and timbre."""


def diversity_loss(fake: torch.Tensor, other: torch.Tensor, z: torch.Tensor, other_z: torch.Tensor,
                   eps: float = 1e-2) -> torch.Tensor:
    """Mode-seeking term (Mao et al. 2019) for two outputs `[B, H, T]` of the same conditioning made from two
    latents `[B, H, Z]`: the mean of 1 / (d_out / d_z + eps), where d_out is the mean absolute difference of
    their log-magnitude spectra per (example, head) and d_z the mean absolute difference of the latents.
    Small when different z give audibly different takes; a phase shift alone does not count as variety."""
    d_out = seed_spread(fake, other)
    d_z = (z - other_z).abs().mean(dim=-1).reshape(-1)
    return (1.0 / (d_out / d_z + eps)).mean()


def seed_spread(fake: torch.Tensor, other: torch.Tensor, floor_db: float = -60.0) -> torch.Tensor:
    """Mean absolute difference `[B·H]` of the log-magnitude spectra (`DIVERSITY_STFT`) of two outputs `[B, H, T]`
    (natural log units: 0.1 is about 0.9 dB). Both are floored at `floor_db` below the louder one's peak, so
    what counts is what can be heard, not differences in the noise floor or in phase-dependent leakage."""
    n_fft, hop = DIVERSITY_STFT
    first, second = _magnitude(torch.cat([fake, other]), n_fft, hop).chunk(2)
    peak = torch.maximum(first.amax(dim=(1, 2)), second.amax(dim=(1, 2))).detach()
    floor = (peak * 10.0 ** (floor_db / 20.0) + 1e-6)[:, None, None]
    return (torch.log(first + floor) - torch.log(second + floor)).abs().mean(dim=(1, 2))


OBJECTIVES = {"stft": stft_loss, "sliced": sliced_loss}
"""Reconstruction objectives by name: `(fake, real) -> scalar loss`."""
