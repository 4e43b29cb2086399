"""The composition root: the `musicsim` entry point, and the one place that wires every layer for the studio.

Headless subcommands run without importing Qt; the studio's modules are imported only when it opens.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from musicsim_gui.cli import main as cli_main


def launch_studio(args: argparse.Namespace) -> int:
    """Open the studio window on `args.project` (or the demo song) and run the Qt event loop."""
    print("musicsim: the studio window is not part of this build yet; use the subcommands "
          "(`musicsim --help`).", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `musicsim` console script and `python -m musicsim_gui`."""
    return cli_main.main(argv, launch_studio=launch_studio)
