"""The resumable training loop of the built-in separator.

Architecture:
1. Batches of augmented stems `[B, S, n]` come from `dataset.ExampleSampler` on a helper thread (or in
   `workers` processes: `batches.py`), which also computes their spectra and band sums in NumPy
   (`features.py`); the mix spectrum is the sum of the stem spectra (STFT is linear). The network sees the
   mix's band means. Two losses (`loss`):
   - `l1`: the L1 distance between masked mix magnitudes and true stem magnitudes per band, relative to the
     mix magnitude (phase-blind; every bin counts by its magnitude);
   - `sdr`: the negative signal-to-distortion ratio (dB) of complex masking, per example and stem, from the
     band energies (`features.BandEnergy`; exact, as the mask is constant in a band). It is what the
     evaluation measures: energy-weighted, phase-aware (the best real mask is Re(X̄S)/|X|², not |S|/|X|), and
     a stem that is badly separated weighs as much as one that is nearly right. Stems silent in an example
     are left out of its mean, as the SDR is undefined for them.
   Working on ~410 bands instead of 2049 bins, with the FFT off the training thread, keeps a step cheap.
2. Every `val_every` steps: loss and per-stem SDR (complex masks, STFT domain) on a fixed validation set,
   a CSV row and a refreshed plot; the weights of the lowest validation loss go to `best.safetensors`. (The
   L1 loss over every validation bin ranked checkpoints as the test split did, where the STFT-domain SDR of
   the 3 s segments was too noisy to choose by. With the SDR loss the validation loss is that SDR itself;
   the best weights of such a run scored 5.19 dB on the 30 s validation songs against 4.89 for its last
   ones, though validation losses a few hundredths apart remain noise.)
   With `average_decay`, the run keeps an exponential moving average of the weights (`averaging.py`); it is
   what is validated, kept as the best and exported, while the optimizer goes on training the weights.
3. Every `ckpt_every` steps and at the end: `checkpoint.safetensors` (model + optimizer + state). Starting
   again with the same run folder resumes from it. Stops at `steps` or after `minutes` of wall time.
4. A new run may start from trained weights (`init_from`: an exported model folder or a safetensors file)
   instead of random ones; the steps behind those weights are kept in the state (`prior_steps`) so the
   exported model card states the whole training. Mono weights may start a stereo-cue network: its one
   extra tensor starts at zero, so it starts as the mono network. Parts the weights lack (added blocks,
   branches, the band-resolved path or channels added to it) may learn `fresh_lr_scale` times faster than the
   trained ones, or alone (`train_added_only`: the trained ones stay as they are, and a part that sits at the
   end of the network, such as the song-context offsets, then costs no backward pass through the rest).
   A model folder also gives the network its shape (`network_config`): what the run asks for only grows it.
5. A stereo-cue network trains on both channels of each example (half as many examples per batch, so a step
   costs the same): each channel is separated with the other as `partner`.
6. With `precision` "bf16" the network's forward pass runs under bfloat16 autocast (matrix products and
   convolutions in bfloat16, weights, optimizer and loss in float32): on a CPU with AVX-512 BF16 a step of the
   8-block network takes ~0.2 s instead of ~0.5 s, and on its trained weights the loss agrees to 0.002 dB and
   the gradients to a cosine of 0.9998. Validation always runs in float32, so validation losses of runs in
   either precision compare. On two cores one torch thread (`threads` 1) leaves the batch thread (~0.3 s of
   a core per batch of 12) a core of its own: the 12-block network with a band-resolved layer takes 0.6 s a
   step that way, 0.7 with two threads; with 16 blocks 0.65 s. The sampler looks for new train songs at each
   validation, so songs made with `musicsim corpus make` while a run goes on join its training.
7. `device` "cuda" (or "auto" with a CUDA GPU) trains on the GPU: the network, its weight average and each
   batch live there (the batch makers send raw stems and the spectra are made on the GPU,
   `device_features.py`; give a GPU run `workers`), bfloat16 autocast runs on the GPU's tensor cores, and
   checkpoints, best weights and validation figures are written from CPU copies, so a run started on one
   device resumes on the other.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musicsim_gui.core.atomic import atomic_write_text
from musicsim_gui.core.errors import ModelError
from musicsim_gui.separation.masknet_config import FAMILY, MaskNetConfig
from musicsim_gui.training.separation.averaging import WeightAverage
from musicsim_gui.training.separation.batches import ProcessBatches, ThreadBatches, batch_parts
from musicsim_gui.training.separation.checkpoint import (
    BEST,
    CHECKPOINT,
    checkpoint_state,
    load_checkpoint,
    save_checkpoint,
    save_weights,
)
from musicsim_gui.training.separation.dataset import Augmentation, SongIndex, validation_batch
from musicsim_gui.training.separation.device_features import DeviceBandFeatures, raw_stems
from musicsim_gui.training.separation.features import BandBatch, BandFeatures, stereo_examples
from musicsim_gui.training.separation.losses import LOSSES, masking_loss, stft_sdr
from musicsim_gui.training.separation.metrics import append_row, plot_metrics


@dataclass
class TrainConfig:
    """Everything one training run depends on (saved in the checkpoint; seconds, steps, Hz)."""

    corpus: str
    run_dir: str
    steps: int = 6000
    minutes: float | None = None
    batch: int = 16
    segment_seconds: float = 3.0
    lr: float = 1e-3
    warmup: int = 200
    val_every: int = 200
    ckpt_every: int = 100
    val_count: int = 48
    threads: int = 1
    workers: int = 0
    features_on: str = "auto"
    seed: int = 0
    init_from: str | None = None
    fresh_lr_scale: float = 1.0
    train_added_only: bool = False
    loss: str = "sdr"
    average_decay: float = 0.0
    precision: str = "fp32"
    device: str = "cpu"
    model: MaskNetConfig = field(default_factory=MaskNetConfig)
    augmentation: Augmentation = field(default_factory=Augmentation)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["model"] = self.model.to_dict()
        return data


def load_initial_weights(source: Path, model: Any) -> int:
    """Load weights from a model folder or a safetensors file (see `initial_weights`); returns the number of
    training steps behind them."""
    return initial_weights(source, model)[0]


def network_config(init_from: str | Path | None, requested: MaskNetConfig) -> MaskNetConfig:
    """The network a new run trains. Starting from a model folder, it is that folder's network, grown where
    `requested` asks for more (a stereo cue, a song context, more temporal blocks, decoder units, band-resolved
    channels or layers), so continuing the bundled separator needs no flags restating its shape; from a
    safetensors file or from scratch it is `requested`."""
    if init_from is None or not (Path(init_from) / "manifest.json").is_file():
        return requested
    from dataclasses import replace

    from musicsim_gui.runtime.manifest import load_manifest

    manifest = load_manifest(Path(init_from), verify=False)
    if manifest.family != FAMILY:
        raise ModelError(f"{init_from}: a {manifest.family!r} model, not a built-in separator to start from")
    stored = MaskNetConfig.from_dict(manifest.config)
    return replace(stored, stereo_cue=stored.stereo_cue or requested.stereo_cue,
                   song_context=stored.song_context or requested.song_context,
                   blocks=max(stored.blocks, requested.blocks),
                   decoder_hidden=max(stored.decoder_hidden, requested.decoder_hidden),
                   local_channels=max(stored.local_channels, requested.local_channels),
                   local_layers=max(stored.local_layers, requested.local_layers))


def initial_weights(source: Path, model: Any) -> tuple[int, list[str]]:
    """Load weights from a model folder (`weights.safetensors`, or else `model.onnx`, + `manifest.json`) or a
    safetensors file.

    Returns the number of training steps behind them (from the folder's manifest; 0 if unknown) and the names
    of the parameters they lack (parts added to the network, which keep their no-op initial values, and the
    tensors of a band-resolved path widened around the trained channels). The network
    configuration must match otherwise: a different shape is a `ModelError` naming the file and the mismatch.
    """
    from safetensors.torch import load_file

    prior_steps = 0
    weights = source
    if source.is_dir():
        from musicsim_gui.runtime.manifest import load_manifest

        weights = source / "weights.safetensors"
        manifest = load_manifest(source)
        prior_steps = int(manifest.config.get("training", {}).get("steps", 0))
        if not weights.exists() and (source / "model.onnx").exists():  # a folder that ships only its graph
            weights = source / "model.onnx"
    try:
        if weights.suffix == ".onnx":
            from musicsim_gui.separation.builtin import folder_network

            state = folder_network(source, manifest).state_dict()
        else:
            state = load_file(str(weights))
    except ModelError:
        raise
    except Exception as error:  # safetensors raises its own error types for missing or truncated files
        raise ModelError(f"{weights}: cannot read initial weights ({error})") from error
    from musicsim_gui.separation.masknet import added_parameters, grow_blocks, widen_local_path

    # Weights without an optional part (mono weights into a stereo-cue network, a linear decoder into one with
    # the MLP branch, fewer temporal blocks, a narrower band-resolved path) keep that part's no-op initial values.
    fresh = {name: value for name, value in model.state_dict().items() if added_parameters(name) and name not in state}
    state, widened = widen_local_path(model, state)
    lacking = sorted(name for name, _ in model.named_parameters() if name not in state or name in widened)
    state = grow_blocks(model, {**state, **fresh})
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        first = str(error).strip().splitlines()[-1].strip()
        raise ModelError(f"{weights}: these weights do not fit the configured network ({first})") from error
    return prior_steps, lacking


def learning_rate(config: TrainConfig, step: int) -> float:
    """Linear warm-up, then cosine decay to 5% of `lr` at `steps`."""
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    progress = min(1.0, (step - config.warmup) / max(1, config.steps - config.warmup))
    return config.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


FEATURES_ON = ("auto", "batches", "device")
"""Where a batch's spectra and band sums are made: by the batch makers in NumPy, or from raw stems with torch
on the training device (`device_features.py`); "auto" means the device when it is a GPU."""

PRECISIONS = ("fp32", "bf16")
"""Arithmetic of the training forward pass (`TrainConfig.precision`; item 6 of the module docstring)."""

def _check_settings(config: TrainConfig) -> None:
    """Settings no run can train with are a clear error before anything is written."""
    if config.loss not in LOSSES:
        raise ModelError(f"unknown separator loss {config.loss!r} (choose from {', '.join(LOSSES)})")
    if config.average_decay and not 0.0 < config.average_decay < 1.0:
        raise ModelError(f"--average-decay {config.average_decay:g}: the weight average's decay per step must be "
                         f"between 0 and 1 (e.g. 0.999), or 0 for no average")
    if config.precision not in PRECISIONS:
        raise ModelError(f"unknown training precision {config.precision!r} (choose from {', '.join(PRECISIONS)})")
    if config.features_on not in FEATURES_ON:
        raise ModelError(f"unknown place for the training features {config.features_on!r} "
                         f"(choose from {', '.join(FEATURES_ON)})")
    if config.workers < 0:
        raise ModelError(f"--workers {config.workers}: the number of batch worker processes must be 0 or more")
    if not math.isfinite(config.segment_seconds) or config.segment_seconds * config.model.sample_rate < 4 * config.model.n_fft:
        raise ModelError(f"--segment-seconds {config.segment_seconds:g}: an example must span at least four STFT "
                         f"windows ({4 * config.model.n_fft / config.model.sample_rate:.2f} s)")
    if config.train_added_only and not config.init_from:
        raise ModelError("--train-added-only trains the parts the --init-from weights lack: give --init-from")
    if config.val_count < 1 or config.seed < 0:
        raise ModelError(f"--val-count {config.val_count} / --seed {config.seed}: the validation needs at least one "
                         f"segment and the seed must be 0 or more")


class Trainer:
    """Holds the model, optimizer, data and run folder of one training run (see the module docstring)."""

    def __init__(self, config: TrainConfig, log: Any = None) -> None:
        import torch

        from musicsim_gui.runtime.backend import torch_device
        from musicsim_gui.separation.masknet import build_masknet

        _check_settings(config)
        self.device = torch.device(torch_device(config.device))
        torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)
        self.config = config
        self.run_dir = Path(config.run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log = log or (lambda text: print(text, file=sys.stderr, flush=True))
        self.model = build_masknet(config.model)
        self.features = BandFeatures(config.model, energy=config.loss == "sdr")
        on_device = config.features_on == "device" or (config.features_on == "auto" and self.device.type == "cuda")
        self.device_features = (DeviceBandFeatures(config.model, config.loss == "sdr", self.device) if on_device
                                else None)
        self.widths = torch.from_numpy(self.features.widths).to(self.device)
        corpus = Path(config.corpus)
        frames = int(config.segment_seconds * config.model.sample_rate)
        self.stereo = config.model.stereo_cue
        per_item = 2 if self.stereo else 1  # channel examples per drawn item
        self.sampler, _, self.items_per_batch = batch_parts(config, config.seed)
        valid_dir = corpus / "valid" if (corpus / "valid").is_dir() else corpus / "train"
        self.valid = validation_batch(SongIndex(valid_dir, config.model.stems), frames,
                                      max(1, config.val_count // per_item), stereo=self.stereo)
        self.state: dict[str, Any] = {"step": 0, "best_loss": math.inf, "best_sdr": -math.inf, "elapsed_s": 0.0,
                                      "prior_steps": 0, "fresh_parameters": []}
        if config.init_from and not (self.run_dir / CHECKPOINT).exists():
            prior_steps, fresh = initial_weights(Path(config.init_from), self.model)
            self.state.update(prior_steps=prior_steps, fresh_parameters=fresh)
            self.log(f"starting from the weights in {config.init_from} "
                     f"({self.state['prior_steps']} earlier steps)")
        self.model.to(self.device)
        if (self.run_dir / CHECKPOINT).exists():
            self._check_resumed_settings()
            self.state["fresh_parameters"] = checkpoint_state(self.run_dir).get("fresh_parameters", [])
        self.optimizer = self._optimizer(self.state["fresh_parameters"])
        self.average = WeightAverage(self.model, config.average_decay) if config.average_decay else None
        if (self.run_dir / CHECKPOINT).exists():
            self.state = load_checkpoint(self.run_dir, self.model, self.optimizer, self.average)
            if self.average is not None:
                self.average.updates = int(self.state.get("average_updates", 0))
            self.sampler.rng = np.random.default_rng(config.seed + self.state["step"])
            self.log(f"resumed from {self.run_dir / CHECKPOINT} at step {self.state['step']}")
        settings = dict(config.to_json(), prior_steps=self.state.get("prior_steps", 0))
        atomic_write_text(self.run_dir / "config.json", json.dumps(settings, indent=2))

    def _check_resumed_settings(self) -> None:
        """A run resumes on the loss it was trained with (its best validation loss and metrics are in that
        loss's units; runs from before the SDR loss existed were trained on L1), and keeps a weight average
        only if it kept one from the start (its best weights are the average's or the trained ones', never
        a mix of both)."""
        try:
            trained = json.loads((self.run_dir / "config.json").read_text())
        except (OSError, json.JSONDecodeError):
            return
        loss = trained.get("loss", "l1")
        if loss != self.config.loss:
            raise ModelError(f"{self.run_dir}: this run was trained with the {loss!r} loss; resume it with "
                             f"--loss {loss}, or start a new run folder from its weights (--init-from) to "
                             f"train with {self.config.loss!r}")
        decay = float(trained.get("average_decay", 0.0) or 0.0)
        if bool(decay) != bool(self.config.average_decay):
            kept = (f"keeps a weight average (decay {decay:g}); resume it with --average-decay {decay:g}" if decay
                    else "keeps no weight average; resume it without --average-decay")
            raise ModelError(f"{self.run_dir}: this run {kept}, or start a new run folder from its weights "
                             f"(--init-from) to train {'without' if decay else 'with'} one")
        added_only = bool(trained.get("train_added_only", False))
        if added_only != self.config.train_added_only:
            raise ModelError(f"{self.run_dir}: this run trains {'only the added parts' if added_only else 'every part'}"
                             f"; resume it {'with' if added_only else 'without'} --train-added-only, or start a new "
                             f"run folder from its weights (--init-from)")

    def _optimizer(self, fresh: list[str]) -> Any:
        """AdamW; the parameters the initial weights lacked (`fresh`) learn `fresh_lr_scale` times faster, so an
        added part catches up without shaking the trained ones."""
        import torch

        named = list(self.model.named_parameters())
        if self.config.train_added_only:
            if not fresh:
                raise ModelError("--train-added-only: the initial weights lack no part of this network, so there "
                                 "is nothing to train (add a part, e.g. --song-context)")
            for name, parameter in named:
                parameter.requires_grad_(name in fresh)
            return torch.optim.AdamW([{"params": [p for n, p in named if n in fresh],
                                       "lr_scale": self.config.fresh_lr_scale}], lr=self.config.lr, weight_decay=1e-4)
        groups = [{"params": [p for n, p in named if n not in fresh], "lr_scale": 1.0}]
        if fresh:
            groups.append({"params": [p for n, p in named if n in fresh], "lr_scale": self.config.fresh_lr_scale})
        return torch.optim.AdamW(groups, lr=self.config.lr, weight_decay=1e-4)

    @property
    def evaluated(self) -> Any:
        """The network validated, kept as the best and exported: the weight average where the run keeps one."""
        return self.model if self.average is None else self.average.model

    def validate(self) -> tuple[float, np.ndarray]:
        import torch

        model = self.evaluated
        model.eval()
        losses, sdrs = [], []
        with torch.no_grad():
            for start in range(0, len(self.valid), 8):
                items = self.valid[start:start + 8]
                spec = self.features.spectra(items)
                spec = stereo_examples(spec) if self.stereo else spec
                batch = self.features.sums(spec, paired=self.stereo).to_torch(self.device)
                loss, masks = masking_loss(model, batch, self.widths, self.config.loss)
                losses.append(loss.item())
                sdrs.append(stft_sdr(model.expand(masks).cpu().numpy(), spec))
        self.model.train()
        return float(np.mean(losses)), np.nanmean(np.stack(sdrs), axis=0)

    def _record(self, step: int, train_loss: float) -> None:
        songs = self.sampler.refresh()
        val_loss, sdr = self.validate()
        row: dict[str, float] = {"step": step, "elapsed_s": round(self.state["elapsed_s"], 1),
                                 "lr": learning_rate(self.config, step), "train_loss": train_loss,
                                 "val_loss": val_loss, "val_sdr_mean": float(sdr.mean()), "train_songs": songs}
        row.update({f"val_sdr_{name}": float(v) for name, v in zip(self.config.model.stems, sdr, strict=True)})
        append_row(self.run_dir, row)
        plot_metrics(self.run_dir, LOSSES[self.config.loss])
        if val_loss < self.state.get("best_loss", math.inf):
            self.state["best_loss"], self.state["best_sdr"] = float(val_loss), float(sdr.mean())
            save_weights(self.run_dir / BEST, self.evaluated, {"step": str(step), "val_loss": f"{val_loss:.5f}",
                                                           "val_sdr_mean": f"{sdr.mean():.3f}"})
        self.log(f"step {step}: train {train_loss:.4f} val {val_loss:.4f} SDR {sdr.mean():.2f} dB "
                 f"({', '.join(f'{n} {v:.1f}' for n, v in zip(self.config.model.stems, sdr, strict=True))})")

    def _step(self, step: int) -> float:
        import torch

        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.config, step) * group.get("lr_scale", 1.0)
        loss, _ = masking_loss(self.model, self._next_batch(), self.widths, self.config.loss, self.config.precision)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 5.0)
        self.optimizer.step()
        if self.average is not None:
            self.average.update(self.model)
            self.state["average_updates"] = self.average.updates
        return loss.item()

    def _prefetch(self) -> None:
        """Start making batches: on a helper thread, or in `workers` processes (see `batches.py`)."""
        raw = self.device_features is not None
        if self.config.workers:
            self.batches = ProcessBatches(self.config, self.state["step"], self.config.workers, raw)
        else:
            self.batches = ThreadBatches(self.sampler, raw_stems if raw else self.features, self.items_per_batch)

    def _next_batch(self) -> BandBatch:
        """The next batch as torch tensors on the training device (features made there from raw stems)."""
        import torch

        batch = self.batches.get()
        if self.device_features is None:
            return batch.to_torch(self.device)
        return self.device_features(torch.from_numpy(batch).to(self.device, non_blocking=True))

    def run(self, progress: bool = True) -> dict[str, Any]:
        """Train until `steps` or the time budget; returns the final state."""
        from tqdm import tqdm

        self._prefetch()
        config = self.config
        bar = tqdm(total=config.steps, initial=self.state["step"], disable=not progress, mininterval=5.0,
                   desc="train separator", file=sys.stderr)
        try:
            running = self._steps(bar)
        finally:
            bar.close()
            self.batches.close()
        if running:
            self._record(self.state["step"], float(np.mean(running)))
        self._save_checkpoint()
        return self.state

    def _steps(self, bar: Any) -> list[float]:
        """The training loop: steps, validations and checkpoints; returns the losses since the last validation."""
        config = self.config
        start_step, started = self.state["step"], time.monotonic()
        elapsed0, running = self.state["elapsed_s"], []
        for step in range(start_step, config.steps):
            running.append(self._step(step))
            self.state.update(step=step + 1, elapsed_s=elapsed0 + time.monotonic() - started)
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(running[-50:]):.4f}", refresh=False)
            if (step + 1) % config.val_every == 0 or step + 1 == config.steps:
                self._record(step + 1, float(np.mean(running)))
                running = []
            if (step + 1) % config.ckpt_every == 0:
                self._save_checkpoint()
            if config.minutes is not None and time.monotonic() - started > config.minutes * 60:
                self.log(f"time budget of {config.minutes} min reached at step {step + 1}")
                break
        return running

    def _save_checkpoint(self) -> None:
        average = None if self.average is None else self.average.state_dict()
        save_checkpoint(self.run_dir, self.model, self.optimizer, self.state, average)


def train(config: TrainConfig, progress: bool = True) -> dict[str, Any]:
    """Train (or resume) a separator run; see `Trainer`."""
    return Trainer(config).run(progress)
