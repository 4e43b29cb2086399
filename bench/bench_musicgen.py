"""Benchmark: MusicGen decoding, our fast loop vs plain `model.generate()` with default settings, same model, same run.

Cases (alternating, same text prompt, same number of decoding steps):
- plain: `model.generate(**text, max_new_tokens=N)` with the released generation defaults (sampling, top-k 250,
  classifier-free guidance 3), all takes in one call (`--per-take`: also one call per take);
  `--static`: the same with transformers' own static cache (`cache_implementation="static"`);
- ours, fast loop: `generator.compose` with `fast_decode` (static KV cache, cross-attention keys/values once,
  bf16 and a CUDA graph per window on CUDA), seeded per-take sampling, progress/ETA/cancel per step;
- ours, generate(): `compose` with `fast_decoding` off (transformers decodes, our sampler picks);
- `--onnx`: `compose` with the decoder step exported to ONNX Runtime (CPU).
On CUDA the plain case also runs with a bf16 copy of the model, so the dtype and the loop can be told apart.
Reported: wall seconds, ms per decoding step, real-time factor (wall seconds per second of audio made, all
takes together) and plain generate's wall time divided by each case's (> 1 = faster than plain generate).

`--config tiny` is the debug checkpoint; `--config small` is the published musicgen-small architecture
(T5-base, 32 kHz EnCodec, 24-layer 1024-wide decoder with 4 codebooks) with random weights: speed does not
depend on the weight values.

On a CPU that other processes keep busy, give torch no more threads than there are free cores (`--threads`):
on 2 shared cores one musicgen-small decoder step took 0.35 s with 1 thread and 4.1-4.5 s with 2.

Measured on 2 CPU cores shared with a training run (1 thread, 2026-11): tiny, 4 takes x 0.5 s: plain 0.173 s,
fast loop 0.073 s (2.37x; transformers' static cache 1.10x, ONNX step 1.88x). musicgen-small, 1 take x 1-2 s:
weight-bandwidth bound, one decoder step (batch 2) 126 ms ours vs 129 ms transformers in isolation; end to end
RTF 7-16 for both, the run-to-run spread on the shared machine (+-40%) is larger than any difference. The GPU
figures (goal: >= 2x plain generate, RTF <= 0.15 for small on an H100) are still to be taken.

Run: `.venv/bin/python bench/bench_musicgen.py --config tiny --tokens 100 --takes 4 --threads 1`
     `.venv/bin/python bench/bench_musicgen.py --config small --seconds 2 --takes 1 --repeats 1 --threads 1`
     on a GPU: `.venv/bin/python bench/bench_musicgen.py --config small --seconds 10 --takes 4 --static`
"""

from __future__ import annotations

import argparse
import copy
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from musicsim_gui.generation.musicgen.debug import _debug_tokenizer, build_debug_model
from musicsim_gui.generation.musicgen.generator import compose, fast_decoder
from musicsim_gui.generation.musicgen.loading import describe_model, load_musicgen
from musicsim_gui.generation.musicgen.settings import MusicGenSettings

TEXT = "lofi hip hop piano, 84 bpm"
PLAIN = "plain generate (defaults)"
FAST = "ours, fast loop"


def small_model(device: str):
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
                                                            decoder=decoder)).eval().to(device)
    defaults = model.generation_config
    defaults.do_sample, defaults.guidance_scale, defaults.top_k, defaults.max_length = True, 3.0, 250, 1500
    defaults.pad_token_id = defaults.decoder_start_token_id = 2048
    return describe_model(model, _debug_tokenizer(), Path("."), device, "musicgen-small-random")


def tiny_model(folder: Path, device: str):
    build_debug_model(folder)
    return load_musicgen(folder, device=device)


def _timed(run: Callable[[], object], device: str) -> float:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    started = time.perf_counter()
    run()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - started


def plain_case(model, tokenizer, device: str, tokens: int, takes: int, batched: bool, **options) -> Callable:
    """`model.generate()` with its default generation settings: all takes in one call, or one call per take."""
    text = tokenizer([TEXT] * (takes if batched else 1), return_tensors="pt", padding=True).to(device)

    def run() -> None:
        with torch.no_grad():
            for _ in range(1 if batched else takes):
                torch.manual_seed(0)
                model.generate(**text, max_new_tokens=tokens, **options)

    return run


def ours_case(loaded, tokens: int, takes: int, fast: bool) -> Callable:
    """`compose` making `takes` takes in one batch, with the same number of decoding steps as the plain case."""
    delay = loaded.codebooks // loaded.channels - 1
    frames = tokens - delay
    settings = MusicGenSettings(mode="text+audio", seconds=(frames - 0.5) / loaded.frame_rate, prompt_seconds=0.0,
                                template=TEXT, top_k=250, guidance_scale=3.0, fast_decoding=fast)
    rows = [("piano", seed) for seed in range(takes)]
    sources = {"piano": np.zeros((loaded.channels, loaded.sample_rate), np.float32)}
    decoder = fast_decoder(loaded, settings)
    return lambda: compose(loaded, settings, rows, sources, None, None, decoder)


