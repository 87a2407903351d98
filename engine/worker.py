"""The training process the terminal app talks to: commands in, engine events out, as JSON lines.

The app runs TensorFlow here, in a child process, rather than in a thread of its own process: the
UI's frames stay smooth (no GIL contention while TensorFlow imports or trains), TensorFlow's native
log lines cannot reach the screen (this process's stderr is a log file), and quitting is safe (a
stop is honoured within one batch, and after quit the process saves the run and ends by itself).

Protocol, one JSON object per line::

    in   {"cmd": "train" | "sweep", "experiment": "<TOML text>", "runs": "<dir>" | null}
         {"cmd": "stop"}     stops the current run and any queued before this line
         {"cmd": "quit"}     stops, then exits once the current run is saved; end of input = quit
    out  {"event": "ready", "seconds": S}          once TensorFlow has loaded
         {"event": "load_failed", "message": M}    TensorFlow could not load; the process exits 1
         {"event": "worker_error", "message": M}   a line that is not a command
         engine.events.event_dict(event)           every event of every run, in order

Each run command ends with exactly one run_finished, run_stopped or run_failed line.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import sys
import threading
import traceback
from typing import Any, NoReturn, TextIO

from engine import config
from engine.errors import SeqlabError
from engine.events import Event, RunFailed, RunStopped, event_dict
from engine.runstore import RunStore
from engine.stop import StopRequest

RUN_COMMANDS = ("train", "sweep")
QUIT_DEADLINE = 30.0  # seconds a run gets to stop and save after quit, before the process exits


class _Output:
    """Writes whole JSON lines from any thread; once the reader has gone, writes are dropped."""

    def __init__(self, stream: TextIO, on_broken: threading.Event) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._on_broken = on_broken

    def write(self, data: dict[str, Any]) -> None:
        line = json.dumps(data, allow_nan=True) + "\n"
        with self._lock:
            if self._on_broken.is_set():
                return
            try:
                self._stream.write(line)
                self._stream.flush()
            except (BrokenPipeError, OSError, ValueError):
                self._on_broken.set()


class _Control:
    """Which queued runs a stop applies to, and the stop flag of the run in progress."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received = 0
        self._stopped_upto = 0
        self._current: threading.Event | None = None

    def received(self) -> int:
        with self._lock:
            self._received += 1
            return self._received

    def stop(self) -> None:
        with self._lock:
            self._stopped_upto = self._received
            if self._current is not None:
                self._current.set()

    def begin(self, seq: int) -> StopRequest | None:
        """The stop flag for run ``seq``, or None if a stop already covers it."""
        with self._lock:
            if seq <= self._stopped_upto:
                return None
            self._current = StopRequest()
            return self._current


def _read_commands(lines: TextIO, todo: queue.Queue, control: _Control, out: _Output) -> None:
    """Reader thread: stop acts at once; runs are queued for the main thread; EOF means quit."""
    try:
        for line in lines:
            if not line.strip():
                continue
            try:
                cmd = json.loads(line)
                name = cmd["cmd"]
            except (ValueError, KeyError, TypeError):
                out.write(
                    {"event": "worker_error", "message": f"not a command: {line.strip()[:200]}"}
                )
                continue
            if name in RUN_COMMANDS:
                todo.put((control.received(), cmd))
            elif name == "stop":
                control.stop()
            elif name == "quit":
                break
            else:
                out.write({"event": "worker_error", "message": f"unknown command {name!r}"})
    except (OSError, ValueError):
        pass
    control.stop()
    todo.put(None)
    # The app no longer waits for this process (it may already have exited, e.g. when the terminal
    # went away): the run in flight stops within a batch and saves; should saving ever hang, the
    # process still ends rather than linger without an owner.
    watchdog = threading.Timer(QUIT_DEADLINE, os._exit, args=(3,))
    watchdog.daemon = True
    watchdog.start()


def _run(cmd: dict[str, Any], stop: StopRequest, emit, training: Any) -> None:
    kind = cmd["cmd"]
    try:
        exp = config.loads(str(cmd.get("experiment", "")), "experiment")
    except SeqlabError as exc:
        emit(RunFailed(run_id="", kind=kind, message=str(exc)))
        return
    store = RunStore(cmd["runs"]) if cmd.get("runs") else None
    run = training.train if kind == "train" else training.sweep
    try:
        run(exp, emit, stop, store=store)
    except Exception as exc:  # the engine reports user-level problems as events; this is a bug
        traceback.print_exc()
        emit(
            RunFailed(run_id="", kind=kind, message=f"internal error: {exc!r} (details in the log)")
        )


def serve(commands: TextIO, out_stream: TextIO, training: Any | None = None) -> int:
    """Loads TensorFlow, then runs commands until quit or end of input; returns the exit code."""
    broken = threading.Event()
    out = _Output(out_stream, broken)
    control = _Control()
    todo: queue.Queue = queue.Queue()
    reader = threading.Thread(
        target=_read_commands,
        args=(commands, todo, control, out),
        name="seqlab-commands",
        daemon=True,
    )
    reader.start()
    try:
        if training is None:
            from engine import training
        seconds = training.load_tensorflow()
    except Exception as exc:
        traceback.print_exc()
        out.write({"event": "load_failed", "message": f"TensorFlow could not be loaded: {exc}"})
        return 1
    out.write({"event": "ready", "seconds": round(float(seconds), 3)})

    def emit(event: Event) -> None:
        out.write(event_dict(event))
        if broken.is_set():  # nobody is listening any more: end the run, keep what it saved
            control.stop()

    while True:
        item = todo.get()
        if item is None:
            return 0
        seq, cmd = item
        stop = control.begin(seq)
        if stop is None:
            emit(
                RunStopped(run_id="", kind=cmd["cmd"], epochs=0, reason="stopped before it started")
            )
            continue
        _run(cmd, stop, emit, training)


def end_process(code: int, *streams: TextIO) -> NoReturn:
    """Flushes ``streams`` and the log, then ends the process without the interpreter's teardown.

    With TensorFlow loaded, that teardown took ~0.8 s here and once over 5 s, and it saves
    nothing: every run is already saved and every line written. Skipping it means a closing
    terminal or a quitting app is not kept waiting on a process that has no work left.
    """
    for stream in (*streams, sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    logging.shutdown()  # absl and Keras log through logging; their handlers flush here
    os._exit(code)


def main() -> NoReturn:
    # The protocol gets a private copy of stdout; fd 1 then joins fd 2 (the log file the app
    # opened), so nothing printed natively or by a library can corrupt the event stream.
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    end_process(serve(sys.stdin, protocol), protocol)


if __name__ == "__main__":
    main()
