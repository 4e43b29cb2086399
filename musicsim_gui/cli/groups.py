"""Command groups shared by several command modules (`musicsim train ...`, `musicsim eval ...`).

A module that adds `musicsim train separator` calls `command_group(subparsers, "train", ...)` and adds
its parser to the returned sub-subparsers; whichever module runs first creates the group.
"""

from __future__ import annotations

import argparse


def command_group(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> argparse._SubParsersAction:
    """The sub-subparsers of group `name`, created (with `help_text`) if no module made it yet."""
    parser = subparsers.choices.get(name)
    if parser is None:
        parser = subparsers.add_parser(name, help=help_text)
        parser.set_defaults(handler=lambda args: _missing(parser))
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return parser.add_subparsers(dest=f"{name}_command", metavar="WHAT")


def _missing(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2
