"""`musicsim models list|pull`: the installed models, and fetching a published one when online."""

from __future__ import annotations

import argparse

from musicsim_gui.cli.groups import command_group


def register(subparsers: argparse._SubParsersAction) -> None:
    group = command_group(subparsers, "models", "list installed models or fetch published ones")
    listing = group.add_parser("list", help="list installed models (bundled and user)")
    listing.add_argument("--task", choices=("separation", "generation"), help="only models of this task")
    listing.set_defaults(handler=run_list)
    pull = group.add_parser("pull", help="download a published model into the user model folder")
    pull.add_argument("name", help="a published model name, or a Hugging Face repo id such as "
                                   "facebook/musicgen-small (see `musicsim models pull --help`)")
    pull.set_defaults(handler=run_pull)


def run_list(args: argparse.Namespace) -> int:
    from musicsim_gui.runtime.registry import ModelRegistry
    from musicsim_gui.separation.base import CODE_SEPARATORS

    registry = ModelRegistry()
    entries = registry.list(task=args.task)
    if args.task in (None, "separation"):
        for name, (_, description) in CODE_SEPARATORS.items():
            print(f"{name}  (separation, built in code: {description})")
    for entry in entries:
        m = entry.manifest
        origin = "bundled" if entry.bundled else "user"
        print(f"{m.name}  ({m.task}, {m.family} {m.version}, {m.sample_rate} Hz, {origin})")
        print(f"    path: {entry.path}")
        print(f"    license: {m.license or 'unknown'}; source: {m.provenance or 'unknown'}")
    for problem in registry.problems:
        print(f"unreadable model folder: {problem}")
    if not entries:
        print(f"no installed model folders (looked in {', '.join(str(p) for p in registry.paths)})")
    return 0


def run_pull(args: argparse.Namespace) -> int:
    from musicsim_gui.runtime.hub import pull

    if "/" in args.name:
        from musicsim_gui.runtime.hf_models import pull_hf_model

        folder = pull_hf_model(args.name)
        print(f"installed {args.name} in {folder}")
        return 0
    folder = pull(args.name)
    print(f"downloaded {args.name} into {folder}")
    return 0
