"""`MusicGenGenerator`: the `Generator` for MusicGen and MusicGen-melody checkpoints.

Architecture:
1. The checkpoint is resolved and its config read when the generator is made (cheap: id and version are known
   at once); the weights load on the first `generate`.
2. All takes of all requested instruments form one batch (rows = instruments × seeds), so the decoder reads its
   weights once per step for every take.
3. Each instrument's source (its stem from `stem_paths`, else the reference) gives the audio prompt that starts
   the take and, for melody checkpoints, the chroma the take follows.
4. Takes longer than one decoding window are made window by window (`windows.plan_windows`) and crossfaded
   (`windows.crossfade_join`). Progress, ETA and cancel run per decoding step (`decoding.StepSampler`).
5. A window is decoded by our own loop (`fast_decode`: static KV cache, CUDA graphs, bf16 on CUDA) unless the
   `fast_decoding` setting is off or the model's decoder layout is not the one it knows; then by transformers'
   `generate()`. The ONNX backend decodes with its exported step. Each take's params record what decoded it
   (`decoding_params`: "fast", "generate" or "onnx", and the dtype actually used), so its seed and params make
   it again token for token.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from musicsim_gui.generation.musicgen.conditioning import chroma_inputs, encode_prompt, text_inputs
from musicsim_gui.generation.musicgen.decoding import SamplingSettings, StepClock, StepSampler
from musicsim_gui.generation.musicgen.loading import (
    MusicGenModel,
    display_name,
    load_musicgen,
    model_version,
    read_config,
    resolve_model_folder,
)
from musicsim_gui.generation.musicgen.settings import MusicGenSettings
from musicsim_gui.generation.musicgen.windows import Window, crossfade_join, plan_windows

if TYPE_CHECKING:
    from musicsim_gui.generation.musicgen.fast_decode import FastDecoder

log = logging.getLogger(__name__)


class MusicGenGenerator:
    """Composes instrument takes with a MusicGen checkpoint (see the module doc).

    Args:
        spec: a checkpoint folder, an installed model name, or a hub repo id in the local Hugging Face cache.
        device: "auto", "cpu" or "cuda".
        backend: "auto"/"torch" (torch decoding: our fast loop, or transformers' `generate()` with the
            `fast_decoding` setting off) or "onnx" (the decoder step exported once to the cache
            folder and run on ONNX Runtime; mono MusicGen checkpoints only).
    """

    def __init__(self, spec: str | Path, device: str = "auto", backend: str = "auto") -> None:
        self.folder = resolve_model_folder(spec)
        config = read_config(self.folder)
        self.id = f"musicgen:{display_name(self.folder)}"
        self.version = model_version(self.folder, config)
        if backend not in ("auto", "torch", "onnx"):
            raise ModelError(f"unknown backend {backend!r} (auto, torch or onnx)")
        if backend == "onnx" and config["model_type"] != "musicgen":
            raise ModelError(f"{self.folder}: the ONNX backend supports MusicGen, not {config['model_type']}; "
                             "use --backend torch")
        self.device = device
        self.backend = backend
        self._loaded: MusicGenModel | None = None
        self._fast: FastDecoder | None = None

    @property
    def loaded(self) -> MusicGenModel:
        """The loaded checkpoint (loads it on first use)."""
        if self._loaded is None:
            self._loaded = load_musicgen(self.folder, self.device)
            if self.backend == "onnx":
                self._loaded.runner = _onnx_runner(self._loaded)
        return self._loaded

    def unload(self) -> None:
        """Free the weights; the next `generate` loads them again."""
        self._fast = None
        if self._loaded is not None:
            self._loaded.unload()
            self._loaded = None

    def generate(self, request: GenerationRequest, progress: ProgressFn | None = None,
                 cancel: CancelFn | None = None) -> list[GeneratedTake]:
        """One take per (instrument, seed), each `seconds` long at the codec rate (see the module doc)."""
        try:
            settings = MusicGenSettings.from_params(request.params, request.reference.duration)
        except (TypeError, ValueError) as error:
            raise MusicSimError(f"MusicGen settings: {error}") from error
        if self.backend == "onnx" and settings.dtype not in ("auto", "float32"):
            raise MusicSimError(f"MusicGen settings: the ONNX backend decodes in float32, not {settings.dtype}; "
                                "choose the torch backend for another dtype")
        check_cancel(cancel, "MusicGen generation")
        report(progress, 0.0, f"loading {self.id}")
        loaded = self.loaded
        seeds = request.take_seeds()
        rows = [(instrument, seed) for instrument in request.instruments for seed in seeds]
        sources = {name: _source(request, settings, name, loaded) for name in request.instruments}
        self._fast = fast_decoder(loaded, settings, self._fast)
        audio = compose(loaded, settings, rows, sources, progress, cancel, self._fast)
        total = int(round(settings.seconds * loaded.sample_rate))
        used = decoding_params(loaded, self._fast)
        return [GeneratedTake(instrument, AudioClip(audio[i][:, :total], loaded.sample_rate, source=self.id),
                              seed, self.id, self.version, {**settings.to_params(instrument), **used})
                for i, (instrument, seed) in enumerate(rows)]


def decoding_params(loaded: MusicGenModel, fast: FastDecoder | None) -> dict[str, Any]:
    """What decodes with `fast` (from `fast_decoder`), as take params: `decoder` ("fast", "generate" or "onnx"),
    `dtype` as resolved (never "auto") and, for torch, the `fast_decoding` setting that makes the same again."""
    if loaded.runner is not None:
        return {"decoder": "onnx", "dtype": "float32"}
    if fast is not None:
        return {"decoder": "fast", "fast_decoding": True, "dtype": _dtype_name(fast.dtype)}
    weights = next(loaded.model.decoder.parameters()).dtype
    return {"decoder": "generate", "fast_decoding": False, "dtype": _dtype_name(weights)}


def _dtype_name(dtype) -> str:
    """"float32" for `torch.float32`."""
    return str(dtype).removeprefix("torch.")


def _onnx_runner(loaded: MusicGenModel):
    """The decoder step on ONNX Runtime, exported into the cache folder on first use."""
    from musicsim_gui.generation.musicgen.onnx_decoder import OnnxDecoderStep, export_decoder_step
    from musicsim_gui.runtime.paths import cache_dir

    path = cache_dir() / "musicgen-onnx" / f"{loaded.version}-decoder-step.onnx"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        export_decoder_step(loaded.model, path, {"name": loaded.folder.name, "version": loaded.version})
    return OnnxDecoderStep(path, device=loaded.device)


def fast_decoder(loaded: MusicGenModel, settings: MusicGenSettings,
                 cached: FastDecoder | None = None) -> FastDecoder | None:
    """The fast decoding loop for `settings` (`cached` when it already fits), or None when `generate()` decodes:
    the setting is off, the ONNX step decodes, or the decoder is not the layout the loop knows (logged)."""
    from musicsim_gui.generation.musicgen.fast_decode import FastDecoder, resolve_dtype, supports

    if not settings.fast_decoding or loaded.runner is not None:
        return None
    if not supports(loaded.model):
        log.warning("%s: decoder layout not known to the fast decoding loop; decoding with generate()", loaded.folder)
        return None
    if cached is not None and cached.dtype == resolve_dtype(settings.dtype, loaded.device) \
            and cached.graphs == settings.cuda_graphs and cached.model is loaded.model:
        return cached
    return FastDecoder(loaded, settings.dtype, settings.cuda_graphs)


def _source(request: GenerationRequest, settings: MusicGenSettings, instrument: str,
            loaded: MusicGenModel) -> np.ndarray:
    """The instrument's source audio `[C, T]` at the codec rate: its stem file if given, else the reference."""
    from musicsim_gui.audio.dsp import resample, to_channels

    clip = request.reference
    if instrument in settings.stem_paths:
        from musicsim_gui.audio.io import load_audio

        clip = load_audio(settings.stem_paths[instrument])
    clip = to_channels(resample(clip, loaded.sample_rate), loaded.channels)
    if clip.frames == 0:
        raise MusicSimError(f"{clip.source or 'the reference'}: no audio to condition on")
    return clip.samples


