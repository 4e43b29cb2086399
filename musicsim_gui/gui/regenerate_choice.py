"""What the Regenerate dialog asks for, as plain data (no Qt): the generator, seed, takes and model settings.

`RegenerateChoice.params()` gives the `Generate` job's params as hashable `(name, value)` pairs; MusicGen
reads them with `MusicGenSettings.from_params` and stores them (with the filled prompt) on each take.
"""

from __future__ import annotations

from dataclasses import dataclass

MUSICGEN_MODES = {"Audio": "audio", "Text + audio": "text+audio"}
"""Mode labels shown → MusicGen's mode names."""

ARRANGEMENTS = {"Phrases of loop variations": "phrase", "One loop, repeated": "loop"}
"""Arrangement labels shown → the ViT+WaveGAN generator's `arrangement` param."""


def is_musicgen(name: str, description: str = "") -> bool:
    """True for MusicGen generators ("musicgen:<folder or repo>" names, or installed "musicgen" family folders)."""
    return name.startswith("musicgen:") or description.split(" ", 1)[0] == "musicgen"


@dataclass(frozen=True)
class MusicGenChoice:
    """MusicGen's settings for one take (durations in seconds).

    Attributes:
        mode: "audio" or "text+audio".
        prompt: the text prompt (used in "text+audio" mode).
        seconds: the take's length; prompt_seconds: how much of the source starts it as audio prompt.
        temperature, top_k, top_p, guidance_scale: sampling settings (top_k 0 / top_p 0 = off).
        stem_path: the instrument's separated stem (the audio prompt and melody source), or None.
        decoder: "fast" (our decoding loop) or "generate" (transformers' `generate()`).
        dtype: the fast loop's precision, "auto", "float32", "bfloat16" or "float16".
    """

    mode: str = "text+audio"
    prompt: str = ""
    seconds: float = 10.0
    prompt_seconds: float = 2.0
    temperature: float = 1.0
    top_k: int = 250
    top_p: float = 0.0
    guidance_scale: float = 3.0
    stem_path: str | None = None
    decoder: str = "fast"
    dtype: str = "auto"


@dataclass(frozen=True)
class RegenerateChoice:
    """One Regenerate request for `instrument`: `takes` takes from `seed` upwards with generator `model`.

    `keep` > 0 keeps only that many of the takes, the best by the trained preference scorer (0 = keep all).
    `arrangement` ("phrase" or "loop") lays out a loop-based generator's take; None leaves its default.
    `smoothing` False asks a loop-based generator for its heads' raw texture (no temporal smoothing of the
    sustained instruments); True or None leaves the model's default. `reference_match` False asks it to ignore
    the track's separated stem (no reference match); True asks it to follow the stem even where it would not
    (a rough stem: `GenerationRequest.follows_stems`); None leaves the model's default. `separate_first`:
    the track has no stem yet and the takes should follow one, so the reference is separated before they are made.
    """

    instrument: str
    model: str
    seed: int
    takes: int = 1
    musicgen: MusicGenChoice | None = None
    keep: int = 0
    arrangement: str | None = None
    smoothing: bool | None = None
    reference_match: bool | None = None
    separate_first: bool = False

    def params(self) -> tuple[tuple[str, object], ...]:
        """The job's params: MusicGen's settings, or a loop-based generator's arrangement, smoothing and reference
        match (none if unset)."""
        settings = self.musicgen
        if settings is None:
            loops: list[tuple[str, object]] = [("arrangement", self.arrangement)] if self.arrangement else []
            if self.smoothing is False:
                loops.append(("smoothing", False))
            if self.reference_match is not None:
                loops.append(("reference_match", self.reference_match))
            return tuple(loops)
        params: list[tuple[str, object]] = [
            ("mode", settings.mode), ("seconds", float(settings.seconds)),
            ("prompt_seconds", float(settings.prompt_seconds)), ("temperature", float(settings.temperature)),
            ("top_k", int(settings.top_k)), ("top_p", float(settings.top_p)),
            ("guidance_scale", float(settings.guidance_scale)), ("decoder", settings.decoder),
            ("dtype", settings.dtype)]
        if settings.mode == "text+audio" and settings.prompt.strip():
            params.append(("prompt", settings.prompt.strip()))
        if settings.stem_path:
            params.append(("stem_paths", ((self.instrument, settings.stem_path),)))
        return tuple(params)
