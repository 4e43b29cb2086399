"""The built-in separator: the mask network (`masknet.py`) run through ONNX Runtime or torch.

A model folder holds `model.onnx` (the network only: magnitude `[B, F, T]` → masks `[B, S, F, T]`; a
stereo-cue network also takes `partner`, the other channel's magnitude; a song-wide graph, named by the
manifest's outputs `band_logits` and `song_offsets`, leaves the song context to the separator, which runs
the network over every chunk first and gives each chunk the whole song's context, `SongContext`),
optionally `weights.safetensors` (the same weights for the torch backend; without it the torch backend reads
them back from the graph) and `manifest.json` whose
`config` is a `MaskNetConfig` (plus the post-filters: `mask_power`, `stem_priors` — one weight per stem, or per
stem and frequency region split at `stem_prior_edges_hz`, fitted on validation songs by
`training.separation.stem_priors` — and with `wiener` the multichannel Wiener filter over
stereo input, `wiener.py`, with `wiener_exponents`, each stem's exponent of its power estimate there; and
`chunk_seconds`, how much of a song the network sees at once). Hashes are
verified on load; STFT, chunking and resampling happen here, outside the graph.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.errors import ModelError
from musicsim_gui.runtime.backend import Backend, OnnxBackend, TorchBackend, choose_backend
from musicsim_gui.runtime.manifest import Manifest, load_manifest
from musicsim_gui.runtime.registry import ModelEntry
from musicsim_gui.separation.chunking import CancelFn, ProgressFn
from musicsim_gui.separation.masking import MaskSettings, separate_song, separate_with_masks
from musicsim_gui.separation.masknet_config import FAMILY, MaskNetConfig, band_index, partner_channels

ONNX_FILE = "model.onnx"
WEIGHTS_FILE = "weights.safetensors"
SONG_WIDE_OUTPUTS = ("band_logits", "song_offsets")
"""Outputs of a song-wide graph (`masknet.SongWideMaskNet`), in order; a chunk graph's only output is "masks"."""
POST_FILTER_KEYS = ("mask_power", "wiener", "stem_priors", "wiener_exponents")
"""Manifest config keys that change the stems without changing the weights (part of the cache key, with the
chunk length and, where the priors are per frequency region, `stem_prior_edges_hz`)."""
CHUNK_SECONDS = 30.0
"""Seconds of a song separated at once when the manifest does not say (`config.chunk_seconds`); chunks meet in
1 s crossfades. A song-context network (`masknet.py` item 8) averages its summary over a chunk, so a longer
chunk tells it more of the song. Measured with 2.8's weights: on 30 s excerpts of the 48 validation songs,
one 30 s chunk scored 0.064 dB above 20 s chunks (better on 39 songs; 12 s chunks: 0.045 dB below); on the
16 validation songs whole (~100 s), 30 s chunks +0.013 dB, 60 s +0.028, the whole song in one chunk +0.095.
Memory grows with the chunk, not the song: separating 4 minutes peaked at 1.8 GB with 20 s chunks, 2.5 GB
with 30 s and 4.4 GB with 60 s (ONNX Runtime's working memory for the chunk), so chunks stay at 30 s.
A song-wide graph (`SongContext`) hears the whole song whatever the chunk length."""
MIN_CHUNK_SECONDS = 4.0
"""Shortest chunk a manifest may ask for (four times the crossfade)."""


def bin_frequencies(config: MaskNetConfig) -> np.ndarray:
    """Centre frequency (Hz) of each STFT bin of the network, `[F]`."""
    return np.fft.rfftfreq(config.n_fft, 1.0 / config.sample_rate)


def ascending_positive(edges_hz) -> bool:
    """Whether `edges_hz` are finite positive frequencies in ascending order (region edges of stem priors)."""
    return all(np.isfinite(edge) and edge > 0 for edge in edges_hz) and all(
        b > a for a, b in zip(edges_hz, edges_hz[1:], strict=False))


