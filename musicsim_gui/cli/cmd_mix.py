"""`musicsim mix PROJECT -o out.wav`: render a project's mix (and optionally its stems) to files."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("mix", help="render a project's mix to a WAV or FLAC file")
    parser.add_argument("project", help="a project folder")
    parser.add_argument("-o", "--out", required=True, help="the output file (.wav or .flac)")
    parser.add_argument("--stems", metavar="DIR", help="also write each track as DIR/<instrument>.<ext>")
    parser.add_argument("--format", dest="bit_depth", type=int, choices=(16, 24, 32), default=24,
                        help="bits per sample: 16 (dithered), 24, or 32 (float; WAV only)")
    parser.add_argument("--rate", type=int, help="sample rate in Hz (default: the project's)")
    normalize = parser.add_mutually_exclusive_group()
    normalize.add_argument("--lufs", type=float, help="normalize integrated loudness to this LUFS target")
    normalize.add_argument("--peak", type=float, help="normalize the peak to this dBFS")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from musicsim_gui.audio.mixdown import ExportSettings
    from musicsim_gui.audio.project_render import export_project
    from musicsim_gui.core.projectfile import load_project

    project = load_project(args.project)
    if args.lufs is not None:
        settings = ExportSettings(bit_depth=args.bit_depth, sample_rate=args.rate, normalize="lufs", lufs=args.lufs)
    elif args.peak is not None:
        settings = ExportSettings(bit_depth=args.bit_depth, sample_rate=args.rate, normalize="peak",
                                  peak_dbfs=args.peak)
    else:
        settings = ExportSettings(bit_depth=args.bit_depth, sample_rate=args.rate)
    for path in export_project(project, Path(args.out), settings, stems_dir=args.stems):
        print(f"wrote {path}")
    return 0
