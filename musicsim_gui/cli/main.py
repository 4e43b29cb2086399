"""The `musicsim` argument parser and dispatcher.

Architecture:
1. Each subcommand lives in its own module `cli/cmd_*.py` with `register(subparsers)`, which adds its
   parser and sets `handler=function(args) -> int`. Modules are discovered by name; nothing else needs editing.
   Command modules import their services inside the handler, so `musicsim --help` stays fast.
2. `main(argv, launch_studio)` parses, runs the handler and turns a `MusicSimError`, or an `OSError` from
   the file system (no such folder, no permission, disk full), into one line on stderr with exit code 2
   (`--debug` re-raises it with its traceback).
3. The studio is launched through the `launch_studio` callback the composition root (`app.py`) passes
   in, so the CLI never imports Qt; with no subcommand, `musicsim` opens the studio.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence

from musicsim_gui import __version__
from musicsim_gui.core.errors import MusicSimError


def command_modules() -> list[str]:
    """The dotted names of every `cli/cmd_*.py` module, sorted."""
    import musicsim_gui.cli as package

    names = (info.name for info in pkgutil.iter_modules(package.__path__) if info.name.startswith("cmd_"))
    return [f"{package.__name__}.{name}" for name in sorted(names)]


StudioLauncher = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """The full `musicsim` parser with every registered subcommand."""
    parser = argparse.ArgumentParser(prog="musicsim", description="MuSiC Studio: compose stems similar to a reference song.")
    parser.add_argument("--version", action="version", version=f"musicsim {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks for errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = subparsers.add_parser("gui", help="open the studio (the default)")
    gui.add_argument("project", nargs="?", help="a project folder or an audio file to open (default: the demo song)")
    gui.set_defaults(handler=None)
    for module_name in command_modules():
        importlib.import_module(module_name).register(subparsers)
    return parser


def describe_os_error(error: OSError) -> str:
    """One line naming the file and what the system said, e.g. `/x/y: Not a directory`."""
    reason = error.strerror or str(error)
    names = [name for name in (error.filename, error.filename2) if name]
    return f"{' -> '.join(map(str, names))}: {reason}" if names else reason


def main(argv: Sequence[str] | None = None, launch_studio: StudioLauncher | None = None) -> int:
    """Run `musicsim` with `argv` (default: the process arguments) and return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in (None, "gui"):
        if launch_studio is None:
            print("musicsim: the studio is not available from this entry point; run `musicsim` instead", file=sys.stderr)
            return 2
        if args.command is None:
            args.project = None
        return launch_studio(args)
    try:
        return int(args.handler(args) or 0)
    except MusicSimError as error:
        if args.debug:
            raise
        print(f"musicsim: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # the file system refused: a missing folder, no permission, a full disk...
        if args.debug:
            raise
        print(f"musicsim: error: {describe_os_error(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("musicsim: interrupted", file=sys.stderr)
        return 130
