"""`musicsim separate FILE -o DIR`: split a song into bass, drums, piano and other stem files."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("separate", help="split a song into bass, drums, piano and other stems")
    parser.add_argument("file", help="an audio file (WAV, FLAC, OGG, MP3, AIFF)")
    parser.add_argument("-o", "--output", required=True, help="folder for the stem files")
    parser.add_argument("--model", default="builtin",
                        help="builtin (default), dsp, an installed separation model (see `musicsim models list`), or a model folder")
    parser.add_argument("--backend", default="auto", choices=("auto", "onnx", "torch"), help="model runtime")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="compute device")
    parser.add_argument("--format", default="wav", choices=("wav", "flac"), help="stem file format")
    parser.add_argument("--bit-depth", type=int, default=24, choices=(16, 24, 32), help="bits per sample")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the separation cache")
    parser.add_argument("--quiet", action="store_true", help="no progress messages")
    parser.set_defaults(handler=run)


def _progress(quiet: bool):
    def report(fraction: float, message: str) -> None:
        if not quiet:
            print(f"\rseparating: {fraction * 100:5.1f}% {message:<30}", end="", file=sys.stderr, flush=True)
    return report


def run(args: argparse.Namespace) -> int:
    from musicsim_gui.audio.io import load_audio, save_audio
    from musicsim_gui.separation.base import get_separator

    clip = load_audio(args.file)
    separator = get_separator(args.model, backend=args.backend, device=args.device, cache=not args.no_cache)
    if separator.fallback_reason:
        print(f"musicsim: note: {separator.fallback_reason}", file=sys.stderr)
    started = time.perf_counter()
    stems = separator.separate(clip, progress=_progress(args.quiet))
    elapsed = time.perf_counter() - started
    if not args.quiet:
        print(file=sys.stderr)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    bit_depth = 24 if args.format == "flac" and args.bit_depth == 32 else args.bit_depth
    for name, stem in stems.items():
        path = save_audio(out / f"{name}.{args.format}", stem, bit_depth=bit_depth)
        print(path)
    speed = clip.duration / elapsed if elapsed > 0 else float("inf")
    backend = getattr(separator, "backend_name", "")
    print(f"separated {clip.duration:.1f} s with {separator.id} {separator.version}"
          f"{f' ({backend})' if backend else ''} in {elapsed:.2f} s ({speed:.0f}x real time)", file=sys.stderr)
    return 0
