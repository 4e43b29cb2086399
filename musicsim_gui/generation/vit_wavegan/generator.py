"""`ViTWaveGANGenerator`: the `Generator` for ViT+WaveGAN models, on ONNX Runtime or torch.

Architecture:
1. Conditioning: the reference becomes model-rate mono; its loudest 30 s chunk (or `params["chunk"]`) becomes
   the log-mel image; the encoder turns it into the song embedding. The tempo comes from `params["tempo_bpm"]`
   or an onset-autocorrelation estimate on that chunk, and the reference's first downbeat from the same
   chunk's onsets and harmonic changes at that tempo (`features.estimate_beat_grid`). All are cached per
   (reference hash, chunk, tempo), so re-rolling one instrument reruns only the heads.
2. Heads: one call computes every instrument's windows for every seed at once (`[seeds, V, H, window]`: V
   loop variations, one z each). The z of (seed, instrument, variation) comes from its own random stream, so
   a take re-rolled alone equals the same take generated together with others.
3. The windows become a stem (`loops.render_stem`): beat-aligned loops at the reference tempo tiled with
   crossfades to the requested length, at the output rate (the band above the model's Nyquist frequency
   rebuilt by the model's fitted `bandwidth.BandwidthExtension`, and the loops equalised by its fitted
   `tone.ToneMatch`, and the sustained instruments' frame-to-frame grain averaged out by its
   `smoothing.TemporalSmoothing`, when its manifest has them; `params["smoothing"]` False turns that off),
   stereo. When the request carries the reference's own stems and the model has a `ReferenceMatch`, each
   instrument's loops are moved towards the tone and band dynamics of its stem in the same 30 s chunk
   (`reference_match.py`; statistics cached per stem and chunk; `params["reference_match"]` False turns it off, and
   rough stems are not followed unless it is True: `GenerationRequest.follows_stems`),
   and, for the instruments whose match has a contour, the tiled take rises and falls with the stem over the
   song (the stem's band power cached per stem); with the model's `rests.PartRests`, the tiled take of the
   instruments it names falls silent where their stem rests (from the same cached band power). Before the
   loops are tiled, the model's `spectral_floor.SpectralFloor` clears the floor between the partials of the
   instruments it names (switched with the smoothing), its `low_cut.LowCut` takes their infrasonic rumble
   away and its
   `band_dynamics.BandDynamics` widens or narrows how far their bands move. With the reference's stems
   and a `harmony.HarmonyFollow`, every copy of a pitched instrument's loop is then transposed to the chords
   its stem plays under that copy (the stem's pitch-class profile cached per stem; off with the match). With
   the default "phrase" arrangement the loops vary like a played part (`loops.phrase_pattern`: a one-bar
   cell repeated, its fourth bar a variation); "loop" repeats the main loop alone. The pattern starts on the
   reference's first downbeat (`params["first_downbeat"]` seconds overrides it; 0 starts the take on its
   first sample), so the take's beats and bars fall on the reference's.
Two backends run the same two graphs: `encoder` (mel → embedding) and `heads` (embedding, tempo, z → audio).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.errors import ModelError, MusicSimError
from musicsim_gui.generation.base import (
    CancelFn,
    GeneratedTake,
    GenerationRequest,
    ProgressFn,
    check_cancel,
    report,
)
from musicsim_gui.generation.vit_wavegan import features, loops
from musicsim_gui.generation.vit_wavegan.band_dynamics import BandDynamics
from musicsim_gui.generation.vit_wavegan.config import ModelConfig
from musicsim_gui.generation.vit_wavegan.finishing import Finishing
from musicsim_gui.generation.vit_wavegan.harmony import follow_harmony, pitch_classes
from musicsim_gui.generation.vit_wavegan.low_cut import LowCut
from musicsim_gui.generation.vit_wavegan.reference_match import BandStats, band_stats, contour_power
from musicsim_gui.generation.vit_wavegan.spectral_floor import SpectralFloor
from musicsim_gui.runtime.backend import Backend

DEFAULT_OUTPUT_RATE = 44100
ARRANGEMENTS = ("phrase", "loop")
"""How a take's loops are laid out: "phrase" (variations in 4-bar phrases, `loops.phrase_pattern`) or
"loop" (the main loop alone, repeated)."""
DEFAULT_ARRANGEMENT = "phrase"
TEMPO_RANGE_BPM = (10.0, 1000.0)
"""Tempos a request may ask for (an estimate stays within 60-180 BPM; the tiny debug model needs fast ones)."""


@dataclass(frozen=True)
class Conditioning:
    """What the heads are conditioned on: `embedding [E]`, the tempo in BPM and the chunk it came from; and where
    the reference's bars fall: `first_downbeat_seconds` in [0, one bar) from the reference's start."""

    embedding: np.ndarray
    tempo_bpm: float
    chunk: int
    first_downbeat_seconds: float = 0.0


def latent(seed: int, instrument_index: int, size: int, variation: int = 0) -> np.ndarray:
    """The z `[size]` float32 of one (seed, instrument, loop variation): its own reproducible random stream
    (variation 0, the take's main loop, keeps the stream of takes made before variations existed)."""
    key = [int(seed) & 0xFFFFFFFF, instrument_index] + ([int(variation)] if variation else [])
    return np.random.default_rng(key).standard_normal(size).astype(np.float32)


class ViTWaveGANGenerator:
    """Composes stems with a ViT encoder and WaveGAN heads.

    Args:
        config: the model configuration (features, sizes, instrument order of the heads).
        encoder: backend running `mel [B,1,M,F] → embedding [B,E]`.
        heads: backend running `embedding [B,E], tempo [B,1], z [B,H,Z] → audio [B,H,T]`.
        model_id / version: recorded in every take.
        finishing: the model's finishing steps (`finishing.Finishing`; default none: takes are the heads' loops
            tiled, stopping at the model's Nyquist frequency).
    """

    def __init__(self, config: ModelConfig, encoder: Backend, heads: Backend, model_id: str, version: str,
                 finishing: Finishing | None = None) -> None:
        self.config, self.encoder, self.heads = config, encoder, heads
        self.finishing = finishing or Finishing()
        self._stem_stats: OrderedDict[tuple[str, int], BandStats | None] = OrderedDict()
        self._stem_contours: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._stem_profiles: OrderedDict[str, np.ndarray] = OrderedDict()
        self.id, self.version = model_id, version
        self.backend_name = heads.name
        self._conditioning: OrderedDict[tuple[str, int | None, float | None], Conditioning] = OrderedDict()

    @property
    def follows_stems(self) -> bool:
        """Whether the takes use the reference's separated stems (`GenerationRequest.reference_stems`)."""
        return self.finishing.follows_stems

    @property
    def window_seconds(self) -> float:
        return self.config.head.window / self.config.features.sample_rate

    def condition(self, reference: AudioClip, chunk: int | None = None, tempo_bpm: float | None = None) -> Conditioning:
        """Embedding and tempo of `reference` (cached; see module docstring)."""
        if tempo_bpm is not None and not TEMPO_RANGE_BPM[0] <= float(tempo_bpm) <= TEMPO_RANGE_BPM[1]:
            raise MusicSimError(f"tempo {tempo_bpm} BPM is outside {TEMPO_RANGE_BPM[0]:g}-{TEMPO_RANGE_BPM[1]:g} BPM")
        return _remember(self._conditioning, (reference.content_hash(), chunk, tempo_bpm), 8,
                         lambda: self._conditioning_of(reference, chunk, tempo_bpm))

    def _conditioning_of(self, reference: AudioClip, chunk: int | None, tempo_bpm: float | None) -> Conditioning:
        feats = self.config.features
        mono = features.to_model_audio(reference, feats.sample_rate)
        chunked = features.chunks(mono, int(feats.chunk_seconds * feats.sample_rate))
        index = features.loudest_chunk(chunked) if chunk is None else min(max(int(chunk), 0), len(chunked) - 1)
        mel = features.mel_image(chunked[index], feats)[np.newaxis]
        embedding = self.encoder.run({"mel": mel})["embedding"][0]
        grid = features.estimate_beat_grid(chunked[index], feats.sample_rate, tempo_bpm=tempo_bpm or None)
        first_downbeat = (index * feats.chunk_seconds + grid.first_downbeat_seconds) % grid.bar_seconds
        return Conditioning(embedding.astype(np.float32), grid.tempo_bpm, index, first_downbeat)

    def forget(self) -> None:
        """Empty the conditioning cache (the next request recomputes features and the embedding)."""
        self._conditioning.clear()
        self._stem_stats.clear()
        self._stem_contours.clear()
        self._stem_profiles.clear()

    def stem_stats(self, stem: AudioClip, chunk: int, stem_key: str | None = None) -> BandStats | None:
        """`BandStats` of `stem` (mono, at its own rate) within the conditioning chunk `chunk` (cached by
        `stem_key`, the stem's content hash, computed when not given)."""
        length = int(round(self.config.features.chunk_seconds * stem.sample_rate))
        return _remember(self._stem_stats, (stem_key or stem.content_hash(), chunk), 32, lambda: band_stats(
            stem.samples[:, chunk * length: (chunk + 1) * length].mean(axis=0), stem.sample_rate))

    def stem_contour(self, stem: AudioClip, rate: int, stem_key: str | None = None) -> np.ndarray:
        """`contour_power` of `stem` (mono) over its whole length at `rate`, the takes' rate (cached)."""
        return _remember(self._stem_contours, (stem_key or stem.content_hash(), rate), 8,
                         lambda: contour_power(features.to_model_audio(stem, rate), rate))

    def stem_profile(self, stem: AudioClip, stem_key: str | None = None) -> np.ndarray:
        """`harmony.pitch_classes` of `stem` (mono) over its whole length (cached)."""
        return _remember(self._stem_profiles, stem_key or stem.content_hash(), 8,
                         lambda: pitch_classes(stem.samples.mean(axis=0), stem.sample_rate))

    def _harmonies(self, request: GenerationRequest, output_rate: int, stem_keys: dict[str, str]) -> dict[str, Any]:
        """Instrument → the function that transposes its loop copies to the reference stem's chords
        (`loops.HarmonyStep`), for the instruments the model's harmony names and the request has a stem for;
        empty where the reference match is turned off. `stem_keys`: each stem's content hash."""
        stems = request.reference_stems or {}
        harmony = self.finishing.harmony
        if harmony is None or not request.follows_stems():
            return {}
        functions = {}
        for instrument in request.instruments:
            if instrument in stems and harmony.applies_to(instrument):
                profile = self.stem_profile(stems[instrument], stem_keys[instrument])
                functions[instrument] = (
                    lambda variations, starts, played, period, name=instrument, reference=profile:
                    follow_harmony(harmony, variations, output_rate, name, reference, starts, played, period))
        return functions

    def _matches(self, request: GenerationRequest, chunk: int, output_rate: int,
                 stem_keys: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
        """(instrument → the function that moves its loop variations towards the reference's stem, instrument →
        the function that makes its tiled take follow that stem's contour and rests), for the instruments the
        model matches or rests and the request has a stem for; both empty when turned off. `stem_keys`: each
        stem's content hash."""
        match, rests = self.finishing.reference_match, self.finishing.rests
        stems = request.reference_stems or {}
        if (match is None and rests is None) or not request.follows_stems():
            return {}, {}
        loop_functions, take_functions = {}, {}
        final_tone = bool(request.params.get("final_tone", True))
        for instrument in request.instruments:
            if instrument not in stems:
                continue
            key = stem_keys[instrument]
            steps = []
            stats = self.stem_stats(stems[instrument], chunk, key) if match and match.applies_to(instrument) else None
            if stats is not None:  # None: no match for the instrument, or a silent stem (nothing to follow)
                loop_functions[instrument] = (lambda loops, name=instrument, reference=stats:
                                              match.apply(loops, output_rate, name, reference, final_tone))
                if match.follows_contour(instrument):
                    power = self.stem_contour(stems[instrument], output_rate, key)
                    steps.append(lambda take, name=instrument, reference=power:
                                 match.follow_contour(take, output_rate, name, reference))
            if rests is not None and rests.applies_to(instrument):
                power = self.stem_contour(stems[instrument], output_rate, key)
                steps.append(lambda take, name=instrument, reference=power:
                             rests.apply(take, output_rate, name, reference))
            if steps:
                take_functions[instrument] = (lambda take, chain=tuple(steps): _chain(take, chain))
        return loop_functions, take_functions

    def windows(self, conditioning: Conditioning, seeds: tuple[int, ...]) -> np.ndarray:
        """Every head's main window for every seed in one call: `[len(seeds), H, window]` float32 at the model rate."""
        return self.variation_windows(conditioning, seeds, 1)[:, 0]

    def variation_windows(self, conditioning: Conditioning, seeds: tuple[int, ...], count: int) -> np.ndarray:
        """`count` loop variations of every head for every seed in one call: `[len(seeds), count, H, window]`."""
        heads, size = len(self.config.instruments), self.config.head.latent
        z = np.stack([np.stack([latent(seed, h, size, k) for h in range(heads)])
                      for seed in seeds for k in range(count)])
        batch = z.shape[0]
        tempo_feature = np.full((batch, 1), conditioning.tempo_bpm * self.window_seconds / 120.0, np.float32)
        inputs = {"embedding": np.repeat(conditioning.embedding[np.newaxis], batch, axis=0),
                  "tempo": tempo_feature, "z": z}
        audio = self.heads.run(inputs)["audio"]
        return audio.reshape(len(seeds), count, *audio.shape[1:])

    def pattern(self, tempo_bpm: float, arrangement: str) -> tuple[int, ...]:
        """The variation each loop copy plays: `loops.phrase_pattern` for "phrase", one loop for "loop"."""
        if arrangement not in ARRANGEMENTS:
            raise ModelError(f"unknown arrangement {arrangement!r} (one of {', '.join(ARRANGEMENTS)})")
        if arrangement == "loop":
            return (0,)
        return loops.phrase_pattern(loops.loop_beats(self.config.head.window, self.config.features.sample_rate,
                                                     tempo_bpm))

    def generate(self, request: GenerationRequest, progress: ProgressFn | None = None,
                 cancel: CancelFn | None = None) -> list[GeneratedTake]:
        """One take per (instrument, seed): stereo clips of `params["seconds"]` (default: the reference length)."""
        missing = [name for name in request.instruments if name not in self.config.instruments]
        if missing:
            raise ModelError(f"model {self.id} has no head for {', '.join(missing)}")
        params = request.params
        report(progress, 0.0, "Analysing the reference")
        conditioning = self.condition(request.reference, params.get("chunk"), params.get("tempo_bpm"))
        check_cancel(cancel)
        report(progress, 0.3, "Generating")
        seeds = request.take_seeds()
        arrangement = str(params.get("arrangement") or DEFAULT_ARRANGEMENT)
        pattern = self.pattern(conditioning.tempo_bpm, arrangement)
        audio = self.variation_windows(conditioning, seeds, max(pattern) + 1)
        check_cancel(cancel)
        seconds = float(params.get("seconds") or request.reference.duration)
        output_rate = int(params.get("output_rate") or DEFAULT_OUTPUT_RATE)
        clean = bool(params.get("smoothing", True))
        finishing = self.finishing
        smoothing = finishing.smoothing if clean else None
        floor = finishing.spectral_floor if clean else None
        first_downbeat = params.get("first_downbeat")
        first_downbeat = (conditioning.first_downbeat_seconds if first_downbeat is None
                          else max(0.0, float(first_downbeat)))
        used = {"tempo_bpm": round(conditioning.tempo_bpm, 2), "first_downbeat": round(first_downbeat, 4),
                "chunk": conditioning.chunk, "seconds": seconds, "output_rate": output_rate,
                "arrangement": arrangement, "backend": self.backend_name}
        if finishing.smoothing is not None or finishing.spectral_floor is not None:
            used["smoothing"] = clean
        stem_keys = {name: stem.content_hash() for name, stem in (request.reference_stems or {}).items()
                     if name in request.instruments and self.finishing.follows_stems
                     and request.follows_stems()}                                     # hashed once per request
        matches, over_song = self._matches(request, conditioning.chunk, output_rate, stem_keys)
        harmonies = self._harmonies(request, output_rate, stem_keys)
        takes = []
        for instrument in request.instruments:
            head = self.config.instruments.index(instrument)
            for row, seed in enumerate(seeds):
                clip = loops.stem_clip(audio[row, :, head], self.config.features.sample_rate,
                                       conditioning.tempo_bpm, seconds, output_rate,
                                       f"{self.id} {instrument} seed {seed}", finishing.bandwidth, instrument,
                                       pattern, finishing.tone, smoothing, first_downbeat, matches.get(instrument),
                                       over_song.get(instrument),
                                       _loop_finish((floor, finishing.low_cut, finishing.band_dynamics),
                                                    instrument, output_rate),
                                       harmonies.get(instrument))
                params_used = dict(used)
                if finishing.reference_match is not None:
                    params_used["reference_match"] = instrument in matches
                    tone = finishing.reference_match.tone
                    if instrument in matches and tone is not None and instrument in tone.gains_db:
                        params_used["final_tone"] = bool(params.get("final_tone", True))
                if finishing.harmony is not None:
                    params_used["harmony"] = instrument in harmonies
                if finishing.rests is not None and finishing.rests.applies_to(instrument):
                    params_used["rests"] = instrument in over_song
                takes.append(GeneratedTake(instrument, clip, seed, self.id, self.version, params_used))
            report(progress, 0.3 + 0.7 * len(takes) / (len(seeds) * len(request.instruments)), f"Rendered {instrument}")
        return takes


def _chain(take: np.ndarray, steps: tuple) -> np.ndarray:
    """`take` through each of `steps` in turn (the tiled take's steps: the contour, then the rests)."""
    for step in steps:
        take = step(take)
    return take


def _remember(cache: OrderedDict, key: Any, limit: int, compute: Any) -> Any:
    """`cache[key]`, made by `compute()` when missing; beyond `limit` entries the least recently used go."""
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    value = cache[key] = compute()
    while len(cache) > limit:
        cache.popitem(last=False)
    return value


def _loop_finish(steps: tuple[SpectralFloor | LowCut | BandDynamics | None, ...], instrument: str, rate: int) -> Any:
    """The last function applied to the instrument's loop variations `[V, L]` before tiling: `steps` in order
    (the floor subtraction, the low cut, the band dynamics), each where the model has one for the instrument;
    None when none applies."""
    steps = tuple(step for step in steps if step is not None and step.applies_to(instrument))
    if not steps:
        return None

    def finish(variations: np.ndarray) -> np.ndarray:
        for step in steps:
            variations = step.apply_loops(variations, rate, instrument)
        return variations

    return finish


def torch_generator(model: Any, model_id: str, version: str, device: str = "cpu",
                    finishing: Finishing | None = None) -> ViTWaveGANGenerator:
    """A generator running a `ViTWaveGAN` torch module eagerly."""
    from musicsim_gui.runtime.backend import TorchBackend

    encoder = TorchBackend(model.encoder, device, output_names=("embedding",))
    heads = TorchBackend(model.heads, device, output_names=("audio",))
    return ViTWaveGANGenerator(model.config, encoder, heads, model_id, version, finishing)


def onnx_generator(folder: Path, config: ModelConfig, model_id: str, version: str,
                   device: str = "auto", finishing: Finishing | None = None) -> ViTWaveGANGenerator:
    """A generator running `folder/encoder.onnx` and `folder/heads.onnx` on ONNX Runtime."""
    from musicsim_gui.runtime.backend import OnnxBackend

    encoder = OnnxBackend(folder / "encoder.onnx", device=device)
    heads = OnnxBackend(folder / "heads.onnx", device=device)
    return ViTWaveGANGenerator(config, encoder, heads, model_id, version, finishing)
