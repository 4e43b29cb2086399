"""Fine-tuning ViT+WaveGAN heads toward how the takes a listener rated highly sound (reward-weighted shift).

Architecture:
1. Examples are rated takes of the parent model: the reference clip, the instrument, the seed, the take's
   parameters (chunk, tempo) and the stars. The parent generator recomputes each take's conditioning
   (embedding, tempo) and its model-rate windows exactly — every loop variation its arrangement plays — (takes
   are reproducible from seed and parameters), so no take file is needed.
2. Rewards: r = stars − mean stars of the examples; takes above the mean get weights r / Σr. The preferred
   spectral shift Δ is their weighted mean log spectrum (1024-point STFT, mean over frames, and over a take's
   variations as often as it plays them) minus the mean over all rated takes: how the liked takes sound
   different from the rest.
3. Loss per step: a batch of rated conditions, each with a fresh random z; the fine-tuned heads' output
   spectrum should be the parent's for the same z plus Δ (so every take moves the way the liked ones
   differ, instead of copying them): mean‖S(new) − S(parent) − Δ‖² + l2 · Σ‖θ − θ₀‖² (drift regulariser).
   The encoder stays frozen (its ONNX graph is copied); the heads are rebuilt in torch from `heads.onnx`
   (`onnx_weights.heads_from_onnx`, checked against the graph).
4. The result is a new model folder (`<parent>-ft<k>`, version `<parent version>+ft<k>`) beside the user's
   models: the parent's encoder.onnx, new heads.onnx, a manifest whose `config.training.lineage` names the
   parent (name, version, heads sha256), the ratings used and the settings. The parent stays untouched.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.training.vit_wavegan.onnx_weights import heads_from_onnx


@dataclass(frozen=True)
class RatedExample:
    """One rated take of the parent model (`params` as recorded in the take: chunk, tempo_bpm)."""

    reference: AudioClip
    instrument: str
    seed: int
    stars: int
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FinetuneSettings:
    steps: int = 40
    batch: int = 2
    lr: float = 1e-5
    l2: float = 1.0
    seed: int = 0
    threads: int = 1


def _log_spectrum(audio, n_fft: int = 1024, hop: int = 256):
    """Mean-over-frames log magnitude spectrum: torch `[B, T]` → `[B, n_fft // 2 + 1]`."""
    import torch

    window = torch.hann_window(n_fft, device=audio.device)
    spectrum = torch.stft(audio, n_fft, hop, window=window, return_complex=True, center=True).abs()
    return torch.log(spectrum.mean(dim=-1) + 1e-5)


def _conditions(generator, examples: list[RatedExample]) -> tuple[list[tuple[np.ndarray, float, int]], np.ndarray]:
    """(embedding, tempo feature, head) per example, and each example's log spectrum `[N, bins]`: the mean over
    the loop variations its take plays, weighted by how often its arrangement plays each (takes recorded
    without an arrangement were one loop)."""
    import torch

    conditions, spectra = [], []
    for example in examples:
        conditioning = generator.condition(example.reference, example.params.get("chunk"),
                                           example.params.get("tempo_bpm"))
        head = generator.config.instruments.index(example.instrument)
        pattern = generator.pattern(conditioning.tempo_bpm, str(example.params.get("arrangement") or "loop"))
        count = max(pattern) + 1
        variations = generator.variation_windows(conditioning, (example.seed,), count)[0, :, head]   # [V, T]
        share = np.bincount(np.asarray(pattern), minlength=count) / len(pattern)
        with torch.no_grad():
            spectrum = _log_spectrum(torch.from_numpy(np.ascontiguousarray(variations))).numpy()
        spectra.append(share @ spectrum)
        conditions.append((conditioning.embedding, conditioning.tempo_bpm * generator.window_seconds / 120.0, head))
    return conditions, np.stack(spectra).astype(np.float32)


def preferred_shift(examples: list[RatedExample], spectra: np.ndarray) -> np.ndarray:
    """Δ `[bins]`: reward-weighted mean log spectrum of the above-mean takes minus the mean of all rated takes.

    Raises MusicSimError when every rated take has the same stars (no preference to learn).
    """
    stars = np.array([example.stars for example in examples], np.float64)
    rewards = np.maximum(stars - stars.mean(), 0.0)
    if rewards.sum() <= 0:
        raise MusicSimError("fine-tuning needs takes rated above the others (all rated takes have equal stars)")
    weights = rewards / rewards.sum()
    return weights @ spectra - spectra.mean(axis=0)


def finetune_heads(generator, heads, examples: list[RatedExample], settings: FinetuneSettings,
                   progress: Callable[[float, str], None] | None = None) -> dict[str, float]:
    """Train `heads` (torch, in place) so its takes differ from the parent's as the preferred takes differ
    from the rest; returns loss figures.

    Objective per step (a batch of rated conditions, each with a fresh random z): the log spectrum of the
    fine-tuned output should equal the parent's output spectrum for the same z plus Δ (`preferred_shift`):
    mean‖S(heads(e, t, z)) − S(parent(e, t, z)) − Δ‖² + l2 · Σ‖θ − θ₀‖².
    """
    import copy

    import torch

    unknown = [e.instrument for e in examples if e.instrument not in generator.config.instruments]
    if unknown:
        raise MusicSimError(f"model {generator.id} has no head for {', '.join(sorted(set(unknown)))}")
    if settings.threads:
        torch.set_num_threads(settings.threads)
    conditions, spectra = _conditions(generator, examples)
    shift = torch.from_numpy(preferred_shift(examples, spectra).astype(np.float32))
    parent = copy.deepcopy(heads).eval()
    anchor = [p.detach().clone() for p in heads.parameters()]
    optimizer = torch.optim.Adam(heads.parameters(), lr=settings.lr)
    heads.train()
    rng = np.random.default_rng(settings.seed)
    count, latent = len(generator.config.instruments), generator.config.head.latent
    first = last = 0.0
    drift = torch.zeros(())
    for step in range(settings.steps):
        picks = rng.choice(len(conditions), size=settings.batch)
        embedding = torch.from_numpy(np.stack([conditions[i][0] for i in picks]))
        tempo = torch.tensor([[conditions[i][1]] for i in picks], dtype=torch.float32)
        z = torch.from_numpy(rng.standard_normal((settings.batch, count, latent)).astype(np.float32))
        rows = torch.arange(settings.batch)
        head_index = torch.tensor([conditions[i][2] for i in picks])
        with torch.no_grad():
            target = _log_spectrum(parent(embedding, tempo, z)[rows, head_index]) + shift
        fit = ((_log_spectrum(heads(embedding, tempo, z)[rows, head_index]) - target) ** 2).mean()
        drift = sum(((p - a) ** 2).sum() for p, a in zip(heads.parameters(), anchor, strict=True))
        loss = fit + settings.l2 * drift
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        last = float(fit.detach())
        first = last if step == 0 else first
        if progress is not None:
            progress((step + 1) / settings.steps, f"Fine-tuning step {step + 1}/{settings.steps}: loss {last:.4f}")
    heads.eval()
    above = int(sum(1 for e in examples if e.stars > np.mean([x.stars for x in examples])))
    return {"targets": above, "first_loss": first, "last_loss": last, "drift": float(drift.detach()),
            "shift_rms": float(shift.pow(2).mean().sqrt())}


def next_name(parent_name: str, models_dir: Path) -> tuple[str, int]:
    """The first free `<parent>-ft<k>` folder name in `models_dir`, and k."""
    k = 1
    while (models_dir / f"{parent_name}-ft{k}").exists():
        k += 1
    return f"{parent_name}-ft{k}", k


def finetune_folder(parent: Path, examples: list[RatedExample], out_dir: Path,
                    settings: FinetuneSettings | None = None,
                    progress: Callable[[float, str], None] | None = None) -> Path:
    """Fine-tune the heads of the model folder `parent` on `examples`; returns the new model folder in `out_dir`.

    Raises:
        ModelError: the parent folder cannot be loaded. MusicSimError: no usable examples.
    """
    import torch

    from musicsim_gui.core.atomic import atomic_write_text
    from musicsim_gui.generation.vit_wavegan.config import ModelConfig
    from musicsim_gui.generation.vit_wavegan.export import _export
    from musicsim_gui.generation.vit_wavegan.generator import onnx_generator
    from musicsim_gui.runtime.manifest import Manifest, file_sha256, load_manifest, write_manifest

    settings = settings or FinetuneSettings()
    torch.manual_seed(settings.seed)
    manifest = load_manifest(parent, verify=True)
    config = ModelConfig.from_dict(manifest.config["model"])
    generator = onnx_generator(parent, config, manifest.name, manifest.version, device="cpu")
    heads = heads_from_onnx(parent, config)
    figures = finetune_heads(generator, heads, examples, settings, progress)
    name, k = next_name(manifest.name, out_dir)
    version = f"{manifest.version}+ft{k}"
    folder = out_dir / name
    folder.mkdir(parents=True)
    shutil.copyfile(parent / "encoder.onnx", folder / "encoder.onnx")
    sample = {key: torch.from_numpy(value) for key, value in _example_heads_inputs(config).items()}
    metadata = {"family": manifest.family, "name": name, "version": version, "config": str(config.to_dict())}
    _export(heads, (sample["embedding"], sample["tempo"], sample["z"]), folder / "heads.onnx",
            ["embedding", "tempo", "z"], "audio", metadata)
    lineage = {"parent": manifest.name, "parent_version": manifest.version,
               "parent_heads_sha256": manifest.files.get("heads.onnx", ""), "method": "reward-weighted spectral "
               "shift of the heads toward how above-mean rated takes differ, L2 to the parent weights",
               "ratings": len(examples), **{key: getattr(settings, key) for key in ("steps", "batch", "lr", "l2")},
               **figures}
    card = (f"# {name}\n\n{manifest.name} {manifest.version} with its heads fine-tuned on {len(examples)} rated "
            f"takes ({figures['targets']} rated above the mean) toward their spectral difference for {settings.steps} steps; encoder unchanged.\n")
    atomic_write_text(folder / "MODEL_CARD.md", card)
    files = ("encoder.onnx", "heads.onnx", "MODEL_CARD.md")
    training = dict(manifest.config.get("training", {}), lineage=lineage)
    write_manifest(folder, Manifest(
        family=manifest.family, task=manifest.task, name=name, version=version, sample_rate=manifest.sample_rate,
        channels=manifest.channels, instruments=manifest.instruments, inputs=manifest.inputs,
        outputs=manifest.outputs, files={file: file_sha256(folder / file) for file in files},
        license=manifest.license, provenance=f"fine-tuned from {manifest.name} {manifest.version} on user ratings",
        metrics={}, config={**manifest.config, "training": training}))
    return folder


def _example_heads_inputs(config) -> dict[str, np.ndarray]:
    from musicsim_gui.generation.vit_wavegan.export import example_inputs

    inputs = example_inputs(config, batch=2)
    return {key: inputs[key] for key in ("embedding", "tempo", "z")}


def examples_from_store(store, model_name: str, model_version: str) -> list[RatedExample]:
    """Rated takes of `model_name` `model_version` in a `RatingStore` whose project's reference can be read.

    The reference is the one of the project folder recorded with the take; takes whose project or reference
    is gone are skipped.
    """
    from musicsim_gui.audio.io import load_audio
    from musicsim_gui.core.projectfile import load_project

    references: dict[str, AudioClip | None] = {}
    examples = []
    for take, stars in store.rated_takes():
        if take.model_id != model_name or take.model_version != model_version:
            continue
        if take.project not in references:
            try:
                references[take.project] = load_audio(load_project(take.project).reference_file)
            except MusicSimError:
                references[take.project] = None
        reference = references[take.project]
        if reference is not None:
            params = {key: take.params[key] for key in ("chunk", "tempo_bpm") if key in take.params}
            examples.append(RatedExample(reference, take.instrument, take.seed, stars, params))
    return examples
