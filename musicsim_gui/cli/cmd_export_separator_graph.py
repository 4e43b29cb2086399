"""`musicsim export separator-graph MODEL_DIR [-o OUT] [--version V --note TEXT]`: write a built-in separator
folder's network again in the current graph form (song-wide for a song-context network: every chunk of a song
gets the whole song's context), keeping its weights, post-filters and history
(`training.separation.export.reexport_folder`)."""

from __future__ import annotations

import argparse

from musicsim_gui.cli.groups import command_group


def register(subparsers: argparse._SubParsersAction) -> None:
    group = command_group(subparsers, "export", "export a trained model")
    parser = group.add_parser("separator-graph", help="write a built-in separator folder's network again in the "
                                                      "current graph form (song-wide context), keeping the rest")
    parser.add_argument("model", help="the separator model folder (e.g. models/separation-builtin)")
    parser.add_argument("-o", "--output", default=None, help="write the new folder here (default: in place)")
    parser.add_argument("--version", default=None, help="the model's new version (default: unchanged)")
    parser.add_argument("--note", default=None, help="what changed in this version, for the model card's history "
                                                     "(needs --version)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from musicsim_gui.core.errors import MusicSimError
    from musicsim_gui.training.separation.export import reexport_folder

    if args.note and not args.version:
        raise MusicSimError("--note names what changed in a new version: give --version too")
    manifest = reexport_folder(args.model, args.output, version=args.version, note=args.note)
    form = ", ".join(manifest.outputs)
    print(f"{manifest.name} {manifest.version}: graph outputs {form}; ONNX parity "
          f"{manifest.metrics['onnx_parity_max_abs']:.1e}; test figures removed: re-run musicsim eval separation "
          f"--record")
    return 0
