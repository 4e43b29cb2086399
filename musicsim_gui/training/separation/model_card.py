"""The model card (`MODEL_CARD.md`) of an exported separator, generated from its manifest, and the step that
records test-split figures in a model folder (`record_test_evaluation`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from musicsim_gui.core.atomic import atomic_write_text
from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.evaluation.separation import Evaluation
from musicsim_gui.runtime.manifest import Manifest
from musicsim_gui.separation.builtin import is_song_wide, manifest_chunk_seconds

_DESIGN = """\
## Design

A mask network over the magnitude STFT (n_fft {n_fft}, hop {hop} at {sample_rate} Hz), applied to each
channel separately. Bins below {full_bins} (≈ {full_hz:.0f} Hz) are kept individually, so bass notes and
piano partials are resolved; higher bins are averaged into roughly constant-Q bands (growth {band_growth}),
because above a few kHz the stems differ in envelope and texture more than in exact partials. A linear
encoder feeds {blocks} residual blocks of depthwise dilated temporal convolutions ({hidden} channels,
kernel {kernel}, dilations 1-2-4-8: several seconds of context), and a linear decoder predicts one logit per
band and stem; a softmax across the four stems makes the masks sum to one, so the stems always add up to
the mix. {parameters:,} parameters.

Why a 4096-point STFT: on the corpus test songs the ideal ratio mask gains about 0.9 dB SDR over 2048
points (bass and piano partials are resolved, and LoFi drums lose little), and the network sees half as
many frames per second. Why this and not a U-Net or a recurrent band-split model: the network had to train to a useful level on
two shared CPU cores within about an hour and run far faster than real time through ONNX Runtime. Dense
temporal convolutions over ~400 band features cost a few million multiply-adds per frame, train with
per-frame normalisation at a high learning rate, and export to plain ONNX operators (MatMul, Conv, Softmax, Gather);
a 2-D U-Net at full resolution costs roughly ten times more per frame, and recurrent layers train and run
more slowly on a CPU for the same context. The full 44.1 kHz band is kept (no 22.05 kHz shortcut) so
cymbals and the top of the "other" stem are separated rather than lost.
STFT, iSTFT, chunking ({chunk:g} s chunks, 1 s raised-cosine cross-fades) and resampling live outside the graph.
{post_filter}
"""


_STEREO = """
Stereo cue: the network also reads the other channel (`partner` input) and adds a linear map of the per-band
level difference between the two channels (natural log, clipped to ±6) to its encoder. Each channel is still
masked on its own, but an instrument's place in the stereo field now counts as well as its sound; a mono
input is its own partner (no difference, a centred source). The map started at zero on the mono weights.
"""


_DECODER = """
Nonlinear decoder: beside the linear decoder, a two-layer MLP ({decoder_hidden} GELU units) reads the same
inputs and adds to the logits. Its output layer started at zero on weights without it, so training began
exactly where those weights were; it adds what a linear read-out of the context features cannot express
(the linear-decoder network scored as well on its training songs as on unseen ones: it lacked capacity,
not data).
"""


_LOCAL = """
Band-resolved path: the encoder squeezes ~400 bands into {hidden} channels per frame, so the decoder cannot
see each band's own evidence. Beside it, a small convolution ({local_channels} channels) reads the (band ×
frame) image of the normalised log bands and of the level difference between the channels (3 bands × 9
frames, dilated in time: a partial's shape, onset and decay, and its place in the stereo field), adds the
frame's context features and a learned per-band offset, and reads one logit per band and stem out through a
GELU; they add to the decoder's. Its read-out started at zero on weights without it, so training began
exactly where those weights were.
"""

_SONG_CONTEXT = """
Song context: the decoder's inputs averaged over {scope} are mapped to one logit offset per stem and band, added
at every frame, so what the rest of the {rest} sounds like (which piano-like or string-like voices play, and
where) shifts each frame's decision, as a prior fitted to that song would. The map started at zero on weights
without it.{song_wide}
"""
_SONG_WIDE = """ The map is affine, so a song's offsets are the frame-weighted average of its chunks' offsets: the
graph returns each chunk's logits and offsets, and the separator runs it over every chunk before it gives each
chunk the whole song's offsets (the network runs once), with the memory of one chunk. The Wiener filter then
fits each stem's stereo image to the whole song's masks as well (a second pass), before a last pass filters
and inverts every chunk. Training examples average over themselves."""

_LOCAL_LAYERS = """
Inside that path, residual convolution layers ({layers}; 3 bands × 5 frames, dilated in time to span
{frames} frames: a note's attack and decay over half a second and longer) refine each band's hidden
state before the read-out. They started at zero, so the path began exactly as it was without them.
"""


def _history(config: dict) -> str:
    """The manifest's `history` (version notes carried from one export to the next), oldest first."""
    entries = config.get("history") or []
    if not entries:
        return ""
    lines = ["", "## History", ""]
    for entry in entries:
        lines += [f"**{entry['version']}.** {entry['text']}", ""]
    return "\n".join(lines)


def _post_filter(config: dict) -> str:
    """The post-filter sentences: mask sharpening (when the power is not 1) and the Wiener filter."""
    power = float(config.get("mask_power", 1.0))
    sharpening = (f"Masks are sharpened as m^p / Σ m^p with p = {power:g} (p = 2 is a Wiener gain). "
                  if power != 1.0 else "")
    if not config.get("wiener"):
        return sharpening + "No multichannel Wiener filter."
    return (sharpening + "Post-filter: stereo input gets a multichannel Wiener filter "
            "(`separation/wiener.py`): each stem's power and stereo image are fitted to the masked estimates "
            "and every stem is re-estimated from the mix, so stems panned apart are told apart where their "
            "spectra overlap; the stems still sum to the mix." + _power_exponents(config))


def _power_exponents(config: dict) -> str:
    """The Wiener filter's per-stem power exponents, when any differs from 1."""
    exponents = {stem: e for stem, e in (config.get("wiener_exponents") or {}).items() if e != 1}
    if not exponents:
        return ""
    listed = ", ".join(f"{stem} {e:g}" for stem, e in exponents.items())
    return (f" Each stem's power there is the mean over channels of m^e |x|², with e = 1 except {listed}: below 1 a "
            "stem's power is flattened (more where its masks are low, less where they are high), above 1 sharpened.")


def _stem_priors(config: dict, stems: tuple[str, ...]) -> str:
    """The stem prior weights and the validation figures they were chosen on (empty without them)."""
    stored = config.get("stem_priors")
    if not stored:
        return ""
    priors = {stem: stored[stem] for stem in stems if stem in stored}
    fit = config.get("stem_priors_fit", {})
    before, after = fit.get("sdr_before", {}), fit.get("sdr_after", {})
    from musicsim_gui.training.separation.stem_priors import describe_regions, describe_weights

    weights = describe_weights(priors)
    edges = config.get("stem_prior_edges_hz") or []
    changes = ", ".join(f"{stem} {before[stem]:.2f} → {after[stem]:.2f}" for stem in priors
                        if stem in before and stem in after)
    songs = f"{fit.get('songs', '?')} songs of {fit.get('data', 'the validation split')}"
    fitted = (f"Fitted for {fit['kept_from']} on {songs} and kept; with this version's weights there"
              if fit.get("kept_from") else f"Fitted on {songs}")
    figures = (f" {fitted} (mean SDR {before['mean']:.2f} → {after['mean']:.2f} dB: {changes})."
               if "mean" in before and "mean" in after else "")
    regions = (f" Each stem has a weight per frequency region ({describe_regions(edges)}): the network's "
               "balance is not the same at every frequency." if edges else "")
    return f"""
Stem priors: each stem's mask is weighted before the masks are renormalised (m_s w_s / Σ m_k w_k, the same
as adding log w_s to its logits), correcting the balance of stems the network learned from augmented
training mixes: {weights}.{regions}{figures} `musicsim export stem-priors` refits them.
"""


def _metrics_table(metrics: dict) -> str:
    lines = ["| metric | value |", "| --- | --- |"]
    for key, value in sorted(metrics.items()):
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        lines.append(f"| {key} | {shown} |")
    return "\n".join(lines)


def _steps(training: dict) -> str:
    steps, prior = training.get("steps", "?"), training.get("prior_steps", 0)
    if not prior:
        return str(steps)
    return f"{steps} in all ({prior} in earlier runs, the rest continuing from their weights with a new schedule)"


_L1_LOSS = "L1 between masked mix magnitudes and true stem magnitudes, relative to the mix magnitude"
_SDR_LOSS = ("the negative SDR (dB) of complex masking, per example and stem (exact per band from band "
             "energies; phase-aware and energy-weighted, as the evaluation measures)")


def loss_schedule(training: dict) -> list[dict[str, Any]]:
    """The losses a model's weights were trained with, in order: `[{"loss": name, "steps": n}, ...]`.

    Exports record it (`training["losses"]`); for one that does not, it is derived from the last run's loss
    and the steps before it, which were L1 (the only loss before the SDR loss existed)."""
    if training.get("losses"):
        return [dict(part) for part in training["losses"]]
    steps, earlier = int(training.get("steps", 0) or 0), int(training.get("prior_steps", 0) or 0)
    loss = training.get("loss", "l1")
    parts = [{"loss": "l1", "steps": earlier}, {"loss": loss, "steps": steps - earlier}]
    return merge_losses([part for part in parts if part["steps"] > 0])


def merge_losses(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`parts` with consecutive runs on the same loss joined into one."""
    merged: list[dict[str, Any]] = []
    for part in parts:
        if merged and merged[-1]["loss"] == part["loss"]:
            merged[-1] = {"loss": part["loss"], "steps": merged[-1]["steps"] + part["steps"]}
        else:
            merged.append(dict(part))
    return merged


_LOSS_TEXT = {"l1": _L1_LOSS, "sdr": _SDR_LOSS}


def _augmentation(training: dict) -> str:
    """The last run's augmentation in words (runs exported before it was stored: the defaults of the time)."""
    settings = training.get("augmentation") or {}
    remix = training.get("remix", settings.get("remix", 0.5))
    low, high = settings.get("stem_gain_db", (-9.0, 3.0))
    silence = settings.get("silence", 0.08)
    jitter = settings.get("jitter", 0.03)
    level_low, level_high = settings.get("level_db", (-12.0, 6.0))
    parts = [f"{remix:.0%} of the examples remix stems across songs" if remix else "no example remixes stems "
             "across songs",
             f"every stem gets a random gain ({low:+g} to {high:+g} dB" + (
                 f"; each stem silenced in {silence:.0%} of the examples)" if silence else ")"),
             f"a small varispeed change (±{jitter:.0%}, pitch and tempo together)" if jitter else "no varispeed"]
    return (", ".join(parts) + f", and the whole example a random level ({level_low:+g} to {level_high:+g} dB) "
            "(the last run's settings).")


def _added_only(training: dict) -> str:
    """The sentence on a last run that trained only the added parts (empty otherwise)."""
    if not training.get("train_added_only"):
        return ""
    return " The last run trained only the parts its starting weights lacked; the rest stayed as it was."


def _average(training: dict) -> str:
    """The sentence on the weight average of the last run (empty without one)."""
    decay = float(training.get("average_decay", 0.0) or 0.0)
    if not decay:
        return ""
    return (f"\nThe weights are an exponential moving average of the last run's (decay {decay:g} per step); the "
            "average, not the last weights, was validated and chosen.")


def _precision(training: dict) -> str:
    """The sentence on the last run's arithmetic (empty for float32)."""
    if training.get("precision", "fp32") != "bf16":
        return ""
    return ("\nThe last run's forward passes ran in bfloat16 (autocast: weights, optimizer and loss in float32); "
            "its validation, and this model, in float32.")


def _loss(training: dict) -> str:
    """The training loss sentence: one loss throughout, or each loss for the steps it was used, in order."""
    schedule = loss_schedule(training) or [{"loss": training.get("loss", "l1"), "steps": 0}]
    if len(schedule) == 1:
        return f"Loss: {_LOSS_TEXT.get(schedule[0]['loss'], schedule[0]['loss'])}."
    first, *rest = schedule
    parts = [f"{_LOSS_TEXT.get(first['loss'], first['loss'])} for the first {first['steps']} steps"]
    parts += [f"then, for {part['steps']}, {_LOSS_TEXT.get(part['loss'], part['loss'])}" for part in rest]
    return "Loss: " + "; ".join(parts) + "."


def model_card(manifest: Manifest) -> str:
    """Markdown describing the model, its training data, metrics and limits."""
    config = manifest.config
    training = config.get("training", {})
    shown = {k: v for k, v in config.items() if k not in ("parameters", "mask_power", "wiener", "history",
                                                           "stem_priors", "chunk_seconds", "wiener_exponents")}
    chunk = manifest_chunk_seconds(config)
    design = _DESIGN.format(post_filter=_post_filter(config), parameters=config.get("parameters", 0), chunk=chunk,
                            full_hz=config["full_bins"] * config["sample_rate"] / config["n_fft"], **shown)
    if config.get("stereo_cue"):
        design += _STEREO
    if config.get("decoder_hidden"):
        design += _DECODER.format(decoder_hidden=config["decoder_hidden"])
    if config.get("local_channels"):
        design += _LOCAL.format(hidden=config["hidden"], local_channels=config["local_channels"])
        if config.get("local_layers"):
            design += _LOCAL_LAYERS.format(layers=config["local_layers"],
                                           frames=", ".join(str(16 * 2 ** i + 1) for i in range(config["local_layers"])))
    if config.get("song_context"):
        if is_song_wide(manifest):
            design += _SONG_CONTEXT.format(scope="the whole song", rest="song", song_wide=_SONG_WIDE)
        else:
            design += _SONG_CONTEXT.format(scope=f"the whole input (a {chunk:g} s chunk of the song)", rest="chunk",
                                           song_wide="")
    design += _stem_priors(config, tuple(manifest.instruments))
    design += _history(config)
    data = training.get("corpus", "the project's synthetic multi-stem corpus")
    segment = f"{training.get('segment_seconds', 3.0):g} s segment"
    examples = (f"is both channels of a {segment} (each separated with the other as its partner)"
                if config.get("stereo_cue") else f"draws one channel of a {segment}")
    augmentation = _augmentation(training)
    return f"""# {manifest.name} {manifest.version}

Separates a song into {", ".join(manifest.instruments)} ({manifest.task}, family `{manifest.family}`).
License: {manifest.license}. Provenance: {manifest.provenance}.

{design}
## Training

Data: {data} (train split; validation on the valid split). Each example {examples};
{augmentation} {_loss(training)}
Steps: {_steps(training)}, batch {training.get("batch", "?")}, AdamW, warm-up then cosine decay.{_added_only(training)}{_average(training)}{_precision(training)}

## Metrics

{_metrics_table(manifest.metrics)}

`test_*` figures come from `musicsim eval separation` on the corpus test split: fast_bss_eval SDR and
SI-SDR per stem on the mono downmix of the middle `test_excerpt_s` seconds of each song (all songs if
absent); the validation figures during training are STFT-domain SDRs of {segment}s.

## Limits

Trained only on synthetic songs rendered with General MIDI instruments; on commercial recordings expect
much lower quality, in particular between piano and other harmonic instruments. No vocals stem: voices
end up in "other".
"""


def record_test_evaluation(model_dir: str | Path, evaluation: Evaluation, key: str,
                           excerpt_seconds: float | None) -> Manifest:
    """Write the test-split figures of separator `key` in `evaluation` into the model folder.

    The manifest's metrics get `test_sdr_<stem>_db`, the means (SDR, SI-SDR, and those of the `dsp` and
    `oracle-irm` rows when they were scored alongside), the song count and the excerpt length; `MODEL_CARD.md`
    is regenerated with the evaluation's tables appended and `eval_sdr.png` is the bar chart. In both the
    separator is named by the model's name, not by `key` (which may be a path on the machine that scored it).
    """
    from musicsim_gui.evaluation.separation import report_markdown, save_bar_chart
    from musicsim_gui.runtime.manifest import file_sha256, load_manifest, write_manifest

    model_dir = Path(model_dir)
    manifest = load_manifest(model_dir, verify=True)
    sdr, si_sdr = evaluation.summary("sdr"), evaluation.summary("si_sdr")
    if key not in sdr:
        raise MusicSimError(f"{model_dir}: the evaluation has no scores for {key!r} (it has {', '.join(sdr)})")
    metrics = {k: v for k, v in manifest.metrics.items() if not k.startswith("test_")}
    metrics.update({f"test_sdr_{stem}_db": round(value, 2) for stem, value in sdr[key].items() if stem != "mean"})
    metrics.update(test_sdr_mean_db=round(sdr[key]["mean"], 2), test_si_sdr_mean_db=round(si_sdr[key]["mean"], 2),
                   test_songs=len(evaluation.scores[key]), test_excerpt_s=excerpt_seconds or "whole songs")
    for other, label in (("dsp", "dsp"), ("oracle-irm", "oracle_irm")):
        if other in sdr and other != key:
            metrics[f"test_sdr_mean_{label}_db"] = round(sdr[other]["mean"], 2)
    updated = replace(manifest, metrics=metrics)

    def renamed(table: dict) -> dict:
        return {manifest.name if name == key else name: value for name, value in table.items()}

    named = Evaluation(renamed(evaluation.scores), renamed(evaluation.seconds), evaluation.audio_seconds)
    card = model_dir / "MODEL_CARD.md"
    atomic_write_text(card, model_card(updated) + "\n## Evaluation table\n\n"
                      + report_markdown(named).split("\n", 1)[1].lstrip("\n"))
    if card.name in updated.files:          # an exported folder hashes its card: the new card's hash, or the
        updated = replace(updated, files={**updated.files, card.name: file_sha256(card)})  # folder is "corrupt"
    write_manifest(model_dir, updated)
    save_bar_chart(named, model_dir / "eval_sdr.png")
    return updated
