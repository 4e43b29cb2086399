"""Benchmark: MusicGen decoding through our generator path vs plain `model.generate()` with default settings.

Both run the same randomly initialised model in the same process, alternating, on the same text prompt:
- plain: `model.generate(**text, max_new_tokens=N)` with the released generation defaults (sampling, top-k 250,
  classifier-free guidance 3), once per take (how a per-take loop calls it) and once batched;
- ours: `generator.compose` (seeded per-take sampling, progress/ETA/cancel per step, all takes in one batch),
  with the transformers decoder, and (`--onnx`) with the decoder step exported to ONNX Runtime.
Reported: wall seconds, ms per decoding step, real-time factor (wall seconds per second of audio) and each
case's wall time divided by ours with the transformers decoder (> 1 = slower than that).

`--config tiny` is the debug checkpoint; `--config small` is the published musicgen-small architecture
(T5-base, 32 kHz EnCodec, 24-layer 1024-wide decoder with 4 codebooks), random weights: speed does not depend
on the weight values. Speed on a GPU could not be measured where this was written (no device).

On a CPU that other processes keep busy, give torch no more threads than there are free cores: on 2 shared
cores one musicgen-small decoder step (batch 2 with guidance) took 0.35 s with 1 thread and 4.1-4.5 s with 2
(OpenMP threads waiting on each other); ONNX Runtime took 0.35 s.

Run: `.venv/bin/python bench/bench_musicgen.py --config tiny --tokens 100 --takes 4 --onnx`
     `.venv/bin/python bench/bench_musicgen.py --config small --tokens 8 --takes 2 --repeats 1`
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from musicsim_gui.generation.musicgen.debug import _debug_tokenizer, build_debug_model
from musicsim_gui.generation.musicgen.generator import compose
from musicsim_gui.generation.musicgen.loading import describe_model, load_musicgen
from musicsim_gui.generation.musicgen.settings import MusicGenSettings

TEXT = "lofi hip hop piano, 84 bpm"


def small_model():
    """The musicgen-small architecture with random weights, and the released generation defaults."""
    from transformers import (
        EncodecConfig,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        T5Config,
    )

    text = T5Config(vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12)
    codec = EncodecConfig(sampling_rate=32000, audio_channels=1, codebook_size=2048, codebook_dim=128,
                          hidden_size=128, num_filters=64, upsampling_ratios=[8, 5, 4, 4], target_bandwidths=[2.2],
                          num_residual_layers=1, num_lstm_layers=2, kernel_size=7, last_kernel_size=7,
                          residual_kernel_size=3, compress=2, use_causal_conv=False, normalize=False,
                          chunk_length_s=None, overlap=None)
    decoder = MusicgenDecoderConfig(vocab_size=2048, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                                    ffn_dim=4096, num_codebooks=4, max_position_embeddings=2048, pad_token_id=2048,
                                    bos_token_id=2048)
    model = MusicgenForConditionalGeneration(MusicgenConfig(text_encoder=text, audio_encoder=codec,
                                                            decoder=decoder)).eval()
    defaults = model.generation_config
    defaults.do_sample, defaults.guidance_scale, defaults.top_k, defaults.max_length = True, 3.0, 250, 1500
    defaults.pad_token_id = defaults.decoder_start_token_id = 2048
    return describe_model(model, _debug_tokenizer(), Path("."), "cpu", "musicgen-small-random")


def tiny_model(folder: Path):
    build_debug_model(folder)
    return load_musicgen(folder, device="cpu")


def run_plain(loaded, tokens: int, takes: int, batched: bool) -> float:
    text = loaded.tokenizer([TEXT] * (takes if batched else 1), return_tensors="pt", padding=True)
    started = time.perf_counter()
    with torch.no_grad():
        for _ in range(1 if batched else takes):
            torch.manual_seed(0)
            loaded.model.generate(**text, max_new_tokens=tokens)
    return time.perf_counter() - started


def with_onnx_runner(loaded, folder: Path):
    """A copy of `loaded` that decodes through the exported decoder step."""
    import dataclasses

    from musicsim_gui.generation.musicgen.onnx_decoder import OnnxDecoderStep, export_decoder_step

    path = export_decoder_step(loaded.model, folder / "decoder-step.onnx")
    return dataclasses.replace(loaded, runner=OnnxDecoderStep(path, device="cpu"))


def run_ours(loaded, tokens: int, takes: int) -> float:
    delay = loaded.codebooks // loaded.channels - 1
    settings = MusicGenSettings(mode="text+audio", seconds=(tokens - delay) / loaded.frame_rate, prompt_seconds=0.0,
                                template=TEXT, top_k=250, guidance_scale=3.0)
    rows = [("piano", seed) for seed in range(takes)]
    sources = {"piano": np.zeros((loaded.channels, loaded.sample_rate), np.float32)}
    started = time.perf_counter()
    compose(loaded, settings, rows, sources, None, None)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=("tiny", "small"), default="tiny")
    parser.add_argument("--tokens", type=int, default=100, help="decoding steps per call")
    parser.add_argument("--takes", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--onnx", action="store_true", help="also time the ONNX Runtime decoder step")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        loaded = small_model() if args.config == "small" else tiny_model(Path(scratch) / "tiny")
        print(f"{args.config}: built in {time.perf_counter() - started:.1f} s; {args.tokens} steps, {args.takes} takes, "
              f"{args.threads} threads")
        cases = {"plain generate, one call per take": lambda: run_plain(loaded, args.tokens, args.takes, False),
                 "plain generate, takes batched": lambda: run_plain(loaded, args.tokens, args.takes, True),
                 "ours (compose), takes batched": lambda: run_ours(loaded, args.tokens, args.takes)}
        if args.takes == 1:  # one call per take is the batched call
            cases.pop("plain generate, one call per take")
        if args.onnx:
            onnx_loaded = with_onnx_runner(loaded, Path(scratch))
            cases["ours (compose, ONNX decoder step)"] = lambda: run_ours(onnx_loaded, args.tokens, args.takes)
        for case in cases.values():  # warm-up (allocator, lazy initialisation)
            case() if args.config == "tiny" else None
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeats):
            for name, case in cases.items():
                times[name].append(case())
    audio_s = args.takes * (args.tokens - 3) / loaded.frame_rate
    ours = statistics.median(times["ours (compose), takes batched"])
    print(f"{'case':38s} {'wall s':>8s} {'ms/step':>9s} {'RTF':>8s} {'÷ ours':>10s}")
    for name, values in times.items():
        wall = statistics.median(values)
        steps = args.tokens * (args.takes if "per take" in name else 1)
        print(f"{name:38s} {wall:8.2f} {1000 * wall / steps:9.1f} {wall / audio_s:8.2f} {wall / ours:10.2f}")
    print(f"(RTF = wall seconds per second of audio, {audio_s:.2f} s of audio in all takes; median of {args.repeats})")


if __name__ == "__main__":
    main()
