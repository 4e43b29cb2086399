"""The ViT+WaveGAN training loop: resumable, logged, with periodic samples.

Architecture:
1. Data: `dataset.prepare_split` (cached in `RUN/prepared/`), batches from `dataset.sample_batch` with the
   chosen pairing. A fixed validation batch (same-song pairing) measures reconstruction at each checkpoint.
2. Each step: one generator update on the reconstruction objective (`objective`: `sliced`, alignment-free,
   or `stft`, frame-aligned; see `losses`). Every `critic_every` steps, first a
   critic update (WGAN-GP; the penalty on every `gp_every`-th critic update with its weight scaled by
   `gp_every`, "lazy regularisation") and, once `step ≥ adv_start`, the adversarial term in the generator loss
   (weight `adv_weight × critic_every`, so its average weight is `adv_weight`). Adam, β = (0.5, 0.9) as in
   WaveGAN; the heads' learning rate is the paper's 0.001. Both schedules trade adversarial updates for
   steps: on a CPU the critic and its penalty cost more than the generator.
3. Every `checkpoint_every` steps (and at the end, on Ctrl-C, or when `time_limit_s` runs out): the checkpoint,
   the validation loss, `metrics.csv` and `losses.png`; then songs added to the corpus since are picked up.
   Both reconstruction losses are measured on the validation batch whichever one trains.
   Every `sample_every` steps: WAV samples; every `snapshot_every` steps (at a checkpoint) a copy of the
   generator weights in `snapshots/`, to compare runs at equal steps.
4. `device` "cuda" (or "auto" with a CUDA GPU) trains on the GPU: model, critic and each batch live there
   (batches are drawn on the CPU); with `precision` "bf16" the generator's forward pass (encoder and heads)
   runs under bfloat16 autocast, its output cast back to float32 before the losses, while the critic and its
   gradient penalty stay in float32 (a double backward through bfloat16 convolutions is the fragile part of
   WGAN-GP). Checkpoints and weights are written from CPU copies, so a run resumes on either device.
Rerunning with the same RUN folder resumes from its checkpoint (same settings required for a faithful resume).
A new run can start from an exported model folder (`init_from`: encoder and heads recovered from its ONNX
graphs by `onnx_weights`), e.g. to train a bundled model further.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch  # noqa: TID253 (training-only module, imported lazily by its users)

from musicsim_gui.core.atomic import atomic_write_text
from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.generation.vit_wavegan.config import get_config
from musicsim_gui.generation.vit_wavegan.model import ViTWaveGAN, build_model, save_weights
from musicsim_gui.generation.vit_wavegan.wavegan import WaveGANCritic, tempo_feature
from musicsim_gui.training.vit_wavegan import dataset, losses, reporting
from musicsim_gui.training.vit_wavegan.checkpoint import CHECKPOINT_FILE, load_checkpoint, save_checkpoint


@dataclass(frozen=True)
class TrainSettings:
    """Everything that defines a run (stored in `RUN/settings.json` and the checkpoint)."""

    config: str = "small"
    steps: int = 3000
    batch: int = 8
    pairing: str = "same-song"
    objective: str = "stft"
    lr_heads: float = 1e-3
    lr_encoder: float = 3e-4
    lr_critic: float = 3e-4
    adv_weight: float = 0.05
    adv_start: int = 300
    critic_every: int = 2
    gp_weight: float = 10.0
    gp_every: int = 2
    log_every: int = 10
    checkpoint_every: int = 200
    sample_every: int = 500
    seed: int = 0
    threads: int = 1
    workers: int = 1
    """Processes that prepare the songs a run has not cached yet (a fresh corpus on a many-core machine)."""
    max_songs: int | None = None
    time_limit_s: float | None = None
    snapshot_every: int = 0
    diversity_weight: float = 0.0
    """Weight of the mode-seeking term (`losses.diversity_loss`): each step then also makes a second output of
    the same conditioning from another z, both are held to the reconstruction objective, and their spectra
    are pushed apart relative to their latents, so a new seed gives an audibly new take (0 = off)."""
    device: str = "cpu"
    """"auto" | "cpu" | "cuda" (see the module docstring)."""
    precision: str = "fp32"
    """"fp32" | "bf16": the generator's forward pass under bfloat16 autocast (see the module docstring)."""
    init_from: str | None = None
    """A model folder (e.g. `models/vit-wavegan-lofi`) whose encoder and heads a new run starts from; the
    critic starts fresh and, as in any run, joins the generator's loss at `adv_start`."""