def compose(loaded: MusicGenModel, settings: MusicGenSettings, rows: list[tuple[str, int]],
            sources: dict[str, np.ndarray], progress: ProgressFn | None, cancel: CancelFn | None,
            fast: FastDecoder | None = None) -> np.ndarray:
    """Decode every row window by window; returns `[rows, C, frames * hop]` float32.

    Args:
        loaded: the checkpoint.
        settings: what to make; `settings.seconds` is rounded up to whole codec frames.
        rows: (instrument, seed) per take, in batch order.
        sources: instrument → source audio `[C, T]` at the codec rate (prompt and chroma).
        fast: the fast decoding loop to use (None: `fast_decoder(loaded, settings)` decides).
    """
    frames = int(np.ceil(settings.seconds * loaded.frame_rate))
    window = loaded.max_frames
    if settings.window_seconds is not None:
        window = min(window, max(2, int(settings.window_seconds * loaded.frame_rate)))
    overlap = int(0.4 * window) if settings.overlap_seconds is None else int(settings.overlap_seconds
                                                                              * loaded.frame_rate)
    try:
        plan = plan_windows(frames, int(settings.prompt_seconds * loaded.frame_rate), window, overlap)
    except ValueError as error:
        raise MusicSimError(f"MusicGen settings: {error}") from error
    delay = loaded.codebooks // loaded.channels - 1
    clock = StepClock(sum(w.new_frames + delay for w in plan), label=f"MusicGen ({len(rows)} takes)")
    row_sources = np.stack([_padded(sources[name], frames * loaded.hop) for name, _ in rows])
    sampler = StepSampler([seed for _, seed in rows], loaded.codebooks,
                          SamplingSettings(settings.temperature, settings.top_k, settings.top_p,
                                           settings.guidance_scale), clock, progress, cancel, loaded.device)
    texts = [settings.text_for(name) for name, _ in rows]
    fast = fast or fast_decoder(loaded, settings)
    made = None
    for win in plan:
        check_cancel(cancel, "MusicGen generation")
        prompt_audio = row_sources if made is None else made
        hop = loaded.hop
        prompt = prompt_audio[..., win.start_frame * hop:(win.start_frame + win.prompt_frames) * hop]
        out = _decode_window(loaded, win, prompt, texts, row_sources, sampler, fast)
        if made is None:
            made = out
        else:
            fade = int(settings.crossfade_seconds * loaded.sample_rate)
            made = crossfade_join(made, out, win.prompt_frames * hop, fade)
    return made


