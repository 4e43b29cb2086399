"""From a training run folder to an installable model folder: ONNX graphs, weights, manifest, model card.

The card is assembled from the run itself (settings, steps, training time, corpus size, validation loss) plus
`RUN/evaluation.json` when `musicsim eval generation` has been run on it, and `RUN/CARD_NOTES.md` for the
listening notes a person wrote; nothing in it is invented by the exporter.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from musicsim_gui.core.atomic import atomic_write_text
from musicsim_gui.core.errors import ModelError, MusicSimError
from musicsim_gui.generation.vit_wavegan.export import export_folder, parity
from musicsim_gui.runtime.manifest import Manifest, file_sha256, write_manifest
from musicsim_gui.training.vit_wavegan.checkpoint import CHECKPOINT_FILE, load_model_from_checkpoint
from musicsim_gui.training.vit_wavegan.train import PARENT_FILE


def run_summary(run: Path) -> dict[str, Any]:
    """Settings, step, elapsed time and validation loss recorded in a run folder."""
    from safetensors import safe_open

    checkpoint = run / CHECKPOINT_FILE
    if not checkpoint.is_file():
        raise ModelError(f"{run}: no {CHECKPOINT_FILE}; is this a ViT+WaveGAN training run folder?")
    with safe_open(str(checkpoint), framework="pt") as handle:
        info = json.loads(handle.metadata().get("info", "{}"))
    songs = len(list((run / "prepared").glob("train-*/*.npz"))) or None
    parent_file = run / PARENT_FILE
    parent = json.loads(parent_file.read_text()) if parent_file.is_file() else None
    return {"step": info.get("step"), "elapsed_s": info.get("elapsed"), "valid_stft": info.get("valid_stft"),
            "valid_sliced": info.get("valid_sliced"),
            "settings": info.get("settings", {}), "train_songs": songs, "parent": parent}


def _prior_training(parent: dict[str, Any] | None) -> dict[str, Any]:
    """Manifest training fields for the models a run grew from (summed along the chain), empty for a fresh run."""
    if not parent:
        return {}
    return {"parent": f"{parent['name']} {parent['version']}", "prior_steps": parent["steps"],
            "prior_minutes": parent["minutes"]}


def _initial_weights_text(summary: dict[str, Any]) -> str:
    """The model card's "Initial weights" line: random, or the parent model by name and version."""
    settings, parent = summary["settings"], summary.get("parent")
    if not settings.get("init_from"):
        return "random (trained from scratch)"
    if not parent:
        return f"those of `{settings['init_from']}` (encoder and heads; a fresh critic); the steps below are this run's"
    return (f"those of {parent['name']} {parent['version']} ({parent['steps']} steps, {parent['minutes']:.0f} min; "
            f"encoder and heads, a fresh critic); the steps below are this run's, "
            f"{parent['steps'] + (summary['step'] or 0)} in all")


_OBJECTIVE_TEXT = {
    "stft": "multi-resolution STFT loss (log + linear magnitude, 4 sizes, frame-aligned with the target)",
    "sliced": ("alignment-free sliced Wasserstein distance between the sets of log-magnitude frames of take and "
               "target (2 STFT sizes) with a light aligned broad-band envelope term for timing"),
}
"""Model-card wording of each reconstruction objective (`losses.OBJECTIVES`)."""


EVALUATION_METRICS = ("embedding", "fad", "fad_inf", "match", "mse", "songs", "seconds_per_song", "segments_per_set")
"""What of `RUN/evaluation.json` goes into the manifest's metrics: the figures and what they were measured on,
not the command line or the local corpus path it ran with."""


