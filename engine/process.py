"""Ending a process at once: for the engine process and the app, once they have nothing to save.

Kept apart from engine/worker.py (and free of heavy imports) so the app can use it too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import NoReturn, TextIO


def end_process(code: int, *streams: TextIO) -> NoReturn:
    """Flushes ``streams`` and the log, then ends the process without the interpreter's teardown.

    With TensorFlow loaded that teardown is slow, and it saves nothing: every run is already saved
    and every line written. Skipping it means a closing terminal or a quitting app is not kept
    waiting on a process that has no work left.
    """
    for stream in (*streams, sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    logging.shutdown()  # absl and Keras log through logging; their handlers flush here
    os._exit(code)
