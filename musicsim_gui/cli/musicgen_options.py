"""The MusicGen options of `musicsim generate` (mode, prompt, sampling, windows, stems, decoder and dtype) and
their parsing.

`--model musicgen --model-path DIR` is spelled out as the generator name `musicgen:DIR`; the options become
request params that `generation.musicgen.settings.MusicGenSettings` reads (other generators ignore them).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable


def add_musicgen_options(parser: argparse.ArgumentParser) -> None:
    """Add the "MusicGen" option group to `parser`."""
    group = parser.add_argument_group("MusicGen (with --model musicgen or musicgen:FOLDER)")
    group.add_argument("--model-path", default=None,
                       help="MusicGen checkpoint folder, installed name or cached hub repo id (with --model musicgen)")
    group.add_argument("--mode", choices=("audio", "text+audio"), default=None,
                       help="audio: continue the source audio; text+audio: also follow a text prompt (default)")
    group.add_argument("--prompt", default=None,
                       help='text prompt template, e.g. "lofi hip hop {instrument}, {tempo} bpm, {key}"')
    group.add_argument("--key", default=None, help="musical key for the prompt, e.g. 'a minor'")
    group.add_argument("--prompt-seconds", type=float, default=None, help="seconds of source audio that start the take")
    group.add_argument("--stem", action="append", default=[], metavar="INSTRUMENT=FILE",
                       help="use FILE (a separated stem) as INSTRUMENT's source instead of the reference")
    group.add_argument("--top-k", type=int, default=None, help="sample among the k likeliest tokens (0 = all)")
    group.add_argument("--top-p", type=float, default=None, help="nucleus sampling mass (0 = off)")
    group.add_argument("--temperature", type=float, default=None, help="sampling temperature (0 = greedy)")
    group.add_argument("--guidance", type=float, default=None, help="classifier-free guidance scale (default 3)")
    group.add_argument("--window-seconds", type=float, default=None,
                       help="decoding window (default: the model's, 30 s); longer takes continue window by window")
    group.add_argument("--decoder", choices=("fast", "generate"), default=None,
                       help="fast: our decoding loop (default); generate: transformers' generate(), slower, "
                            "same tokens in float32")
    group.add_argument("--dtype", choices=("auto", "float32", "bfloat16", "float16"), default=None,
                       help="the fast decoder's precision (default auto: float32 on the CPU, bfloat16 on CUDA); "
                            "takes.json records the one used")
    group.add_argument("--progress", action="store_true", help="print decoding progress with an ETA on stderr")


def generator_name(args: argparse.Namespace) -> str:
    """The generator name: `musicgen:<model path>` for `--model musicgen`, else `--model` as given."""
    from musicsim_gui.core.errors import MusicSimError

    if args.model == "musicgen":
        if not args.model_path:
            raise MusicSimError("--model musicgen needs --model-path (a folder, installed name or hub repo id)")
        return f"musicgen:{args.model_path}"
    return args.model


def musicgen_params(args: argparse.Namespace) -> dict:
    """Request params from the MusicGen options that were given."""
    from musicsim_gui.core.errors import MusicSimError

    stems = {}
    for item in args.stem:
        instrument, equals, path = item.partition("=")
        if not equals or not path:
            raise MusicSimError(f"--stem {item!r}: expected INSTRUMENT=FILE")
        stems[instrument.strip()] = path
    given = {"mode": args.mode, "prompt": args.prompt, "key": args.key, "prompt_seconds": args.prompt_seconds,
             "top_k": args.top_k, "top_p": args.top_p, "temperature": args.temperature,
             "guidance_scale": args.guidance, "window_seconds": args.window_seconds, "stem_paths": stems or None,
             "decoder": args.decoder, "dtype": args.dtype}
    return {key: value for key, value in given.items() if value is not None}


def progress_printer(args: argparse.Namespace) -> Callable[[float, str], None] | None:
    """A progress callback printing at most twice a second to stderr, if `--progress` was given."""
    if not args.progress:
        return None
    last = [0.0]

    def show(fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.5 or fraction >= 1.0:
            last[0] = now
            print(f"{100 * fraction:5.1f}%  {message}", file=sys.stderr, flush=True)

    return show