def _table(evaluation: dict[str, Any], key: str = "fad", digits: int = 2) -> str:
    rows = evaluation.get(key, {})
    if not rows:
        return "Not evaluated yet (run `musicsim eval generation`).\n"
    systems = list(rows)
    columns = list(next(iter(rows.values())))
    lines = ["| system | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    lines += [f"| {s} | " + " | ".join(f"{rows[s][c]:.{digits}f}" for c in columns) + " |" for s in systems]
    return "\n".join(lines) + "\n"


def _maybe(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _bandwidth_line(extension: dict[str, Any] | None) -> str:
    if not extension:
        return "none: takes stop at the model's Nyquist frequency"
    edges = extension["edges_hz"]
    bands = ", ".join(f"{lo / 1000:g}-{hi / 1000:g}" for lo, hi in zip(edges[:-1], edges[1:], strict=True))
    ratios = "; ".join(f"{name} {', '.join(f'{db:+.0f}' for db in values)}"
                       for name, values in extension["ratios_db"].items())
    return (f"the band above {edges[0] / 1000:g} kHz is rebuilt at the output rate by spectral band replication "
            f"of the top octave the heads make, its envelope set per instrument by ratios fitted on the training "
            f"stems (bands {bands} kHz, dB relative to the {extension['source_hz'][0] / 1000:g}-"
            f"{extension['source_hz'][1] / 1000:g} kHz octave: {ratios}; see `generation/vit_wavegan/bandwidth.py`)")


def _diversity_text(settings: dict[str, Any]) -> str:
    """The card's line on the mode-seeking term, when the run used it."""
    weight = settings.get("diversity_weight") or 0
    if not weight:
        return ""
    return (f"\n- Variety: a mode-seeking term (weight {weight}): every step also makes a second take of the same "
            "reference from another z, holds it to the same objective, and pushes the two takes' log spectra apart "
            "relative to their latents (`losses.diversity_loss`), so a new seed gives an audibly new take.")


def model_card(name: str, summary: dict[str, Any], evaluation: dict[str, Any], notes: str, parity_error: float,
               config: dict[str, Any], bandwidth: dict[str, Any] | None = None) -> str:
    """The MODEL_CARD.md text for an exported run (`bandwidth`: the manifest's fitted bandwidth extension)."""
    s = summary["settings"]
    head, feats = config["head"], config["features"]
    window = head["start"] * 4 ** head["layers"]
    minutes = (summary["elapsed_s"] or 0) / 60
    nyquist_khz = feats["sample_rate"] / 2000
    price = (f"nothing the heads make above {nyquist_khz:g} kHz (the band above is rebuilt from the octave "
             f"below, not generated)" if bandwidth else f"nothing above {nyquist_khz:g} kHz")
    return f"""# {name}

ViT+WaveGAN stem generator (MuSiC architecture): a vision transformer encodes the log-mel image of a 30 s
reference chunk into a song embedding; one WaveGAN head per instrument (bass, drums, piano, other) turns
[embedding ‖ tempo ‖ z] into audio.

## What it generates and why
- {window} samples of {feats['sample_rate'] // 1000} kHz mono per head call ({window / feats['sample_rate']:.2f} s).
  The app keeps the largest power-of-two number of beats at the reference tempo that fits, loops it with
  20 ms equal-power crossfades to the requested length, and resamples to 44.1 kHz stereo.
- Why: this model was trained on 2 shared CPU cores for {minutes:.0f} minutes. At {feats['sample_rate'] // 1000} kHz mono a head
  produces {88200 / feats['sample_rate']:.1f}× fewer samples per second than 44.1 kHz stereo, and a short window
  that starts on a beat is what such a budget can teach; looping it at the reference tempo makes the stem line
  up with the song's beat, which a longer, unaligned window would not. The price: {price}, and a stem that
  repeats one short loop with no development.

## Training
- Data: {summary['train_songs']} songs of the project's synthetic LoFi corpus (train split), ground-truth stems.
- Pairing: `{s.get('pairing')}` (`same-song`: a beat-aligned window of another section of the reference's own song;
  `paper`: stems of a random chunk of another song, as in the MuSiC paper).
- Objective: {_OBJECTIVE_TEXT[s.get('objective', 'stft')]} **plus** WGAN-GP
  (average weight {s.get('adv_weight')}, from step {s.get('adv_start')}, a critic update every {s.get('critic_every')} steps;
  phase-shuffle critic with an embedding projection).
  The spectral term is our addition to the paper's purely adversarial objective.{_diversity_text(s)}
- Initial weights: {_initial_weights_text(summary)}.
- Config `{s.get('config')}`, batch {s.get('batch')}, {summary['step']} steps, {minutes:.0f} min on
  {s.get('threads')} CPU thread(s); Adam β=(0.5, 0.9), lr heads {s.get('lr_heads')}, encoder {s.get('lr_encoder')},
  critic {s.get('lr_critic')}.
- Validation losses at export: STFT {summary['valid_stft']:.4f}, sliced {_maybe(summary.get('valid_sliced'))} (before any post-processing filter).
- Post-processing filter: {f"{head['post_filter']}-tap FIR per instrument, fitted after training by matching the average spectrum of the heads' output to the training stems' (cuts the transposed-convolution artifact lines; see `training/vit_wavegan/postfilter.py`)" if head.get('post_filter') else "none"}.
- Bandwidth extension: {_bandwidth_line(bandwidth)}.

## Evaluation
Corpus test split, {evaluation.get('songs', 'n/a')} songs × {evaluation.get('seconds_per_song', 'n/a')} s per system; every
candidate RMS-matched to the real stem it stands in for. Embedding: {evaluation.get('embedding', 'n/a')}.

FAD per instrument (lower is better; "shuffled real" = real stems of other test songs, the attainable floor):

{_table(evaluation, "fad")}
Own-song match rate (share of songs whose take is nearest to its own song's real stem; chance = 1 / songs):

{_table(evaluation, "match")}
The MuSiC paper's waveform MSE against the same song's real stem (phase-blind models cannot be expected to
lower it; shown for comparability with the paper):

{_table(evaluation, "mse", 5)}
ONNX Runtime vs torch parity (max abs error over both graphs): {parity_error:.2e}.

## Quality, honestly
{notes.strip() or 'No listening notes were recorded for this run.'}

## License and provenance
MIT. Trained from scratch by this project on audio it synthesised itself (FluidR3 GM soundfont renders);
no third-party weights or recordings.
"""


def fit_bandwidth(corpus: Path, model_rate: int, songs: int = 60, seconds: float = 30.0):
    """A `BandwidthExtension` fitted on the full-band stems of up to `songs` songs of `corpus`'s train split
    (the middle `seconds` of each, channels averaged).

    Raises:
        MusicSimError: no song folder with every stem under `corpus/train`.
    """
    import soundfile as sf

    from musicsim_gui.core.instruments import INSTRUMENTS
    from musicsim_gui.evaluation.separation import corpus_songs
    from musicsim_gui.generation.vit_wavegan.bandwidth import fit

    folders = corpus_songs(Path(corpus) / "train")
    chosen = folders[:: max(1, len(folders) // songs)][:songs]
    stems: dict[str, list] = {name: [] for name in INSTRUMENTS}
    rate = None
    for folder in chosen:
        for name in INSTRUMENTS:
            path = folder / f"{name}.flac"
            info = sf.info(str(path))
            rate = rate or info.samplerate
            if info.samplerate != rate:
                raise MusicSimError(f"{path}: {info.samplerate} Hz, the other stems are {rate} Hz")
            length = int(seconds * rate)
            start = max(0, (info.frames - length) // 2)
            audio, _ = sf.read(str(path), start=start, frames=length, dtype="float32", always_2d=True)
            stems[name].append(audio.mean(axis=1))
    return fit(stems, rate, model_rate)


def export_run(run: Path, out: Path, name: str, version: str, weights: bool = True,
               post_filter: int = 0, bandwidth_corpus: Path | None = None) -> Manifest:
    """Export `run`'s checkpoint into the model folder `out` and return its manifest.

    With `post_filter` taps, a per-instrument FIR is fitted on the run's cached training songs first
    (see `postfilter`). With `bandwidth_corpus`, the takes' bandwidth extension is fitted on that corpus's
    full-band training stems and stored in the manifest (`config.bandwidth_extension`).
    """
    run, out = Path(run), Path(out)
    summary = run_summary(run)
    model = load_model_from_checkpoint(run / CHECKPOINT_FILE)
    if post_filter:
        from musicsim_gui.training.vit_wavegan.postfilter import fit_post_filter, prepared_songs

        songs = prepared_songs(run)
        if not songs:
            raise ModelError(f"{run}: no cached training songs (prepared/) to fit the post-processing filter on")
        model = fit_post_filter(model, songs, post_filter)
    evaluation_path = run / "evaluation.json"
    evaluation = json.loads(evaluation_path.read_text()) if evaluation_path.is_file() else {}
    notes_path = run / "CARD_NOTES.md"
    notes = notes_path.read_text() if notes_path.is_file() else ""
    provenance = f"trained by `musicsim train vit-wavegan` ({summary['step']} steps) on the synthetic LoFi corpus"
    manifest = export_folder(model, out, name, version, weights=weights, provenance=provenance,
                             training={**summary["settings"], "steps": summary["step"],
                                       "elapsed_s": summary["elapsed_s"], "train_songs": summary["train_songs"],
                                       **_prior_training(summary.get("parent"))})
    error = parity(model, out)
    figures = {k: v for k, v in evaluation.items() if k in EVALUATION_METRICS}
    metrics = {"valid_stft": summary["valid_stft"], "valid_sliced": summary["valid_sliced"],
               "onnx_parity_max_abs": error, **figures}
    config = dict(manifest.config)
    if bandwidth_corpus is not None:
        config["bandwidth_extension"] = fit_bandwidth(Path(bandwidth_corpus), model.config.features.sample_rate).to_dict()
    card = model_card(name, summary, evaluation, notes, error, model.config.to_dict(),
                      config.get("bandwidth_extension"))
    atomic_write_text(out / "MODEL_CARD.md", card)
    files = dict(manifest.files)
    files["MODEL_CARD.md"] = file_sha256(out / "MODEL_CARD.md")
    final = Manifest(**{**manifest.__dict__, "metrics": metrics, "files": files, "config": config})
    write_manifest(out, final)
    return final