@dataclass
class Run:
    """The live state of a run: model, critic, optimizers, data and counters."""

    settings: TrainSettings
    out: Path
    model: ViTWaveGAN
    critic: WaveGANCritic
    optimizers: dict[str, torch.optim.Optimizer]
    train_songs: list
    valid_songs: list
    rng: np.random.Generator
    corpus: Path
    step: int = 0
    elapsed: float = 0.0
    device: torch.device = torch.device("cpu")

    def forward(self):
        """The context the generator's forward pass runs in (bfloat16 autocast with `precision` "bf16")."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.settings.precision == "bf16")


PRECISIONS = ("fp32", "bf16")

PARENT_FILE = "parent.json"
"""In a run started from a model folder: that model's name, version and training, as they were at the start
(the folder may hold a newer version by the time the run is exported)."""


def _record_parent(folder: Path, out: Path) -> None:
    from musicsim_gui.runtime.manifest import load_manifest

    manifest = load_manifest(folder, verify=False)
    training = manifest.config.get("training", {})
    steps = int(training.get("steps") or 0) + int(training.get("prior_steps") or 0)
    minutes = float(training.get("elapsed_s") or 0) / 60 + float(training.get("prior_minutes") or 0)
    parent = {"name": manifest.name, "version": manifest.version, "folder": str(folder),
              "steps": steps, "minutes": round(minutes, 1)}
    atomic_write_text(out / PARENT_FILE, json.dumps(parent, indent=2) + "\n")


def _initial_model(config, settings: TrainSettings) -> ViTWaveGAN:
    """Fresh weights, or those of `settings.init_from` (whose model config must be `config`)."""
    if not settings.init_from:
        return build_model(config, seed=settings.seed)
    from musicsim_gui.training.vit_wavegan.onnx_weights import model_from_folder

    model = model_from_folder(Path(settings.init_from))
    if model.config != config:
        raise MusicSimError(f"{settings.init_from}: its model is not the {config.name!r} config "
                            f"(it is {model.config.name!r}: {model.config.to_dict()}); pass its --config")
    return model


def _device(settings: TrainSettings) -> torch.device:
    """The device the run trains on; MusicSimError for an unknown precision or a device this machine lacks."""
    from musicsim_gui.runtime.backend import torch_device

    if settings.precision not in PRECISIONS:
        raise MusicSimError(f"unknown training precision {settings.precision!r} (choose from {', '.join(PRECISIONS)})")
    return torch.device(torch_device(settings.device))


def _build(corpus: Path, out: Path, settings: TrainSettings, log, device: torch.device) -> Run:
    config = get_config(settings.config)
    cache = out / "prepared"
    log(f"preparing data from {corpus} (cached in {cache})")
    train_songs = dataset.prepare_split(corpus, "train", config.features, cache, settings.max_songs,
                                        workers=settings.workers)
    try:
        valid_songs = dataset.prepare_split(corpus, "valid", config.features, cache, 8, workers=settings.workers)
    except MusicSimError:  # a corpus without a validation split: validate on training songs
        valid_songs = train_songs[:8]
    model = _initial_model(config, settings).train().to(device)
    critic = WaveGANCritic(config.head, config.vit.embedding, len(config.instruments)).train().to(device)
    betas = (0.5, 0.9)
    optimizers = {
        "generator": torch.optim.Adam([{"params": model.heads.parameters(), "lr": settings.lr_heads},
                                       {"params": model.encoder.parameters(), "lr": settings.lr_encoder}],
                                      betas=betas),
        "critic": torch.optim.Adam(critic.parameters(), lr=settings.lr_critic, betas=betas),
    }
    run = Run(settings, out, model, critic, optimizers, train_songs, valid_songs, np.random.default_rng(settings.seed),
              corpus, device=device)
    checkpoint = out / CHECKPOINT_FILE
    if checkpoint.is_file():
        info = load_checkpoint(checkpoint, model, critic, optimizers)
        run.step, run.elapsed = int(info["step"]), float(info.get("elapsed", 0.0))
        run.rng.bit_generator.state = info["rng"]
        log(f"resumed from {checkpoint} at step {run.step}")
    log(f"{len(train_songs)} training songs, {len(valid_songs)} validation songs, config {config.name}, "
        f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f}M generator parameters, on {device}")
    return run


def _tensors(batch: dict[str, np.ndarray], window_seconds: float, heads: int, latent: int, device: Any):
    mel = torch.from_numpy(batch["mel"]).to(device)
    tempo = tempo_feature(torch.from_numpy(batch["tempo"]).to(device), window_seconds)
    z = torch.randn(mel.shape[0], heads, latent, device=device)
    return mel, tempo, z, torch.from_numpy(batch["target"]).to(device)


def _critic_update(run: Run, target, fake, embedding) -> dict[str, float]:
    s = run.settings
    critic_steps = run.step // s.critic_every
    gp_weight = s.gp_weight * s.gp_every if critic_steps % s.gp_every == 0 else 0.0
    run.critic.requires_grad_(True)
    loss, wasserstein, gp = losses.critic_loss(run.critic, target, fake.detach(), embedding.detach(), gp_weight)
    run.optimizers["critic"].zero_grad(set_to_none=True)
    loss.backward()
    run.optimizers["critic"].step()
    run.critic.requires_grad_(False)
    return {"critic": float(loss.detach()), "wasserstein": wasserstein, "gp": gp}


def train_step(run: Run) -> dict[str, float]:
    """One generator update, preceded by a critic update every `critic_every` steps; returns the logged terms."""
    s, model = run.settings, run.model
    config = model.config
    batch = dataset.sample_batch(run.train_songs, s.batch, config.head.window, config.features, s.pairing, run.rng)
    mel, tempo, z, target = _tensors(batch, model.window_seconds, len(config.instruments), config.head.latent,
                                     run.device)
    with run.forward():
        embedding = model.encoder(mel)
        fake = model.heads(embedding, tempo, z)
    embedding, fake = embedding.float(), fake.float()
    adversarial_step = run.step % s.critic_every == 0
    terms = _critic_update(run, target, fake, embedding) if adversarial_step else {}
    reconstruction = losses.OBJECTIVES[s.objective](fake, target)
    loss = reconstruction
    if s.diversity_weight > 0:
        other_z = torch.randn_like(z)
        with run.forward():
            other = model.heads(embedding, tempo, other_z)
        other = other.float()
        reconstruction = (reconstruction + losses.OBJECTIVES[s.objective](other, target)) / 2
        diversity = losses.diversity_loss(fake, other, z, other_z)
        loss = reconstruction + s.diversity_weight * diversity
        terms["diversity"] = float(diversity.detach())
    if adversarial_step and run.step >= s.adv_start and s.adv_weight > 0:
        adversarial = losses.generator_adversarial_loss(run.critic, fake, embedding.detach())
        loss = loss + s.adv_weight * s.critic_every * adversarial
        terms["adv"] = float(adversarial.detach())
    run.optimizers["generator"].zero_grad(set_to_none=True)
    loss.backward()
    run.optimizers["generator"].step()
    return {s.objective: float(reconstruction.detach()), **terms}


def validation_losses(run: Run) -> dict[str, float]:
    """`valid_stft` and `valid_sliced` on a fixed same-song batch of validation songs (fixed z and projections),
    and `valid_seed_spread`: how far apart (log spectra, `losses.seed_spread`) two takes of the same inputs are."""
    config = run.model.config
    batch = dataset.sample_batch(run.valid_songs, 16, config.head.window, config.features, "same-song",
                                 np.random.default_rng(1234))
    generator = torch.Generator().manual_seed(99)
    mel = torch.from_numpy(batch["mel"]).to(run.device)
    tempo = tempo_feature(torch.from_numpy(batch["tempo"]).to(run.device), run.model.window_seconds)
    z = torch.randn(mel.shape[0], len(config.instruments), config.head.latent, generator=generator).to(run.device)
    run.model.eval()
    target = torch.from_numpy(batch["target"]).to(run.device)
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(4321)
        fake = run.model(mel, tempo, z)
        result = {f"valid_{name}": float(objective(fake, target)) for name, objective in losses.OBJECTIVES.items()}
        other = run.model(mel, tempo, torch.randn(z.shape, generator=generator).to(run.device))
        result["valid_seed_spread"] = float(losses.seed_spread(fake, other).mean())
    run.model.train()
    return result


def _samples(run: Run) -> None:
    config, song = run.model.config, run.valid_songs[0]
    run.model.eval()
    with torch.no_grad():
        mel = torch.from_numpy(song.mels[:1]).to(run.device)
        tempo = tempo_feature(torch.tensor([song.tempo_bpm], device=run.device), run.model.window_seconds)
        z = torch.randn(1, len(config.instruments), config.head.latent, generator=torch.Generator().manual_seed(0))
        windows = run.model(mel, tempo, z.to(run.device))[0].cpu().numpy()
    run.model.train()
    reporting.write_samples(run.out / "samples", run.step, windows, config.instruments,
                            config.features.sample_rate, song.tempo_bpm)


def _refresh(run: Run, log) -> None:
    """Pick up training songs finished since the run started (a corpus still being written)."""
    before = len(run.train_songs)
    run.train_songs = dataset.prepare_split(run.corpus, "train", run.model.config.features, run.out / "prepared",
                                            run.settings.max_songs, known=run.train_songs,
                                            workers=run.settings.workers)
    if len(run.train_songs) > before:
        log(f"now training on {len(run.train_songs)} songs (+{len(run.train_songs) - before})")


def _checkpoint(run: Run, log) -> None:
    valid = validation_losses(run)
    reporting.append_metrics(run.out / "metrics.csv", {"step": run.step, "seconds": run.elapsed, **valid})
    info = {"step": run.step, "elapsed": run.elapsed, "rng": run.rng.bit_generator.state,
            "settings": asdict(run.settings), **valid}
    save_checkpoint(run.out / CHECKPOINT_FILE, run.model, run.critic, run.optimizers, info)
    if run.settings.snapshot_every and run.step % run.settings.snapshot_every == 0:
        save_weights(run.model, run.out / "snapshots" / f"step_{run.step:06d}.safetensors")
    reporting.plot_losses(run.out / "metrics.csv", run.out / "losses.png")
    log(f"step {run.step}: valid STFT loss {valid['valid_stft']:.4f}, sliced {valid['valid_sliced']:.4f}, checkpoint saved ({run.elapsed / 60:.1f} min)")


def _stop_on_sigterm():
    """Make SIGTERM stop training like Ctrl-C (checkpoint, then return); returns a function restoring the old
    handler. Only possible in the main thread (elsewhere nothing changes)."""
    import signal
    import threading

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGTERM, interrupt)
    return lambda: signal.signal(signal.SIGTERM, previous)


def train(corpus: Path, out: Path, settings: TrainSettings, log=print, progress_bar: bool = True) -> dict[str, Any]:
    """Train (or resume) a run in `out`; returns the final step, time and validation loss.

    Ctrl-C or SIGTERM stops it after saving a checkpoint.
    """
    from tqdm import tqdm

    device = _device(settings)
    torch.set_num_threads(settings.threads)
    restore_sigterm = _stop_on_sigterm()
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "settings.json", json.dumps(asdict(settings), indent=2) + "\n")
    if settings.init_from and not (out / PARENT_FILE).exists():
        _record_parent(Path(settings.init_from), out)
    run = _build(Path(corpus), out, settings, log, device)
    torch.manual_seed(settings.seed + run.step)
    bar = tqdm(total=settings.steps, initial=run.step, disable=not progress_bar, mininterval=5.0, unit="step")
    started = time.perf_counter() - run.elapsed
    terms: dict[str, float] = {}
    try:
        while run.step < settings.steps:
            terms = {**terms, **train_step(run)}  # critic terms persist between critic updates
            run.step += 1
            run.elapsed = time.perf_counter() - started
            bar.update(1)
            if run.step % settings.log_every == 0:
                reporting.append_metrics(out / "metrics.csv", {"step": run.step, "seconds": run.elapsed, **terms})
                bar.set_postfix({settings.objective: f"{terms[settings.objective]:.3f}"})
            if run.step % settings.sample_every == 0:
                _samples(run)
            if run.step % settings.checkpoint_every == 0:
                _checkpoint(run, log)
                _refresh(run, log)
            if settings.time_limit_s and run.elapsed > settings.time_limit_s:
                log(f"time limit of {settings.time_limit_s:.0f} s reached at step {run.step}")
                break
    except KeyboardInterrupt:
        log("interrupted: saving a checkpoint")
    finally:
        bar.close()
        restore_sigterm()
    if run.step % settings.checkpoint_every:
        _checkpoint(run, log)
    if run.step % settings.sample_every:
        _samples(run)
    return {"step": run.step, "elapsed_s": run.elapsed, **validation_losses(run)}
