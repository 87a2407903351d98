"""The stop request a caller hands to a run: a ``threading.Event`` that also tells the run at once.

Training checks for a stop as it takes each batch, inside TensorFlow's input pipeline, where a
Python object cannot be read without a ``numpy_function`` that takes the GIL for every batch, a
noticeable share of an epoch (see README, Speed). So the run keeps its own flag in a TensorFlow
variable, and ``set()`` flips that flag before it returns: the check costs a variable read, and a
request is seen by the very next batch, whichever thread makes it. ``set(by=...)`` says who asked
("SIGTERM"), so the saved reason can tell a signal from a click.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator


class StopRequest(threading.Event):
    """Set it to stop the runs that watch it; each stops within one batch and saves as stopped."""

    def __init__(self) -> None:
        super().__init__()
        # reentrant: the CLI sets the request from a SIGINT handler, which may interrupt this
        # same thread inside ``watched``
        self._lock = threading.RLock()
        self._watchers: list[Callable[[], None]] = []
        self.by = "request"  # who asked first: the saved reason says "stopped by <by>"

    def set(self, by: str | None = None) -> None:
        with self._lock:
            if by is not None and not super().is_set():
                self.by = by
            super().set()
            watchers = tuple(self._watchers)
        for on_set in watchers:
            on_set()

    @contextlib.contextmanager
    def watched(self, on_set: Callable[[], None]) -> Iterator[None]:
        """Calls ``on_set`` (in the setting thread) when the request is set while in the block,
        or at once if it already is. It runs once per ``set()`` call, so it must be idempotent."""
        with self._lock:
            self._watchers.append(on_set)
            already = super().is_set()
        try:
            if already:
                on_set()
            yield
        finally:
            with self._lock:
                self._watchers.remove(on_set)
