"""`musicsim models import-spleeter|import-demucs PATH`: install published separator weights as models.

Both commands join the `models` command group (see `groups.py`); the converted folders land in the user's
model folder (or `--models-dir`), where the registry and `musicsim separate --model NAME` find them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from musicsim_gui.cli.groups import command_group


def _spleeter(args: argparse.Namespace) -> int:
    from musicsim_gui.separation.spleeter.install import install_spleeter

    sixteen = True if args.sixteen_khz else None
    folder = install_spleeter(Path(args.path), Path(args.models_dir) if args.models_dir else None,
                              args.name, sixteen, onnx=args.onnx, wiener=args.wiener)
    print(f"installed {folder.name} in {folder}")
    return 0


def _demucs(args: argparse.Namespace) -> int:
    from musicsim_gui.separation.demucs.install import install_demucs

    folder = install_demucs(Path(args.path), Path(args.models_dir) if args.models_dir else None, args.name)
    print(f"installed {folder.name} in {folder}")
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", help="model name in the registry (default: derived from the release)")
    parser.add_argument("--models-dir", help="install into this folder instead of the user's model folder")


def register(subparsers: argparse._SubParsersAction) -> None:
    group = command_group(subparsers, "models", "list installed models or fetch published ones")
    spleeter = group.add_parser("import-spleeter", help="import a Spleeter release (folder or .tar.gz)")
    spleeter.add_argument("path", help="the release folder (model.index, model.data-…) or its .tar.gz")
    spleeter.add_argument("--sixteen-khz", action="store_true",
                          help="the weights are a -16kHz release (needed when the name does not say so)")
    spleeter.add_argument("--no-onnx", dest="onnx", action="store_false",
                          help="skip the ONNX export (ONNX Runtime is about 3x faster than torch on a CPU)")
    spleeter.add_argument("--wiener", action="store_true",
                          help="refine stems with Spleeter's multichannel Wiener filter (about 2x slower)")
    _common(spleeter)
    spleeter.set_defaults(handler=_spleeter)
    demucs = group.add_parser("import-demucs", help="import a Demucs checkpoint (.th)")
    demucs.add_argument("path", help="a Demucs checkpoint file such as 5c90dfd2-34c22ccb.th, or a folder of them")
    _common(demucs)
    demucs.set_defaults(handler=_demucs)