def wiener_exponents(exponents: dict[str, Any] | None, stems: tuple[str, ...]) -> tuple[float, ...] | None:
    """The manifest's `wiener_exponents` (stem → exponent of its Wiener power estimate; stems not named: 1) in
    stem order, or None without any."""
    if not exponents:
        return None
    unknown = sorted(set(exponents) - set(stems))
    values = [exponents.get(stem, 1.0) for stem in stems]
    if unknown or not all(isinstance(e, int | float) and np.isfinite(e) and 0.0 < e <= 4.0 for e in values):
        raise ModelError(f"wiener_exponents {exponents}: need an exponent in (0, 4] for stems of this model "
                         f"({', '.join(stems)})")
    return tuple(float(e) for e in values)


def stem_prior_weights(priors: dict[str, Any] | None, stems: tuple[str, ...],
                       edges_hz: list[float] | None = None,
                       bin_frequencies: np.ndarray | None = None) -> np.ndarray | None:
    """The manifest's `stem_priors` as float32 weights, or None without any.

    `priors` maps a stem to one weight, or (with `edges_hz`, ascending frequencies splitting the spectrum into
    len(edges_hz) + 1 regions) to one weight per region; stems not named weigh 1. One weight per stem gives
    `[S]`; per-region weights give `[S, F]` over the STFT bins at `bin_frequencies` (Hz), each bin taking its
    region's weight.
    """
    if not priors:
        return None
    unknown = sorted(set(priors) - set(stems))
    if unknown:
        raise ModelError(f"stem_priors {priors}: {', '.join(unknown)} is not a stem of this model "
                         f"({', '.join(stems)})")
    regions = len(edges_hz) + 1 if edges_hz else 1
    if edges_hz and not ascending_positive(edges_hz):
        raise ModelError(f"stem_prior_edges_hz {edges_hz}: need ascending positive frequencies")
    rows = []
    for stem in stems:
        value = priors.get(stem, 1.0)
        row = [value] * regions if isinstance(value, int | float) else list(value)
        if len(row) != regions or not all(isinstance(w, int | float) and np.isfinite(w) and w > 0 for w in row):
            raise ModelError(f"stem_priors {priors}: need a positive weight per stem of {', '.join(stems)}"
                             + (f", or one per frequency region ({regions}: edges {edges_hz} Hz)" if edges_hz else ""))
        rows.append(row)
    weights = np.asarray(rows, dtype=np.float32)
    if regions == 1:
        return weights[:, 0]
    if bin_frequencies is None:
        raise ModelError("per-region stem priors need the STFT's bin frequencies")
    region = np.searchsorted(np.asarray(edges_hz, dtype=np.float64), bin_frequencies, side="right")
    return np.ascontiguousarray(weights[:, region])


def band_log_weights(weights: np.ndarray | None, expand_index: np.ndarray) -> np.ndarray | None:
    """log of per-stem prior `weights` (`[S]`, or `[S, F]` per bin) as `[S, K]` per band (`expand_index`: each
    bin's band), or None without weights or where some band's bins differ in weight."""
    if weights is None:
        return None
    bands = int(expand_index.max()) + 1
    if weights.ndim == 1:
        return np.repeat(np.log(weights)[:, None], bands, axis=1).astype(np.float32)
    first_bin = np.searchsorted(expand_index, np.arange(bands))
    per_band = weights[:, first_bin]
    if not np.array_equal(per_band[:, expand_index], weights):
        return None
    return np.log(per_band).astype(np.float32)


def manifest_chunk_seconds(config: dict[str, Any]) -> float:
    """The chunk length a manifest's `config` asks for (`CHUNK_SECONDS` when it names none); ModelError for
    one that is not a number of at least `MIN_CHUNK_SECONDS`."""
    value = config.get("chunk_seconds", CHUNK_SECONDS)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= MIN_CHUNK_SECONDS \
            or not np.isfinite(value):
        raise ModelError(f"chunk_seconds {value!r}: need a number of seconds, at least {MIN_CHUNK_SECONDS:g}")
    return float(value)


