"""``seqlab [FILE_OR_PRESET]``: checks the argument, protects the terminal, runs the app.

Textual draws on the process's stderr. Anything else written to fd 2 (a native library's log line)
would land in the middle of the screen, so before the app starts Textual gets its own duplicate of
the terminal and fd 2 is pointed at a log file. TensorFlow itself runs in the engine process, whose
stderr is that same log file; this is the second line of defence.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from engine.errors import SeqlabError
from engine.presets import DEFAULT_PRESET, PRESETS, get_preset, resolve
from engine.process import end_process
from engine.runstore import RunStore, open_log, private_dir
from engine.specs import Experiment

LOG_NAME = "seqlab.log"
LOG_KEEP_BYTES = 1_000_000  # the log is cut back to its end when it grows past this at launch


def log_path_for(store: RunStore) -> Path:
    """The log beside the runs folder (``$SEQLAB_HOME/logs``, made private: 0700), else a fresh
    private temp folder (never a predictable shared path), else os.devnull. The file is opened
    without following symlinks, so a planted link cannot send the log elsewhere."""
    for folder in (store.root.parent / "logs", None):
        try:
            if folder is None:
                folder = Path(tempfile.mkdtemp(prefix="seqlab-logs-"))  # 0700, unpredictable
            path = private_dir(folder) / LOG_NAME
            os.close(open_log(path))
            if path.stat().st_size > LOG_KEEP_BYTES:
                _keep_tail(path, LOG_KEEP_BYTES // 2)
            return path
        except OSError:
            continue
    return Path(os.devnull)


def _keep_tail(path: Path, keep: int) -> None:
    """Cuts the log back to its last ``keep`` bytes, in place (no symlink followed)."""
    fd = os.open(path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
    try:
        tail = os.pread(fd, keep, max(0, os.fstat(fd).st_size - keep))
        os.ftruncate(fd, 0)
        os.pwrite(fd, tail, 0)
    finally:
        os.close(fd)


def _terminal_fd() -> int | None:
    for fd in (2, 1):
        try:
            if os.isatty(fd):
                return fd
        except OSError:
            continue
    return None


@contextmanager
def textual_terminal(log_path: Path) -> Iterator[TextIO]:
    """Gives Textual its own handle on the terminal and sends whatever else hits fd 2 to the log.

    Textual writes to ``sys.__stderr__``, read when the app and its driver are created, so both
    must be created inside this block.
    """
    tty_fd = _terminal_fd()
    if tty_fd is None:
        raise SeqlabError(
            "the app needs a terminal; for headless use run a sub-command, e.g. seqlab run"
        )
    saved_fd2 = os.dup(2)
    encoding = getattr(sys.__stderr__, "encoding", None) or "utf-8"
    textual_out = os.fdopen(os.dup(tty_fd), "w", encoding=encoding, errors="replace")
    log_fd = open_log(log_path)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    saved = sys.__stderr__, sys.stderr
    # Deliberate, though typeshed marks sys.__stderr__ final: it is where Textual draws.
    sys.__stderr__ = sys.stderr = textual_out  # type: ignore[misc]
    # Textual sizes the screen with shutil.get_terminal_size(), which believes COLUMNS and LINES
    # over the terminal itself; a shell or multiplexer that exported them at startup would pin the
    # app to a stale size and hide every resize. Without them the terminal is asked directly.
    stale = {name: os.environ.pop(name) for name in ("COLUMNS", "LINES") if name in os.environ}
    try:
        yield textual_out
    finally:
        os.environ.update(stale)
        sys.__stderr__, sys.stderr = saved  # type: ignore[misc]  # restored, as set above
        with contextlib.suppress(OSError):
            textual_out.flush()
        os.dup2(saved_fd2, 2)
        os.close(saved_fd2)
        with contextlib.suppress(OSError):
            textual_out.close()


def _experiment(file_or_preset: str | None) -> Experiment:
    return get_preset(DEFAULT_PRESET) if file_or_preset is None else resolve(file_or_preset)


def launch(file_or_preset: str | None) -> int:
    """Opens the app on an experiment file or preset (default: the course RNN); the exit code."""
    try:
        experiment = _experiment(file_or_preset)
        if not sys.stdin.isatty() or _terminal_fd() is None:
            raise SeqlabError(
                "the app needs a terminal; for headless use run a sub-command (see seqlab --help)"
            )
    except SeqlabError as exc:
        print(f"seqlab: error: {exc}", file=sys.stderr)
        return 2
    store = RunStore()
    log_path = log_path_for(store)

    from tui.app import SeqlabApp
    from tui.backend import ProcessBackend

    with textual_terminal(log_path):
        # ctrl+s offers the file the app was opened on (a preset has none)
        source = None if file_or_preset in (None, *PRESETS) else Path(str(file_or_preset))
        app = SeqlabApp(experiment, ProcessBackend(log_path), store, source=source)
        app.run()
    code = app.return_code or 0
    exit_if_input_thread_stuck(code)
    return code


def exit_if_input_thread_stuck(code: int, wait: float = 1.0) -> None:
    """Ends the process if Textual's terminal-input thread outlived the app.

    Seen when the terminal went away while the app was quitting: Textual's Linux driver failed
    writing to the dead terminal before telling its input thread to stop, so that (non-daemon)
    thread spun on the closed terminal and the process never exited, deaf to SIGTERM. The app
    has finished by now (the engine process saves a live run on its own), so nothing is lost.
    """
    for thread in threading.enumerate():
        if thread.name == "textual-input" and thread.is_alive():
            thread.join(wait)
            if thread.is_alive():
                end_process(code)  # flushes, then os._exit
