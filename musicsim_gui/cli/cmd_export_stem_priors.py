"""`musicsim export stem-priors MODEL_DIR --data CORPUS/valid`: fit a built-in separator's per-stem prior
weights on validation songs and store them in its model folder (`training.separation.stem_priors`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from musicsim_gui.cli.groups import command_group


def register(subparsers: argparse._SubParsersAction) -> None:
    group = command_group(subparsers, "export", "export a trained model")
    parser = group.add_parser("stem-priors", help="fit a separator model folder's per-stem prior weights on "
                                                  "validation songs and store them")
    validation_fit_arguments(parser, min_gain=0.01)
    parser.add_argument("--regions", default="250,1000,4000",
                        help="frequencies (Hz) splitting the spectrum into regions with their own weights "
                             "(default 250,1000,4000; none = one weight per stem)")
    parser.set_defaults(handler=run)


def validation_fit_arguments(parser: argparse.ArgumentParser, min_gain: float) -> None:
    """The arguments of a command that fits a separator folder's post-filters on validation songs."""
    parser.add_argument("model", help="the separator model folder (e.g. models/separation-builtin)")
    parser.add_argument("--data", required=True, help="a corpus split folder not used in training, e.g. CORPUS/valid")
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="middle excerpt of each song in seconds, as in eval separation (default 30; 0 = whole)")
    parser.add_argument("--songs", type=int, default=None, help="fit on the first N songs only")
    parser.add_argument("--min-gain", type=float, default=min_gain,
                        help="keep a move of the search only if it raises the mean SDR by more than this (dB)")
    parser.add_argument("--version", default=None, help="the model's new version (default: unchanged)")
    parser.add_argument("--note", default=None, help="what changed in this version, for the model card's history")
    parser.add_argument("--dry-run", action="store_true", help="print the fit without storing it")


def run(args: argparse.Namespace) -> int:
    from musicsim_gui.evaluation.separation import corpus_songs
    from musicsim_gui.training.separation.stem_priors import (
        describe_regions,
        describe_weights,
        fit_stem_priors,
        install_stem_priors,
        parse_edges,
    )

    edges = parse_edges(args.regions)
    songs = corpus_songs(args.data)[: args.songs]
    fit = fit_stem_priors(Path(args.model), songs, seconds=args.seconds or None, edges_hz=edges,
                          min_gain_db=args.min_gain)
    print(f"stem priors ({describe_regions(fit.edges_hz)}) {describe_weights(fit.weights)}: mean SDR {fit.before['mean']:.2f} -> {fit.after['mean']:.2f} dB on "
          f"{fit.songs} songs ({fit.trials} trials)")
    if args.dry_run:
        return 0
    install_stem_priors(args.model, fit, args.data, version=args.version, note=args.note)
    print(f"stored in {args.model}; its test figures were removed: re-run musicsim eval separation --record")
    return 0