def with_onnx_runner(loaded, folder: Path):
    """A copy of `loaded` that decodes through the exported decoder step."""
    import dataclasses

    from musicsim_gui.generation.musicgen.onnx_decoder import OnnxDecoderStep, export_decoder_step

    path = export_decoder_step(loaded.model, folder / "decoder-step.onnx")
    return dataclasses.replace(loaded, runner=OnnxDecoderStep(path, device="cpu"))


def cases(loaded, args, scratch: Path) -> dict[str, Callable]:
    device = loaded.device
    made = {PLAIN: plain_case(loaded.model, loaded.tokenizer, device, args.tokens, args.takes, True)}
    if args.per_take and args.takes > 1:
        made["plain generate, one call per take"] = plain_case(loaded.model, loaded.tokenizer, device, args.tokens,
                                                               args.takes, False)
    if args.static:
        made["plain generate, static cache"] = plain_case(loaded.model, loaded.tokenizer, device, args.tokens,
                                                          args.takes, True, cache_implementation="static")
    if device.startswith("cuda"):
        half = copy.deepcopy(loaded.model).to(torch.bfloat16)
        made["plain generate, model in bf16"] = plain_case(half, loaded.tokenizer, device, args.tokens, args.takes,
                                                           True)
    made[FAST] = ours_case(loaded, args.tokens, args.takes, True)
    made["ours, generate() loop"] = ours_case(loaded, args.tokens, args.takes, False)
    if args.onnx:
        made["ours, ONNX decoder step"] = ours_case(with_onnx_runner(loaded, scratch), args.tokens, args.takes, True)
    return made


def warmed_up(runs: dict[str, Callable]) -> dict[str, Callable]:
    """Run each case once (allocator, kernels, graph capture, lazy initialisation); a case that fails here is
    reported and left out (the plain case and ours must run)."""
    kept = {}
    for name, run in runs.items():
        try:
            run()
        except Exception as error:  # a baseline variant the machine cannot run (e.g. a bf16 codec)
            if name in (PLAIN, FAST):
                raise
            print(f"  {name}: left out ({type(error).__name__}: {error})")
            continue
        kept[name] = run
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=("tiny", "small"), default="tiny")
    parser.add_argument("--tokens", type=int, default=None, help="decoding steps per call (default: from --seconds)")
    parser.add_argument("--seconds", type=float, default=None, help="audio per take (default 0.5 tiny, 2 small)")
    parser.add_argument("--takes", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    parser.add_argument("--per-take", action="store_true", help="also time plain generate called once per take")
    parser.add_argument("--static", action="store_true", help="also time plain generate with its static cache")
    parser.add_argument("--onnx", action="store_true", help="also time the ONNX Runtime decoder step")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="  (%(message)s)")
    torch.set_num_threads(args.threads)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        loaded = small_model(device) if args.config == "small" else tiny_model(Path(scratch) / "tiny", device)
        delay = loaded.codebooks // loaded.channels - 1
        seconds = args.seconds or (2.0 if args.config == "small" else 0.5)
        args.tokens = args.tokens or int(round(seconds * loaded.frame_rate)) + delay
        gpu = torch.cuda.get_device_name() if device.startswith("cuda") else "CPU"
        print(f"{args.config} on {device} ({gpu}): built in {time.perf_counter() - started:.1f} s; {args.tokens} steps, "
              f"{args.takes} takes, {args.threads} threads")
        runs = cases(loaded, args, Path(scratch))
        if args.config == "tiny" or device.startswith("cuda"):
            runs = warmed_up(runs)
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.repeats):
            for name, run in runs.items():
                times[name].append(_timed(run, device))
    report(times, args, (args.tokens - delay) / loaded.frame_rate)


def report(times: dict[str, list[float]], args, take_seconds: float) -> None:
    audio_s = args.takes * take_seconds
    plain = statistics.median(times[PLAIN])
    print(f"{'case':36s} {'wall s':>8s} {'ms/step':>9s} {'RTF':>8s} {'plain ÷ case':>13s}")
    for name, values in times.items():
        wall = statistics.median(values)
        steps = args.tokens * (args.takes if "per take" in name else 1)
        print(f"{name:36s} {wall:8.3f} {1000 * wall / steps:9.2f} {wall / audio_s:8.3f} {plain / wall:12.2f}x")
    print(f"(RTF = wall seconds per second of audio: {args.takes} takes x {take_seconds:.2f} s; median of "
          f"{args.repeats}; speed-up of ours over plain generate: {plain / statistics.median(times[FAST]):.2f}x)")


if __name__ == "__main__":
    main()
