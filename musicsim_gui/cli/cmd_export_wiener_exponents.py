"""`musicsim export wiener-exponents MODEL_DIR --data CORPUS/valid`: fit a built-in separator's per-stem exponents
of its Wiener filter's power estimate on validation songs and store them (`training.separation.wiener_exponents`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from musicsim_gui.cli.cmd_export_stem_priors import validation_fit_arguments
from musicsim_gui.cli.groups import command_group


def register(subparsers: argparse._SubParsersAction) -> None:
    group = command_group(subparsers, "export", "export a trained model")
    parser = group.add_parser("wiener-exponents", help="fit a separator model folder's per-stem exponents of its "
                                                       "Wiener filter's power estimate on validation songs and store them")
    validation_fit_arguments(parser, min_gain=0.005)
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
