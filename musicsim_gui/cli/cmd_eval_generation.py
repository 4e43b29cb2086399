"""`musicsim eval generation --data CORPUS --model NAME ... -o evaluation.json`: FAD and MSE of generators.

Prints one row per system (each model, shuffled real stems, white and pink noise) with the FAD per instrument
on the hand-crafted embedding (see `evaluation.generation`), and writes the full result as JSON.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from musicsim_gui.cli.groups import command_group


def register(subparsers: argparse._SubParsersAction) -> None:
    group = command_group(subparsers, "eval", "evaluate models")
    parser = group.add_parser("generation", help="FAD per instrument vs shuffled-real and noise baselines")
    parser.add_argument("--data", required=True, help="corpus root with a test/ split")
    parser.add_argument("--model", action="append", required=True,
                        help="generator name or model folder; repeat to compare several")
    parser.add_argument("--label", action="append", default=None, help="a display name per --model")
    parser.add_argument("--songs", type=int, default=10, help="test songs to use (default 10)")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds per song and system (default 20)")
    parser.add_argument("--offset", type=float, default=20.0, help="where the real stems start, in s (default 20)")
    parser.add_argument("--backend", choices=("auto", "onnx", "torch"), default="auto")
    parser.add_argument("-o", "--output", default=None, help="write the result as JSON here")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from musicsim_gui.core.errors import MusicSimError
    from musicsim_gui.generation.base import get_generator
    from musicsim_gui.training.vit_wavegan.evaluate import evaluate

    labels = args.label or [Path(m).name for m in args.model]
    if len(labels) != len(args.model):
        raise MusicSimError("give one --label per --model")
    generators = {label: get_generator(model, backend=args.backend) for label, model in zip(labels, args.model, strict=True)}
    try:
        result = evaluate(Path(args.data), generators, Path(args.output) if args.output else None,
                          songs=args.songs, seconds=args.seconds, offset=args.offset, log=lambda m: None)
    except ValueError as error:
        raise MusicSimError(str(error)) from error
    instruments = [k for k in next(iter(result["fad"].values())) if k != "mean"]
    print(f"FAD ({result['songs']} songs × {result['seconds_per_song']:.0f} s; {result['embedding'].split(' (')[0]})")
    print(f"{'system':<24}" + "".join(f"{i:>9}" for i in [*instruments, "mean"]))
    for system, row in result["fad"].items():
        print(f"{system:<24}" + "".join(f"{row[i]:>9.2f}" for i in [*instruments, "mean"]))
    print(f"match rate (own song nearest; chance {1 / result['songs']:.2f})")
    for system, row in result["match"].items():
        print(f"{system:<24}" + "".join(f"{row[i]:>9.2f}" for i in [*instruments, "mean"]))
    return 0