def reweight_masks(masks: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Masks `[C, S, F, T]` (summing to one over S) reweighted per stem (weights `[S]`) or per stem and bin
    (`[S, F]`) and renormalised: m_s w_s / Σ_k m_k w_k."""
    shape = (1, weights.shape[0], weights.shape[1] if weights.ndim == 2 else 1, 1)
    weighted = masks * weights.reshape(shape)
    return weighted / (weighted.sum(axis=1, keepdims=True) + 1e-12)


def is_song_wide(manifest: Manifest) -> bool:
    """Whether the manifest's graph is song-wide (outputs `SONG_WIDE_OUTPUTS`) rather than a chunk graph."""
    return SONG_WIDE_OUTPUTS[0] in manifest.outputs


def song_wide_network(manifest: Manifest) -> bool:
    """Whether the folder's network runs in its song-wide form: a song-wide graph of a song-context network
    (a manifest claiming song-wide outputs without a song context is refused by `MaskNetSeparator`)."""
    return is_song_wide(manifest) and MaskNetConfig.from_dict(manifest.config).song_context


def folder_network(model_dir: Path, manifest: Manifest) -> Any:
    """The torch network of the built-in separator folder `model_dir`, in its graph's form (song-wide when the
    graph is and the network has a song context): from `weights.safetensors` when the folder ships it, else
    read back from `model.onnx`."""
    config, song_wide = MaskNetConfig.from_dict(manifest.config), song_wide_network(manifest)
    if WEIGHTS_FILE in manifest.files:
        return load_torch_masknet(model_dir / WEIGHTS_FILE, config, song_wide)
    return masknet_from_onnx(model_dir / ONNX_FILE, config, song_wide)


def masknet_from_onnx(graph: Path, config: MaskNetConfig, song_wide: bool = False) -> Any:
    """A `MaskNet` (with `song_wide`, its `SongWideMaskNet` form, as the graph is) with the weights read back
    from its exported graph (checked against it): the torch backend of a model folder that ships only
    `model.onnx`."""
    import torch

    from musicsim_gui.runtime.onnx_weights import check_parity, state_from_graph
    from musicsim_gui.separation.masknet import build_masknet
    from musicsim_gui.separation.masknet_config import input_names

    model = build_masknet(config, song_wide=song_wide).eval()
    state = state_from_graph(graph, model.state_dict())
    model.load_state_dict({name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in state.items()})
    rng = np.random.default_rng(0)
    inputs = {name: rng.random((1, config.bins, 24), dtype=np.float32) for name in input_names(config)}
    check_parity(model, graph, inputs)
    return model


def load_torch_masknet(weights: Path, config: MaskNetConfig, song_wide: bool = False) -> Any:
    """A `MaskNet` (with `song_wide`, its `SongWideMaskNet` form) with the weights from a safetensors file
    (safe: tensors only, no pickle)."""
    from safetensors.torch import load_file

    from musicsim_gui.separation.masknet import build_masknet

    model = build_masknet(config, song_wide=song_wide)
    try:
        state = load_file(str(weights))
        model.load_state_dict(state)
    except Exception as error:  # safetensors raises its own error types for truncated files
        raise ModelError(f"{weights}: cannot load the weights ({error})") from error
    return model.eval()


class MaskNetSeparator:
    """Runs a mask network on a backend; see the module docstring."""

    def __init__(self, manifest: Manifest, backend: Backend, chunk_seconds: float | None = None) -> None:
        self.manifest = manifest
        self.config = MaskNetConfig.from_dict(manifest.config)
        self.id = manifest.name
        self.version = manifest.version
        self.backend = backend
        self.backend_name = backend.name
        self.fallback_reason: str | None = None
        self.mask_power = float(manifest.config.get("mask_power", 1.0))
        self.song_wide = is_song_wide(manifest)
        self.expand_index = band_index(self.config)
        self.stem_priors = stem_prior_weights(manifest.config.get("stem_priors"), self.config.stems,
                                              manifest.config.get("stem_prior_edges_hz"),
                                              bin_frequencies(self.config))
        post_filters = {key: manifest.config.get(key) for key in POST_FILTER_KEYS}
        if manifest.config.get("stem_prior_edges_hz"):
            post_filters["stem_prior_edges_hz"] = manifest.config["stem_prior_edges_hz"]
        if chunk_seconds is None:
            chunk_seconds = manifest_chunk_seconds(manifest.config)
        post_filters["chunk_seconds"] = chunk_seconds
        if self.song_wide:
            if not self.config.song_context:
                raise ModelError(f"outputs {', '.join(SONG_WIDE_OUTPUTS)} need a song-context network "
                                 "(config song_context)")
            post_filters["song_wide"] = True
        self.settings_tag = hashlib.sha256(json.dumps(post_filters, sort_keys=True).encode()).hexdigest()[:12]
        """Digest of the post-filters, which change the stems without a new weights version (cache key)."""
        self.wiener = bool(manifest.config.get("wiener", False))
        self.settings = MaskSettings(self.config.sample_rate, self.config.n_fft, self.config.hop,
                                     self.config.stems, chunk_seconds=chunk_seconds, wiener=self.wiener,
                                     power_exponents=wiener_exponents(manifest.config.get("wiener_exponents"),
                                                                      self.config.stems))

    @property
    def stem_priors(self) -> np.ndarray | None:
        """Prior weights per stem (`[S]`) or per stem and bin (`[S, F]`), or None; setting them (a refit starts
        from none) also sets their per-band logarithms, `band_log_priors`, which song-wide masks fold in."""
        return self._stem_priors

    @stem_priors.setter
    def stem_priors(self, weights: np.ndarray | None) -> None:
        self._stem_priors = weights
        self.band_log_priors = band_log_weights(weights, self.expand_index)

    def masks(self, magnitude: np.ndarray) -> np.ndarray:
        """Masks float32 `[C, S, F, T]` for magnitude `[C, F, T]` (from a song-wide graph, with the song context
        of this magnitude alone; `SongContext` gives a whole song's).

        With `mask_power` p ≠ 1 (manifest config), masks are sharpened as m^p / Σ m^p: p = 2 is the
        Wiener gain when each mask times the mix magnitude estimates a stem's magnitude. With `stem_priors`
        w, they are then reweighted as m_s w_s / Σ_k m_k w_k (log w_s added to each stem's logits).
        """
        outputs = self.run_network(magnitude)
        if self.song_wide:  # this chunk's own context
            return self.song_masks(outputs["band_logits"], outputs["song_offsets"])
        return self.post_filter(outputs["masks"])

    def run_network(self, magnitude: np.ndarray) -> dict[str, np.ndarray]:
        """The graph's outputs for magnitude `[C, F, T]` (and, for a stereo-cue network, its partner)."""
        inputs = {"magnitude": magnitude.astype(np.float32, copy=False)}
        if self.config.stereo_cue:
            inputs["partner"] = partner_channels(inputs["magnitude"])
        return self.backend.run(inputs)

    def song_masks(self, band_logits: np.ndarray, song_offsets: np.ndarray) -> np.ndarray:
        """Masks `[C, S, F, T]` of a song-wide graph: softmax over S of `band_logits` `[C, S, K, T]` plus
        `song_offsets` `[C, S, K]`, expanded from bands to bins, with the post-filters (`post_filter`). Where
        every band's bins share their prior weights (region edges inside the individual bins), the post-filters
        are folded into the band logits first — softmax(p l + log w) is m^p w renormalised — so they cost
        nothing at the bins."""
        logits = band_logits + song_offsets[..., None]
        folded = self.band_log_priors is not None or self.stem_priors is None
        if folded and self.mask_power != 1.0:
            logits *= np.float32(self.mask_power)
        if self.band_log_priors is not None:
            logits += self.band_log_priors[:, :, None]
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        masks = np.take(logits, self.expand_index, axis=2)
        return masks if folded else self.post_filter(masks)

    def post_filter(self, masks: np.ndarray) -> np.ndarray:
        """The manifest's `mask_power` and `stem_priors` applied to network masks `[C, S, F, T]`."""
        if self.mask_power != 1.0:
            masks = masks**self.mask_power
            masks /= masks.sum(axis=1, keepdims=True) + 1e-12
        if self.stem_priors is not None:
            masks = reweight_masks(masks, self.stem_priors)
        return masks

    def separate(self, clip: AudioClip, progress: ProgressFn | None = None,
                 cancel: CancelFn | None = None) -> dict[str, AudioClip]:
        if self.song_wide:
            return separate_song(clip, SongContext(self), self.settings, progress, cancel)
        return separate_with_masks(clip, self.masks, self.settings, progress, cancel)


class SongContext:
    """One song through a song-wide graph (`masknet.py` item 9; a `masking.SongMasks`). `hear` runs the network
    on each chunk's magnitude in turn, keeping its band logits and adding its song-context offsets, weighted by
    its frames, to the song's; `masks(index)` then gives a chunk's masks with the whole song's offsets. The
    band logits are kept for the song (`[C, S, K, T]` float32: ~340 MB for 10 minutes of stereo, a fifth of
    the masks they stand for), as the masks are asked for once per pass."""

    def __init__(self, separator: MaskNetSeparator) -> None:
        self.separator = separator
        self.band_logits: list[np.ndarray] = []
        self.offset_sum: np.ndarray | None = None
        self.frames = 0

    def hear(self, magnitude: np.ndarray) -> None:
        outputs = self.separator.run_network(magnitude)
        frames = magnitude.shape[-1]
        weighted = outputs["song_offsets"].astype(np.float64) * frames
        self.offset_sum = weighted if self.offset_sum is None else self.offset_sum + weighted
        self.frames += frames
        self.band_logits.append(outputs["band_logits"])

    def song_offsets(self) -> np.ndarray:
        """The frame-weighted average of the chunks' song-context offsets `[C, S, K]` heard so far."""
        if self.offset_sum is None:
            raise RuntimeError("no chunk of the song was heard")
        return (self.offset_sum / self.frames).astype(np.float32)

    def masks(self, index: int) -> np.ndarray:
        offsets = self.song_offsets()
        return self.separator.song_masks(self.band_logits[index], offsets)


def open_masknet(model_dir: Path, backend: str = "auto", device: str = "auto") -> MaskNetSeparator:
    """Load the mask network in `model_dir` (hashes verified) on the chosen backend."""
    manifest = load_manifest(model_dir, verify=True)
    if manifest.family != FAMILY:
        raise ModelError(f"{model_dir}: a {manifest.family!r} {manifest.task} model, not a mask-network separator")
    choice = choose_backend(backend, device)
    if choice.kind == "onnx":
        runner: Backend = OnnxBackend(model_dir / ONNX_FILE, device=choice.device)
    else:
        runner = TorchBackend(folder_network(model_dir, manifest), choice.device,
                              output_names=SONG_WIDE_OUTPUTS if song_wide_network(manifest) else ("masks",))
    try:
        return MaskNetSeparator(manifest, runner)
    except ModelError as error:  # its post-filter settings are wrong: name the file they came from
        raise ModelError(f"{model_dir / 'manifest.json'}: {error}") from error


def load_masknet_separator(entry: ModelEntry, backend: str, device: str) -> MaskNetSeparator:
    """Registry loader for the "masknet" family."""
    return open_masknet(entry.path, backend, device)


def debug_separator(device: str = "cpu") -> MaskNetSeparator:
    """The tiny random-weight mask network (seeded, built in code) on the torch backend, for tests."""
    import torch

    from musicsim_gui.separation.masknet import build_masknet, debug_config

    config = debug_config()
    torch.manual_seed(0)
    manifest = Manifest(family=FAMILY, task="separation", name="debug", version="debug",
                        sample_rate=config.sample_rate, files={}, instruments=config.stems, config=config.to_dict())
    backend = TorchBackend(build_masknet(config), device if device != "auto" else "cpu", output_names=("masks",))
    return MaskNetSeparator(manifest, backend, chunk_seconds=10.0)
