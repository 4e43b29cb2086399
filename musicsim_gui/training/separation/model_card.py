"""The model card (`MODEL_CARD.md`) of an exported separator, generated from its manifest."""

from __future__ import annotations

from musicsim_gui.runtime.manifest import Manifest

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
STFT, iSTFT, chunking (20 s chunks, 1 s raised-cosine cross-fades) and resampling live outside the graph.
Post-filter: masks are sharpened as m^p / Σ m^p with p = {mask_power} (p = 2 is a Wiener gain).
"""


_STEREO = """
Stereo cue: the network also reads the other channel (`partner` input) and adds a linear map of the per-band
level difference between the two channels (natural log, clipped to ±6) to its encoder. Each channel is still
masked on its own, but an instrument's place in the stereo field now counts as well as its sound; a mono
input is its own partner (no difference, a centred source). The map started at zero on the mono weights.
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
    return f"{steps} in all ({prior} in a first run, the rest continuing from its weights with a new schedule)"


def model_card(manifest: Manifest) -> str:
    """Markdown describing the model, its training data, metrics and limits."""
    config = manifest.config
    training = config.get("training", {})
    design = _DESIGN.format(mask_power=config.get("mask_power", 1.0), full_hz=config["full_bins"] * config["sample_rate"] / config["n_fft"],
                            parameters=config.get("parameters", 0), **{k: v for k, v in config.items()
                                                                      if k not in ("parameters", "mask_power")})
    if config.get("stereo_cue"):
        design += _STEREO
    data = training.get("corpus", "the project's synthetic multi-stem corpus")
    examples = ("is both channels of a 3 s segment (each separated with the other as its partner)"
                if config.get("stereo_cue") else "draws one channel of a 3 s segment")
    remix = f"{training.get('remix', 0.5):.0%}"
    return f"""# {manifest.name} {manifest.version}

Separates a song into {", ".join(manifest.instruments)} ({manifest.task}, family `{manifest.family}`).
License: {manifest.license}. Provenance: {manifest.provenance}.

{design}
## Training

Data: {data} (train split; validation on the valid split). Each example {examples};
{remix} of the examples remix stems across songs, every stem gets a random gain (and is occasionally
silenced) and a small varispeed change (±3 %, pitch and tempo together), and the whole example a random
level. Loss: L1 between masked mix magnitudes and true stem magnitudes, relative to the mix magnitude.
Steps: {_steps(training)}, batch {training.get("batch", "?")}, AdamW, warm-up then cosine decay.

## Metrics

{_metrics_table(manifest.metrics)}

`test_*` figures come from `musicsim eval separation` on the corpus test split: fast_bss_eval SDR and
SI-SDR per stem on the mono downmix of the middle `test_excerpt_s` seconds of each song (all songs if
absent); the validation figures during training are STFT-domain SDRs of 3 s segments.

## Limits

Trained only on synthetic songs rendered with General MIDI instruments; on commercial recordings expect
much lower quality, in particular between piano and other harmonic instruments. No vocals stem: voices
end up in "other".
"""
