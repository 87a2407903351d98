"""The ``seqlab`` console script: a sub-command runs headless; otherwise the terminal app opens."""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args:  # a bare ``seqlab`` skips importing the command line (its parser, baselines)
        from tui import cli

        if args[0].startswith("-") or args[0] in cli.command_names():
            return cli.main(args)
    # The collector pauses until the app's first frame (SeqlabApp resumes it, and so does the end
    # of a launch that fails before): starting up makes tens of thousands of objects that live as
    # long as the app (modules, classes, styles), and full passes over them free nothing but hold
    # the first frame back.
    gc.disable()
    try:
        from tui.launch import launch

        return launch(args[0] if args else None)
    finally:
        gc.enable()