def _padded(source: np.ndarray, samples: int) -> np.ndarray:
    """`source [C, T]` looped to at least `samples` samples."""
    if source.shape[-1] >= samples:
        return source
    return np.tile(source, (1, -(-samples // source.shape[-1])))


def _decode_window(loaded: MusicGenModel, win: Window, prompt: np.ndarray, texts: list[str | None],
                   row_sources: np.ndarray, sampler: StepSampler, fast: FastDecoder | None = None) -> np.ndarray:
    """Generate one window for every row: `[rows, C, (prompt_frames + new_frames) * hop]`."""
    import torch
    from transformers import LogitsProcessorList

    if loaded.runner is not None:
        return _decode_window_onnx(loaded, win, prompt, texts, sampler)
    if fast is not None:
        return _decode_window_fast(loaded, win, prompt, texts, row_sources, sampler, fast)
    kwargs: dict[str, Any] = text_inputs(loaded, texts, sampler.settings.guidance_scale)
    guidance = kwargs.pop("guidance_scale")
    if win.prompt_frames > 0:
        kwargs["decoder_input_ids"] = encode_prompt(loaded, prompt)
    if loaded.is_melody:
        hop = loaded.hop
        kwargs["input_features"] = chroma_inputs(loaded, row_sources, win.start_frame * hop, win.end_frame * hop)
    delay = loaded.codebooks // loaded.channels - 1
    settings = {"do_sample": False, "guidance_scale": guidance, "max_new_tokens": win.new_frames + delay,
                "min_new_tokens": win.new_frames + delay, "use_cache": True}
    with torch.no_grad():
        try:
            values = loaded.model.generate(**kwargs, **settings,
                                           logits_processor=LogitsProcessorList([sampler]))
        except (RuntimeError, ValueError) as error:
            raise ModelError(f"{loaded.folder}: MusicGen decoding failed ({error})") from error
    return _window_audio(loaded, win, values.float().cpu().numpy())


def _decode_window_fast(loaded: MusicGenModel, win: Window, prompt: np.ndarray, texts: list[str | None],
                        row_sources: np.ndarray, sampler: StepSampler, fast: FastDecoder) -> np.ndarray:
    """`_decode_window` with our own decoding loop (same output layout)."""
    from musicsim_gui.generation.musicgen.window_inputs import decode_audio

    codes = encode_prompt(loaded, prompt) if win.prompt_frames > 0 else None
    chroma = None
    if loaded.is_melody:
        chroma = chroma_inputs(loaded, row_sources, win.start_frame * loaded.hop, win.end_frame * loaded.hop)
    try:
        codes = fast.window_codes(loaded, texts, codes, chroma, win.new_frames, sampler)
    except (RuntimeError, ValueError) as error:
        raise ModelError(f"{loaded.folder}: MusicGen decoding failed ({error})") from error
    return _window_audio(loaded, win, decode_audio(loaded, codes).float().cpu().numpy())


def _window_audio(loaded: MusicGenModel, win: Window, values: np.ndarray) -> np.ndarray:
    """Decoded window audio padded or cut to exactly `(prompt_frames + new_frames) * hop` samples, float32."""
    want = (win.prompt_frames + win.new_frames) * loaded.hop
    if values.shape[-1] < want:
        values = np.pad(values, ((0, 0), (0, 0), (0, want - values.shape[-1])))
    return np.ascontiguousarray(values[..., :want], dtype=np.float32)


def _decode_window_onnx(loaded: MusicGenModel, win: Window, prompt: np.ndarray, texts: list[str | None],
                        sampler: StepSampler) -> np.ndarray:
    """`_decode_window` with the decoder step on ONNX Runtime (same output layout)."""
    from musicsim_gui.generation.musicgen.onnx_generate import decode_codes, onnx_window_codes

    codes = encode_prompt(loaded, prompt) if win.prompt_frames > 0 else None
    values = decode_codes(loaded, onnx_window_codes(loaded, loaded.runner, texts, codes, win.new_frames, sampler))
    return _window_audio(loaded, win, values)
