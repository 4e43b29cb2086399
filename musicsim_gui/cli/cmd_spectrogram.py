"""`musicsim spectrogram FILE... -o out.png [--stems A B ...]`: a labelled mel spectrogram image.

Each file becomes one panel (time in m:ss, Hz on a mel scale, a colour bar in dB); several files, or a
file plus `--stems`, are stacked on one time axis with a shared dB reference (e.g. a mix over its stems).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("spectrogram", help="save a labelled mel spectrogram PNG of one or more files")
    parser.add_argument("files", nargs="+", help="audio files; several are stacked as rows on one time axis")
    parser.add_argument("-o", "--output", required=True, help="the PNG to write")
    parser.add_argument("--stems", nargs="+", default=[], metavar="FILE",
                        help="more files drawn as panels below the first ones (e.g. a mix's stems)")
    parser.add_argument("--n-mels", "--mels", dest="n_mels", type=_positive, default=128,
                        help="mel bands (default 128)")
    parser.add_argument("--hop", type=_positive, default=512, help="hop length in samples (default 512)")
    parser.add_argument("--title", default=None, help="a title over the figure")
    parser.set_defaults(handler=run)


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    from musicsim_gui.audio.figures import save_spectrogram_png
    from musicsim_gui.audio.io import load_audio

    paths = [*args.files, *args.stems]
    clips = [load_audio(path) for path in paths]
    titles = [Path(path).name for path in paths]
    written = save_spectrogram_png(clips, args.output, titles=titles, n_mels=args.n_mels, hop_length=args.hop,
                                   title=args.title)
    print(written)
    return 0
