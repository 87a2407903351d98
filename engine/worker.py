"""The training process the terminal app talks to: commands in, engine events out, as JSON lines.

The app runs TensorFlow here, in a child process, rather than in a thread of its own process: the
UI's frames stay smooth (no GIL contention while TensorFlow imports or trains), TensorFlow's native
log lines cannot reach the screen (this process's stderr is a log file), and quitting is safe (a
stop is honoured within one batch, and after quit the process saves the run and ends by itself).

The protocol, one JSON line per command or message, is defined in engine/protocol.py.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TextIO

from engine import config
from engine.errors import SeqlabError
from engine.events import Event, RunFailed, RunStopped, SearchEnded, SearchEvent
from engine.process import end_process
from engine.protocol import (
    BadCommand,
    ForecastCommand,
    ForecastFailed,
    ForecastReady,
    LoadFailed,
    QuitCommand,
    Ready,
    RunCommand,
    SearchCommand,
    StopCommand,
    WorkerError,
    WorkerMessage,
    decode_command,
    encode_message,
)
from engine.runstore import RunStore
from engine.stop import StopRequest

QUIT_DEADLINE = 30.0  # seconds a run gets to stop and save after quit, before the process exits


class _Output:
    """Writes whole message lines from any thread; once the reader has gone, writes are dropped."""

    def __init__(self, stream: TextIO, on_broken: threading.Event) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._on_broken = on_broken

    def write(self, message: WorkerMessage) -> None:
        line = encode_message(message)
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


# runs and forecasts in the order received (a forecast's number is 0: stops do not cover it)
Todo = queue.Queue[tuple[int, RunCommand | SearchCommand | ForecastCommand] | None]  # None: quit


def _read_commands(lines: TextIO, todo: Todo, control: _Control, out: _Output) -> None:
    """Reader thread: stop acts at once; runs are queued for the main thread; EOF means quit."""
    try:
        for line in lines:
            if not line.strip():
                continue
            try:
                command = decode_command(line)
            except BadCommand as exc:
                out.write(WorkerError(str(exc)))
                continue
            if isinstance(command, RunCommand | SearchCommand):
                todo.put((control.received(), command))
            elif isinstance(command, ForecastCommand):
                todo.put((0, command))
            elif isinstance(command, StopCommand):
                control.stop()
            elif isinstance(command, QuitCommand):
                break
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


def _run(
    command: RunCommand, stop: StopRequest, emit: Callable[[Event], None], training: Any
) -> None:
    kind = command.kind
    try:
        exp = config.loads(command.experiment, "experiment")
    except SeqlabError as exc:
        emit(RunFailed(run_id="", kind=kind, message=str(exc)))
        return
    store = RunStore(command.runs) if command.runs else None
    run = training.train if kind == "train" else training.sweep
    try:
        run(exp, emit, stop, store=store)
    except Exception as exc:  # the engine reports user-level problems as events; this is a bug
        traceback.print_exc()
        emit(
            RunFailed(run_id="", kind=kind, message=f"internal error: {exc!r} (details in the log)")
        )


def _search(command: SearchCommand, stop: StopRequest, emit: Callable[[SearchEvent], None]) -> None:
    """Runs a search (engine.search) on a local Ray or the cluster at the command's address;
    whatever happens, it ends with one SearchEnded."""
    from engine import search, search_space

    def failed(message: str) -> None:
        emit(SearchEnded(study_id="", status="failed", seconds=0.0, reason=message))

    try:
        spec = None if command.resume else search_space.loads(command.search, "search")
        search.run_search(
            spec,
            emit,
            stop,
            store=RunStore(command.runs),
            address=command.address,
            resume=command.resume,
        )
    except SeqlabError as exc:
        failed(str(exc))
    except Exception as exc:  # a bug, or Ray failing: the app is told, the log has the details
        traceback.print_exc()
        failed(f"the search failed: {exc!r} (details in the log)")


def _forecast(command: ForecastCommand, out: _Output) -> None:
    """Answers a forecast command from the saved run's model (engine.run_forecast)."""
    from engine import run_forecast

    try:
        saved = run_forecast.load(command.run, RunStore(Path(command.run).parent))
        future = run_forecast.forecast_run(saved, command.steps)
    except SeqlabError as exc:
        out.write(ForecastFailed(command.run, command.steps, str(exc)))
        return
    except Exception as exc:  # a bug: the app is told, the log has the details
        traceback.print_exc()
        message = f"internal error: {exc!r} (details in the log)"
        out.write(ForecastFailed(command.run, command.steps, message))
        return
    out.write(ForecastReady(command.run, command.steps, future))


def serve(commands: TextIO, out_stream: TextIO, training: Any | None = None) -> int:
    """Loads TensorFlow, then runs commands until quit or end of input; returns the exit code."""
    broken = threading.Event()
    out = _Output(out_stream, broken)
    control = _Control()
    todo: Todo = queue.Queue()
    reader = threading.Thread(
        target=_read_commands,
        args=(commands, todo, control, out),
        name="seqlab-commands",
        daemon=True,
    )
    reader.start()
    try:
        if training is None:
            from engine import training as engine_training

            training = engine_training
        seconds = training.load_tensorflow()
    except Exception as exc:
        traceback.print_exc()
        out.write(LoadFailed(f"TensorFlow could not be loaded: {exc}"))
        return 1
    out.write(Ready(round(float(seconds), 3)))

    def emit(event: Event | SearchEvent) -> None:
        out.write(event)
        if broken.is_set():  # nobody is listening any more: end the run, keep what it saved
            control.stop()

    while True:
        item = todo.get()
        if item is None:
            return 0
        seq, command = item
        if isinstance(command, ForecastCommand):
            _forecast(command, out)
            continue
        stop = control.begin(seq)
        if stop is None:
            reason = "stopped before it started"
            if isinstance(command, SearchCommand):
                emit(SearchEnded(study_id="", status="stopped", seconds=0.0, reason=reason))
            else:
                emit(RunStopped(run_id="", kind=command.kind, epochs=0, reason=reason))
            continue
        if isinstance(command, SearchCommand):
            _search(command, stop, emit)
        else:
            _run(command, stop, emit, training)


def main() -> NoReturn:
    # The protocol gets a private copy of stdout; fd 1 then joins fd 2 (the log file the app
    # opened), so nothing printed natively or by a library can corrupt the event stream.
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    end_process(serve(sys.stdin, protocol), protocol)


if __name__ == "__main__":
    main()
