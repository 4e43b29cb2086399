"""`musicsim spectrogram FILE... -o out.png`: a labelled mel spectrogram image (time in m:ss, Hz on a mel scale)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("spectrogram", help="save a labelled mel spectrogram PNG of one or more files")
    parser.add_argument("files", nargs="+", help="audio files; several are stacked as rows on one time axis")
    parser.add_argument("-o", "--output", required=True, help="the PNG to write")
    parser.add_argument("--mels", type=int, default=128, help="mel bands (default 128)")
    parser.add_argument("--hop", type=int, default=512, help="hop length in samples (default 512)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from musicsim_gui.audio.figures import save_spectrogram_png
    from musicsim_gui.audio.io import load_audio

    clips = [load_audio(path) for path in args.files]
    titles = [Path(path).name for path in args.files]
    written = save_spectrogram_png(clips, args.output, titles=titles, n_mels=args.mels, hop_length=args.hop)
    print(written)
    return 0
