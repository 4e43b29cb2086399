"""`musicsim export wiener-exponents MODEL_DIR --data CORPUS/valid`: fit a built-in separator's per-stem exponents
of its Wiener filter's power estimate on validation songs and store them (`training.separation.wiener_exponents`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from musicsim_gui.cli.groups import command_group


def register(subparsers: argparse._SubParsersAction) -> None:
    group = command_group(subparsers, "export", "export a trained model")
    parser = group.add_parser("wiener-exponents", help="fit a separator model folder's per-stem exponents of its "
                                                       "Wiener filter's power estimate on validation songs and store them")
    parser.add_argument("model", help="the separator model folder (e.g. models/separation-builtin)")
    parser.add_argument("--data", required=True, help="a corpus split folder not used in training, e.g. CORPUS/valid")
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="middle excerpt of each song in seconds, as in eval separation (default 30; 0 = whole)")
    parser.add_argument("--songs", type=int, default=None, help="fit on the first N songs only")
    parser.add_argument("--min-gain", type=float, default=0.005,
                        help="keep a move of the search only if it raises the mean SDR by more than this (dB)")
    parser.add_argument("--version", default=None, help="the model's new version (default: unchanged)")
    parser.add_argument("--note", default=None, help="what changed in this version, for the model card's history")
    parser.add_argument("--dry-run", action="store_true", help="print the fit without storing it")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from musicsim_gui.evaluation.separation import corpus_songs
    from musicsim_gui.training.separation.wiener_exponents import (
        fit_wiener_exponents,
        install_wiener_exponents,
    )

    songs = corpus_songs(args.data)[: args.songs]
    fit = fit_wiener_exponents(Path(args.model), songs, seconds=args.seconds or None, min_gain_db=args.min_gain)
    chosen = ", ".join(f"{stem} {value:g}" for stem, value in fit.exponents.items())
    print(f"Wiener exponents {chosen}: mean SDR {fit.before['mean']:.3f} -> {fit.after['mean']:.3f} dB on "
          f"{fit.songs} songs ({fit.trials} trials)")
    if args.dry_run:
        return 0
    install_wiener_exponents(args.model, fit, args.data, version=args.version, note=args.note)
    print(f"stored in {args.model}; its test figures were removed: re-run musicsim eval separation --record")
    return 0
