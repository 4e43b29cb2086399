"""`musicsim models import PATH` and `musicsim models remove NAME`: install or delete Hugging Face-layout models.

`import` takes a checkpoint folder (e.g. a downloaded `facebook/musicgen-small`) or a repo id already in the
local Hugging Face cache, and prints the model's license (MusicGen weights are CC-BY-NC 4.0: non-commercial).
`musicsim models pull owner/name` (in `cmd_models`) downloads such a repo first when online.
"""

from __future__ import annotations

import argparse

from musicsim_gui.cli.groups import command_group


def register(subparsers: argparse._SubParsersAction) -> None:
    group = command_group(subparsers, "models", "list installed models or fetch published ones")
    importing = group.add_parser("import", help="install a Hugging Face model folder (MusicGen, MusicGen-melody)")
    importing.add_argument("path", help="a checkpoint folder, or a hub repo id in the local Hugging Face cache")
    importing.add_argument("--name", default=None, help="registry name (default: the folder or repo name)")
    importing.set_defaults(handler=run_import)
    removing = group.add_parser("remove", help="delete a user-installed model")
    removing.add_argument("name", help="the installed model's name (see `musicsim models list`)")
    removing.set_defaults(handler=run_remove)


def run_import(args: argparse.Namespace) -> int:
    from musicsim_gui.runtime.hf_models import import_hf_model
    from musicsim_gui.runtime.manifest import load_manifest

    folder = import_hf_model(args.path, args.name)
    manifest = load_manifest(folder, verify=False)
    print(f"installed {manifest.name} ({manifest.family} {manifest.version}, {manifest.sample_rate} Hz) in {folder}")
    print(f"license: {manifest.license}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from musicsim_gui.runtime.hf_models import remove_model

    print(f"removed {args.name} ({remove_model(args.name)})")
    return 0
